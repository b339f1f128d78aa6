#!/usr/bin/env bash
# Stops the integration-test stack started by up.sh, by PID: SIGTERM to each
# service's process group, then SIGKILL after a grace period. Safe to run
# twice, and when nothing was started. Data stays in $STACK_DIR for
# post-mortems (logs/), and is wiped by the next up.sh.
#
#   scripts/stack/down.sh [STACK_DIR]
# Env: STACK_GRACE (s, default 10) before SIGKILL.
set -uo pipefail
if [ $# -ge 1 ]; then STACK_DIR="$1"; fi
. "$(dirname "${BASH_SOURCE[0]}")/common.sh"
[ -d "$STACK_DIR" ] || exit 0
STACK_DIR="$(cd "$STACK_DIR" && pwd)"
GRACE="${STACK_GRACE:-10}"
shopt -s nullglob

# Is PID still one of ours (started by up.sh for this STACK_DIR)?
ours() {
  local pid="$1"
  [ -r "/proc/$pid/environ" ] || return 1
  { tr '\0' '\n' <"/proc/$pid/environ"; } 2>/dev/null | grep -qxF "HERALD_STACK_TAG=$STACK_DIR"
}

# Every PID of a session/process group whose leader we started.
group_pids() {
  ps -e -o pid=,pgid= | awk -v g="$1" '$2 == g {print $1}'
}

declare -A live=()
for f in "$STACK_DIR"/pids/*.pid; do
  pid="$(cat "$f" 2>/dev/null)"
  name="$(basename "$f" .pid)"
  if [ -n "$pid" ] && ours "$pid"; then
    live[$name]="$pid"
    kill -TERM -- "-$pid" 2>/dev/null || kill -TERM "$pid" 2>/dev/null
    log "SIGTERM $name (pid $pid)"
  else
    rm -f "$f"
  fi
done

deadline=$(( $(date +%s) + GRACE ))
while [ "${#live[@]}" -gt 0 ]; do
  for name in "${!live[@]}"; do
    pid="${live[$name]}"
    if [ -z "$(group_pids "$pid")" ]; then
      unset "live[$name]"; rm -f "$STACK_DIR/pids/$name.pid"
    fi
  done
  [ "${#live[@]}" -gt 0 ] || break
  if [ "$(date +%s)" -ge "$deadline" ]; then
    for name in "${!live[@]}"; do
      pid="${live[$name]}"
      log "SIGKILL $name (pid $pid): still running after ${GRACE}s"
      kill -KILL -- "-$pid" 2>/dev/null || kill -KILL "$pid" 2>/dev/null
      rm -f "$STACK_DIR/pids/$name.pid"
    done
    sleep 0.5
    break
  fi
  sleep 0.2
done

# Belt and braces: anything else still tagged with this STACK_DIR (e.g. a
# child that left its process group) is ours too.
for e in /proc/[0-9]*/environ; do
  pid="${e#/proc/}"; pid="${pid%/environ}"
  [ "$pid" != "$$" ] || continue
  if ours "$pid"; then
    case "$(tr '\0' ' ' <"/proc/$pid/cmdline" 2>/dev/null)" in
      *down.sh*|*up.sh*|*run-with-stack.sh*|"") continue ;;
    esac
    log "SIGKILL stray pid $pid: $(tr '\0' ' ' <"/proc/$pid/cmdline" | cut -c1-120)"
    kill -KILL "$pid" 2>/dev/null
  fi
done
rm -f "$STACK_DIR/env.sh"
log "stack down ($STACK_DIR)"
exit 0
