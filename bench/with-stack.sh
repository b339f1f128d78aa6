#!/usr/bin/env bash
# Runs CMD against the test stack: the one already up in $STACK_DIR, or one
# it starts for CMD and stops afterwards (scripts/stack/run-with-stack.sh).
#   bench/with-stack.sh bench/notify.sh
set -euo pipefail
REPO="$(cd "$(dirname "$0")/.." && pwd)"
: "${STACK_DIR:=$REPO/build/stack}"
export STACK_DIR
if [ -f "$STACK_DIR/env.sh" ] &&
   bash -c '. "$STACK_DIR/env.sh" && kcat -b "$KAFKA_BOOTSTRAP" -L -m 3 >/dev/null 2>&1'; then
  exec "$@"
fi
exec "$REPO/scripts/stack/run-with-stack.sh" "$@"
