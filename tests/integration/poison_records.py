"""Issue 4, acceptance 5: 100 broken records (bad magic byte, unknown schema
id, truncated Avro) interleaved with 10,000 good ones in two partitions,
errors.tolerance all: every good record reaches the plugin exactly once,
every broken one is reported in herald's log with its partition, offset and
reason (and never reaches the plugin), herald stays up, commits the end of
both partitions and exits 0 on SIGTERM."""

import os
import re
import struct

import itlib
from itlib import check, check_eq

T = itlib.run_id("it4-poison")
G = T + "-g"
PARTS = 2
GOOD = 10000
BAD = 100
itlib.create_topic(T, PARTS)
ser = itlib.serializer(itlib.SCHEMA, T + "-value")
goods = [ser(itlib.anomaly("7%015d" % i, 1587525570000, 3 + i, "%d.25" % i,
                            ["x", None, "y%d" % i]), T) for i in range(8)]
sid = itlib.schema_id(goods[0])
g = goods[0]
# An id the registry does not have: far above anything registered.
unknown = struct.pack(">I", 900000000 + os.getpid())
KINDS = {
    "bad_magic": b"\x01" + g[1:],
    "unknown_schema_id": b"\x00" + unknown + g[5:],
    "truncated_avro": g[:len(g) - 7],
}
REASON = {  # what herald's log must say for each kind
    "bad_magic": r"^value: unknown magic byte 0x01",
    "unknown_schema_id": r"^value: schema id %d not found" % struct.unpack(">I", unknown)[0],
    "truncated_avro": r"^value: truncated avro",
}
bulk = itlib.Bulk()
kinds = list(KINDS)
bad_at = set(range(50, GOOD + BAD, (GOOD + BAD) // BAD))
assert len(bad_at) == BAD
b = 0
for i in range(GOOD + BAD):
    key = itlib.sp.window_key("7%015d" % (i % 8), 1587525570000)
    if i in bad_at:
        kind = kinds[b % 3]
        b += 1
        bulk.send(T, key, KINDS[kind], partition=i % PARTS, kind=kind)
    else:
        bulk.send(T, key, goods[i % 8], partition=i % PARTS, kind="good")
reps = bulk.flush()
bad = [r for r in reps if r["kind"] != "good"]
check_eq("broken records produced", BAD, len(bad))
check_eq("broken kinds", {"bad_magic": 34, "unknown_schema_id": 33,
                          "truncated_avro": 33},
         {k: sum(1 for r in bad if r["kind"] == k) for k in KINDS})

work = os.path.dirname(itlib.write_config(""))
plog = os.path.join(work, "plugin.log")
cfg = itlib.write_config(itlib.testplug_config(
    T, G, plog, "", extra_connector="    errors: { tolerance: all }\n"
                                    "    commit_interval: 200ms\n"))
h = itlib.Herald(cfg)
itlib.wait_for("10,000 good records delivered",
               lambda: itlib.ok_count(itlib.read_plugin_log(plog)) >= GOOD,
               timeout=90, interval=0.2)
itlib.wait_for("the end of both partitions committed",
               lambda: itlib.committed(G, T, PARTS) == [(GOOD + BAD) // PARTS] * PARTS,
               timeout=20, interval=0.3)
check("herald still running", h.alive())
rc, _ = h.stop()
check_eq("exit code on SIGTERM", 0, rc)

log = itlib.read_plugin_log(plog)
good_keys = {(r["partition"], r["offset"]) for r in reps if r["kind"] == "good"}
check_eq("records the plugin saw", len(good_keys), len(log))
check_eq("good records not delivered exactly once (first 5)", [],
         [(k, log.get(k)) for k in sorted(good_keys | set(log))
          if k not in good_keys or log.get(k) != ["OK"]][:5])

err = h.stderr()
seen = {}
for m in re.finditer(r'topic=(\S+) partition=(\d+) offset=(\d+) '
                     r'msg="record rejected: undecodable record: ([^"]*)"', err):
    if m.group(1) == T:
        seen.setdefault((int(m.group(2)), int(m.group(3))), []).append(m.group(4))
check_eq("rejections logged", BAD, sum(len(v) for v in seen.values()))
wrong = []
for r in bad:
    reasons = seen.get((r["partition"], r["offset"]), [])
    if len(reasons) != 1 or not re.search(REASON[r["kind"]], reasons[0], re.I):
        wrong.append((r["kind"], r["partition"], r["offset"], reasons))
check_eq("broken records without exactly one matching log line", [], wrong[:4])
for kind in KINDS:
    r = next(x for x in bad if x["kind"] == kind)
    print("# %s at %d/%d: %s" % (kind, r["partition"], r["offset"],
                                 seen[(r["partition"], r["offset"])][0]))
check("no error-level log line", "level=error" not in err,
      [l for l in err.splitlines() if "level=error" in l][:3])
itlib.done("poison_records")
