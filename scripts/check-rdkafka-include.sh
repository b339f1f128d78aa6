#!/usr/bin/env bash
# Fails (listing them) if a framework file other than the Kafka module
# (framework/src/kafka.c, kafka_*.c) includes librdkafka's headers: only
# that module talks to librdkafka (docs/architecture.md). Headers may not
# include it at all, so no rd_kafka_* type leaks into an interface.
#   scripts/check-rdkafka-include.sh [REPO_ROOT]
set -euo pipefail
ROOT="${1:-$(cd "$(dirname "$0")/.." && pwd)}"
cd "$ROOT"
bad=$(grep -rlE '^[[:space:]]*#[[:space:]]*include[[:space:]]*[<"]librdkafka/' \
        framework/src framework/include |
      grep -vE '^framework/src/kafka(_[a-z]+)?\.c$' || true)
if [ -n "$bad" ]; then
  echo "rdkafka.h included outside the Kafka module (framework/src/kafka*.c):" >&2
  echo "$bad" >&2
  exit 1
fi
echo "rdkafka.h: only the Kafka module includes it"
