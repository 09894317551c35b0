#!/usr/bin/env bash
# LDAP sync of a large directory.
#   bench/ldap_sync.sh [sqlite|postgres]
# Starts a private slapd (Debian's, as tests/api/slapd.rs does) on a free loopback port, loads
# ENTRIES (default 50,000) inetOrgPerson entries with slapadd, adds an LDAP connection through
# the release server's /admin/ldap form (the bind password is sealed by the server), stops the
# server, then times `orgportal ldap-sync ID` twice: the first run creates every account and
# membership, the second reads them all again and changes nothing. Last, the release server
# signs in user0@example.org with its directory password.
# PostgreSQL: a database orgportal_bench_<pid> on PG_URL (default postgres://postgres@127.0.0.1:5432),
# dropped afterwards.
set -euo pipefail
backend=${1:-sqlite}
entries=${ENTRIES:-50000}
cd "$(dirname "$0")/.."

for tool in /usr/sbin/slapd /usr/sbin/slapadd; do
  [ -x "$tool" ] || { apt-get update && apt-get install -y slapd ldap-utils; break; }
done
if [ -z "${ORGPORTAL_BIN:-}" ]; then
  cargo build --release --quiet
fi
bin=${ORGPORTAL_BIN:-$PWD/target/release/orgportal}
work=$(mktemp -d)
password=bench-harbour-92-lantern
free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
port=$(free_port)
ldap_port=$(free_port)
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
slapd=
cleanup() {
  [ -n "$server" ] && kill "$server" 2>/dev/null && wait "$server" 2>/dev/null || true
  [ -n "$slapd" ] && kill "$slapd" 2>/dev/null && wait "$slapd" 2>/dev/null || true
  [ "$backend" = postgres ] && psql "$pg/postgres" -qc "DROP DATABASE IF EXISTS $db WITH (FORCE)" || true
  rm -rf "$work"
}
trap cleanup EXIT

suffix=dc=example,dc=org
mkdir -p "$work/ldap/db"
cat >"$work/ldap/slapd.conf" <<CONF
include /etc/ldap/schema/core.schema
include /etc/ldap/schema/cosine.schema
include /etc/ldap/schema/inetorgperson.schema
pidfile $work/ldap/slapd.pid
modulepath /usr/lib/ldap
moduleload back_mdb
# Active Directory's limit: only a paged search reads past it.
sizelimit size.soft=1000 size.hard=1000 size.prtotal=unlimited
database mdb
maxsize 1073741824
suffix "$suffix"
rootdn "cn=admin,$suffix"
rootpw root-secret-17
directory $work/ldap/db
access to attrs=userPassword by anonymous auth by self read by * none
access to * by users read by * none
CONF
echo "== loading $entries entries with slapadd"
started=$(date +%s.%N)
python3 - "$entries" <<'PY' | /usr/sbin/slapadd -q -f "$work/ldap/slapd.conf"
import sys
n = int(sys.argv[1])
out = sys.stdout
out.write("dn: dc=example,dc=org\nobjectClass: dcObject\nobjectClass: organization\ndc: example\no: Example\n\n")
out.write("dn: ou=people,dc=example,dc=org\nobjectClass: organizationalUnit\nou: people\n\n")
out.write("dn: cn=reader,dc=example,dc=org\nobjectClass: person\nobjectClass: simpleSecurityObject\n"
          "cn: reader\nsn: reader\nuserPassword: reader-secret-41\n\n")
for i in range(n):
    out.write(f"dn: uid=user{i},ou=people,dc=example,dc=org\nobjectClass: inetOrgPerson\nuid: user{i}\n"
              f"cn: User {i}\nsn: {i}\nmail: user{i}@example.org\nuserPassword: pw-{i}-lantern\n\n")
