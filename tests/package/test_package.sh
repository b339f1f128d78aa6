#!/bin/sh
# test_package.sh DEB_BUILD_DIR SOURCE_DIR (make test-package, after make
# package): the herald and herald-dev packages hold exactly the files
# listed below with the listed modes, their control fields and conffiles
# are as expected, lintian reports no error (its warnings are printed),
# systemd-analyze verify accepts the unit with nothing to say, the
# unpacked binary prints its version and lists and loads the plugins from
# the packaged directory, the packaged /etc/herald/herald.yaml passes
# `herald check`, and the man page, `herald --help` and the README agree
# on the commands and exit codes.
set -eu
debdir=$1
src=$2
tmp=$(mktemp -d "${TMPDIR:-/tmp}/herald-pkg.XXXXXX")
trap 'rm -rf "$tmp"' EXIT
fail() { echo "FAIL [test_package]: $*" >&2; exit 1; }

version=$(sed -n 's/^project(herald VERSION \([0-9.]*\) .*/\1/p' "$src/CMakeLists.txt")
[ -n "$version" ] || fail "no version in CMakeLists.txt"
debver=$version-1
arch=$(dpkg --print-architecture)
multiarch=$(dpkg-architecture -qDEB_HOST_MULTIARCH)
deb=$debdir/herald_${debver}_$arch.deb
dev=$debdir/herald-dev_${debver}_$arch.deb
[ -f "$deb" ] || fail "no $deb"
[ -f "$dev" ] || fail "no $dev"
n=$(find "$debdir" -maxdepth 1 -name '*.deb' | wc -l)
[ "$n" -eq 2 ] || fail "$n packages in $debdir, want 2"
abi=$(sed -n 's/^#define HERALD_ABI_MAJOR \([0-9]*\)$/\1/p' \
  "$src/framework/include/herald/plugin.h").$(sed -n \
  's/^#define HERALD_ABI_MINOR \([0-9]*\)$/\1/p' \
  "$src/framework/include/herald/plugin.h")
plugdir=usr/lib/$multiarch/herald/plugins
plugins=$(cd "$src/plugins" && grep -h '^herald_add_plugin(' */CMakeLists.txt |
  sed 's/^herald_add_plugin(\([a-z0-9_]*\) .*/\1/' | LC_ALL=C sort)
[ -n "$plugins" ] || fail "no plugins found in $src/plugins"

# ---- control fields -------------------------------------------------
field() { dpkg-deb --field "$1" "$2"; }
[ "$(field "$deb" Package)" = herald ] || fail "Package: $(field "$deb" Package)"
[ "$(field "$dev" Package)" = herald-dev ] || fail "dev Package"
for p in "$deb" "$dev"; do
  [ "$(field "$p" Version)" = "$debver" ] || fail "$p Version: $(field "$p" Version)"
  [ "$(field "$p" Architecture)" = "$arch" ] || fail "$p Architecture"
done
[ "$(field "$deb" Section)" = net ] || fail "Section: $(field "$deb" Section)"
[ "$(field "$dev" Section)" = devel ] || fail "dev Section: $(field "$dev" Section)"
[ "$(field "$dev" Depends)" = "herald (= $debver)" ] ||
  fail "dev Depends: $(field "$dev" Depends)"
# Runtime libraries, found by dpkg-shlibdeps in the ELF files.
depends=$(field "$deb" Depends)
# librdkafka: the system's package, or (bundled, Debian 12) what the
# bundled library itself links (its compression and SASL libraries).
if grep -q "^HERALD_RDKAFKA_BUNDLED:INTERNAL=1$" "$debdir/CMakeCache.txt"; then
  rdkafka_deps="liblz4-1 libzstd1 libsasl2-2"
  case ", $depends," in
    *", librdkafka1"*) fail "Depends names librdkafka1 but it is bundled" ;;
  esac
else
  rdkafka_deps=librdkafka1
fi
for lib in libc6 $rdkafka_deps libavro23 libcurl4 libyaml-0-2 libuv1 \
  libjansson4 libssl3; do
  case ", $depends," in
    *", $lib,"* | *", $lib ("*) ;;
    *) fail "Depends lacks $lib: $depends" ;;
  esac
done
dpkg-deb --info "$deb" >"$tmp/info"
grep -q '^ Maintainer: ' "$tmp/info" || fail "no Maintainer"
dpkg-deb --ctrl-tarfile "$deb" | tar -x -O ./conffiles >"$tmp/conffiles"
want="/etc/herald/herald.yaml
/etc/herald/templates/possible_anomaly.html
/etc/herald/templates/possible_anomaly.txt"
[ "$(cat "$tmp/conffiles")" = "$want" ] || fail "conffiles:
$(cat "$tmp/conffiles")"

