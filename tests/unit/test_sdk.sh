#!/bin/sh
# test_sdk.sh BUILD_DIR SOURCE_DIR LIBDIR: the installed SDK is enough to
# write a plugin. `cmake --install --prefix X` lays out exactly the files
# listed below; a fresh project outside the source tree
# (tests/sdk/hello, copied away) builds with find_package(HeraldPlugin)
# from X alone, and the same source with `pkg-config --cflags
# herald-plugin` and cc; the installed herald loads both and describes
# them exactly. herald_add_plugin() exports one symbol and refuses an
# undefined one at link time; DESTDIR stages without changing the paths
# the installed files name. docs/plugins.md's example plugin (its C and
# cmake blocks) builds from the prefix alone, `herald plugins check`
# prints what the guide shows, and `herald demo` runs the guide's YAML
# against a local receiver that answers 503+Retry-After, 200 and 400.
set -eu
build=$1
src=$2
libdir=$3
tmp=$(mktemp -d "${TMPDIR:-/tmp}/herald-sdk.XXXXXX")
trap 'rm -rf "$tmp"' EXIT
fail() { echo "FAIL [test_sdk]: $*" >&2; exit 1; }
prefix=$tmp/prefix

cmake --install "$build" --prefix "$prefix" >/dev/null

# The layout, file by file: what a plugin author and a user get, and
# nothing of the Debian package's system files (/etc, systemd).
want=$(
  {
    echo bin/herald
    (cd "$src/framework/include" && find herald -name '*.h') |
      sed 's|^|include/|'
    echo "$libdir/cmake/HeraldPlugin/HeraldPluginConfig.cmake"
    echo "$libdir/cmake/HeraldPlugin/HeraldPluginConfigVersion.cmake"
    for so in "$build"/plugins/*.so; do
      echo "$libdir/herald/plugins/${so##*/}"
    done
    echo "$libdir/pkgconfig/herald-plugin.pc"
    (cd "$src/config" && find . -type f) | sed 's|^\./|share/herald/|'
    echo share/man/man1/herald.1.gz
  } | LC_ALL=C sort
)
got=$(cd "$prefix" && find . -type f | sed 's|^\./||' | LC_ALL=C sort)
[ "$got" = "$want" ] || fail "installed files:
$got
want:
$want"

# pkg-config, from this prefix only.
abi=$(sed -n 's/^#define HERALD_ABI_MAJOR \([0-9]*\)$/\1/p' \
  "$src/framework/include/herald/plugin.h").$(sed -n \
  's/^#define HERALD_ABI_MINOR \([0-9]*\)$/\1/p' \
  "$src/framework/include/herald/plugin.h")
version=$("$prefix/bin/herald" --version | sed -n 's/^herald \([^ ]*\) .*/\1/p')
export PKG_CONFIG_PATH="$prefix/$libdir/pkgconfig"
export PKG_CONFIG_LIBDIR="$prefix/$libdir/pkgconfig"
# (pkg-config ends --cflags with a space)
pc() { pkg-config "$@" herald-plugin | sed "s/ *$//"; }
[ "$(pc --cflags)" = "-I$prefix/include" ] || fail "cflags: $(pc --cflags)"
[ "$(pc --variable=plugindir)" = "$prefix/$libdir/herald/plugins" ] ||
  fail "plugindir: $(pc --variable=plugindir)"
[ "$(pc --variable=abi_version)" = "$abi" ] ||
  fail "abi_version: $(pc --variable=abi_version), plugin.h says $abi"
[ "$(pc --modversion)" = "$version" ] || fail "modversion: $(pc --modversion)"

# The fixture project, away from the source tree.
mkdir "$tmp/proj" "$tmp/pc"
cp "$src/tests/sdk/hello/hello.c" "$src/tests/sdk/hello/CMakeLists.txt" \
  "$tmp/proj/"

