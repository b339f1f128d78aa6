# Helpers for the integration smoke tests. Sourced by each test script.
# Loads the stack's env.sh (written by scripts/stack/up.sh) from $STACK_DIR.
set -euo pipefail
: "${STACK_DIR:=$PWD/build/stack}"
if [ ! -f "$STACK_DIR/env.sh" ]; then
  echo "FAIL: $STACK_DIR/env.sh missing: is the stack up? (scripts/stack/up.sh)" >&2
  exit 1
fi
# shellcheck disable=SC1091
. "$STACK_DIR/env.sh"
TEST_NAME="$(basename "$0" .sh)"
# Unique per run, so tests can share the stack and run in parallel.
RUN_ID="${TEST_NAME}-$$-$(date +%s%N)"
WORK="$(mktemp -d "${TMPDIR:-/tmp}/herald-it.XXXXXX")"
trap 'rm -rf "$WORK"' EXIT
PRODUCER=("$STACK_PY" "$STACK_PRODUCER")
CHECKS=0

fail() { echo "FAIL [$TEST_NAME]: $*" >&2; exit 1; }
# assert_eq WHAT EXPECTED ACTUAL
assert_eq() {
  CHECKS=$((CHECKS + 1))
  if [ "$2" != "$3" ]; then
    fail "$1: expected [$2], got [$3]"
  fi
  echo "ok - $1 = $2"
}
# assert_match WHAT REGEX ACTUAL
assert_match() {
  CHECKS=$((CHECKS + 1))
  [[ "$3" =~ $2 ]] || fail "$1: [$3] does not match /$2/"
  echo "ok - $1 =~ /$2/ ($3)"
}
done_ok() { echo "PASS [$TEST_NAME]: $CHECKS checks"; }
hex_of() { od -An -v -tx1 | tr -d ' \n'; }
