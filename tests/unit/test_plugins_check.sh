#!/bin/sh
# test_plugins_check.sh BUILD_DIR: `herald plugins check FILE.so` refuses
# each broken fixture (tests/plugins/broken) with exit 1 and exactly the
# one line the loader refuses it with (test_loader asserts the loader's);
# it passes good files with exit 0 and one summary line, without running
# init (init_fails.so passes); it applies the ownership checks (a
# group-writable copy is refused before dlopen); a relative FILE is taken
# from the current directory; usage errors exit 2. Sizes in the messages
# are LP64's.
set -eu
build=$1
herald=$build/herald
b=$build/tests/plugins/broken
tmp=$(mktemp -d "${TMPDIR:-/tmp}/herald-check.XXXXXX")
trap 'rm -rf "$tmp"' EXIT
fail() { echo "FAIL [test_plugins_check]: $*" >&2; exit 1; }
export HERALD_PLUGIN_PATH=

# refused FILE REASON: exit 1, nothing on stdout, "plugin FILE: REASON".
refused() {
  rc=0
  "$herald" plugins check "$1" >"$tmp/out" 2>"$tmp/err" || rc=$?
  [ "$rc" = 1 ] || fail "$1: exit $rc, want 1"
  [ ! -s "$tmp/out" ] || fail "$1: stdout: $(cat "$tmp/out")"
  [ "$(cat "$tmp/err")" = "plugin $1: $2" ] ||
    fail "$1:
$(cat "$tmp/err")
want:
plugin $1: $2"
}

# passes FILE SUMMARY: exit 0, nothing on stderr.
passes() {
  rc=0
  "$herald" plugins check "$1" >"$tmp/out" 2>"$tmp/err" || rc=$?
  [ "$rc" = 0 ] || fail "$1: exit $rc: $(cat "$tmp/err")"
  [ ! -s "$tmp/err" ] || fail "$1: stderr: $(cat "$tmp/err")"
  [ "$(cat "$tmp/out")" = "plugin $1: ok ($2)" ] ||
    fail "$1: $(cat "$tmp/out"), want: plugin $1: ok ($2)"
}

refused "$b/abi_major.so" "ABI major 2 is not supported (this herald speaks 1)"
refused "$b/newer_minor.so" "built for ABI 1.5, newer than this herald (1.2)"
refused "$b/short_struct.so" \
  "struct_size 16 is smaller than the v1.0 minimum 88"
refused "$b/no_symbol.so" "no symbol 'herald_plugin' (not a herald plugin?)"
refused "$b/tiny_symbol.so" \
  "symbol 'herald_plugin' is 4 bytes, too small for a plugin definition"
refused "$b/no_deliver.so" "missing required callback 'deliver'"
refused "$b/no_open.so" "missing required callback 'open' (or 'open2')"
refused "$b/bad_kind.so" "unknown kind 7 (1 is sink, 2 is notify)"
refused "$b/bad_enum.so" "option 'mode' is an enum with no values"
refused "$b/bad_option_type.so" "option 'level' has unknown type 42"
refused "$b/dup_option.so" "option 'opt' is declared twice"
refused "$b/no_option_size.so" "option_size 0 is smaller than the ABI 1.0 \
struct herald_option (48 bytes); set it with HERALD_PLUGIN_HEADER"
refused "$b/undefined.so" "undefined symbol: herald_no_such_function"
refused "$b/garbage.so" "invalid ELF header"
refused "$b/misnamed.so" \
  "declares name 'other', expected 'misnamed' from its file name"
refused "$b/dup_a.so" "declares name 'dupe', expected 'dup_a' from its file name"
refused "$b/dup_b.so" "declares name 'dupe', expected 'dup_b' from its file name"
refused "$b/absent.so" "No such file or directory"

passes "$b/good.so" "name good, version first, kind sink, ABI 1.2, 1 option(s)"
# init is not run: a plugin whose init fails passes the check.
passes "$b/init_fails.so" \
  "name init_fails, version 0.0.1, kind sink, ABI 1.2, 1 option(s)"
passes "$b/abi_1_0.so" \
  "name abi_1_0, version 0.0.1, kind sink, ABI 1.0, 1 option(s)"
# 1.1 before the sizes (no option_size), and a plugin with open2, no init.
passes "$b/old_1_1.so" \
  "name old_1_1, version 0.0.1, kind sink, ABI 1.1, 1 option(s)"
passes "$b/open2.so" "name open2, version 0.0.1, kind sink, ABI 1.2, 1 option(s)"
passes "$build/tests/plugins/abi10/abi10.so" \
  "name abi10, version 1.0.0, kind sink, ABI 1.0, 5 option(s)"
passes "$build/plugins/smtp.so" \
  "name smtp, version 0.1.0, kind notify, ABI 1.2, 11 option(s)"

# Ownership and mode, before dlopen: a copy others may write is refused.
cp "$b/good.so" "$tmp/good.so"
chmod 0666 "$tmp/good.so"
refused "$tmp/good.so" \
  "file is writable by group or others (mode 0666); refusing to load it"
chmod 0644 "$tmp/good.so"

# A relative FILE, from the current directory.
out=$(cd "$tmp" && "$herald" plugins check good.so) || fail "relative: exit $?"
[ "$out" = "plugin $tmp/good.so: ok (name good, version first, kind sink, \
ABI 1.2, 1 option(s))" ] || fail "relative: $out"

# Usage.
rc=0
"$herald" plugins check >/dev/null 2>&1 || rc=$?
[ "$rc" = 2 ] || fail "no FILE: exit $rc, want 2"
echo "ok: plugins check"
