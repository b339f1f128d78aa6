#!/usr/bin/env bash
# Starts the integration-test stack on 127.0.0.1 and waits until every
# service answers: Kafka (KRaft, one node), Apicurio Registry (in-memory,
# Confluent API), two Mailpit instances (plain SMTP; STARTTLS+AUTH), WireMock
# (SendGrid double) and Prism (SendGrid request validation).
#
#   scripts/stack/up.sh [STACK_DIR]      (default $STACK_DIR or $PWD/build/stack)
#
# Writes $STACK_DIR/env.sh (source it in tests) and $STACK_DIR/pids/*.pid.
# Services run in their own sessions with output in $STACK_DIR/logs/, so the
# caller (ctest) is not held by open pipes. Stop with down.sh.
# Env: SKIP_DEPS=1 skips deps.sh; STACK_TIMEOUT (s, default 120) per service;
#      STACK_SERVICES (default "kafka registry mailpit mailpit_tls wiremock prism");
#      STACK_JVM_FLAGS (default "-XX:+UseSerialGC -XX:TieredStopAtLevel=1").
set -euo pipefail
if [ $# -ge 1 ]; then STACK_DIR="$1"; fi
. "$(dirname "${BASH_SOURCE[0]}")/common.sh"
mkdir -p "$STACK_DIR"
STACK_DIR="$(cd "$STACK_DIR" && pwd)"
export STACK_DIR
STACK_TIMEOUT="${STACK_TIMEOUT:-120}"
STACK_SERVICES="${STACK_SERVICES:-kafka registry mailpit mailpit_tls wiremock prism}"
# Small, quick-starting JVMs (2 cores): serial GC, C1 only. A benchmark that
# wants full JIT sets STACK_JVM_FLAGS="-XX:+UseSerialGC" (or "").
STACK_JVM_FLAGS="${STACK_JVM_FLAGS--XX:+UseSerialGC -XX:TieredStopAtLevel=1}"
T0=$(date +%s.%N)

# A stack already running from this directory is stopped first.
if compgen -G "$STACK_DIR/pids/*.pid" >/dev/null; then
  log "stopping a previous stack in $STACK_DIR"
  "$STACK_SCRIPTS/down.sh" "$STACK_DIR"
fi

if [ "${SKIP_DEPS:-0}" != 1 ]; then
  "$STACK_SCRIPTS/deps.sh"
fi

# Refuse to start when one of our ports is taken: a foreign listener would
# make every test talk to the wrong thing.
busy=$(ss -Hltn 2>/dev/null | awk '{print $4}' | grep -Eo ':[0-9]+$' | tr -d : | sort -u || true)
for p in $KAFKA_PORT $KAFKA_CONTROLLER_PORT $SR_PORT $SR_MGMT_PORT $MAILPIT_SMTP_PORT $MAILPIT_SMTP_TLS_PORT \
         $MAILPIT_HTTP_PORT $MAILPIT_TLS_HTTP_PORT $WIREMOCK_PORT $PRISM_PORT; do
  if grep -qx "$p" <<<"$busy"; then
    die "port $p is already in use: $(ss -Hltnp "sport = :$p" 2>/dev/null | head -1)"
  fi
done

rm -rf "$STACK_DIR/kafka" "$STACK_DIR/registry" "$STACK_DIR/mailpit" "$STACK_DIR/wiremock" "$STACK_DIR/logs" "$STACK_DIR/pids" "$STACK_DIR/env.sh"
mkdir -p "$STACK_DIR"/{logs,pids,tls,kafka/data,mailpit,wiremock,registry,tmp}

# Every process we start carries HERALD_STACK_TAG (down.sh checks it).
. "$STACK_SCRIPTS/services.sh"

# ---------------------------------------------------------------- env.sh
write_env() {
  local e="$STACK_DIR/env.sh.tmp"
  cat >"$e" <<EOF
# Written by scripts/stack/up.sh; source it in integration tests.
export STACK_DIR='$STACK_DIR'
export STACK_PORT_OFFSET='$STACK_PORT_OFFSET'
export HERALD_STACK_CACHE='$HERALD_STACK_CACHE'
export KAFKA_BOOTSTRAP='$BIND:$KAFKA_PORT'
export KAFKA_CONTROLLER='$BIND:$KAFKA_CONTROLLER_PORT'
export KAFKA_LIBS='$KAFKA_LIBS'
export KAFKA_JAVA='$JAVA17'
export KAFKA_TOPICS='$STACK_SCRIPTS/kafka-topics.sh'
export SR_BASE='http://$BIND:$SR_PORT'
export SR_URL='http://$BIND:$SR_PORT/apis/ccompat/v7'
export SR_IMPL='apicurio-registry $APICURIO_VERSION'
export MAILPIT_SMTP='$BIND:$MAILPIT_SMTP_PORT'
export MAILPIT_SMTP_HOST='$BIND'
export MAILPIT_SMTP_PORT='$MAILPIT_SMTP_PORT'
export MAILPIT_API='http://$BIND:$MAILPIT_HTTP_PORT'
export MAILPIT_SMTP_TLS='$BIND:$MAILPIT_SMTP_TLS_PORT'
export MAILPIT_SMTP_TLS_PORT='$MAILPIT_SMTP_TLS_PORT'
export MAILPIT_TLS_API='http://$BIND:$MAILPIT_TLS_HTTP_PORT'
export MAILPIT_USER='$MAILPIT_USER'
export MAILPIT_PASS='$MAILPIT_PASS'
export MAILPIT_CA='$STACK_DIR/tls/ca.pem'
export WIREMOCK_URL='http://$BIND:$WIREMOCK_PORT'
export PRISM_URL='http://$BIND:$PRISM_PORT'
export SENDGRID_SPEC='$(sendgrid_spec)'
export STACK_PY='$STACK_PY'
export STACK_PRODUCER='$REPO_ROOT/tests/stack/producer.py'
export STACK_PIDS='$(cat "$STACK_DIR"/pids/*.pid | tr '\n' ' ' | sed 's/ $//')'
EOF
  mv "$e" "$STACK_DIR/env.sh"
}

make_tls

pids=(); names=()
for s in $STACK_SERVICES; do
  ( "up_$s" ) &
  pids+=($!); names+=("$s")
done
fail=0
for i in "${!pids[@]}"; do
  wait "${pids[$i]}" || { log "FAILED to start ${names[$i]}"; fail=1; }
done
if [ "$fail" != 0 ]; then
  log "stack did not come up; stopping what started"
  "$STACK_SCRIPTS/down.sh" "$STACK_DIR" || true
  exit 1
fi
write_env
log "stack up in $(awk -v a="$T0" -v b="$(date +%s.%N)" 'BEGIN{printf "%.1f", b-a}')s; env: $STACK_DIR/env.sh"
