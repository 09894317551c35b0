# Shared by the benchmark scripts (sourced, not run): a scratch database on the chosen backend,
# the release server on a free loopback port, a signed-in administrator session, and wrk over a
# list of scenarios, each also given as a share of a static asset timed in the same run (the
# machine is shared and noisy; shares compare across days, raw figures do not).
#
# The sourcing script sets `backend` (sqlite|postgres) and may set ORGPORTAL_BIN (another build),
# DURATION (default 10s), CONNECTIONS (default 16), PG_URL.

duration=${DURATION:-10s}
connections=${CONNECTIONS:-16}

bench_prepare() {
  if ! command -v wrk >/dev/null; then
    apt-get update && apt-get install -y wrk
  fi
  # ORGPORTAL_BIN runs another build (e.g. the previous commit's, for an A/B).
  if [ -z "${ORGPORTAL_BIN:-}" ]; then
    cargo build --release --quiet
  fi
  bin=${ORGPORTAL_BIN:-$PWD/target/release/orgportal}
  work=$(mktemp -d)
  password=bench-harbour-92-lantern
  port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
  base=http://127.0.0.1:$port
  export ORGPORTAL_ADMIN_PASSWORD=$password ORGPORTAL_DATA_DIR=$work/data RUST_LOG=warn
  unset DATABASE_URL
  case $backend in
    sqlite) ;;
    postgres)
      pg=${PG_URL:-postgres://postgres@127.0.0.1:5432}
      db=orgportal_bench_$$
      psql "$pg/postgres" -qc "CREATE DATABASE $db"
      export DATABASE_URL=$pg/$db
      ORGPORTAL_SECRET_KEY=$(head -c 48 /dev/urandom | base64 -w0)$(head -c 48 /dev/urandom | base64 -w0)
      export ORGPORTAL_SECRET_KEY
      ;;
    *) echo "usage: $0 [sqlite|postgres]" >&2; exit 2 ;;
  esac
  server=
  trap bench_cleanup EXIT
}

bench_cleanup() {
  [ -n "$server" ] && kill "$server" 2>/dev/null && wait "$server" 2>/dev/null || true
  [ "$backend" = postgres ] && psql "$pg/postgres" -qc "DROP DATABASE IF EXISTS $db WITH (FORCE)" || true
  rm -rf "$work"
}

# Start the server and sign in as the first administrator (who also administers the Default
# organization); sets `cookie`.
bench_start() {
  "$bin" --bind "127.0.0.1:$port" >"$work/server.log" 2>&1 &
  server=$!
  for _ in $(seq 1 300); do curl -sf "$base/healthz" >/dev/null && break; sleep 0.1; done
  local jar=$work/jar t enrol secret code
  t=$(curl -s -c "$jar" -b "$jar" "$base/login" | bench_token)
  # The password step answers with the enrolment page of two-step sign-in (the administrator
  # has none yet): read the key from it and answer with the code an authenticator app shows.
  enrol=$(curl -s -c "$jar" -b "$jar" --data-urlencode "csrf_token=$t" \
    --data-urlencode email=admin@default.com --data-urlencode "password=$password" "$base/login")
  secret=$(printf '%s' "$enrol" | grep -o 'id="totp-secret"[^>]*>[A-Z2-7]*' | sed 's/.*>//')
  [ -n "$secret" ] || { echo "sign-in failed: no enrolment page" >&2; exit 1; }
  code=$(python3 -c 'import base64,hashlib,hmac,struct,sys,time
k=base64.b32decode(sys.argv[1]+"="*(-len(sys.argv[1])%8)); d=hmac.new(k,struct.pack(">Q",int(time.time()//30)),hashlib.sha1).digest()
o=d[-1]&15; print("%06d"%((struct.unpack(">I",d[o:o+4])[0]&0x7fffffff)%1000000))' "$secret")
  t=$(printf '%s' "$enrol" | bench_token)
  curl -s -o /dev/null -c "$jar" -b "$jar" --data-urlencode "csrf_token=$t" --data-urlencode "code=$code" "$base/login"
  cookie=$(awk '$6 == "orgportal_session" { print $7 }' "$jar")
  [ -n "$cookie" ] || { echo "sign-in failed" >&2; exit 1; }
  curl -s -b "orgportal_session=$cookie" -o /dev/null -w '%{http_code}' "$base/admin/organizations" | grep -q 200 ||
    { echo "sign-in failed: the session does not open the Organizations page" >&2; exit 1; }
}

bench_token() { grep -o 'name="csrf_token" value="[^"]*"' | head -1 | sed 's/.*value="//; s/"$//'; }

# The href of a rel= link on a page (empty when the page has none).
link() {
  curl -s -b "orgportal_session=$cookie" "$base$1" | grep -o "<a href=\"[^\"]*\" rel=\"$2\"" | head -1 |
    sed 's/<a href="//; s/" rel=.*//; s/&#38;/\&/g; s/&amp;/\&/g'
}

declare -a names paths
add() { names+=("$1"); paths+=("$2"); }

# Run wrk on every scenario added, then on the static asset, and print the table.
# $1: the attribute that marks a row (e.g. data-org-id), counted on each page.
bench_run() {
  local row_attr=$1 i path body rows summary out rps p50 p99 errors
  # The yardstick: a static file through the same server and session, in the same run.
  add "static /static/favicon.svg" "/static/favicon.svg"
  declare -a results
  for i in "${!names[@]}"; do
    path=${paths[$i]}
    if [ -z "$path" ]; then
      results+=("${names[$i]}|no such link|-|-|-|")
      continue
    fi
    body=$(curl -s -b "orgportal_session=$cookie" "$base$path")
    # A page without rows (the static file) counts none rather than stopping the script.
    rows=$( (grep -oE "$row_attr=" <<<"$body" || true) | wc -l)
    summary=$( (grep -o 'Showing [^<]*\|No results' <<<"$body" || true) | head -1 | sed 's/ matching.*//')
    out=$(wrk -t2 -c"$connections" -d"$duration" --latency -H "Cookie: orgportal_session=$cookie" "$base$path")
    rps=$(awk '/Requests\/sec/ { print $2 }' <<<"$out")
    p50=$(awk '$1 == "50%" { print $2 }' <<<"$out")
    p99=$(awk '$1 == "99%" { print $2 }' <<<"$out")
    errors=$(grep -o 'Non-2xx or 3xx responses: [0-9]*' <<<"$out" || true)
    results+=("${names[$i]}|$rows ($summary)|$rps|$p50|$p99|${errors:+ $errors}")
  done
  local static_rps share
  static_rps=$(cut -d'|' -f3 <<<"${results[-1]}")
  printf '\n| scenario | rows | req/s | share of static | p50 | p99 |\n|---|---|---|---|---|---|\n'
  for line in "${results[@]}"; do
    IFS='|' read -r name rows rps p50 p99 errors <<<"$line"
    share=$(awk -v a="$rps" -v b="$static_rps" 'BEGIN { if (b > 0 && a != "-") printf "%.1f%%", 100 * a / b; else print "-" }')
    printf '| %s | %s | %s | %s | %s | %s |%s\n' "$name" "$rows" "$rps" "$share" "$p50" "$p99" "$errors"
  done
  echo
  echo "server peak RSS: $(awk '/VmHWM/ { printf "%.0f MiB", $2 / 1024 }' "/proc/$server/status")"
  echo "machine: $(nproc) cores, $(awk '/MemTotal/ { printf "%.0f GiB", $2/1048576 }' /proc/meminfo), $(uname -sr), $(date -u +%Y-%m-%dT%H:%MZ), $backend"
}