# 1. pkg-config and cc, nothing else.
cflags=$(pc --cflags)
case "$cflags" in *"$src"*) fail "cflags point into the source: $cflags" ;; esac
# shellcheck disable=SC2086 # word splitting of the flags is intended
cc $cflags -std=c11 -Wall -Wextra -Werror -fPIC -shared -fvisibility=hidden \
  -Wl,--no-undefined '-DHELLO_BUILT_WITH="pkg-config"' \
  -o "$tmp/pc/hello.so" "$tmp/proj/hello.c" || fail "cc with pkg-config"

# 2. find_package(HeraldPlugin) from the prefix.
cmake -S "$tmp/proj" -B "$tmp/proj/build" -DCMAKE_PREFIX_PATH="$prefix" \
  -DCMAKE_EXPORT_COMPILE_COMMANDS=ON -DCMAKE_C_FLAGS="-Wall -Wextra -Werror" \
  >"$tmp/cmake.log" 2>&1 || { cat "$tmp/cmake.log" >&2; fail "configure"; }
cmake --build "$tmp/proj/build" >>"$tmp/cmake.log" 2>&1 ||
  { cat "$tmp/cmake.log" >&2; fail "build"; }
cc_cmd=$(cat "$tmp/proj/build/compile_commands.json")
case "$cc_cmd" in *"$src"*) fail "compile command uses the source tree: $cc_cmd" ;; esac
case "$cc_cmd" in *"$prefix/include"*) ;; *) fail "no $prefix/include: $cc_cmd" ;; esac
cmake --install "$tmp/proj/build" >>"$tmp/cmake.log" 2>&1 ||
  { cat "$tmp/cmake.log" >&2; fail "install into plugindir"; }
[ -f "$prefix/$libdir/herald/plugins/hello.so" ] ||
  fail "hello.so not installed into HeraldPlugin_PLUGINDIR"

# One exported symbol in each (hidden visibility), whoever built it.
for so in "$tmp/pc/hello.so" "$prefix/$libdir/herald/plugins/hello.so"; do
  syms=$(nm -D --defined-only "$so" | awk '{print $3}')
  [ "$syms" = "herald_plugin" ] || fail "$so exports: $syms"
done

# herald_add_plugin links with --no-undefined: an unresolved symbol fails
# the build, not the load.
cmake -S "$tmp/proj" -B "$tmp/undef" -DCMAKE_PREFIX_PATH="$prefix" \
  -DHELLO_UNDEFINED=ON >/dev/null 2>&1 || fail "configure (undefined)"
if cmake --build "$tmp/undef" >"$tmp/undef.log" 2>&1; then
  fail "a plugin with an undefined symbol linked"
fi
grep -q "undefined reference to .hello_defined_nowhere" "$tmp/undef.log" ||
  fail "undefined build failed otherwise: $(cat "$tmp/undef.log")"

# The installed herald loads each: the CMake one from its install
# directory, the pkg-config one from HERALD_PLUGIN_PATH (searched first).
describe() {
  printf '%s\n' "name:        hello" "version:     1.0.0" "kind:        sink" \
    "description: SDK fixture built with $1" "options:" \
    "  greeting (string, default hello)" "      what to greet with"
}
out=$(cd / && HERALD_PLUGIN_PATH= "$prefix/bin/herald" plugins describe hello 2>&1) ||
  fail "describe (cmake): $out"
[ "$out" = "$(describe cmake)" ] || fail "describe (cmake):
$out
want:
$(describe cmake)"
out=$(cd / && HERALD_PLUGIN_PATH="$tmp/pc" "$prefix/bin/herald" plugins describe hello 2>&1) ||
  fail "describe (pkg-config): $out"
[ "$out" = "$(describe pkg-config)" ] || fail "describe (pkg-config):
$out
want:
$(describe pkg-config)"
out=$(cd / && HERALD_PLUGIN_PATH="$tmp/pc" "$prefix/bin/herald" plugins list 2>/dev/null |
  grep '^hello ') || true
