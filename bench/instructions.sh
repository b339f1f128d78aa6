#!/usr/bin/env bash
# Instructions per record, a figure the machine's load does not move:
# herald run -n N under valgrind's callgrind (every thread counted), at two
# N on the same topic; the difference over the records between excludes
# startup and shutdown. For the null sink and the walking one
# (plugins/null/null_walk.c), on an Avro topic made by bench/consume.py
# and its -json copy.
#   BENCH_TOPIC=bench-consume-... bench/instructions.sh [N1 [N2]]
# (defaults 5000 and 45000; the topic needs N2 records). Needs valgrind
# and a running stack ($STACK_DIR/env.sh, default build/stack).
set -euo pipefail
REPO="$(cd "$(dirname "$0")/.." && pwd)"
: "${STACK_DIR:=$REPO/build/stack}"
: "${BENCH_TOPIC:?set BENCH_TOPIC to a topic bench/consume.py produced}"
HERALD_BIN="${HERALD_BIN:-$REPO/build/herald}"
NULL_WALK_SO="${NULL_WALK_SO:-$(dirname "$HERALD_BIN")/bench-plugins/null_walk.so}"
N1="${1:-5000}"
N2="${2:-45000}"
. "$STACK_DIR/env.sh"
work="$(mktemp -d /tmp/herald-instr-XXXXXX)"
trap 'rm -rf "$work"' EXIT

# ir SINK FORMAT N: callgrind's instruction total for one run.
ir() {
  local topic="$BENCH_TOPIC" so="$1"
  [ "$2" = json ] && topic="$BENCH_TOPIC-json"
  [ "$1" = null_walk ] && so="$NULL_WALK_SO"
  cat >"$work/c.yaml" <<EOC
kafka: { bootstrap.servers: "$KAFKA_BOOTSTRAP" }
schema_registry: { url: "$SR_URL" }
log: { level: warn }
connectors:
  - name: bench
    group_id: instr-$$-$(date +%s%N)
    topics: [$topic]
    key: { format: string, window: tumbling, window_size: 30s }
    value: { format: $2 }
    sink: { plugin: "$so" }
EOC
  valgrind --tool=callgrind --callgrind-out-file="$work/cg.out" \
    "$HERALD_BIN" run -c "$work/c.yaml" -n "$3" >"$work/log" 2>&1 ||
    { tail -20 "$work/log" >&2; exit 1; }
  sed -n 's/.*Collected : \([0-9]*\).*/\1/p' "$work/log"
}

echo "| sink | format | instructions / record |"
echo "| --- | --- | ---: |"
for fmt in avro json; do
  for sink in null null_walk; do
    a="$(ir "$sink" "$fmt" "$N1")"
    b="$(ir "$sink" "$fmt" "$N2")"
    echo "| $sink | $fmt | $(( (b - a) / (N2 - N1) )) |"
  done
done
