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

# ---- librdkafka >= 2.8 (README "librdkafka") ------------------------------
# herald needs librdkafka >= 2.8 (fetch.queue.backoff.ms, so a full prefetch
# queue does not stop fetching for a second; 2.8 is what herald is tested
# with). Debian 13 ships it; on Debian 12 (2.0.2) it is
# built from Debian 13's own source package, fetched with apt from the
# archive this machine's apt sources already name, into a prefix under
# ~/.cache that CMake finds (CMakeLists.txt: HERALD_DEPS_DIR) and herald
# links with an rpath. The version is pinned: a new one is a deliberate change
# here, measured again (bench/RESULTS.md).
RDKAFKA_MIN=2.8
RDKAFKA_SUITE=trixie
RDKAFKA_DEB_VERSION=2.8.0-1
# Its debian/control Build-Depends, less debhelper/pkgconf (Debian's
# packaging, not the library) and rapidjson-dev (only librdkafka's C++
# tests use it); dpkg-dev unpacks the source package.
RDKAFKA_BUILD_DEPS=(dpkg-dev python3 libssl-dev libsasl2-dev zlib1g-dev
                    libzstd-dev liblz4-dev libcurl4-openssl-dev)
# The first debian-archive-keyring of Debian 12 with trixie's archive keys.
RDKAFKA_KEYRING_MIN=2023.3+deb12u2
RDKAFKA_KEYRING=/usr/share/keyrings/debian-archive-keyring.gpg
HERALD_DEPS_DIR="${HERALD_DEPS_DIR:-$HOME/.cache/herald-deps}"

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

# build_librdkafka: builds RDKAFKA_DEB_VERSION into $prefix (see above).
build_librdkafka() {
    local prefix="$1"
    . /etc/os-release
    if [ "${ID:-}" != debian ]; then
        echo "deps: librdkafka $(pkg-config --modversion rdkafka 2>/dev/null ||
            echo none) is older than $RDKAFKA_MIN and this is not Debian:" \
            "install librdkafka >= $RDKAFKA_MIN (with its pkg-config file)" >&2
        exit 1
    fi
    local uri
    uri="$(debian_archive_uri)"
    if [ -z "$uri" ]; then
        echo "deps: no Debian archive for ${VERSION_CODENAME:-?} in" \
            "/etc/apt/sources.list{,.d/}: cannot fetch librdkafka's source" >&2
        exit 1
    fi
    install_missing debian-archive-keyring
    local kv
    kv="$(dpkg-query -W -f='${Version}' debian-archive-keyring)"
    if dpkg --compare-versions "$kv" lt "$RDKAFKA_KEYRING_MIN"; then
        # Debian 12's point release 12.11 added trixie's keys.
        echo "deps: debian-archive-keyring $kv lacks $RDKAFKA_SUITE's keys:" \
            "upgrading it"
        [ "$updated" = 1 ] || $sudo apt-get update -q
        updated=1
        DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -q \
            --only-upgrade debian-archive-keyring
    fi

    # A private apt configuration for this one download: its own sources
    # list (only the deb-src line), lists and cache, so the system's apt
    # configuration and state stay untouched. apt verifies the suite's
    # InRelease against Debian's archive keyring, and the files against
    # the signed Sources index.
    local tmp
    tmp="$(mktemp -d)"
    # shellcheck disable=SC2064
    trap "rm -rf '$tmp'" EXIT
    chmod 755 "$tmp"
    mkdir -p "$tmp/lists/partial" "$tmp/cache/archives/partial" \
        "$tmp/parts" "$tmp/prefs" "$tmp/src"
    printf 'deb-src [signed-by=%s] %s %s main\n' \
        "$RDKAFKA_KEYRING" "$uri" "$RDKAFKA_SUITE" >"$tmp/sources.list"
    if [ "$(id -u)" -eq 0 ] && id _apt >/dev/null 2>&1; then
        # apt downloads as the unprivileged _apt user where it can.
        chown -R _apt "$tmp/lists" "$tmp/cache" "$tmp/src"
    fi
    local apt_opts=(-q -o "Dir::Etc::sourcelist=$tmp/sources.list"
        -o "Dir::Etc::sourceparts=$tmp/parts"
        -o "Dir::Etc::preferences=$tmp/prefs/none"
        -o "Dir::Etc::preferencesparts=$tmp/prefs"
        -o "Dir::State::Lists=$tmp/lists" -o "Dir::Cache=$tmp/cache")
    echo "deps: fetching librdkafka $RDKAFKA_DEB_VERSION" \
        "($RDKAFKA_SUITE source package)"
    apt-get "${apt_opts[@]}" update
    (cd "$tmp/src" &&
        apt-get "${apt_opts[@]}" source "librdkafka=$RDKAFKA_DEB_VERSION")
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
    rm -rf "$prefix"
    (cd "$srcdir" &&
        ./configure --prefix="$prefix" --no-download --enable-ssl \
            --enable-gssapi --enable-zlib --enable-zstd --enable-lz4-ext \
            --enable-curl >"$tmp/configure.log" 2>&1 ||
        { tail -n 30 "$tmp/configure.log" >&2; exit 1; }
        make -C src -j "$(nproc)" >"$tmp/make.log" 2>&1 ||
        { tail -n 30 "$tmp/make.log" >&2; exit 1; }
        make -C src install >>"$tmp/make.log" 2>&1 ||
        { tail -n 30 "$tmp/make.log" >&2; exit 1; })
    echo "$RDKAFKA_DEB_VERSION" >"$prefix/.herald-deps-stamp"
    rm -rf "$tmp"
    trap - EXIT
}

deps_librdkafka() {
    local sysv
    sysv="$(pkg-config --modversion rdkafka 2>/dev/null || echo 0)"
    local link="$HERALD_DEPS_DIR/librdkafka"
    if dpkg --compare-versions "$sysv" ge "$RDKAFKA_MIN"; then
        # The system's is new enough: a prefix left from an older system
        # would shadow it (CMake prefers the prefix), so it goes.
        if [ -L "$link" ]; then
            rm -f "$link"
        fi
        return 0
    fi
    # Also when built already: rdkafka.pc names their .pc files.
    install_missing "${RDKAFKA_BUILD_DEPS[@]}"
    local prefix="$HERALD_DEPS_DIR/librdkafka-$RDKAFKA_DEB_VERSION"
    mkdir -p "$HERALD_DEPS_DIR"
    # One build at a time: clones on one machine share the cache.
    exec 9>"$HERALD_DEPS_DIR/.librdkafka.lock"
    flock 9
    if [ "$(cat "$prefix/.herald-deps-stamp" 2>/dev/null)" != \
        "$RDKAFKA_DEB_VERSION" ]; then
        build_librdkafka "$prefix"
    fi
    # CMake reads this link, so a new pinned version needs no edit there.
    ln -sfn "librdkafka-$RDKAFKA_DEB_VERSION" "$link"
    exec 9>&-
}

deps_librdkafka