# ---- contents: every entry, its mode and owner ----------------------
# lines "MODE PATH" for files, and for every directory above them.
expect() {
  LC_ALL=C sort -u | awk -v execs="$2" -v dir700="$3" '
    function dirs(p,   i, n, parts, acc) {
      n = split(p, parts, "/"); acc = "."
      for (i = 1; i < n; i++) {
        acc = acc "/" parts[i]
        mode = (acc == "./" dir700) ? "drwx------" : "drwxr-xr-x"
        print mode " " acc "/"
      }
    }
    {
      if ($0 ~ /\/$/) { sub(/\/$/, "", $0); dirs($0 "/x"); next }
      dirs($0)
      print ((" " execs " ") ~ (" " $0 " ") ? "-rwxr-xr-x" : "-rw-r--r--") " ./" $0
    }' | LC_ALL=C sort -u
}
contents() {
  dpkg-deb --contents "$1" | awk '
    $2 != "root/root" { print "OWNER " $2 " " $6; next }
    { print $1 " " $6 }' | LC_ALL=C sort
}
want=$(
  {
    echo usr/bin/herald
    for p in $plugins; do echo "$plugdir/$p.so"; done
    # the librdkafka deps.sh built, where the system's is too old
    if grep -q "^HERALD_RDKAFKA_BUNDLED:INTERNAL=1$" "$debdir/CMakeCache.txt"; then
      echo "usr/lib/$multiarch/herald/librdkafka.so.1"
    fi
    echo etc/herald/herald.yaml
    echo etc/herald/templates/possible_anomaly.html
    echo etc/herald/templates/possible_anomaly.txt
    echo etc/herald/credentials/
    echo lib/systemd/system/herald.service
    echo usr/share/man/man1/herald.1.gz
    echo usr/share/doc/herald/copyright
    echo usr/share/doc/herald/changelog.Debian.gz
    (cd "$src/config" && find . -type f) | sed 's|^\./|usr/share/herald/|'
  } | expect - usr/bin/herald etc/herald/credentials
)
got=$(contents "$deb")
[ "$got" = "$want" ] || fail "herald contents:
$got
want:
$want"
want=$(
  {
    (cd "$src/framework/include" && find herald -name '*.h') |
      sed 's|^|usr/include/|'
    echo "usr/lib/$multiarch/pkgconfig/herald-plugin.pc"
    echo "usr/lib/$multiarch/cmake/HeraldPlugin/HeraldPluginConfig.cmake"
    echo "usr/lib/$multiarch/cmake/HeraldPlugin/HeraldPluginConfigVersion.cmake"
    echo usr/share/doc/herald-dev/copyright
    echo usr/share/doc/herald-dev/changelog.Debian.gz
  } | expect - "" ""
)
got=$(contents "$dev")
[ "$got" = "$want" ] || fail "herald-dev contents:
$got
want:
$want"

# ---- the unpacked binary --------------------------------------------
root=$tmp/root
mkdir "$root"
dpkg-deb -x "$deb" "$root"
dpkg-deb -x "$dev" "$root"
# A bundled librdkafka: herald's RUNPATH is the package's private directory
# (not the builder's cache), and the unpacked binary, pointed there, links
# the packaged copy.
if grep -q "^HERALD_RDKAFKA_BUNDLED:INTERNAL=1$" "$debdir/CMakeCache.txt"; then
  rp=$(readelf -d "$root/usr/bin/herald" | sed -n 's/.*(RUNPATH).*\[\(.*\)\]/\1/p')
  [ "$rp" = "/usr/lib/$multiarch/herald" ] || fail "RUNPATH: $rp"
  export LD_LIBRARY_PATH="$root/usr/lib/$multiarch/herald"
  ldd "$root/usr/bin/herald" | grep -q \
    "librdkafka.so.1 => $root/usr/lib/$multiarch/herald/librdkafka.so.1" ||
    fail "the unpacked herald does not link the packaged librdkafka"
fi
out=$(cd / && "$root/usr/bin/herald" --version)
[ "$out" = "herald $version (plugin ABI $abi)" ] || fail "--version: $out"
out=$(cd / && HERALD_PLUGIN_PATH= "$root/usr/bin/herald" plugins list 2>/dev/null)
want=$(for p in $plugins; do printf '%-12s %s\n' "$p" "$root/$plugdir/$p.so"; done)
[ "$out" = "$want" ] || fail "plugins list:
$out
want:
$want"
for p in $plugins; do
  out=$(cd / && HERALD_PLUGIN_PATH= "$root/usr/bin/herald" plugins describe "$p" 2>&1) ||
    fail "describe $p: $out"
  [ "$(echo "$out" | head -n 1)" = "name:        $p" ] || fail "describe $p: $out"
done
# The .pc of herald-dev names the packaged directories.
pcdir=$root/usr/lib/$multiarch/pkgconfig
[ "$(sed -n 's/^prefix=//p' "$pcdir/herald-plugin.pc")" = /usr ] ||
  fail "herald-plugin.pc prefix: $(grep '^prefix=' "$pcdir/herald-plugin.pc")"
