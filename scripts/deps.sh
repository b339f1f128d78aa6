#!/usr/bin/env bash
# Installs herald's build and test dependencies from Debian's packages.
# Idempotent: installs only what is missing. Needs root (or sudo).
set -euo pipefail

pkgs=(build-essential cmake ninja-build pkg-config
      librdkafka-dev libavro-dev libcurl4-openssl-dev libyaml-dev libuv1-dev
      libjansson-dev libssl-dev libcmocka-dev kcat valgrind binutils)
# The datetime filter's named zones (framework/src/tz.c): GLib's GTimeZone
# converts without setenv("TZ"), which is unsafe beside librdkafka's threads.
pkgs+=(libglib2.0-dev)
# make fuzz / make format-check: clang with libFuzzer and the ASan/UBSan
# runtimes (libclang-rt-14-dev is only a Recommends of clang, which
# --no-install-recommends skips), llvm-symbolizer for readable crash stacks.
pkgs+=(clang libclang-rt-14-dev llvm clang-format)
# make package / test-package: CPack's dpkg tools, lintian, the systemd
# unit's verifier (systemd-analyze), man to render the man page.
pkgs+=(dpkg-dev fakeroot file lintian systemd man-db)

sudo=""
[ "$(id -u)" -eq 0 ] || sudo="sudo"
updated=0

# install_missing PKG...: apt-get installs those of PKG not installed yet.
install_missing() {
    local missing=() p
    for p in "$@"; do
        dpkg-query -W -f='${Status}' "$p" 2>/dev/null |
            grep -q "install ok installed" || missing+=("$p")
    done
    [ ${#missing[@]} -eq 0 ] && return 0
    echo "deps: installing ${missing[*]}"
    if [ "$updated" = 0 ]; then
        $sudo apt-get update -q
        updated=1
    fi
    DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -q \
        --no-install-recommends "${missing[@]}"
}

install_missing "${pkgs[@]}"

# ---- libraries built from Debian 13's source packages ---------------------
# What Debian 12 lacks is built from Debian 13's own source packages,
# fetched with apt from the archive this machine's apt sources already name,
# into prefixes under ~/.cache that CMake finds (CMakeLists.txt:
# HERALD_DEPS_DIR). Versions are pinned: a new one is a deliberate change
# here, measured again (bench/RESULTS.md).
DEBIAN_SOURCE_SUITE=trixie
# The first debian-archive-keyring of Debian 12 with trixie's archive keys.
DEBIAN_KEYRING_MIN=2023.3+deb12u2
DEBIAN_KEYRING=/usr/share/keyrings/debian-archive-keyring.gpg
HERALD_DEPS_DIR="${HERALD_DEPS_DIR:-$HOME/.cache/herald-deps}"

# librdkafka >= 2.8 (README "librdkafka"): herald needs fetch.queue.backoff.ms,
# so a full prefetch queue does not stop fetching for a second; 2.8 is what
# herald is tested with. Debian 13 ships it; on Debian 12 (2.0.2) it is
# built from Debian 13's source package and herald links it with an rpath.
RDKAFKA_MIN=2.8
RDKAFKA_DEB_VERSION=2.8.0-1
# Its debian/control Build-Depends, less debhelper/pkgconf (Debian's
# packaging, not the library) and rapidjson-dev (only librdkafka's C++
# tests use it); dpkg-dev unpacks the source package.
RDKAFKA_BUILD_DEPS=(dpkg-dev python3 libssl-dev libsasl2-dev zlib1g-dev
                    libzstd-dev liblz4-dev libcurl4-openssl-dev)

# yyjson (README "librdkafka"): the `json` input format parses each record
# with it into one arena (framework/src/json_decode.c). Debian 12 has no
# yyjson; it is built from Debian 13's source package on every release, as
# a static library (-fPIC), so herald, its plugins' host and its Debian
# package carry no new runtime file. Its debian/control Build-Depends are
# cmake (installed above) and debhelper/doxygen (Debian's packaging and
# docs, not the library).
YYJSON_DEB_VERSION=0.10.0+ds-1

# debian_archive_uri: the URI of the Debian archive that serves this
# machine's release (VERSION_CODENAME) in its apt sources, one-line
# (sources.list, *.list) or deb822 (*.sources); empty if none does.
debian_archive_uri() {
    local codename
    codename="$(. /etc/os-release && echo "${VERSION_CODENAME:-}")"
    [ -n "$codename" ] || return 0
    local f
    for f in /etc/apt/sources.list /etc/apt/sources.list.d/*.list; do
        [ -f "$f" ] || continue
        # deb [options] URI SUITE COMPONENT...
        awk -v s="$codename" '
            $1 == "deb" {
                i = 2
                if ($i ~ /^\[/) { while ($i !~ /\]$/) i++; i++ }
                if ($(i + 1) == s) { print $i; exit }
            }' "$f"
    done
    for f in /etc/apt/sources.list.d/*.sources; do
        [ -f "$f" ] || continue
        # Stanzas separated by blank lines; the first URI of an enabled
        # "deb" stanza whose Suites name the release.
        awk -v s="$codename" '
            function done_stanza() {
                if (types ~ /(^| )deb( |$)/ && enabled != "no" &&
                    (" " suites " ") ~ (" " s " ") && uri != "") {
                    print uri; exit
                }
                types = suites = uri = ""; enabled = "yes"
            }
            BEGIN { enabled = "yes" }
            /^#/ { next }
            /^[ \t]*$/ { done_stanza(); next }
            { key = tolower($1); sub(/:$/, "", key)
              val = $0; sub(/^[^:]*:[ \t]*/, "", val) }
            key == "types" { types = val }
            key == "suites" { suites = val }
            key == "uris" { split(val, u, /[ \t]+/); uri = u[1] }
            key == "enabled" { enabled = tolower(val) }
            END { done_stanza() }' "$f"
    done | head -n 1
}


