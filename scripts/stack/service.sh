#!/usr/bin/env bash
# Stops, starts or restarts one service of a running stack, for the fault
# tests (a broker restart, Mailpit or the registry gone for 20 s).
#
#   scripts/stack/service.sh stop|kill|start|restart NAME [STACK_DIR]
#
# NAME: kafka, registry, mailpit, mailpit_tls, wiremock or prism. stop sends
# SIGTERM (SIGKILL after STACK_GRACE s, default 20), kill sends SIGKILL. start
# brings the service back on the same ports and data: Kafka keeps its log
# directory (no format), the registry its H2 file, Mailpit its database.
# start returns once the service answers, like up.sh.
set -euo pipefail
[ $# -ge 2 ] || { echo "usage: $0 stop|kill|start|restart NAME [STACK_DIR]" >&2; exit 2; }
action="$1" name="$2"
if [ $# -ge 3 ]; then STACK_DIR="$3"; fi
STACK_DIR="$(cd "${STACK_DIR:-$PWD/build/stack}" && pwd)"
[ -f "$STACK_DIR/env.sh" ] || { echo "no stack running in $STACK_DIR" >&2; exit 1; }
# The stack's own settings (its port offset) win over the caller's.
. "$STACK_DIR/env.sh"
. "$(dirname "${BASH_SOURCE[0]}")/common.sh"
export STACK_DIR
STACK_TIMEOUT="${STACK_TIMEOUT:-120}"
STACK_JVM_FLAGS="${STACK_JVM_FLAGS--XX:+UseSerialGC -XX:TieredStopAtLevel=1}"
GRACE="${STACK_GRACE:-20}"
T0=$(date +%s.%N)
. "$STACK_SCRIPTS/services.sh"
declare -F "up_$name" >/dev/null || die "unknown service '$name'"

pidfile="$STACK_DIR/pids/$name.pid"

ours() {
  { tr '\0' '\n' <"/proc/$1/environ"; } 2>/dev/null | grep -qxF "HERALD_STACK_TAG=$STACK_DIR"
}

# stop_it SIGNAL: signal the service's process group and wait until none of
# it is left.
stop_it() {
  local pid deadline
  pid="$(cat "$pidfile" 2>/dev/null || true)"
  if [ -z "$pid" ] || ! ours "$pid"; then
    log "$name is not running"; rm -f "$pidfile"; return 0
  fi
  kill "-$1" -- "-$pid" 2>/dev/null || true
  deadline=$(( $(date +%s) + GRACE ))
  while [ -n "$(ps -e -o pgid= | awk -v g="$pid" '$1 == g')" ]; do
    if [ "$(date +%s)" -ge "$deadline" ]; then
      log "SIGKILL $name (pid $pid): still running after ${GRACE}s"
      kill -KILL -- "-$pid" 2>/dev/null || true
    fi
    sleep 0.1
  done
  rm -f "$pidfile"
  log "$name stopped ($1)"
}

start_it() {
  if [ -f "$pidfile" ] && ours "$(cat "$pidfile")"; then
    log "$name is already running"; return 0
  fi
  KAFKA_FORMAT=0 "up_$name"
  # Keep env.sh's list of service PIDs current.
  local pids
  pids="$(cat "$STACK_DIR"/pids/*.pid | tr '\n' ' ' | sed 's/ $//')"
  sed -i "s|^export STACK_PIDS=.*|export STACK_PIDS='$pids'|" "$STACK_DIR/env.sh"
}

case "$action" in
  stop) stop_it TERM ;;
  kill) stop_it KILL ;;
  start) start_it ;;
  restart) stop_it TERM; start_it ;;
  *) die "unknown action '$action'" ;;
esac
