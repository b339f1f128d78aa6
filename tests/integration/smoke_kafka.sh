#!/usr/bin/env bash
# Kafka is real: records written by the Python producer (confluent-kafka,
# AvroSerializer) are read back byte for byte by kcat (librdkafka), and the
# broker's own TopicCommand sees the topic with the partitions asked for.
. "$(dirname "$0")/lib.sh"
topic="smoke-kafka-$RUN_ID"
"${PRODUCER[@]}" create-topic --topic "$topic" --partitions 3 >"$WORK/create.json"
assert_eq "created partitions" 3 "$(jq -r .partitions "$WORK/create.json")"
"${PRODUCER[@]}" --out "$WORK/golden.json" golden --topic "$topic" --refinements 1 >/dev/null
assert_eq "records produced" 2 "$(jq -r .count "$WORK/golden.json")"
# Windowed key: "358579699410099" + int64 BE 1587525570000.
assert_eq "golden key" "333538353739363939343130303939000001719fe5cdd0" \
  "$(jq -r '.records[0].key_hex' "$WORK/golden.json")"
for i in 0 1; do
  p=$(jq -r ".records[$i].partition" "$WORK/golden.json")
  o=$(jq -r ".records[$i].offset" "$WORK/golden.json")
  key=$(kcat -C -b "$KAFKA_BOOTSTRAP" -t "$topic" -p "$p" -o "$o" -c 1 -e -q -f '%k' | hex_of)
  val=$(kcat -C -b "$KAFKA_BOOTSTRAP" -t "$topic" -p "$p" -o "$o" -c 1 -e -q -f '%s' | hex_of)
  assert_eq "record $i key via kcat" "$(jq -r ".records[$i].key_hex" "$WORK/golden.json")" "$key"
  assert_eq "record $i value via kcat" "$(jq -r ".records[$i].value_hex" "$WORK/golden.json")" "$val"
  assert_eq "record $i magic byte" "00" "${val:0:2}"
  assert_eq "record $i schema id in frame" \
    "$(printf '%08x' "$(jq -r ".records[$i].schema_id" "$WORK/golden.json")")" "${val:2:8}"
done
# The Avro body of the tutorial row, as confluent-kafka/fastavro encode it.
golden_body=021e33353835373936393934313030393902266d69636861656c406578616d706c652e636f6d020602045ac90206024866383863356562622d363939632d346137622d623534342d343562333036383163633339024863353731396432302d386434612d343764342d386364332d353265643738346338396463024830343435333063302d623135642d343634382d386630352d3934306163633332316562370002a0b7aefeb35c02808cb2feb35c
first=$(jq -r '.records[0].value_hex' "$WORK/golden.json")
assert_eq "golden Avro body" "$golden_body" "${first:10}"
# Refinements share the key, so the murmur2 partitioner puts them together.
assert_eq "refinement partition" "$(jq -r '.records[0].partition' "$WORK/golden.json")" \
  "$(jq -r '.records[1].partition' "$WORK/golden.json")"
# kcat's view of the whole topic: exactly the two records.
assert_eq "kcat record count" 2 \
  "$(kcat -C -b "$KAFKA_BOOTSTRAP" -t "$topic" -o beginning -e -q -f 'x\n' | wc -l)"
# The broker's own tool.
"$KAFKA_TOPICS" --describe --topic "$topic" >"$WORK/describe.txt"
assert_eq "TopicCommand partitions" 3 "$(grep -c "Partition: " "$WORK/describe.txt")"
# Auto-create is off: producing to a missing topic must not create it.
kcat -P -b "$KAFKA_BOOTSTRAP" -t "missing-$RUN_ID" -X message.timeout.ms=2000 <<<"x" >/dev/null 2>&1 || true
assert_eq "auto-create off" 0 "$("$KAFKA_TOPICS" --list | grep -cx "missing-$RUN_ID" || true)"
done_ok
