"""Issue 4: `herald tail -n N` and `herald run -n N` exit by themselves, with
status 0, once N records are final (the benchmark depends on `run -n`).
Both stop inside the pipeline (the N-th record's completion), unlike SIGTERM."""

import itlib
from itlib import check_eq

T = itlib.run_id("it4-stopafter")
itlib.create_topic(T, 2)
ser = itlib.serializer(itlib.SCHEMA, T + "-value")
bulk = itlib.Bulk()
for i in range(300):
    v = itlib.anomaly("5%015d" % i, 1587525570000, 3, "1.00", ["a"])
    bulk.send(T, itlib.sp.window_key(v["card_number"], v["start_boundary"]),
              ser(v, T))
bulk.flush()
cfg = itlib.write_config("""\
kafka: {{ bootstrap.servers: "{bs}" }}
schema_registry: {{ url: "{sr}" }}
connectors:
  - name: s
    group_id: {t}
    topics: [{t}]
    key: {{ format: string, window: tumbling, window_size: 30s }}
    value: {{ format: avro }}
    batch: {{ max_records: 100 }}
    sink: {{ plugin: null }}
""".format(bs=itlib.BOOTSTRAP, sr=itlib.SR_URL, t=T))
for args, extra, n in ((("tail",), ("s", "-n", "300"), 300),
                       (("run",), ("-n", "300"), 300)):
    h = itlib.Herald(cfg, args=args, extra=extra)
    try:
        rc, out = h.wait(30)
    except Exception:
        rc, out = "still running 30 s after it started", ""
    check_eq("herald %s -n %d exit code" % (args[0], n), 0, rc)
    if args[0] == "tail":
        check_eq("lines printed by tail -n", n, len(out.splitlines()))
check_eq("committed offsets after run -n 300", 300,
         sum(itlib.committed(T, T, 2)))
itlib.done("stop_after")
