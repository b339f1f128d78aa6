#!/bin/sh
# test_config_errors_once.sh BUILD_DIR SOURCE_DIR: every configuration
# error is printed exactly once, with its file:line:col, by `herald check`
# and by `herald run` (which stops before connecting). The fixture
# (tests/data/config/plugin_errors.yaml) has five channels, each with one
# plugin option error (a misspelled option, a wrong type, a missing
# required option, a bad enum value, an unknown plugin), each channel named
# by a connector (one by two): the channel is built for its connector and
# again when every channel is validated, and used to report each time.
set -eu
build=$1
src=$2
herald=$build/herald
tmp=$(mktemp -d "${TMPDIR:-/tmp}/herald-once.XXXXXX")
trap 'rm -rf "$tmp"' EXIT
fail() { echo "FAIL [test_config_errors_once]: $*" >&2; exit 1; }
export HERALD_PLUGIN_PATH=

cp "$src/tests/data/config/plugin_errors.yaml" "$tmp/e.yaml"
cd "$tmp"

cat >want <<'W'
e.yaml:9:5: unknown key 'max_conections' (did you mean 'max_connections'?)
e.yaml:13:22: 'channels.wrongtype.max_connections' expects an integer; got 'many'
e.yaml:15:5: missing required option 'url'
e.yaml:20:10: 'channels.badenum.tls' expects one of: none, starttls, implicit; got 'sometimes'
e.yaml:22:13: plugin 'smtpp' not found (searched: ...); did you mean 'smtp'?
W

for cmd in check run; do
  rc=0
  "$herald" "$cmd" -c e.yaml >out 2>err || rc=$?
  [ "$rc" = 1 ] || fail "$cmd: exit $rc, want 1"
  # The search path depends on the build; the rest is exact.
  sed -E 's/\(searched: [^)]*\)/(searched: ...)/' err >got
  while IFS= read -r line; do
    n=$(grep -cxF -- "$line" got || true)
    [ "$n" = 1 ] || fail "$cmd: '$line' printed $n times:
$(cat got)"
  done <want
  # Nothing else names a position in the file.
  n=$(grep -c '^e\.yaml:[0-9]' got || true)
  [ "$n" = 5 ] || fail "$cmd: $n positioned lines, want 5:
$(cat got)"
done
echo "ok [test_config_errors_once]"
