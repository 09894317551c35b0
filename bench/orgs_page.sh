#!/usr/bin/env bash
# The Organizations page at a million organizations (ORGS=10000000 for ten million).
#   bench/orgs_page.sh [sqlite|postgres]
# Builds release, seeds ORGS (default 1,000,000) organizations with `demo-data`, starts the
# server on 127.0.0.1, signs in, and runs wrk for 10 s at 16 connections against each
# scenario and a static asset; prints req/s (also as a share of the static asset's), p50 and
# p99 per scenario and the server's peak RSS.
# PostgreSQL: a database orgportal_bench_<pid> on PG_URL (default postgres://postgres@127.0.0.1:5432),
# dropped afterwards.
set -euo pipefail
backend=${1:-sqlite}
orgs=${ORGS:-1000000}
cd "$(dirname "$0")/.."
. bench/lib.sh
bench_prepare

echo "== seeding $orgs organizations on $backend"
"$bin" demo-data --orgs "$orgs" | tail -1
bench_start

add "page 1, natural order" "/admin/organizations"
add "page 1, sorted by name" "/admin/organizations?sort=name&dir=asc"
add "next page by cursor" "$(link '/admin/organizations?sort=name&dir=asc' next)"
add "last page" "$(link '/admin/organizations?sort=name&dir=asc' last)"
add "page=10000" "/admin/organizations?page=10000"
add "search abc" "/admin/organizations?q=abc"
add "search zentr" "/admin/organizations?q=zentr"
bench_run data-org-id