[ "$out" = "hello        $tmp/pc/hello.so" ] || fail "list: $out"

# docs/plugins.md, the plugin author's guide: its C blocks, in order, are
# jsonpost.c and its cmake block the CMakeLists.txt of a project built from
# the prefix alone (its `c walk` blocks compile on their own); its sh
# blocks parse; the installed herald checks the result with the line the
# guide shows, and `herald demo` runs the guide's YAML block end to end,
# posting both demo records to a local receiver.
guide=$src/docs/plugins.md
block() {
  awk -v want="$1" '/^```/ { if (on) { on = 0 } else if ($0 == "```" want) { on = 1 } next }
    on' "$guide"
}
langs=$(sed -n 's/^```\([a-z][a-z]*\)$/\1/p' "$guide" | sort -u | tr '\n' ' ')
[ "$langs" = "c cmake sh yaml " ] || fail "guide: block languages: $langs"
mkdir "$tmp/guide"
block c >"$tmp/guide/jsonpost.c"
block cmake >"$tmp/guide/CMakeLists.txt"
block yaml >"$tmp/guide/jsonpost.yaml"
block sh | sh -n || fail "guide: an sh block does not parse"
[ "$(grep -c '^```c$' "$guide")" -ge 6 ] || fail "guide: C blocks missing"
# Blocks marked `c walk` (reading decoded fields) are one more file,
# compiled on its own against the installed header.
block "c walk" >"$tmp/guide/walk.c"
[ -s "$tmp/guide/walk.c" ] || fail "guide: no c walk block"
# shellcheck disable=SC2086 # word splitting of the flags is intended
cc $cflags -std=c11 -Wall -Wextra -Werror -Wno-unused-function -c \
  -o "$tmp/guide/walk.o" "$tmp/guide/walk.c" || fail "guide: c walk block"
cmake -S "$tmp/guide" -B "$tmp/guide/build" -DCMAKE_PREFIX_PATH="$prefix" \
  -DCMAKE_EXPORT_COMPILE_COMMANDS=ON \
  -DCMAKE_C_FLAGS="-std=c11 -Wall -Wextra -Werror -D_POSIX_C_SOURCE=200809L" \
  >"$tmp/guide.log" 2>&1 || { cat "$tmp/guide.log" >&2; fail "guide: configure"; }
cmake --build "$tmp/guide/build" >>"$tmp/guide.log" 2>&1 ||
  { cat "$tmp/guide.log" >&2; fail "guide: build"; }
case "$(cat "$tmp/guide/build/compile_commands.json")" in
  *"$src"*) fail "guide: compile command uses the source tree" ;;
esac
cmake --install "$tmp/guide/build" >>"$tmp/guide.log" 2>&1 ||
  { cat "$tmp/guide.log" >&2; fail "guide: install"; }
so=$prefix/$libdir/herald/plugins/jsonpost.so
shown=$(sed -n 's/^# plugin .*\/jsonpost.so: \(ok .*\)$/\1/p' "$guide")
[ -n "$shown" ] || fail "guide: no plugins check output shown"
out=$("$prefix/bin/herald" plugins check "$so") || fail "guide: check: $out"
[ "$out" = "plugin $so: $shown" ] || fail "guide: check: $out
the guide shows: $shown"