PY
echo "   $(python3 -c "import sys; print(f'{float(sys.argv[2]) - float(sys.argv[1]):.1f} s')" "$started" "$(date +%s.%N)")"
/usr/sbin/slapd -d 0 -f "$work/ldap/slapd.conf" -h "ldap://127.0.0.1:$ldap_port/" >"$work/ldap/slapd.log" 2>&1 &
slapd=$!
for _ in $(seq 1 100); do (exec 3<>"/dev/tcp/127.0.0.1/$ldap_port") 2>/dev/null && break; sleep 0.1; done

"$bin" migrate >/dev/null
"$bin" --bind "127.0.0.1:$port" >"$work/server.log" 2>&1 &
server=$!
for _ in $(seq 1 100); do curl -sf "$base/healthz" >/dev/null && break; sleep 0.1; done

token() { grep -o 'name="csrf_token" value="[^"]*"' | head -1 | sed 's/.*value="//; s/"$//'; }
# Sign in as $1 with password $2 into cookie jar $3 through the second-factor enrolment (as
# bench/orgs_page.sh does: the code computed here); prints the page the code step answers.
sign_in() {
  local jar=$3 t enrol secret code
  t=$(curl -s -c "$jar" -b "$jar" "$base/login" | token)
  enrol=$(curl -s -c "$jar" -b "$jar" --data-urlencode "csrf_token=$t" \
    --data-urlencode "email=$1" --data-urlencode "password=$2" "$base/login")
  secret=$(printf '%s' "$enrol" | grep -o 'id="totp-secret"[^>]*>[A-Z2-7]*' | sed 's/.*>//')
  [ -n "$secret" ] || { echo "sign-in of $1 failed: no enrolment page" >&2; return 1; }
  code=$(python3 -c 'import base64,hashlib,hmac,struct,sys,time
k=base64.b32decode(sys.argv[1]+"="*(-len(sys.argv[1])%8)); d=hmac.new(k,struct.pack(">Q",int(time.time()//30)),hashlib.sha1).digest()
o=d[-1]&15; print("%06d"%((struct.unpack(">I",d[o:o+4])[0]&0x7fffffff)%1000000))' "$secret")
  t=$(printf '%s' "$enrol" | token)
  curl -s -c "$jar" -b "$jar" --data-urlencode "csrf_token=$t" --data-urlencode "code=$code" "$base/login"
}
jar=$work/jar
sign_in admin@default.com "$password" "$jar" >/dev/null

t=$(curl -s -c "$jar" -b "$jar" "$base/admin/ldap" | token)
location=$(curl -s -o /dev/null -w '%{redirect_url}' -c "$jar" -b "$jar" --data-urlencode "csrf_token=$t" \
  --data-urlencode name=Bench --data-urlencode "url=ldap://127.0.0.1:$ldap_port" \
  --data-urlencode "bind_dn=cn=reader,$suffix" --data-urlencode bind_password=reader-secret-41 \
  --data-urlencode "base_dn=ou=people,$suffix" --data-urlencode "user_filter=(objectClass=inetOrgPerson)" \
  --data-urlencode email_attr=mail --data-urlencode name_attr=cn --data-urlencode schedule_minutes= \
  --data-urlencode new_entry_status=active "$base/admin/ldap")
id=${location##*/}
[[ "$id" =~ ^[0-9]+$ ]] || { echo "adding the connection failed (redirect: $location)" >&2; exit 1; }
kill "$server"; wait "$server" 2>/dev/null || true; server=

echo "== $backend: first sync (creates $entries accounts and memberships)"
"$bin" ldap-sync "$id"
echo "== $backend: second sync (reads them all again, changes nothing)"
"$bin" ldap-sync "$id"

echo "== sign-in through the directory as user0@example.org (its directory password)"
"$bin" --bind "127.0.0.1:$port" >"$work/server.log" 2>&1 &
server=$!
for _ in $(seq 1 100); do curl -sf "$base/healthz" >/dev/null && break; sleep 0.1; done
if sign_in user0@example.org pw-0-lantern "$work/person" | grep -q 'Your recovery codes'; then
  echo "   signed in (enrolled a second factor on the way)"
else
  echo "   the directory sign-in failed" >&2
  exit 1
fi
