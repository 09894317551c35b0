#!/usr/bin/env bash
# A local orgportal cluster on loopback: a PostgreSQL primary and a streaming replica (Debian's
# PostgreSQL 15, run as the `postgres` user), three `orgportal serve` instances and HAProxy in
# front of them. Everything lives in one state directory, so `down` and `status` find what `up`
# started, and `down` leaves nothing behind.
#
#   scale/cluster.sh up | down | status
#   scale/cluster.sh kill-instance N | start-instance N | stop-replica | start-replica
#   scale/cluster.sh run ORGPORTAL-ARGS...   (e.g. run admin add ops@example.com, password on stdin)
#
# Environment (read by `up`; the other commands read what `up` recorded):
#   CLUSTER_DIR                state directory (default ${TMPDIR:-/tmp}/orgportal-cluster)
#   CLUSTER_PORT_BASE          first port (default 18400): HAProxy BASE, instances BASE+1..3,
#                              HAProxy stats BASE+9, metrics BASE+11..13, primary BASE+21,
#                              replica BASE+22
#   ORGPORTAL_BIN              the binary (default target/release/orgportal, built if missing)
#   CLUSTER_SMTP_URL           ORGPORTAL_SMTP_URL for every instance (unset: .eml files in each
#                              instance's data directory)
#   CLUSTER_REQUIRE_ADMIN_2FA  ORGPORTAL_REQUIRE_ADMIN_2FA (default true; faults.sh sets false)
#   CLUSTER_ADMIN_PASSWORD     password of admin@default.com (default: generated)
#   CLUSTER_INVITATIONS_PER_HOUR  ORGPORTAL_INVITATIONS_PER_HOUR (default: the binary's)
#   RUST_LOG                   passed on (default info)
set -euo pipefail

pg_bin=/usr/lib/postgresql/15/bin
repo=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
dir=${CLUSTER_DIR:-${TMPDIR:-/tmp}/orgportal-cluster}
instances=3
log_filter=${RUST_LOG:-info}
# Recorded by `up` in cluster.env and read back by load_state.
port_base='' primary_port='' replica_port='' bin='' smtp_url='' require_2fa='' invitations_per_hour='' rust_log=''

die() {
  echo "cluster: $*" >&2
  exit 1
}

as_postgres() {
  runuser -u postgres -- "$@"
}

# Settings recorded by `up`, so every later command agrees on the layout.
load_state() {
  [ -f "$dir/cluster.env" ] || die "no cluster in $dir (run: $0 up)"
  # shellcheck source=/dev/null
  . "$dir/cluster.env"
}

alive() {
  local pidfile=$1 pid
  [ -f "$pidfile" ] || return 1
  pid=$(cat "$pidfile")
  [ -n "$pid" ] && kill -0 "$pid" 2>/dev/null
}

psql_primary() {
  psql -X -q -v ON_ERROR_STOP=1 -h 127.0.0.1 -p "$primary_port" -U postgres "$@"
}

start_pg() {
  local name=$1 port=$2
  as_postgres "$pg_bin/pg_ctl" -D "$dir/$name" -l "$dir/logs/$name.log" -w -t 60 \
    -o "-p $port -k $dir/sockets" start >/dev/null
}

stop_pg() {
  local name=$1
  if [ -f "$dir/$name/postmaster.pid" ]; then
    as_postgres "$pg_bin/pg_ctl" -D "$dir/$name" -m fast -w -t 60 stop >/dev/null || true
  fi
}

