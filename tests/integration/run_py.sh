#!/usr/bin/env bash
# Runs a Python integration test with the stack's venv (confluent-kafka and
# friends) after loading the stack's env.sh. Usage: run_py.sh TEST.py [ARGS]
set -euo pipefail
: "${STACK_DIR:=$PWD/build/stack}"
if [ ! -f "$STACK_DIR/env.sh" ]; then
  echo "FAIL: $STACK_DIR/env.sh missing: is the stack up? (scripts/stack/up.sh)" >&2
  exit 1
fi
# shellcheck disable=SC1091
. "$STACK_DIR/env.sh"
export PYTHONPATH="$(cd "$(dirname "$0")" && pwd)${PYTHONPATH:+:$PYTHONPATH}"
exec "$STACK_PY" "$@"
