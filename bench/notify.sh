#!/usr/bin/env bash
# Notify benchmark: the sendgrid channel against WireMock (50 ms per
# request, max_in_flight 64: bound 1,280 emails/s) and the smtp channel
# against Mailpit and a local sink, connections kept open vs one per
# message. Needs the test stack (scripts/stack/up.sh); see bench/notify.py.
# Last line: notify sendgrid_ratio=<emails/s / 1280> smtp_msgs_per_s=<n>
set -euo pipefail
REPO="$(cd "$(dirname "$0")/.." && pwd)"
: "${STACK_DIR:=$REPO/build/stack}"
: "${BUILD:=build}"
case "$BUILD" in /*) ;; *) BUILD="$REPO/$BUILD" ;; esac
if [ ! -f "$STACK_DIR/env.sh" ]; then
  echo "bench-notify: $STACK_DIR/env.sh missing: start the stack (scripts/stack/up.sh)" >&2
  exit 1
fi
# shellcheck disable=SC1091
. "$STACK_DIR/env.sh"
export HERALD_BIN="${HERALD_BIN:-$BUILD/herald}"
export HERALD_PLUGIN_DIR="${HERALD_PLUGIN_DIR:-$BUILD/plugins}"
export PYTHONPATH="$REPO/tests/integration${PYTHONPATH:+:$PYTHONPATH}"
exec "$STACK_PY" "$REPO/bench/notify.py"
