#!/usr/bin/env bash
# Brings the stack up, runs CMD with $STACK_DIR/env.sh sourced, and always
# tears the stack down (also on failure, Ctrl-C or TERM). Exits with CMD's
# status (or up.sh's, if the stack did not come up).
#   scripts/stack/run-with-stack.sh ctest --test-dir build -L integration
set -uo pipefail
. "$(dirname "${BASH_SOURCE[0]}")/common.sh"
[ $# -ge 1 ] || die "usage: $0 CMD [ARGS...]"
mkdir -p "$STACK_DIR"; STACK_DIR="$(cd "$STACK_DIR" && pwd)"; export STACK_DIR
teardown() { "$STACK_SCRIPTS/down.sh" "$STACK_DIR"; }
trap teardown EXIT
trap 'exit 130' INT
trap 'exit 143' TERM
"$STACK_SCRIPTS/up.sh" "$STACK_DIR" || exit $?
# shellcheck disable=SC1091
. "$STACK_DIR/env.sh"
"$@" &
child=$!
wait "$child"; rc=$?
exit "$rc"
