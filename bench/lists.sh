#!/usr/bin/env bash
# Every list at scale: the users list, both audit trails and the outbox.
#   bench/lists.sh [sqlite|postgres]
# Builds release, seeds with `demo-data` MEMBERS (default 1,000,000) memberships in the Default
# organization, EVENTS (default 10,000,000) audit events in both trails and OUTBOX (default
# 1,000,000) messages, starts the server on 127.0.0.1, signs in as the first administrator
# (platform administrator and Delegate of the Default organization), and runs wrk (10 s, 16
# connections) on page 1, the next page, the last page and a search or filter of each list, and
# three audit filters; prints req/s (also as a share of a static asset timed in the same run),
# p50 and p99 per scenario and the server's peak RSS.
# PostgreSQL: a database orgportal_bench_<pid> on PG_URL (default postgres://postgres@127.0.0.1:5432),
# dropped afterwards.
set -euo pipefail
backend=${1:-sqlite}
members=${MEMBERS:-1000000}
events=${EVENTS:-10000000}
outbox=${OUTBOX:-1000000}
cd "$(dirname "$0")/.."
. bench/lib.sh
bench_prepare

echo "== seeding $members memberships, $events audit events, $outbox outbox messages on $backend"
for flag in "--members $members" "--events $events" "--outbox $outbox"; do
  started=$(date +%s.%N)
  # shellcheck disable=SC2086
  "$bin" demo-data $flag | tail -1
  awk -v s="$started" -v e="$(date +%s.%N)" -v f="$flag" 'BEGIN { printf "   demo-data %s: %.1f s\n", f, e - s }'
done
bench_start

# The Default organization: the first console link on the home page.
org=$(curl -s -b "orgportal_session=$cookie" "$base/" | grep -o 'href="/orgs/[0-9]*"' | head -1 | grep -o '[0-9]*')
[ -n "$org" ] || { echo "no organization console on the home page" >&2; exit 1; }
users=/orgs/$org/users
org_audit=/orgs/$org/audit
# Filter values read off the data itself: the actor of the newest platform event, an action
# name, a month a year ago, an organization's id.
# (the actor cell links to the trail narrowed to it: its `actor=` value, already percent-encoded)
actor=$(curl -s -b "orgportal_session=$cookie" "$base/admin/audit" | grep -o 'href="[^"]*[?;]actor=[^"&]*' | head -1 | sed 's/.*actor=//')
month_from=$(date -u -d '12 months ago' +%Y-%m-01)
month_to=$(date -u -d "$month_from +1 month -1 day" +%Y-%m-%d)
# The oldest events: capped lists have no Last link (their total is not counted past 10,000),
# so the deep end of a trail is reached by date.
oldest_from=$(date -u -d '24 months ago' +%Y-%m-01)
oldest_to=$(date -u -d "$oldest_from +1 month -1 day" +%Y-%m-%d)

add "users: page 1" "$users"
add "users: next page" "$(link "$users" next)"
add "users: last page" "$(link "$users" last)"
add "users: sorted by name, next page" "$(link "$users?sort=name&dir=asc" next)"
add "users: search 'anna'" "$users?q=anna"
add "platform audit: page 1" "/admin/audit"
add "platform audit: next page" "$(link /admin/audit next)"
add "platform audit: last page" "$(link /admin/audit last)"
add "platform audit: one actor" "/admin/audit?actor=$actor"
add "platform audit: one action in one month" "/admin/audit?action=organization.updated&from=$month_from&to=$month_to"
add "platform audit: one organization" "/admin/audit?org=$org"
add "platform audit: the oldest month" "/admin/audit?from=$oldest_from&to=$oldest_to"
add "org audit: page 1" "$org_audit"
add "org audit: next page" "$(link "$org_audit" next)"
add "org audit: last page" "$(link "$org_audit" last)"
add "outbox: page 1" "/admin/outbox"
add "outbox: next page" "$(link /admin/outbox next)"
add "outbox: last page" "$(link /admin/outbox last)"
add "outbox: status failed" "/admin/outbox?status=failed"
bench_run 'data-(account|event|message)-id'
