#!/usr/bin/env bash
# Fetches Apache Kafka Connect (connect-runtime, connect-file, connect-json,
# the test broker's version) and Apicurio's Kafka Connect converter into
# $HERALD_STACK_CACHE/connect-$KAFKA_VERSION/libs, for the consume
# benchmark's peer runs (bench/consume.py). Maven resolves them from
# connect-pom.xml like deps.sh does the broker's jars. Idempotent: a second
# run costs a moment. Prints the libs directory.
#   scripts/stack/connect-deps.sh
set -euo pipefail
. "$(dirname "${BASH_SOURCE[0]}")/common.sh"

CONNECT_LIBS="$HERALD_STACK_CACHE/connect-$KAFKA_VERSION/libs"
if [ ! -f "$CONNECT_LIBS/.complete" ]; then
  command -v mvn >/dev/null 2>&1 || die "no mvn: run scripts/stack/deps.sh first"
  log "fetching Kafka Connect $KAFKA_VERSION jars"
  # Maven runs on a copy of the pom in the cache, never in the checkout.
  mkdir -p "$HERALD_STACK_CACHE/maven-connect"
  cp "$STACK_SCRIPTS/connect-pom.xml" "$HERALD_STACK_CACHE/maven-connect/pom.xml"
  rm -rf "$CONNECT_LIBS"; mkdir -p "$CONNECT_LIBS"
  mvn -q -B -f "$HERALD_STACK_CACHE/maven-connect/pom.xml" dependency:copy-dependencies \
    -Dkafka.version="$KAFKA_VERSION" -DincludeScope=runtime -DoutputDirectory="$CONNECT_LIBS" >&2
  touch "$CONNECT_LIBS/.complete"
fi
echo "$CONNECT_LIBS"