# The settings every instance shares, exported into the calling (sub)shell.
export_settings() {
  export DATABASE_URL="postgres://postgres@127.0.0.1:$primary_port/orgportal"
  export DATABASE_REPLICA_URL="postgres://postgres@127.0.0.1:$replica_port/orgportal"
  export ORGPORTAL_BASE_URL="http://127.0.0.1:$port_base"
  export ORGPORTAL_TRUSTED_PROXIES=127.0.0.1
  export ORGPORTAL_REQUIRE_ADMIN_2FA="$require_2fa"
  export RUST_LOG="$rust_log"
  ORGPORTAL_SECRET_KEY=$(cat "$dir/secret.key")
  ORGPORTAL_ADMIN_PASSWORD=$(cat "$dir/admin-password")
  export ORGPORTAL_SECRET_KEY ORGPORTAL_ADMIN_PASSWORD
  if [ -n "$smtp_url" ]; then export ORGPORTAL_SMTP_URL="$smtp_url"; else unset ORGPORTAL_SMTP_URL; fi
  if [ -n "$invitations_per_hour" ]; then export ORGPORTAL_INVITATIONS_PER_HOUR="$invitations_per_hour"; fi
}

start_instance() {
  local n=$1 data=$dir/instance$1
  mkdir -p "$data"
  if alive "$data/pid"; then
    echo "instance $n is already running (pid $(cat "$data/pid"))"
    return 0
  fi
  (
    export_settings
    export ORGPORTAL_BIND="127.0.0.1:$((port_base + n))"
    export ORGPORTAL_METRICS_BIND="127.0.0.1:$((port_base + 10 + n))"
    export ORGPORTAL_DATA_DIR="$data"
    # Its own session, so a Ctrl-C in the caller's terminal does not reach it; `down` stops it.
    setsid "$bin" serve >>"$dir/logs/instance$n.log" 2>&1 </dev/null &
    echo $! >"$data/pid"
  )
}

kill_instance() {
  local n=$1 pidfile=$dir/instance$1/pid
  if alive "$pidfile"; then
    kill -KILL "$(cat "$pidfile")"
    # Reaped by init; wait until the pid is gone so a restart cannot find the port busy.
    for _ in $(seq 1 50); do alive "$pidfile" || break; sleep 0.1; done
  fi
  rm -f "$pidfile"
}

stop_instance() {
  local n=$1 pidfile=$dir/instance$1/pid pid
  if alive "$pidfile"; then
    pid=$(cat "$pidfile")
    kill -TERM "$pid" 2>/dev/null || true
    for _ in $(seq 1 100); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
    kill -KILL "$pid" 2>/dev/null || true
  fi
  rm -f "$pidfile"
}

# Ready on its own port, or fails as soon as the process has died.
wait_instance() {
  local n=$1 seconds=$2
  for _ in $(seq 1 $((seconds * 10))); do
    if curl -sf -o /dev/null --max-time 2 "http://127.0.0.1:$((port_base + n))/readyz"; then return 0; fi
    if ! alive "$dir/instance$n/pid"; then
      echo "cluster: instance $n exited; the end of $dir/logs/instance$n.log:" >&2
      tail -n 20 "$dir/logs/instance$n.log" >&2 || true
      return 1
    fi
    sleep 0.1
  done
  echo "cluster: instance $n is not ready after ${seconds}s" >&2
  return 1
}

wait_ready() {
  local url=$1 seconds=$2
  for _ in $(seq 1 $((seconds * 10))); do
    if curl -sf -o /dev/null --max-time 2 "$url"; then return 0; fi
    sleep 0.1
  done
  return 1
}

write_haproxy_cfg() {
  local n
  {
    cat <<EOF
global
    maxconn 2000
    log stderr format short local0 notice

defaults
    mode http
    log global
    option httplog
    option dontlognull
    # haproxy adds the client's address; ORGPORTAL_TRUSTED_PROXIES=127.0.0.1 makes it believed.
    option forwardfor
    timeout connect 2s
    timeout client 30s
    timeout server 30s
    timeout queue 10s
    timeout http-request 10s
    timeout http-keep-alive 5s
    # A connection that could not be made never carried the request: retrying it (on another
    # server, redispatch) is safe for every method.
    retries 3
    option redispatch 1

frontend portal
    bind 127.0.0.1:$port_base
    default_backend instances

backend instances
    balance roundrobin
    option httpchk GET /readyz
    http-check expect status 200
    default-server inter 1s fastinter 500ms downinter 1s fall 2 rise 1
    # Beyond a failed connection, retry only requests that are safe to repeat: a POST that
    # reached a server may have been written, and repeating it would write it twice.
    retry-on conn-failure empty-response response-timeout
    http-request disable-l7-retry unless METH_GET
EOF
    for n in $(seq 1 "$instances"); do
      echo "    server instance$n 127.0.0.1:$((port_base + n)) check"
    done
    cat <<EOF

listen stats
    bind 127.0.0.1:$((port_base + 9))
    stats enable
    stats uri /
    stats refresh 5s
EOF
  } >"$dir/haproxy.cfg"
}

