#!/usr/bin/env bash
# Installs herald's build and test dependencies from Debian's packages.
# Idempotent: installs only what is missing. Needs root (or sudo).
set -euo pipefail

pkgs=(build-essential cmake ninja-build pkg-config
      librdkafka-dev libavro-dev libcurl4-openssl-dev libyaml-dev libuv1-dev
      libjansson-dev libssl-dev libcmocka-dev kcat valgrind binutils)
# make package / test-package: CPack's dpkg tools, lintian, the systemd
# unit's verifier (systemd-analyze), man to render the man page.
pkgs+=(dpkg-dev fakeroot file lintian systemd man-db)

missing=()
for p in "${pkgs[@]}"; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" \
        || missing+=("$p")
done
[ ${#missing[@]} -eq 0 ] && exit 0

sudo=""
[ "$(id -u)" -eq 0 ] || sudo="sudo"
echo "deps: installing ${missing[*]}"
$sudo apt-get update -q
DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -q --no-install-recommends "${missing[@]}"
