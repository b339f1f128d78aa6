#!/usr/bin/env bash
# Kafka's own TopicCommand against the stack's broker, e.g.
#   scripts/stack/kafka-topics.sh --create --topic t --partitions 3
#   scripts/stack/kafka-topics.sh --describe --topic t
# (--bootstrap-server is added unless given.)
set -euo pipefail
. "$(dirname "${BASH_SOURCE[0]}")/common.sh"
args=("$@")
case " $* " in *" --bootstrap-server "*) ;; *) args=(--bootstrap-server "${KAFKA_BOOTSTRAP:-$BIND:$KAFKA_PORT}" "${args[@]}") ;; esac
exec "$JAVA17" -Xmx128m -XX:TieredStopAtLevel=1 -XX:+UseSerialGC \
  "-Dlog4j2.configurationFile=$STACK_SCRIPTS/kafka/log4j2-tools.properties" \
  -cp "$KAFKA_LIBS/*" org.apache.kafka.tools.TopicCommand "${args[@]}"
