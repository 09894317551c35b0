#!/usr/bin/env bash
# orgportal under faults: brings up a local cluster (scale/cluster.sh: a PostgreSQL primary and
# streaming replica, three instances, HAProxy), drives it with scale/faults.py while an instance
# is killed and the replica stopped, and always takes it down again. The last line is
# `lost: N`; the exit status is non-zero when anything was lost or a check failed.
#
# Environment: ORGPORTAL_BIN (default target/release/orgportal, built when missing),
# CLUSTER_PORT_BASE (default 18500), CLUSTER_DIR (default a fresh directory under ${TMPDIR:-/tmp}),
# FAULTS_DURATION (seconds of load, default 75), FAULTS_THREADS (default 6), FAULTS_EMAILS
# (default 1000), FAULTS_SMTP_DELAY (seconds the sink takes per message, default 0)
# (a killed worker's claims, which run out after 60 s, are waited for, not cut short).
set -euo pipefail

repo=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
export CLUSTER_PORT_BASE=${CLUSTER_PORT_BASE:-18500}
export CLUSTER_DIR=${CLUSTER_DIR:-${TMPDIR:-/tmp}/orgportal-faults-$$}

if [ -z "${ORGPORTAL_BIN:-}" ]; then
  export ORGPORTAL_BIN=$repo/target/release/orgportal
  if [ ! -x "$ORGPORTAL_BIN" ]; then
    echo "building $ORGPORTAL_BIN"
    (cd "$repo" && cargo build --release --quiet)
  fi
fi

cleanup() {
  "$repo/scale/cluster.sh" down >/dev/null 2>&1 || true
}
trap cleanup EXIT
trap 'exit 130' INT TERM

python3 "$repo/scale/faults.py"