up_cleanup() {
  if [ -z "${up_done:-}" ]; then
    echo "cluster: up failed; stopping what was started" >&2
    cmd_down >/dev/null 2>&1 || true
  fi
}

cmd_up() {
  command -v haproxy >/dev/null || die "haproxy is not installed (apt-get install -y haproxy)"
  [ -x "$pg_bin/initdb" ] || die "PostgreSQL 15 is not installed in $pg_bin"
  if [ -e "$dir" ]; then
    die "$dir exists: a cluster is up or was left behind; run: $0 down"
  fi
  port_base=${CLUSTER_PORT_BASE:-18400}
  primary_port=$((port_base + 21))
  replica_port=$((port_base + 22))
  bin=${ORGPORTAL_BIN:-$repo/target/release/orgportal}
  if [ ! -x "$bin" ]; then
    [ -z "${ORGPORTAL_BIN:-}" ] || die "ORGPORTAL_BIN=$bin is not an executable"
    echo "building $bin"
    (cd "$repo" && cargo build --release --quiet)
  fi
  bin=$(cd "$(dirname "$bin")" && pwd)/$(basename "$bin")
  local port
  for port in "$port_base" $((port_base + 1)) $((port_base + 2)) $((port_base + 3)) $((port_base + 9)) \
    $((port_base + 11)) $((port_base + 12)) $((port_base + 13)) "$primary_port" "$replica_port"; do
    if (: <"/dev/tcp/127.0.0.1/$port") 2>/dev/null; then
      die "port $port is in use (set CLUSTER_PORT_BASE)"
    fi
  done

  mkdir -p "$dir"
  # From here on a failure (or an interrupt) takes down whatever was started.
  up_done=
  trap 'up_cleanup' EXIT
  mkdir -p "$dir/logs" "$dir/sockets"
  chmod 0755 "$dir" "$dir/logs"
  chown postgres:postgres "$dir/sockets"
  # pg_ctl writes the server logs as postgres; everything else is written by this script.
  install -o postgres -g postgres -m 0640 /dev/null "$dir/logs/primary.log"
  install -o postgres -g postgres -m 0640 /dev/null "$dir/logs/replica.log"
  (umask 077 && head -c 48 /dev/urandom | base64 -w0 >"$dir/secret.key")
  [ "$(wc -c <"$dir/secret.key")" -ge 64 ] || die "the secret key came out short"
  (umask 077 && printf '%s\n' "${CLUSTER_ADMIN_PASSWORD:-cluster-$(head -c 18 /dev/urandom | base64 -w0 | tr '/+' 'xy')}" >"$dir/admin-password")
  {
    printf 'port_base=%q\n' "$port_base"
    printf 'primary_port=%q\n' "$primary_port"
    printf 'replica_port=%q\n' "$replica_port"
    printf 'bin=%q\n' "$bin"
    printf 'smtp_url=%q\n' "${CLUSTER_SMTP_URL:-}"
    printf 'require_2fa=%q\n' "${CLUSTER_REQUIRE_ADMIN_2FA:-true}"
    printf 'invitations_per_hour=%q\n' "${CLUSTER_INVITATIONS_PER_HOUR:-}"
    printf 'rust_log=%q\n' "$log_filter"
  } >"$dir/cluster.env"
  load_state

  echo "primary: initdb, port $primary_port"
  install -d -o postgres -g postgres -m 0700 "$dir/primary"
  as_postgres "$pg_bin/initdb" -D "$dir/primary" -U postgres --auth=trust -E UTF8 --locale=C.UTF-8 \
    >"$dir/logs/initdb.log" 2>&1
  cat >>"$dir/primary/postgresql.conf" <<EOF
# orgportal cluster: loopback only, small, streaming to one replica
listen_addresses = '127.0.0.1'
unix_socket_directories = '$dir/sockets'
max_connections = 200
shared_buffers = 128MB
wal_level = replica
max_wal_senders = 4
max_replication_slots = 4
hot_standby = on
hot_standby_feedback = on
fsync = on
EOF
  # Trust on loopback only: a throwaway local cluster, nothing listens elsewhere.
  cat >"$dir/primary/pg_hba.conf" <<EOF
local all all trust
host all all 127.0.0.1/32 trust
host replication all 127.0.0.1/32 trust
EOF
  start_pg primary "$primary_port"
  psql_primary -d postgres -c "CREATE DATABASE orgportal"
  # A slot keeps the WAL a stopped replica still needs, so it catches up when it comes back.
  psql_primary -d postgres -c "SELECT pg_create_physical_replication_slot('replica1')" >/dev/null

  echo "replica: pg_basebackup, port $replica_port"
  install -d -o postgres -g postgres -m 0700 "$dir/replica"
  as_postgres "$pg_bin/pg_basebackup" -h 127.0.0.1 -p "$primary_port" -U postgres -D "$dir/replica" \
    -R -S replica1 -X stream -c fast >"$dir/logs/basebackup.log" 2>&1
  start_pg replica "$replica_port"

  echo "instances: $instances, starting together"
  local n
  for n in $(seq 1 "$instances"); do start_instance "$n"; done
  for n in $(seq 1 "$instances"); do
    wait_instance "$n" 90 || die "instance $n did not become ready"
  done

  write_haproxy_cfg
  haproxy -c -q -f "$dir/haproxy.cfg"
  # In the foreground of its own session (-db), so its log goes to a file and its pid is known.
  setsid haproxy -db -f "$dir/haproxy.cfg" >>"$dir/logs/haproxy.log" 2>&1 </dev/null &
  echo $! >"$dir/haproxy.pid"
  wait_ready "http://127.0.0.1:$port_base/readyz" 30 || die "HAProxy does not answer /readyz"
  up_done=1

  cat <<EOF
cluster up in $dir
  portal:    http://127.0.0.1:$port_base   (HAProxy, round-robin over 3 instances)
  sign in:   admin@default.com / $(cat "$dir/admin-password")
  instances: http://127.0.0.1:$((port_base + 1)) .. :$((port_base + instances)); metrics on :$((port_base + 11)) .. :$((port_base + 10 + instances))
  HAProxy:   stats on http://127.0.0.1:$((port_base + 9))/
  database:  primary postgres://postgres@127.0.0.1:$primary_port/orgportal
             replica postgres://postgres@127.0.0.1:$replica_port/orgportal
  logs:      $dir/logs/
  stop:      ${CLUSTER_DIR:+CLUSTER_DIR=$dir }$0 down
EOF
}

