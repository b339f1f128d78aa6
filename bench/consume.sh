#!/usr/bin/env bash
# Consume benchmark (make bench-consume): herald with the null sink against
# kcat and Apache Kafka Connect on one Avro topic of 1,000,000
# possible_anomalies records in 8 partitions and its JSON copy, on the
# integration stack's real broker and registry. See bench/consume.py.
#   bench/consume.sh [BUILD_DIR]     (default build)
# Uses a running stack ($STACK_DIR/env.sh, default build/stack); starts one
# (scripts/stack/up.sh, kafka and registry only) if none answers, and stops
# only what it started. BENCH_PEERS=0 skips Kafka Connect (and its fetch,
# scripts/stack/connect-deps.sh, cached under ~/.cache/herald-stack).
set -euo pipefail
REPO="$(cd "$(dirname "$0")/.." && pwd)"
BUILD="${1:-${BUILD:-build}}"
case "$BUILD" in /*) ;; *) BUILD="$REPO/$BUILD" ;; esac
: "${STACK_DIR:=$REPO/build/stack}"
export HERALD_BIN="${HERALD_BIN:-$BUILD/herald}"
[ -x "$HERALD_BIN" ] || { echo "no herald binary at $HERALD_BIN (make build)" >&2; exit 1; }
started=0
if ! { [ -f "$STACK_DIR/env.sh" ] && (. "$STACK_DIR/env.sh" && kcat -b "$KAFKA_BOOTSTRAP" -L -t none -m 5 >/dev/null 2>&1); }; then
  STACK_SERVICES="kafka registry" flock /tmp/herald-stack.lock "$REPO/scripts/stack/up.sh" "$STACK_DIR"
  started=1
fi
trap '[ "$started" = 1 ] && "$REPO/scripts/stack/down.sh" "$STACK_DIR"' EXIT
CONNECT_LIBS=""
if [ "${BENCH_PEERS:-1}" != 0 ]; then
  CONNECT_LIBS="$("$REPO/scripts/stack/connect-deps.sh")"
fi
export CONNECT_LIBS
. "$STACK_DIR/env.sh"
"$STACK_PY" "$REPO/bench/consume.py"