[ "$(PKG_CONFIG_LIBDIR=$pcdir pkg-config --variable=plugindir herald-plugin)" = "/$plugdir" ] ||
  fail "plugindir: $(PKG_CONFIG_LIBDIR=$pcdir pkg-config --variable=plugindir herald-plugin)"

# The packaged config is valid as shipped, once its credentials exist
# (read from a temp directory instead of /run/credentials/herald.service).
mkdir "$tmp/etc"
cp -R "$root/etc/herald/." "$tmp/etc/"
head -c 32 /dev/urandom | od -An -tx1 | tr -d ' \n' >"$tmp/etc/credentials/hash_key"
echo 'not-a-real-password' >"$tmp/etc/credentials/smtp_password"
sed -i "s|/run/credentials/herald.service/herald_|$tmp/etc/credentials/|" \
  "$tmp/etc/herald.yaml"
grep -q '/run/credentials' "$tmp/etc/herald.yaml" && fail "credential path left"
out=$(cd / && HERALD_PLUGIN_PATH= "$root/usr/bin/herald" check -c "$tmp/etc/herald.yaml" 2>&1 >/dev/null) ||
  fail "herald check of /etc/herald/herald.yaml: $out"
[ "$out" = "$tmp/etc/herald.yaml: ok" ] || fail "check: $out"

# ---- man page, --help, README: the same commands and exit codes -----
man1=$src/packaging/herald.1
warn=$(LC_ALL=C.UTF-8 MANWIDTH=80 man --warnings -l "$root/usr/share/man/man1/herald.1.gz" 2>&1 >/dev/null)
[ -z "$warn" ] || fail "man page warnings: $warn"
help=$("$root/usr/bin/herald" --help)
help_cmds=$(echo "$help" | sed -n '/^commands:/,/^$/p' |
  sed -n 's/^  \(plugins [a-z]*\).*/\1/p; t; s/^  \([a-z][a-z]*\).*/\1/p' | LC_ALL=C sort -u)
man_cmds=$(sed -n 's/^\.B herald \([a-z][a-z ]*\)$/\1/p' "$man1" | LC_ALL=C sort -u)
[ "$help_cmds" = "$man_cmds" ] || fail "commands: --help has
$help_cmds
the man page's SYNOPSIS has
$man_cmds"
readme_cmds=$(sed -n '/^## Running it/,/^## Configuration/p' "$src/README.md" |
  sed -n 's/^\(sudo \)*herald \(plugins [a-z]*\).*/\2/p; t; s/^\(sudo \)*herald \([a-z][a-z]*\).*/\2/p' |
  LC_ALL=C sort -u)
[ -n "$readme_cmds" ] || fail "no herald command in README's Running it"
for c in $(echo "$readme_cmds" | tr ' ' '_'); do
  c=$(echo "$c" | tr '_' ' ')
  echo "$man_cmds" | grep -qx "$c" || fail "README's '$c' is not in the man page"
done
help_codes=$(echo "$help" | sed -n '/^exit codes:/,$p' | sed -n 's/^  \([0-9]\)  .*/\1/p')
man_codes=$(sed -n '/^\.SH EXIT STATUS/,/^\.SH/p' "$man1" | sed -n 's/^\.B \([0-9]\)$/\1/p')
readme_codes=$(sed -n 's/^| \([0-9]\) | .*/\1/p' "$src/README.md")
[ "$help_codes" = "$man_codes" ] && [ "$man_codes" = "$readme_codes" ] ||
  fail "exit codes: --help $(echo $help_codes), man $(echo $man_codes), README $(echo $readme_codes)"

# ---- lintian: no error; warnings are listed -------------------------
lintian --fail-on error \
  "$deb" "$dev" >"$tmp/lintian" 2>&1 || { cat "$tmp/lintian" >&2; fail "lintian"; }
grep -v '^running with root privileges' "$tmp/lintian" | sed 's/^/lintian: /' || true
grep -q '^E:' "$tmp/lintian" && fail "lintian errors"

# ---- systemd-analyze verify: the unit, its binary and man page -------
# A root holding the package and the host's units (for the targets the
# unit orders itself after); MANPATH finds Documentation=man:herald(1).
cp -Rn /lib/systemd/system/. "$root/lib/systemd/system/"
cp "$root/lib/systemd/system/herald.service" "$tmp/herald.service.shipped"
out=$(MANPATH=$root/usr/share/man systemd-analyze verify --root="$root" \
  herald.service 2>&1) || fail "systemd-analyze verify: $out"
[ -z "$out" ] || fail "systemd-analyze verify said: $out"
cmp -s "$tmp/herald.service.shipped" "$root/lib/systemd/system/herald.service" ||
  fail "the host has its own herald.service"
echo "ok: herald_${debver}_$arch.deb, herald-dev_${debver}_$arch.deb"
