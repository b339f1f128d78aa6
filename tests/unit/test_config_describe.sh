#!/bin/sh
# test_config_describe.sh BUILD_DIR SOURCE_DIR: `herald check --describe`
# prints the reference docs/config.md carries (byte for byte, between its
# describe markers); a key it lists is accepted by `herald check` and the
# same key misspelled gets "did you mean" it, at its file:line:col.
set -eu
build=$1
src=$2
herald=$build/herald
tmp=$(mktemp -d "${TMPDIR:-/tmp}/herald-describe.XXXXXX")
trap 'rm -rf "$tmp"' EXIT
fail() { echo "FAIL [test_config_describe]: $*" >&2; exit 1; }
export HERALD_PLUGIN_PATH=

rc=0
"$herald" check --describe >"$tmp/ref" 2>"$tmp/err" || rc=$?
[ "$rc" = 0 ] || fail "exit $rc"
[ ! -s "$tmp/err" ] || fail "stderr: $(cat "$tmp/err")"
sed -n '/^<!-- describe:begin/,/^<!-- describe:end/p' "$src/docs/config.md" |
  sed '1,2d;$d' | sed '$d' >"$tmp/doc"
diff -u "$tmp/doc" "$tmp/ref" >"$tmp/diff" ||
  fail "docs/config.md differs from herald check --describe:
$(cat "$tmp/diff")"
grep -qx 'connectors\[\].errors.retry.initial' "$tmp/ref" ||
  fail "connectors[].errors.retry.initial not described"

# The key as described, then misspelled: the connector lacks notify/sink,
# so check stops on that error before any network.
cd "$tmp"
for key in initial initiall; do
  cat >c.yaml <<Y
connectors:
  - name: c
    topics: [t]
    errors:
      retry:
        $key: 2s
Y
  rc=0
  "$herald" check -c c.yaml >out 2>err || rc=$?
  [ "$rc" = 1 ] || fail "$key: exit $rc, want 1"
  grep -qx "c.yaml:2:5: connector 'c' needs 'notify' or 'sink'" err ||
    fail "$key: $(cat err)"
  n=$(grep -c 'unknown key' err || true)
  if [ "$key" = initial ]; then
    [ "$n" = 0 ] || fail "initial rejected: $(cat err)"
  else
    [ "$n" = 1 ] || fail "initiall: $(cat err)"
    grep -qx "c.yaml:6:9: unknown key 'initiall' (did you mean 'initial'?)" \
      err || fail "initiall: $(cat err)"
  fi
done
echo "ok [test_config_describe]"