# debian_keyring_check: makes sure Debian's archive keyring has
# DEBIAN_SOURCE_SUITE's keys (Debian 12's point release 12.11 added
# trixie's).
debian_keyring_check() {
    install_missing debian-archive-keyring
    local kv
    kv="$(dpkg-query -W -f='${Version}' debian-archive-keyring)"
    if dpkg --compare-versions "$kv" lt "$DEBIAN_KEYRING_MIN"; then
        echo "deps: debian-archive-keyring $kv lacks" \
            "$DEBIAN_SOURCE_SUITE's keys: upgrading it"
        [ "$updated" = 1 ] || $sudo apt-get update -q
        updated=1
        DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -q \
            --only-upgrade debian-archive-keyring
    fi
}

# debian_source_fetch NAME VERSION TMP [OPTION...]: apt-get source
# NAME=VERSION of DEBIAN_SOURCE_SUITE into TMP/src, with apt-get's extra
# OPTIONs. A private apt configuration under TMP serves this one download:
# its own sources list (only the deb-src line), lists and cache, so the
# system's apt configuration and state stay untouched. apt verifies the
# suite's InRelease against Debian's archive keyring, and the files against
# the signed Sources index.
debian_source_fetch() {
    local name="$1" version="$2" tmp="$3"
    shift 3
    local uri
    uri="$(debian_archive_uri)"
    if [ -z "$uri" ]; then
        echo "deps: no Debian archive for ${VERSION_CODENAME:-?} in" \
            "/etc/apt/sources.list{,.d/}: cannot fetch $name's source" >&2
        exit 1
    fi
    debian_keyring_check
    chmod 755 "$tmp"
    mkdir -p "$tmp/lists/partial" "$tmp/cache/archives/partial" \
        "$tmp/parts" "$tmp/prefs" "$tmp/src"
    printf 'deb-src [signed-by=%s] %s %s main\n' \
        "$DEBIAN_KEYRING" "$uri" "$DEBIAN_SOURCE_SUITE" >"$tmp/sources.list"
    if [ "$(id -u)" -eq 0 ] && id _apt >/dev/null 2>&1; then
        # apt downloads as the unprivileged _apt user where it can.
        chown -R _apt "$tmp/lists" "$tmp/cache" "$tmp/src"
    fi
    local apt_opts=(-q -o "Dir::Etc::sourcelist=$tmp/sources.list"
        -o "Dir::Etc::sourceparts=$tmp/parts"
        -o "Dir::Etc::preferences=$tmp/prefs/none"
        -o "Dir::Etc::preferencesparts=$tmp/prefs"
        -o "Dir::State::Lists=$tmp/lists" -o "Dir::Cache=$tmp/cache")
    echo "deps: fetching $name $version ($DEBIAN_SOURCE_SUITE source package)"
    apt-get "${apt_opts[@]}" update
    (cd "$tmp/src" && apt-get "${apt_opts[@]}" "$@" source "$name=$version")
}

# run_logged LOG CMD...: runs CMD with its output in LOG; on failure shows
# LOG's end and exits.
run_logged() {
    local log="$1"
    shift
    "$@" >>"$log" 2>&1 || { tail -n 30 "$log" >&2; exit 1; }
}