# A receiver for the guide's url, answering as the guide's outcome table
# has it: offset 0 first gets 503 with Retry-After: 1 (RETRY, sent again
# no sooner than a second later), then 200 (OK); offset 1 gets 400
# (REJECT, logged, done). One line per request: "TIME METHOD PATH TYPE BODY".
cat >"$tmp/recv.py" <<'PY'
import http.server, json, sys, time
seen = {}
class H(http.server.BaseHTTPRequestHandler):
    def do_POST(self):
        body = self.rfile.read(int(self.headers["Content-Length"]))
        with open(sys.argv[2], "ab") as f:
            f.write(("%.3f POST %s %s " % (time.time(), self.path,
                     self.headers["Content-Type"])).encode() + body + b"\n")
        off = json.loads(body)["offset"]
        seen[off] = seen.get(off, 0) + 1
        if off == 0 and seen[off] == 1:
            self.send_response(503)
            self.send_header("Retry-After", "1")
        elif off == 1:
            self.send_response(400)
        else:
            self.send_response(200)
        self.send_header("Content-Length", "0")
        self.end_headers()
    def log_message(self, *a):
        pass
s = http.server.HTTPServer(("127.0.0.1", 0), H)
open(sys.argv[1], "w").write(str(s.server_address[1]))
s.serve_forever()
PY
python3 "$tmp/recv.py" "$tmp/port" "$tmp/requests" &
recv=$!
trap 'kill $recv 2>/dev/null; rm -rf "$tmp"' EXIT
for _ in 1 2 3 4 5 6 7 8 9 10; do [ -s "$tmp/port" ] && break; sleep 0.2; done
port=$(cat "$tmp/port")
sed -i "s|http://127.0.0.1:8080/hook|http://127.0.0.1:$port/hook|" \
  "$tmp/guide/jsonpost.yaml"
grep -q ":$port/hook" "$tmp/guide/jsonpost.yaml" || fail "guide: no url to point"
cp -r "$prefix/share/herald/schemas" "$tmp/guide/"
(cd "$tmp/guide" && HERALD_PLUGIN_PATH= timeout 120 "$prefix/bin/herald" demo \
  -c jsonpost.yaml >"$tmp/demo.out" 2>&1) ||
  { cat "$tmp/demo.out" >&2; fail "guide: herald demo"; }
grep -q "HTTP 400" "$tmp/demo.out" ||
  fail "guide: the 400 was not logged: $(cat "$tmp/demo.out")"
python3 - "$tmp/requests" <<'PY' || fail "guide: requests: $(cat "$tmp/requests")"
import json, sys
lines = open(sys.argv[1], "rb").read().decode().splitlines()
assert len(lines) == 3, lines
got, at = [], {}
for line in lines:
    when, method, path, ctype, body = line.split(" ", 4)
    assert (method, path, ctype) == ("POST", "/hook", "application/json"), line
    r = json.loads(body)
    got.append((r["topic"], r["partition"], r["offset"], r["key"],
                r["window"]["start"], r["value"]["card_number"],
                r["value"]["n_attempts"], r["value"]["total_amount"]))
    at.setdefault(r["offset"], []).append(float(when))
first = ("possible_anomalies", 0, 0, "358579699410099", 1587525570000,
         "358579699410099", 3, "232.41")
assert sorted(got) == [first, first,
    ("possible_anomalies", 0, 1, "358579699410099", 1587525570000,
     "358579699410099", 4, "252.41")], got
# Retry-After: 1 became retry_after_ms 1000, which herald honoured.
assert at[0][1] - at[0][0] >= 1.0, at
PY

# DESTDIR: files staged under it, paths inside them without it.
DESTDIR="$tmp/stage" cmake --install "$build" --prefix /opt/herald-sdk-test \
  >/dev/null
[ -x "$tmp/stage/opt/herald-sdk-test/bin/herald" ] || fail "DESTDIR: no binary"
[ ! -e /opt/herald-sdk-test ] || fail "DESTDIR install wrote /opt/herald-sdk-test"
line=$(grep '^prefix=' "$tmp/stage/opt/herald-sdk-test/$libdir/pkgconfig/herald-plugin.pc")
[ "$line" = "prefix=/opt/herald-sdk-test" ] || fail "DESTDIR .pc: $line"
echo "ok: SDK under $prefix builds and loads hello (cmake, pkg-config)" \
  "and the guide's jsonpost (built, checked, run by herald demo)"
