#!/bin/sh
# test_install.sh BUILD_DIR PLANTED_DIR: `cmake --install --prefix X` puts
# the binary and every plugin under X, the installed binary finds them
# there (next to itself, not in the build tree), and `plugins list` loads
# nothing: a planted file.so whose constructor writes PLANTED/ctor_ran is
# listed, and the mark never appears.
set -eu
build=$1
planted=$2
prefix=$(mktemp -d "${TMPDIR:-/tmp}/herald-install.XXXXXX")
trap 'rm -rf "$prefix"' EXIT
fail() { echo "FAIL [test_install]: $*" >&2; exit 1; }

cmake --install "$build" --prefix "$prefix" >/dev/null
for p in file null sendgrid smtp; do
  [ -f "$prefix/lib/herald/plugins/$p.so" ] || fail "$p.so not under $prefix"
done
[ -z "$(find /usr/local/lib/herald -newer "$prefix" 2>/dev/null)" ] ||
  fail "something was written to /usr/local/lib/herald"

out=$(cd / && HERALD_PLUGIN_PATH= "$prefix/bin/herald" plugins list 2>/dev/null)
want="file         $prefix/lib/herald/plugins/file.so
null         $prefix/lib/herald/plugins/null.so
sendgrid     $prefix/lib/herald/plugins/sendgrid.so
smtp         $prefix/lib/herald/plugins/smtp.so"
[ "$out" = "$want" ] || fail "installed list:
$out
want:
$want"

rm -f "$planted/ctor_ran"
out=$(cd / && HERALD_PLUGIN_PATH="$planted" "$prefix/bin/herald" plugins list 2>&1)
case "$out" in
  *"file         $planted/file.so"*) ;;
  *) fail "planted file.so not listed: $out" ;;
esac
[ ! -e "$planted/ctor_ran" ] || fail "plugins list ran a constructor"
# The control: describe loads it, and its constructor runs.
(cd / && HERALD_PLUGIN_PATH="$planted" "$prefix/bin/herald" plugins describe file >/dev/null 2>&1) || true
[ -e "$planted/ctor_ran" ] || fail "describe did not load the planted file"
rm -f "$planted/ctor_ran"

# Relative HERALD_PLUGIN_PATH entries are refused, and the current
# directory (holding the planted file.so) is never searched.
out=$(cd "$planted" && HERALD_PLUGIN_PATH=. "$prefix/bin/herald" plugins list 2>&1)
case "$out" in
  *"herald: HERALD_PLUGIN_PATH entry '.' is not an absolute directory; ignored"*) ;;
  *) fail "relative entry not refused: $out" ;;
esac
case "$out" in
  *"$planted"*) fail "current directory searched: $out" ;;
esac
echo "ok: install under $prefix, list loads nothing"