cmd_down() {
  if [ ! -e "$dir" ]; then
    echo "no cluster in $dir"
    return 0
  fi
  if [ -f "$dir/cluster.env" ]; then
    load_state
  fi
  if alive "$dir/haproxy.pid"; then
    kill -TERM "$(cat "$dir/haproxy.pid")" 2>/dev/null || true
  fi
  local n
  for n in $(seq 1 "$instances"); do stop_instance "$n"; done
  stop_pg replica
  stop_pg primary
  # pg_ctl may have been refused (e.g. a half-made data directory): stop by pid file.
  local name pid
  for name in replica primary; do
    if [ -f "$dir/$name/postmaster.pid" ]; then
      pid=$(head -n 1 "$dir/$name/postmaster.pid")
      kill -QUIT "$pid" 2>/dev/null || true
    fi
  done
  rm -rf "$dir"
  echo "cluster down; $dir removed"
}

cmd_status() {
  load_state
  local n pidfile state
  printf '%-12s %-8s %s\n' process pid state
  for n in $(seq 1 "$instances"); do
    pidfile=$dir/instance$n/pid
    if alive "$pidfile"; then
      if curl -sf -o /dev/null --max-time 2 "http://127.0.0.1:$((port_base + n))/readyz"; then state=ready; else state="not ready"; fi
      printf '%-12s %-8s %s\n' "instance$n" "$(cat "$pidfile")" "$state (127.0.0.1:$((port_base + n)))"
    else
      printf '%-12s %-8s %s\n' "instance$n" - stopped
    fi
  done
  if alive "$dir/haproxy.pid"; then
    printf '%-12s %-8s %s\n' haproxy "$(cat "$dir/haproxy.pid")" "running (http://127.0.0.1:$port_base)"
  else
    printf '%-12s %-8s %s\n' haproxy - stopped
  fi
  local name port
  for name in primary replica; do
    port=$primary_port
    [ "$name" = replica ] && port=$replica_port
    if [ -f "$dir/$name/postmaster.pid" ] && kill -0 "$(head -n 1 "$dir/$name/postmaster.pid")" 2>/dev/null; then
      printf '%-12s %-8s %s\n' "$name" "$(head -n 1 "$dir/$name/postmaster.pid")" "running (port $port)"
    else
      printf '%-12s %-8s %s\n' "$name" - stopped
    fi
  done
  echo
  echo "HAProxy backends:"
  curl -sf --max-time 2 "http://127.0.0.1:$((port_base + 9))/;csv" |
    awk -F, '$1 == "instances" && $2 != "BACKEND" { printf "  %-10s %s\n", $2, $18 }' || echo "  (stats unavailable)"
  echo
  echo "replication (pg_stat_replication on the primary):"
  psql_primary -d postgres -c "SELECT application_name, state, sent_lsn, replay_lsn, replay_lag FROM pg_stat_replication" ||
    true
  psql_primary -d postgres -c "SELECT slot_name, active, restart_lsn FROM pg_replication_slots" || true
}

