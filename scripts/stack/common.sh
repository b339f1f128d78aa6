# Shared settings for the integration-test stack scripts. Sourced, not run.
# Every path and port the stack uses is decided here, once.

STACK_SCRIPTS="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
REPO_ROOT="$(cd "$STACK_SCRIPTS/../.." && pwd)"

# Downloads and installed tools: kept between runs and between clones.
HERALD_STACK_CACHE="${HERALD_STACK_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/herald-stack}"
# Data, logs, pid files: per build tree.
STACK_DIR="${STACK_DIR:-$PWD/build/stack}"

# Pinned versions.
KAFKA_VERSION=4.2.0
# Apicurio 3.3.x is built for Java 21+; 3.0.9 (a legacy runner jar) runs on
# 17. APICURIO_VERSION is settled below, once the Javas are known.
APICURIO_VERSION_NEW=3.3.3
APICURIO_VERSION_JAVA17=3.0.9
WIREMOCK_VERSION=3.13.2
MAILPIT_VERSION=v1.33.1
PRISM_VERSION=5.16.0
CONFLUENT_KAFKA_VERSION=2.16.1

# Loopback ports (none of them standard). STACK_PORT_OFFSET (default 0)
# shifts them all, so a second stack (another checkout, a CI rehearsal) can
# run beside the first; env.sh records it for service.sh.
STACK_PORT_OFFSET="${STACK_PORT_OFFSET:-0}"
BIND=127.0.0.1
KAFKA_PORT=$((39092 + STACK_PORT_OFFSET))
KAFKA_CONTROLLER_PORT=$((39093 + STACK_PORT_OFFSET))
SR_PORT=$((38081 + STACK_PORT_OFFSET))
SR_MGMT_PORT=$((38082 + STACK_PORT_OFFSET))      # Apicurio's Quarkus management interface (health)
MAILPIT_SMTP_PORT=$((31025 + STACK_PORT_OFFSET))
MAILPIT_SMTP_TLS_PORT=$((31587 + STACK_PORT_OFFSET))
MAILPIT_HTTP_PORT=$((38025 + STACK_PORT_OFFSET))
MAILPIT_TLS_HTTP_PORT=$((38026 + STACK_PORT_OFFSET))
WIREMOCK_PORT=$((38080 + STACK_PORT_OFFSET))
PRISM_PORT=$((34010 + STACK_PORT_OFFSET))

MAILPIT_USER=herald
MAILPIT_PASS=herald-test-pass

# Where the cached tools live.
KAFKA_LIBS="$HERALD_STACK_CACHE/kafka-$KAFKA_VERSION/libs"
WIREMOCK_JAR="$HERALD_STACK_CACHE/wiremock/wiremock-standalone-$WIREMOCK_VERSION.jar"
MAILPIT_BIN="$HERALD_STACK_CACHE/go/bin/mailpit"
PRISM_PREFIX="$HERALD_STACK_CACHE/prism-$PRISM_VERSION"
PRISM_BIN="$PRISM_PREFIX/node_modules/.bin/prism"
STACK_VENV="$HERALD_STACK_CACHE/venv"
STACK_PY="$STACK_VENV/bin/python"

# The SendGrid description lives in shared/, beside the checkout.
sendgrid_spec() {
  local top
  top="$(git -C "$STACK_SCRIPTS" rev-parse --show-toplevel 2>/dev/null || echo "$REPO_ROOT")"
  local spec="${SENDGRID_SPEC:-$top/../shared/sendgrid/tsg_mail_v3.yaml}"
  realpath -m "$spec"
}

# Java: Kafka and WireMock run on 17; Apicurio 3.3 needs 21+.
JAVA17="${JAVA17:-$(command -v java || echo /usr/bin/java)}"
find_java21() {
  local j v
  for j in "${JAVA21:-}" /usr/lib/jvm/temurin-25-jdk-amd64/bin/java /usr/lib/jvm/temurin-21-jdk-amd64/bin/java \
           /usr/lib/jvm/java-21-openjdk-amd64/bin/java /usr/lib/jvm/java-25-openjdk-amd64/bin/java "$JAVA17"; do
    [ -n "$j" ] && [ -x "$j" ] || continue
    v="$("$j" -XshowSettings:properties -version 2>&1 | sed -n 's/^ *java.specification.version = //p')"
    if [ "${v%%.*}" -ge 21 ] 2>/dev/null; then echo "$j"; return 0; fi
  done
  return 1
}

# Apicurio: the newest when a Java 21+ is there, else the Java 17 build.
if [ -z "${APICURIO_VERSION:-}" ]; then
  if APICURIO_JAVA="$(find_java21)"; then
    APICURIO_VERSION=$APICURIO_VERSION_NEW
  else
    APICURIO_VERSION=$APICURIO_VERSION_JAVA17
  fi
fi
if [ -z "${APICURIO_JAVA:-}" ]; then
  case "$APICURIO_VERSION" in
    3.0.*) APICURIO_JAVA="$JAVA17" ;;
    *) APICURIO_JAVA="$(find_java21 || echo "$JAVA17")" ;;
  esac
fi
APICURIO_HOME="$HERALD_STACK_CACHE/apicurio-$APICURIO_VERSION"
# The runnable jar: quarkus-run.jar (fast-jar, 3.1+) or *-runner.jar (3.0).
apicurio_jar() {
  local j
  for j in "$APICURIO_HOME/quarkus-run.jar" "$APICURIO_HOME"/apicurio-registry-app-*-runner.jar; do
    [ -f "$j" ] && { echo "$j"; return 0; }
  done
  return 1
}

log() { printf '[stack %s] %s\n' "$(date +%H:%M:%S)" "$*" >&2; }
die() { log "ERROR: $*"; exit 1; }
