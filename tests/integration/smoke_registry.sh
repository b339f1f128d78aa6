#!/usr/bin/env bash
# The registry is real Apicurio speaking the Confluent API: the schema the
# producer's AvroSerializer registered comes back by id through
# /apis/ccompat/v7, and an unknown id is a 404 with error_code 40403.
. "$(dirname "$0")/lib.sh"
topic="smoke-registry-$RUN_ID"
subject="smoke-registry-$RUN_ID-value"
"${PRODUCER[@]}" --out "$WORK/g.json" golden --topic "$topic" --partitions 1 --subject "$subject" >/dev/null
id=$(jq -r .schema_id "$WORK/g.json")
assert_match "schema id" '^[0-9]+$' "$id"
code=$(curl -sS -o "$WORK/schema.json" -w '%{http_code}' "$SR_URL/schemas/ids/$id")
assert_eq "GET schemas/ids/$id status" 200 "$code"
# Confluent (and Apicurio 3.3) omit schemaType for Avro; Apicurio 3.0 sends
# "AVRO". A client must take both.
case "$SR_IMPL" in
  "apicurio-registry 3.0."*) want_type=AVRO ;;
  *) want_type=absent ;;
esac
assert_eq "schemaType for Avro ($SR_IMPL)" "$want_type" "$(jq -r '.schemaType // "absent"' "$WORK/schema.json")"
# The schema text parses to exactly the ksqlDB schema (connect.* may be
# dropped by a registry, so compare with and without them).
"$STACK_PY" - "$WORK/schema.json" "$STACK_PRODUCER" <<'PY'
import json, sys, importlib.util
got = json.loads(json.load(open(sys.argv[1]))["schema"])
spec = importlib.util.spec_from_file_location("producer", sys.argv[2])
m = importlib.util.module_from_spec(spec); spec.loader.exec_module(m)
want = m.POSSIBLE_ANOMALY_SCHEMA
def strip(x):
    if isinstance(x, dict):
        return {k: strip(v) for k, v in x.items() if not k.startswith("connect.")}
    if isinstance(x, list):
        return [strip(v) for v in x]
    return x
assert strip(got) == strip(want), f"schema differs:\n{json.dumps(got)}\n{json.dumps(want)}"
print("ok - registered schema equals PossibleAnomaly" + (" (connect.* kept)" if got == want else " (connect.* dropped)"))
PY
CHECKS=$((CHECKS + 1))
assert_eq "subject latest id" "$id" "$(curl -fsS "$SR_URL/subjects/$subject/versions/latest" | jq -r .id)"
assert_eq "subject listed" "$subject" "$(curl -fsS "$SR_URL/subjects" | jq -r --arg s "$subject" '.[] | select(. == $s)')"
code=$(curl -sS -o "$WORK/missing.json" -w '%{http_code}' "$SR_URL/schemas/ids/987654321")
assert_eq "unknown id status" 404 "$code"
assert_eq "unknown id error_code" 40403 "$(jq -r .error_code "$WORK/missing.json")"
done_ok
