# The stack's services: how each one is started and awaited. Sourced by
# up.sh (the whole stack) and service.sh (one service stopped and started
# again during a fault test). Needs common.sh, STACK_DIR, STACK_TIMEOUT,
# STACK_JVM_FLAGS and T0.

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
  # A fresh stack formats the log directory; a restart (service.sh) keeps
  # the topics, offsets and committed positions, as a real broker would.
  if [ "${KAFKA_FORMAT:-1}" = 1 ]; then
    # Cluster id: 16 random bytes, base64url without padding (Kafka's Uuid).
    # One in 64 starts with '-', which StorageTool's argument parser reads
    # as an option ("--cluster-id: expected one argument"): draw again, as
    # Kafka's own Uuid.randomUuid does.
    local cid="-"
    while [ "${cid#-}" != "$cid" ]; do
      cid="$(head -c 16 /dev/urandom | base64 | tr '+/' '-_' | tr -d '=')"
    done
    "$JAVA17" -Xmx256m "${jopts[@]}" kafka.tools.StorageTool format \
      -t "$cid" -c "$cfg" >>"$STACK_DIR/logs/kafka.log" 2>&1
  fi
  start kafka "$JAVA17" -Xms256m -Xmx512m "${jopts[@]}" kafka.Kafka "$cfg"
  await kafka "$STACK_TIMEOUT" kcat -L -b "$BIND:$KAFKA_PORT" -m 2 -t __herald_probe_absent
}

up_registry() {
  local jar
  jar="$(apicurio_jar)" || die "Apicurio Registry $APICURIO_VERSION not in $APICURIO_HOME (run deps.sh)"
  # SQL storage in an H2 file (not Apicurio's in-memory default), so a
  # registry stopped and started again by a fault test keeps its schema ids.
  # The management interface (health, metrics) is moved off 0.0.0.0:9000.
  start registry "$APICURIO_JAVA" -Xms128m -Xmx384m $STACK_JVM_FLAGS \
    -Djava.net.preferIPv4Stack=true "-Djava.io.tmpdir=$STACK_DIR/tmp" \
    -Dquarkus.http.host=$BIND -Dquarkus.http.port=$SR_PORT \
    -Dquarkus.management.host=$BIND -Dquarkus.management.port=$SR_MGMT_PORT \
    -Dapicurio.storage.kind=sql -Dapicurio.storage.sql.kind=h2 \
    "-Dapicurio.datasource.url=jdbc:h2:file:$STACK_DIR/registry/db" \
    -Dquarkus.log.level=INFO -Dquarkus.banner.enabled=false \
    -jar "$jar"
  await registry "$STACK_TIMEOUT" http_ok "http://$BIND:$SR_PORT/apis/ccompat/v7/subjects"
}

# Two Mailpits: "mailpit" (plain SMTP) and "mailpit_tls" (STARTTLS+AUTH),
# each with its messages in a database file that outlives a restart.
MAILPIT_COMMON=(--disable-version-check --quiet --max 0 --smtp-disable-rdns --enable-chaos
                --pop3 "$BIND:0")
up_mailpit() {
  start mailpit "$MAILPIT_BIN" "${MAILPIT_COMMON[@]}" --database "$STACK_DIR/mailpit/plain.db" \
    --smtp "$BIND:$MAILPIT_SMTP_PORT" --listen "$BIND:$MAILPIT_HTTP_PORT" \
    --smtp-auth-accept-any --smtp-auth-allow-insecure --label plain
  await mailpit "$STACK_TIMEOUT" http_ok "http://$BIND:$MAILPIT_HTTP_PORT/api/v1/info"
  await mailpit "$STACK_TIMEOUT" smtp_banner "$MAILPIT_SMTP_PORT"
}

up_mailpit_tls() {
  local d="$STACK_DIR/mailpit"
  # Mailpit's auth file is htpasswd-style; a plain "user:pass" line works.
  printf '%s:%s\n' "$MAILPIT_USER" "$MAILPIT_PASS" >"$d/auth"
  # Accounts a fault test adds (a rotated credential): taken at (re)start.
  if [ -f "$d/auth.extra" ]; then cat "$d/auth.extra" >>"$d/auth"; fi
  start mailpit_tls "$MAILPIT_BIN" "${MAILPIT_COMMON[@]}" --database "$d/tls.db" \
    --smtp "$BIND:$MAILPIT_SMTP_TLS_PORT" --listen "$BIND:$MAILPIT_TLS_HTTP_PORT" \
    --smtp-tls-cert "$STACK_DIR/tls/server.pem" --smtp-tls-key "$STACK_DIR/tls/server.key" \
    --smtp-require-starttls --smtp-auth-file "$d/auth" --label starttls
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

