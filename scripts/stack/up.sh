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
#      STACK_SERVICES (default "kafka registry mailpit wiremock prism");
#      STACK_JVM_FLAGS (default "-XX:+UseSerialGC -XX:TieredStopAtLevel=1").
set -euo pipefail
if [ $# -ge 1 ]; then STACK_DIR="$1"; fi
. "$(dirname "${BASH_SOURCE[0]}")/common.sh"
mkdir -p "$STACK_DIR"
STACK_DIR="$(cd "$STACK_DIR" && pwd)"
export STACK_DIR
STACK_TIMEOUT="${STACK_TIMEOUT:-120}"
STACK_SERVICES="${STACK_SERVICES:-kafka registry mailpit wiremock prism}"
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

rm -rf "$STACK_DIR/kafka" "$STACK_DIR/mailpit" "$STACK_DIR/wiremock" "$STACK_DIR/logs" "$STACK_DIR/pids" "$STACK_DIR/env.sh"
mkdir -p "$STACK_DIR"/{logs,pids,tls,kafka/data,mailpit,wiremock,registry,tmp}

# Every process we start carries this in its environment; down.sh checks it
# before signalling a PID, so a recycled PID is never killed by mistake.
export HERALD_STACK_TAG="$STACK_DIR"

# start NAME CMD... : runs CMD in a new session (PID == process group id),
# detached from our stdin/stdout, and records the PID.
start() {
  local name="$1"; shift
  setsid "$@" </dev/null >>"$STACK_DIR/logs/$name.log" 2>&1 &
  echo $! >"$STACK_DIR/pids/$name.pid"
  log "started $name (pid $!)"
}

# await NAME TIMEOUT CHECK...: polls CHECK until it succeeds; fails early if
# the process died.
await() {
  local name="$1" timeout="$2"; shift 2
  local pid deadline=$(( $(date +%s) + timeout ))
  pid="$(cat "$STACK_DIR/pids/$name.pid")"
  while ! "$@" >/dev/null 2>&1; do
    if ! kill -0 "$pid" 2>/dev/null; then
      log "$name died; last log lines:"; tail -30 "$STACK_DIR/logs/$name.log" >&2; return 1
    fi
    if [ "$(date +%s)" -ge "$deadline" ]; then
      log "$name not ready after ${timeout}s; last log lines:"; tail -30 "$STACK_DIR/logs/$name.log" >&2; return 1
    fi
    sleep 0.25
  done
  log "$name ready after $(awk -v a="$T0" -v b="$(date +%s.%N)" 'BEGIN{printf "%.1f", b-a}')s"
}

http_ok() { curl -fsS -o /dev/null --max-time 2 "$1"; }
http_any() { curl -sS -o /dev/null --max-time 2 "$1"; }   # any HTTP answer
smtp_banner() { exec 3<>"/dev/tcp/$BIND/$1" && head -c 3 <&3 | grep -q 220; }

# ---------------------------------------------------------------- TLS
# A throw-away CA and a server certificate for 127.0.0.1/localhost; tests pass
# $MAILPIT_CA as ca_file. Kept across runs (regenerated when near expiry).
make_tls() {
  local d="$STACK_DIR/tls"
  if [ -f "$d/server.pem" ] && openssl x509 -checkend 86400 -noout -in "$d/server.pem" >/dev/null 2>&1; then return 0; fi
  openssl req -x509 -newkey rsa:2048 -nodes -days 30 -subj "/CN=herald test CA" \
    -keyout "$d/ca.key" -out "$d/ca.pem" \
    -addext "basicConstraints=critical,CA:TRUE" -addext "keyUsage=critical,keyCertSign,cRLSign" 2>/dev/null
  openssl req -newkey rsa:2048 -nodes -subj "/CN=localhost" -keyout "$d/server.key" -out "$d/server.csr" 2>/dev/null
  printf 'subjectAltName=IP:127.0.0.1,DNS:localhost\nbasicConstraints=CA:FALSE\nkeyUsage=digitalSignature,keyEncipherment\nextendedKeyUsage=serverAuth\n' >"$d/ext.cnf"
  openssl x509 -req -in "$d/server.csr" -CA "$d/ca.pem" -CAkey "$d/ca.key" -CAcreateserial \
    -days 30 -extfile "$d/ext.cnf" -out "$d/server.pem" 2>/dev/null
}

# ---------------------------------------------------------------- services
up_kafka() {
  local cfg="$STACK_DIR/kafka/server.properties"
  sed -e "s|@STACK_DIR@|$STACK_DIR|g" -e "s|@KAFKA_PORT@|$KAFKA_PORT|g" \
      -e "s|@KAFKA_CONTROLLER_PORT@|$KAFKA_CONTROLLER_PORT|g" \
      "$STACK_SCRIPTS/kafka/server.properties.in" >"$cfg"
  local jopts=($STACK_JVM_FLAGS -Djava.awt.headless=true -Djava.net.preferIPv4Stack=true
               "-Dlog4j2.configurationFile=$STACK_SCRIPTS/kafka/log4j2.properties"
               "-Djava.io.tmpdir=$STACK_DIR/tmp" -cp "$KAFKA_LIBS/*")
  # Cluster id: 16 random bytes, base64url without padding (Kafka's Uuid).
  local cid
  cid="$(head -c 16 /dev/urandom | base64 | tr '+/' '-_' | tr -d '=')"
  "$JAVA17" -Xmx256m "${jopts[@]}" kafka.tools.StorageTool format \
    -t "$cid" -c "$cfg" >>"$STACK_DIR/logs/kafka.log" 2>&1
  start kafka "$JAVA17" -Xms256m -Xmx512m "${jopts[@]}" kafka.Kafka "$cfg"
  await kafka "$STACK_TIMEOUT" kcat -L -b "$BIND:$KAFKA_PORT" -m 2 -t __herald_probe_absent
}

up_registry() {
  local jar
  jar="$(apicurio_jar)" || die "Apicurio Registry $APICURIO_VERSION not in $APICURIO_HOME (run deps.sh)"
  # In-memory SQL storage (H2) is Apicurio 3's default; say so explicitly.
  # The management interface (health, metrics) is moved off 0.0.0.0:9000.
  start registry "$APICURIO_JAVA" -Xms128m -Xmx384m $STACK_JVM_FLAGS \
    -Djava.net.preferIPv4Stack=true "-Djava.io.tmpdir=$STACK_DIR/tmp" \
    -Dquarkus.http.host=$BIND -Dquarkus.http.port=$SR_PORT \
    -Dquarkus.management.host=$BIND -Dquarkus.management.port=$SR_MGMT_PORT \
    -Dapicurio.storage.kind=sql -Dapicurio.storage.sql.kind=h2 \
    -Dapicurio.datasource.url='jdbc:h2:mem:registry_db' \
    -Dquarkus.log.level=INFO -Dquarkus.banner.enabled=false \
    -jar "$jar"
  await registry "$STACK_TIMEOUT" http_ok "http://$BIND:$SR_PORT/apis/ccompat/v7/subjects"
}

up_mailpit() {
  local d="$STACK_DIR/mailpit"
  # Mailpit's auth file is htpasswd-style; a plain "user:pass" line works.
  printf '%s:%s\n' "$MAILPIT_USER" "$MAILPIT_PASS" >"$d/auth"
  local common=(--disable-version-check --quiet --max 5000 --smtp-disable-rdns --enable-chaos
                --pop3 "$BIND:0")
  start mailpit "$MAILPIT_BIN" "${common[@]}" --database "$d/plain.db" \
    --smtp "$BIND:$MAILPIT_SMTP_PORT" --listen "$BIND:$MAILPIT_HTTP_PORT" \
    --smtp-auth-accept-any --smtp-auth-allow-insecure --label plain
  start mailpit_tls "$MAILPIT_BIN" "${common[@]}" --database "$d/tls.db" \
    --smtp "$BIND:$MAILPIT_SMTP_TLS_PORT" --listen "$BIND:$MAILPIT_TLS_HTTP_PORT" \
    --smtp-tls-cert "$STACK_DIR/tls/server.pem" --smtp-tls-key "$STACK_DIR/tls/server.key" \
    --smtp-require-starttls --smtp-auth-file "$d/auth" --label starttls
  await mailpit "$STACK_TIMEOUT" http_ok "http://$BIND:$MAILPIT_HTTP_PORT/api/v1/info"
  await mailpit "$STACK_TIMEOUT" smtp_banner "$MAILPIT_SMTP_PORT"
  await mailpit_tls "$STACK_TIMEOUT" http_ok "http://$BIND:$MAILPIT_TLS_HTTP_PORT/api/v1/info"
  await mailpit_tls "$STACK_TIMEOUT" smtp_banner "$MAILPIT_SMTP_TLS_PORT"
}

up_wiremock() {
  # Copy the committed mappings so runtime changes never touch the checkout.
  cp -r "$STACK_SCRIPTS/wiremock/." "$STACK_DIR/wiremock/"
  mkdir -p "$STACK_DIR/wiremock/__files"
  start wiremock "$JAVA17" -Xms64m -Xmx256m $STACK_JVM_FLAGS \
    -Djava.net.preferIPv4Stack=true "-Djava.io.tmpdir=$STACK_DIR/tmp" \
    -jar "$WIREMOCK_JAR" --bind-address $BIND --port $WIREMOCK_PORT \
    --root-dir "$STACK_DIR/wiremock" --disable-banner \
    --max-request-journal-entries 10000 --container-threads 20 --async-response-enabled true
  await wiremock "$STACK_TIMEOUT" http_ok "http://$BIND:$WIREMOCK_PORT/__admin/health"
}

up_prism() {
  local spec
  spec="$(sendgrid_spec)"
  [ -f "$spec" ] || die "SendGrid description not found at $spec (set SENDGRID_SPEC)"
  start prism "$(command -v node)" "$PRISM_PREFIX/node_modules/@stoplight/prism-cli/dist/index.js" \
    mock --host $BIND --port $PRISM_PORT --errors "$spec"
  await prism "$STACK_TIMEOUT" http_any "http://$BIND:$PRISM_PORT/"
}

# ---------------------------------------------------------------- env.sh
write_env() {
  local e="$STACK_DIR/env.sh.tmp"
  cat >"$e" <<EOF
# Written by scripts/stack/up.sh; source it in integration tests.
export STACK_DIR='$STACK_DIR'
export HERALD_STACK_CACHE='$HERALD_STACK_CACHE'
export KAFKA_BOOTSTRAP='$BIND:$KAFKA_PORT'
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
