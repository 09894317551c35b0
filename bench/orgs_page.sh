#!/usr/bin/env bash
# The Organizations page at a million organizations.
#   bench/orgs_page.sh [sqlite|postgres]
# Builds release, seeds ORGS (default 1,000,000) organizations with `demo-data`, starts the
# server on 127.0.0.1, signs in, and runs wrk for 10 s at 16 connections against each
# scenario; prints req/s, p50 and p99 per scenario and the server's peak RSS.
# PostgreSQL: a database orgportal_bench_<pid> on PG_URL (default postgres://postgres@127.0.0.1:5432),
# dropped afterwards.
set -euo pipefail
backend=${1:-sqlite}
orgs=${ORGS:-1000000}
duration=${DURATION:-10s}
connections=${CONNECTIONS:-16}
cd "$(dirname "$0")/.."

if ! command -v wrk >/dev/null; then
  apt-get update && apt-get install -y wrk
fi
# ORGPORTAL_BIN runs another build (e.g. one compiled with other SQLite flags).
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
    export ORGPORTAL_SECRET_KEY=$(head -c 48 /dev/urandom | base64 -w0)$(head -c 48 /dev/urandom | base64 -w0)
    ;;
  *) echo "usage: $0 [sqlite|postgres]" >&2; exit 2 ;;
esac
server=
cleanup() {
  [ -n "$server" ] && kill "$server" 2>/dev/null && wait "$server" 2>/dev/null || true
  [ "$backend" = postgres ] && psql "$pg/postgres" -qc "DROP DATABASE IF EXISTS $db WITH (FORCE)" || true
  rm -rf "$work"
}
trap cleanup EXIT

echo "== seeding $orgs organizations on $backend"
"$bin" demo-data --orgs "$orgs" | tail -1

"$bin" --bind "127.0.0.1:$port" >"$work/server.log" 2>&1 &
server=$!
for _ in $(seq 1 100); do curl -sf "$base/healthz" >/dev/null && break; sleep 0.1; done

jar=$work/jar
token() { grep -o 'name="csrf_token" value="[^"]*"' | head -1 | sed 's/.*value="//; s/"$//'; }
t=$(curl -s -c "$jar" -b "$jar" "$base/login" | token)
# The password step answers with the enrolment page of two-step sign-in (the administrator has
# none yet): read the key from it and answer with the code an authenticator app would show.
enrol=$(curl -s -c "$jar" -b "$jar" --data-urlencode "csrf_token=$t" \
  --data-urlencode email=admin@default.com --data-urlencode "password=$password" "$base/login")
secret=$(printf '%s' "$enrol" | grep -o 'id="totp-secret"[^>]*>[A-Z2-7]*' | sed 's/.*>//')
[ -n "$secret" ] || { echo "sign-in failed: no enrolment page" >&2; exit 1; }
code=$(python3 -c 'import base64,hashlib,hmac,struct,sys,time
k=base64.b32decode(sys.argv[1]+"="*(-len(sys.argv[1])%8)); d=hmac.new(k,struct.pack(">Q",int(time.time()//30)),hashlib.sha1).digest()
o=d[-1]&15; print("%06d"%((struct.unpack(">I",d[o:o+4])[0]&0x7fffffff)%1000000))' "$secret")
t=$(printf '%s' "$enrol" | token)
curl -s -o /dev/null -c "$jar" -b "$jar" --data-urlencode "csrf_token=$t" --data-urlencode "code=$code" "$base/login"
cookie=$(awk '$6 == "orgportal_session" { print $7 }' "$jar")
[ -n "$cookie" ] || { echo "sign-in failed" >&2; exit 1; }
curl -s -b "orgportal_session=$cookie" -o /dev/null -w '%{http_code}' "$base/admin/organizations" | grep -q 200 ||
  { echo "sign-in failed: the session does not open the Organizations page" >&2; exit 1; }

link() { # the href of a rel= link on a page
  curl -s -b "orgportal_session=$cookie" "$base$1" | grep -o "<a href=\"[^\"]*\" rel=\"$2\"" | head -1 |
    sed 's/<a href="//; s/" rel=.*//; s/&#38;/\&/g; s/&amp;/\&/g'
}
declare -a names paths
add() { names+=("$1"); paths+=("$2"); }
add "page 1, natural order" "/admin/organizations"
add "page 1, sorted by name" "/admin/organizations?sort=name&dir=asc"
add "next page by cursor" "$(link '/admin/organizations?sort=name&dir=asc' next)"
add "last page" "$(link '/admin/organizations?sort=name&dir=asc' last)"
add "page=10000" "/admin/organizations?page=10000"
add "search abc" "/admin/organizations?q=abc"
add "search zentr" "/admin/organizations?q=zentr"
# The yardstick: a static file through the same server and session, in the same run. The
# machine is shared and noisy; each figure is also given as a share of this one.
add "static /static/style.css" "/static/style.css"

declare -a results
for i in "${!names[@]}"; do
  path=${paths[$i]}
  body=$(curl -s -b "orgportal_session=$cookie" "$base$path")
  # A page without rows (the static file) counts none rather than stopping the script.
  rows=$( (grep -o 'data-org-id=' <<<"$body" || true) | wc -l)
  summary=$( (grep -o 'Showing [^<]*' <<<"$body" || true) | head -1 | sed 's/ matching.*//')
  out=$(wrk -t2 -c"$connections" -d"$duration" --latency -H "Cookie: orgportal_session=$cookie" "$base$path")
  rps=$(awk '/Requests\/sec/ { print $2 }' <<<"$out")
  p50=$(awk '$1 == "50%" { print $2 }' <<<"$out")
  p99=$(awk '$1 == "99%" { print $2 }' <<<"$out")
  errors=$(grep -o 'Non-2xx or 3xx responses: [0-9]*' <<<"$out" || true)
  results+=("${names[$i]}|$rows ($summary)|$rps|$p50|$p99|${errors:+ $errors}")
done
static_rps=$(cut -d'|' -f3 <<<"${results[-1]}")
printf '\n| scenario | rows | req/s | share of static | p50 | p99 |\n|---|---|---|---|---|---|\n'
for line in "${results[@]}"; do
  IFS='|' read -r name rows rps p50 p99 errors <<<"$line"
  share=$(awk -v a="$rps" -v b="$static_rps" 'BEGIN { if (b > 0) printf "%.0f%%", 100 * a / b; else print "-" }')
  printf '| %s | %s | %s | %s | %s | %s |%s\n' "$name" "$rows" "$rps" "$share" "$p50" "$p99" "$errors"
done
rss=$(awk '/VmHWM/ { printf "%.0f MiB", $2 / 1024 }' "/proc/$server/status")
echo
echo "server peak RSS: $rss"
echo "machine: $(nproc) cores, $(awk '/MemTotal/ { printf "%.0f GiB", $2/1048576 }' /proc/meminfo), $(uname -sr), $(date -u +%Y-%m-%d)"