cmd_stop_replica() {
  load_state
  stop_pg replica
  echo "replica stopped"
}

cmd_start_replica() {
  load_state
  start_pg replica "$replica_port"
  echo "replica started"
}

cmd_kill_instance() {
  load_state
  kill_instance "$1"
  echo "instance $1 killed (SIGKILL)"
}

cmd_start_instance() {
  load_state
  start_instance "$1"
  wait_instance "$1" 60 || die "instance $1 did not become ready"
  echo "instance $1 ready"
}

# Any orgportal subcommand with the cluster's settings, e.g. `run admin add ops@example.com`.
cmd_run() {
  load_state
  (
    export_settings
    ORGPORTAL_DATA_DIR="$dir/cli" exec "$bin" "$@"
  )
}

instance_arg() {
  case ${1:-} in
    [1-9]) [ "$1" -le "$instances" ] || die "instances are 1..$instances" ;;
    *) die "name an instance: 1..$instances" ;;
  esac
}

case ${1:-} in
  up) cmd_up ;;
  down) cmd_down ;;
  status) cmd_status ;;
  kill-instance) instance_arg "${2:-}" && cmd_kill_instance "$2" ;;
  start-instance) instance_arg "${2:-}" && cmd_start_instance "$2" ;;
  stop-replica) cmd_stop_replica ;;
  start-replica) cmd_start_replica ;;
  run)
    shift
    cmd_run "$@"
    ;;
  *)
    echo "usage: $0 up|down|status|kill-instance N|start-instance N|stop-replica|start-replica|run ARGS..." >&2
    exit 2
    ;;
esac
