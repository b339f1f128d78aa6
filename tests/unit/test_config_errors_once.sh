#!/bin/sh
# test_config_errors_once.sh BUILD_DIR SOURCE_DIR: every configuration
# error is printed exactly once, with its file:line:col, by `herald check`
# and by `herald run` (which stops before connecting). The fixture
# (tests/data/config/plugin_errors.yaml) has five channels, each with one
# plugin option error (a misspelled option, a wrong type, a missing
# required option, a bad enum value, an unknown plugin), each channel named
# by a connector (one by two): the channel is built for its connector and
# again when every channel is validated, and used to report each time. A
# second fixture (tests/data/config/value_errors.yaml) has value errors of
# dedup: and notify: fields, in the same one form.
set -eu
build=$1
src=$2
herald=$build/herald
tmp=$(mktemp -d "${TMPDIR:-/tmp}/herald-once.XXXXXX")
trap 'rm -rf "$tmp"' EXIT
fail() { echo "FAIL [test_config_errors_once]: $*" >&2; exit 1; }
export HERALD_PLUGIN_PATH=

cd "$tmp"

# check FIXTURE: each line of `want` printed exactly once by `herald check`
# and `herald run`, and nothing else positioned in the file.
check() {
  cp "$src/tests/data/config/$1" e.yaml
  for cmd in check run; do
    rc=0
    "$herald" "$cmd" -c e.yaml >out 2>err || rc=$?
    [ "$rc" = 1 ] || fail "$1: $cmd: exit $rc, want 1"
    # The search path depends on the build; the rest is exact.
    sed -E 's/\(searched: [^)]*\)/(searched: ...)/' err >got
    while IFS= read -r line; do
      n=$(grep -cxF -- "$line" got || true)
      [ "$n" = 1 ] || fail "$1: $cmd: '$line' printed $n times:
$(cat got)"
    done <want
    # Nothing else names a position in the file.
    n=$(grep -c '^e\.yaml:[0-9]' got || true)
    w=$(wc -l <want)
    [ "$n" = "$w" ] || fail "$1: $cmd: $n positioned lines, want $w:
$(cat got)"
  done
}

cat >want <<'W'
e.yaml:9:5: unknown key 'max_conections' (did you mean 'max_connections'?)
e.yaml:13:22: 'channels.wrongtype.max_connections' expects an integer; got 'many'
e.yaml:15:5: missing required option 'url'
e.yaml:20:10: 'channels.badenum.tls' expects one of: none, starttls, implicit; got 'sometimes'
e.yaml:22:13: plugin 'smtpp' not found (searched: ...); did you mean 'smtp'?
W
check plugin_errors.yaml

# dedup: and notify: values (tests/data/config/value_errors.yaml) get the
# shared form too: a notify template field, dedup.key read by notify.c (a
# notify connector) and by dedup.c (a sink connector), dedup's enum and
# duration.
cat >want <<'W'
e.yaml:14:56: 'connectors[0].notify.subject' expects a template; got a map
e.yaml:15:19: 'connectors[0].dedup.key' expects a template; got a list
e.yaml:15:32: 'connectors[0].dedup.policy' expects one of: first, every; got 'sometimes'
e.yaml:20:34: 'connectors[1].dedup.ttl' expects a positive duration (e.g. 12h, 7d); got 'forever'
e.yaml:20:19: 'connectors[1].dedup.key' expects a template; got a map
W
check value_errors.yaml
echo "ok [test_config_errors_once]"
