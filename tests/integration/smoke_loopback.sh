#!/usr/bin/env bash
# Nothing in the stack listens anywhere but 127.0.0.1: every TCP and UDP
# listener of every stack PID (and its threads/children) is on 127.0.0.1,
# and each service has the port it is documented to have.
. "$(dirname "$0")/lib.sh"
[ -n "$STACK_PIDS" ] || fail "STACK_PIDS empty"
ss -Hltnp >"$WORK/tcp.txt"; ss -Hlunp >"$WORK/udp.txt"
total=0
for pid in $STACK_PIDS; do
  kill -0 "$pid" 2>/dev/null || fail "stack pid $pid is not running"
  # The PID and its descendants (node/Java may fork helpers).
  pids="$pid $(ps -e -o pid=,pgid= | awk -v g="$pid" '$2 == g && $1 != g {print $1}')"
  for p in $pids; do
    while read -r line; do
      [ -n "$line" ] || continue
      addr=$(awk '{print $4}' <<<"$line")
      total=$((total + 1))
      case "$addr" in
        127.0.0.1:*) ;;
        *) fail "pid $p ($(tr '\0' ' ' </proc/"$p"/cmdline | cut -c1-80)) listens on $addr" ;;
      esac
    done < <(grep -h "pid=$p," "$WORK/tcp.txt" "$WORK/udp.txt" || true)
  done
done
echo "ok - $total listeners of the stack, all on 127.0.0.1"
CHECKS=$((CHECKS + 1))
listener_of() { grep -E "[[:space:]]127\.0\.0\.1:$1[[:space:]]" "$WORK/tcp.txt" | grep -o 'pid=[0-9]*' | head -1 | cut -d= -f2; }
in_stack() { for p in $STACK_PIDS; do [ "$p" = "$1" ] && return 0; done; return 1; }
for port in ${KAFKA_BOOTSTRAP##*:} ${KAFKA_CONTROLLER##*:} ${SR_URL#http://127.0.0.1:} ${MAILPIT_SMTP##*:} \
            ${MAILPIT_SMTP_TLS##*:} ${MAILPIT_API##*:} ${MAILPIT_TLS_API##*:} \
            ${WIREMOCK_URL##*:} ${PRISM_URL##*:}; do
  port=${port%%/*}
  pid=$(listener_of "$port")
  [ -n "$pid" ] || fail "nothing listens on 127.0.0.1:$port"
  in_stack "$pid" || fail "127.0.0.1:$port is held by pid $pid, not by the stack"
  echo "ok - 127.0.0.1:$port held by stack pid $pid"
  CHECKS=$((CHECKS + 1))
done
done_ok
