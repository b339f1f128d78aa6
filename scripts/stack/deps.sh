#!/usr/bin/env bash
# Installs what the integration-test stack needs, then fills the caches.
# Idempotent: every step is skipped when its result is already there, so a
# second run takes a second or two. Debian packages need root (apt-get);
# everything else goes to $HERALD_STACK_CACHE (default ~/.cache/herald-stack)
# and the clients' own caches (~/.m2, Go module cache, pip and npm caches).
#
#   scripts/stack/deps.sh            # all
#   scripts/stack/deps.sh --no-apt   # skip the Debian packages step
set -euo pipefail
. "$(dirname "${BASH_SOURCE[0]}")/common.sh"

NO_APT=0
for a in "$@"; do
  case "$a" in
    --no-apt) NO_APT=1 ;;
    *) die "unknown argument $a" ;;
  esac
done

export PATH="$PATH:/usr/local/go/bin"

# ---------------------------------------------------------------- Debian
apt_missing=()
need_cmd() { command -v "$1" >/dev/null 2>&1 || apt_missing+=("$2"); }
need_cmd java openjdk-17-jre-headless
need_cmd mvn maven
need_cmd kcat kcat
need_cmd openssl openssl
need_cmd ss iproute2
need_cmd curl curl
need_cmd jq jq
need_cmd git git
need_cmd go golang-go
need_cmd npm npm
need_cmd python3 python3
# python3's venv module (Debian splits it out; pyenv builds have it).
python3 -c 'import venv, ensurepip' >/dev/null 2>&1 || apt_missing+=(python3-venv)
if [ "${#apt_missing[@]}" -gt 0 ]; then
  if [ "$NO_APT" = 1 ]; then
    die "missing packages: ${apt_missing[*]} (rerun without --no-apt as root)"
  fi
  log "apt-get install ${apt_missing[*]}"
  SUDO=""; [ "$(id -u)" = 0 ] || SUDO=sudo
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends "${apt_missing[@]}" >/dev/null
fi

mkdir -p "$HERALD_STACK_CACHE"
# Maven runs on a copy of the pom in the cache so it never writes target/
# into the checkout.
mkdir -p "$HERALD_STACK_CACHE/maven"
cp "$STACK_SCRIPTS/pom.xml" "$HERALD_STACK_CACHE/maven/pom.xml"
MVN=(mvn -q -B -f "$HERALD_STACK_CACHE/maven/pom.xml")

# ---------------------------------------------------------------- Kafka
fetch_kafka() {
  if [ -f "$KAFKA_LIBS/.complete" ]; then return 0; fi
  log "fetching Kafka $KAFKA_VERSION jars"
  rm -rf "$KAFKA_LIBS"; mkdir -p "$KAFKA_LIBS"
  "${MVN[@]}" dependency:copy-dependencies \
    -Dkafka.version="$KAFKA_VERSION" -DincludeScope=runtime -DoutputDirectory="$KAFKA_LIBS"
  touch "$KAFKA_LIBS/.complete"
}

# ---------------------------------------------------------------- WireMock
fetch_wiremock() {
  if [ -f "$WIREMOCK_JAR" ]; then return 0; fi
  log "fetching WireMock $WIREMOCK_VERSION"
  mkdir -p "$(dirname "$WIREMOCK_JAR")"
  "${MVN[@]}" dependency:copy \
    -Dartifact="org.wiremock:wiremock-standalone:$WIREMOCK_VERSION" \
    -DoutputDirectory="$(dirname "$WIREMOCK_JAR")"
}

# ---------------------------------------------------------------- Apicurio
# Published on Maven Central as a Quarkus assembly, classifier "all", type
# tar.gz: 3.1+ is a fast-jar (quarkus-run.jar, lib/, app/, quarkus/), 3.0 a
# legacy runner jar (apicurio-registry-app-V-runner.jar, lib/).
fetch_apicurio() {
  if apicurio_jar >/dev/null; then return 0; fi
  log "fetching Apicurio Registry $APICURIO_VERSION"
  local tmp="$APICURIO_HOME.tmp"
  rm -rf "$tmp" "$HERALD_STACK_CACHE/maven/target"; mkdir -p "$tmp"
  "${MVN[@]}" dependency:unpack \
    -Dartifact="io.apicurio:apicurio-registry-app:$APICURIO_VERSION:tar.gz:all" \
    -DoutputDirectory="$tmp"
  rm -rf "$APICURIO_HOME"; mv "$tmp" "$APICURIO_HOME"
  apicurio_jar >/dev/null || die "apicurio assembly has no runnable jar"
}

# ---------------------------------------------------------------- Mailpit
fetch_mailpit() {
  # `mailpit version` says "dev" for go-installed builds: keep our own stamp.
  if [ -x "$MAILPIT_BIN" ] && [ "$(cat "$MAILPIT_BIN.version" 2>/dev/null)" = "$MAILPIT_VERSION" ]; then return 0; fi
  log "building Mailpit $MAILPIT_VERSION"
  mkdir -p "$(dirname "$MAILPIT_BIN")"
  GOBIN="$(dirname "$MAILPIT_BIN")" GOFLAGS=-mod=mod go install "github.com/axllent/mailpit@$MAILPIT_VERSION"
  echo "$MAILPIT_VERSION" >"$MAILPIT_BIN.version"
}

# ---------------------------------------------------------------- Prism
fetch_prism() {
  if [ -x "$PRISM_BIN" ]; then return 0; fi
  log "installing Prism $PRISM_VERSION"
  mkdir -p "$PRISM_PREFIX"
  [ -f "$PRISM_PREFIX/package.json" ] || echo '{"name":"herald-stack-prism","private":true}' > "$PRISM_PREFIX/package.json"
  npm install --prefix "$PRISM_PREFIX" --no-audit --no-fund --loglevel=error \
    "@stoplight/prism-cli@$PRISM_VERSION" >/dev/null
}

# ---------------------------------------------------------------- Python
fetch_python() {
  local req="$REPO_ROOT/tests/stack/requirements.txt" stamp="$STACK_VENV/.requirements"
  if [ -x "$STACK_PY" ] && [ -f "$stamp" ] && cmp -s "$req" "$stamp"; then return 0; fi
  log "creating venv $STACK_VENV"
  [ -x "$STACK_PY" ] || python3 -m venv "$STACK_VENV"
  "$STACK_PY" -m pip install -q --disable-pip-version-check -r "$req"
  cp "$req" "$stamp"
}

# Downloads run in parallel; each writes its own log so a failure is legible.
# The Maven steps run one after another: they share ~/.m2 (and its plugins).
fetch_maven() { fetch_kafka; fetch_wiremock; fetch_apicurio; }
mkdir -p "$HERALD_STACK_CACHE/logs"
pids=(); names=()
for step in maven mailpit prism python; do
  ( "fetch_$step" ) >"$HERALD_STACK_CACHE/logs/deps-$step.log" 2>&1 &
  pids+=($!); names+=("$step")
done
fail=0
for i in "${!pids[@]}"; do
  if ! wait "${pids[$i]}"; then
    log "FAILED: ${names[$i]} (see $HERALD_STACK_CACHE/logs/deps-${names[$i]}.log)"
    tail -20 "$HERALD_STACK_CACHE/logs/deps-${names[$i]}.log" >&2 || true
    fail=1
  fi
done
[ "$fail" = 0 ] || exit 1
find_java21 >/dev/null || log "no Java 21+: using Apicurio $APICURIO_VERSION on Java 17"
log "deps ready in $HERALD_STACK_CACHE"
