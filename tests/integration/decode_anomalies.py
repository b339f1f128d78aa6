"""Issue 4, acceptance 1: possible_anomalies records written by
confluent-kafka's AvroSerializer (ksqlDB's value schema, ksqlDB's windowed
KAFKA key) decode in `herald tail` to exactly the values produced: decimals
as exact strings, nulls inside tx_ids kept, null fields null, the windowed
key split into the card number and the window (start == start_boundary)."""

import itlib
from itlib import check, check_eq

T = itlib.run_id("it4-decode")
PARTS = 4
itlib.create_topic(T, PARTS)
ser = itlib.serializer(itlib.SCHEMA, T + "-value")

base = 1587525570000
rows = []
g = dict(itlib.sp.GOLDEN)
rows.append(itlib.anomaly(g["card_number"], g["start_boundary"], 3, "232.41",
                           g["tx_ids"], g["email_address"]))
amounts = ["0.00", "0.01", "-0.01", "-5.10", "9999999999.99", "-9999999999.99",
           "100.00", "1.50", "42949672.96", "-128.00", "127.99", "255.00"]
for i in range(36):
    card = "4%015d" % (1000003 * i + 7)
    start = base + i * itlib.WINDOW_MS
    tx = [None if j % 3 == i % 3 else "tx-%d-%d" % (i, j) for j in range(i % 5)]
    v = itlib.anomaly(card, start, 3 + i % 4, amounts[i % len(amounts)], tx)
    if i % 6 == 1:
        v["tx_ids"] = None
    if i % 7 == 2:
        v["email_address"] = None
        v["n_attempts"] = None
    if i % 9 == 4:
        v["total_amount"] = None
    rows.append(v)

bulk = itlib.Bulk()
for v in rows:
    framed = ser(v, T)
    key = itlib.sp.window_key(v["card_number"], v["start_boundary"])
    bulk.send(T, key, framed, value=itlib.sp.jsonable(v),
              card=v["card_number"], start=v["start_boundary"],
              schema_id=itlib.schema_id(framed))
reps = bulk.flush()
check("records spread over %d partitions" % PARTS,
      len({r["partition"] for r in reps}) >= 3)
check_eq("one writer schema", 1, len({r["schema_id"] for r in reps}))
check("some tx_ids hold nulls",
      any(r["value"]["tx_ids"] and None in r["value"]["tx_ids"] for r in reps))

cfg = itlib.write_config("""\
kafka: {{ bootstrap.servers: "{bs}" }}
schema_registry: {{ url: "{sr}" }}
connectors:
  - name: anomalies
    topics: [{t}]
    key: {{ format: string, window: tumbling, window_size: 30s }}
    value: {{ format: avro }}
    sink: {{ plugin: null }}
""".format(bs=itlib.BOOTSTRAP, sr=itlib.SR_URL, t=T))
got, h = itlib.tail(cfg, "anomalies", len(reps))
check_eq("records printed by herald tail", len(reps), len(got))
by = {(r["partition"], r["offset"]): r for r in got}
check_eq("distinct (partition, offset) printed", len(reps), len(by))

for p in range(PARTS):
    offs = [r["offset"] for r in got if r["partition"] == p]
    check_eq("partition %d printed in offset order" % p, sorted(offs), offs)

bad = []
for rep in reps:
    r = by.get((rep["partition"], rep["offset"]))
    exp = {"topic": T, "key": rep["card"],
           "window": {"start": rep["start"], "end": rep["start"] + 30000},
           "value": rep["value"]}
    act = None if r is None else {k: r[k] for k in exp}
    if act != exp:
        bad.append((rep["partition"], rep["offset"], exp, act))
check_eq("records whose topic, key, window and value differ from the "
         "producer's", [], bad[:3])

gold = by[(reps[0]["partition"], reps[0]["offset"])]
check_eq("golden total_amount", "232.41", gold["value"]["total_amount"])
check_eq("golden key", "358579699410099", gold["key"])
check_eq("golden window start", 1587525570000, gold["window"]["start"])
check_eq("golden window end", 1587525600000, gold["window"]["end"])
for amount in ("9999999999.99", "-9999999999.99", "-0.01", "0.00"):
    rep = next(r for r in reps if r["value"]["total_amount"] == amount)
    check_eq("decimal %s" % amount, amount,
             by[(rep["partition"], rep["offset"])]["value"]["total_amount"])
with_null = next(r for r in reps if r["value"]["tx_ids"] and None in r["value"]["tx_ids"])
check_eq("tx_ids with a null kept in place", with_null["value"]["tx_ids"],
         by[(with_null["partition"], with_null["offset"])]["value"]["tx_ids"])
check("herald logged no error", "level=error" not in h.stderr(), h.stderr()[-2000:])
itlib.done("decode_anomalies")