# build_librdkafka PREFIX TMP: builds RDKAFKA_DEB_VERSION into PREFIX.
build_librdkafka() {
    local prefix="$1" tmp="$2"
    debian_source_fetch librdkafka "$RDKAFKA_DEB_VERSION" "$tmp"
    local srcdir="$tmp/src/librdkafka-${RDKAFKA_DEB_VERSION%-*}"
    [ -x "$srcdir/configure" ] || {
        echo "deps: no $srcdir/configure after apt-get source" >&2
        exit 1
    }
    # Only the C library (src/): herald is C, so librdkafka's C++ wrapper
    # and examples are not built. --no-download: mklove uses the modules
    # shipped in the source, never fetches one. The features Debian's own
    # package has are required, so a missing -dev package fails here.
    echo "deps: building librdkafka into $prefix"
    cd "$srcdir"
    run_logged "$tmp/configure.log" ./configure --prefix="$prefix" \
        --no-download --enable-ssl --enable-gssapi --enable-zlib \
        --enable-zstd --enable-lz4-ext --enable-curl
    run_logged "$tmp/make.log" make -C src -j "$(nproc)"
    run_logged "$tmp/make.log" make -C src install
}

# build_yyjson PREFIX TMP: builds YYJSON_DEB_VERSION into PREFIX.
build_yyjson() {
    local prefix="$1" tmp="$2"
    # Only the upstream tarball (the source package's .orig.tar.xz, checked
    # by apt against the signed Sources index): herald builds the library
    # with yyjson's own CMake files, so Debian's packaging (debian/) plays
    # no part.
    debian_source_fetch yyjson "$YYJSON_DEB_VERSION" "$tmp" --tar-only
    local tarball="$tmp/src/yyjson_${YYJSON_DEB_VERSION%-*}.orig.tar.xz"
    mkdir "$tmp/yyjson"
    tar -xJf "$tarball" -C "$tmp/yyjson" --strip-components=1
    # Static and position-independent: linked into herald (and into the
    # shared objects of tests that need it) with no runtime file. Only the
    # reader: herald writes JSON with jansson.
    echo "deps: building yyjson into $prefix"
    run_logged "$tmp/cmake.log" cmake -S "$tmp/yyjson" -B "$tmp/yyjson/build" \
        -DCMAKE_BUILD_TYPE=Release -DCMAKE_INSTALL_PREFIX="$prefix" \
        -DCMAKE_INSTALL_LIBDIR=lib -DBUILD_SHARED_LIBS=OFF \
        -DCMAKE_POSITION_INDEPENDENT_CODE=ON -DYYJSON_DISABLE_WRITER=ON \
        -DYYJSON_DISABLE_UTILS=ON
    run_logged "$tmp/make.log" cmake --build "$tmp/yyjson/build" \
        -j "$(nproc)"
    run_logged "$tmp/make.log" cmake --install "$tmp/yyjson/build"
}

# deps_from_source NAME VERSION: NAME's pinned Debian VERSION built (by
# build_NAME) into HERALD_DEPS_DIR/NAME-VERSION unless its stamp says it is
# there already, and the link HERALD_DEPS_DIR/NAME pointing at it.
deps_from_source() {
    local name="$1" version="$2"
    local prefix="$HERALD_DEPS_DIR/$name-$version"
    mkdir -p "$HERALD_DEPS_DIR"
    # One build at a time: clones on one machine share the cache.
    exec 9>"$HERALD_DEPS_DIR/.$name.lock"
    flock 9
    if [ "$(cat "$prefix/.herald-deps-stamp" 2>/dev/null)" != "$version" ]; then
        . /etc/os-release
        if [ "${ID:-}" != debian ]; then
            echo "deps: $name $version comes from Debian's source package" \
                "and this is not Debian: install $name (see README)" >&2
            exit 1
        fi
        local tmp
        tmp="$(mktemp -d)"
        # shellcheck disable=SC2064
        trap "rm -rf '$tmp'" EXIT
        rm -rf "$prefix"
        # A subshell: the build may cd and exits on failure.
        ("build_$name" "$prefix" "$tmp")
        echo "$version" >"$prefix/.herald-deps-stamp"
        rm -rf "$tmp"
        trap - EXIT
    fi
    # CMake reads this link, so a new pinned version needs no edit there.
    ln -sfn "$name-$version" "$HERALD_DEPS_DIR/$name"
    exec 9>&-
}

deps_librdkafka() {
    local sysv
    sysv="$(pkg-config --modversion rdkafka 2>/dev/null || echo 0)"
    if dpkg --compare-versions "$sysv" ge "$RDKAFKA_MIN"; then
        # The system's is new enough: a prefix left from an older system
        # would shadow it (CMake prefers the prefix), so it goes.
        if [ -L "$HERALD_DEPS_DIR/librdkafka" ]; then
            rm -f "$HERALD_DEPS_DIR/librdkafka"
        fi
        return 0
    fi
    # Also when built already: rdkafka.pc names their .pc files.
    install_missing "${RDKAFKA_BUILD_DEPS[@]}"
    deps_from_source librdkafka "$RDKAFKA_DEB_VERSION"
}

deps_librdkafka
deps_from_source yyjson "$YYJSON_DEB_VERSION"
