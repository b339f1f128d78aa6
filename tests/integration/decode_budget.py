"""Issue 10, items 1 and 2, against the real stack.

Amplification: a 9-byte value (Confluent frame, one block of 1,000,000
items, end) of a registered array-of-records schema whose 10 (then 100)
fields are all null costs no input per item; the old decoder built 1.1 GB
(10 GB) of JSON for it and was OOM-killed on the same record forever. Both
records must be rejected as undecodable with the budget in the reason,
quickly, the good records around them delivered, and herald's peak RSS
(VmHWM) must stay under 64 MB.

404 then 200: records framed with a schema id the registry does not have
yet (the next id it will hand out) must wait, not be rejected, and all be
delivered once the schema is registered (a follower catching up)."""

import json
import os
import re
import struct
import time

from confluent_kafka.schema_registry import Schema

import itlib
from itlib import check, check_eq

RID = itlib.run_id("it4-budget")
st = itlib.stack()


def register(name, schema):
    return st.sr.register_schema(RID + "-" + name,
                                 Schema(json.dumps(schema), "AVRO"))


def all_null_array(n):
    return {"type": "array", "items": {
        "type": "record", "name": "AllNull%d" % n, "namespace": RID.replace("-", "_"),
        "fields": [{"name": "f%d" % i, "type": "null"} for i in range(n)]}}


# ---- amplification -------------------------------------------------------
T = RID + "-amp"
itlib.create_topic(T, 1)
id10 = register("amp10", all_null_array(10))
id100 = register("amp100", all_null_array(100))
BLOCK = b"\x80\x89\x7a\x00"  # 1,000,000 items, then the end of the array
amp10 = b"\x00" + struct.pack(">I", id10) + BLOCK
amp100 = b"\x00" + struct.pack(">I", id100) + BLOCK
check_eq("amplification values are 9 bytes", [9, 9], [len(amp10), len(amp100)])
ser = itlib.serializer(itlib.SCHEMA, T + "-value")
good = ser(itlib.anomaly("4000000000000002", 1587525570000, 3, "1.25",
                          ["x"]), T)
bulk = itlib.Bulk()
for kind, v in (("good", good), ("amp10", amp10), ("good", good),
                ("amp100", amp100), ("good", good)):
    bulk.send(T, b"k", v, partition=0, kind=kind)
reps = bulk.flush()

work = os.path.dirname(itlib.write_config(""))
plog = os.path.join(work, "plugin-amp.log")
cfg = itlib.write_config(itlib.testplug_config(
    T, T + "-g", plog, "", key="{ format: string }",
    extra_connector="    errors: { tolerance: all }\n"
                    "    commit_interval: 200ms\n"), work)
t0 = time.time()
h = itlib.Herald(cfg)
itlib.wait_for("all 5 offsets committed",
               lambda: itlib.committed(T + "-g", T, 1) == [5],
               timeout=60, interval=0.2)
took = time.time() - t0
rss = itlib.herald_rss_kb(h.proc.pid)
check("herald still running", h.alive())
rc, _ = h.stop()
check_eq("exit code on SIGTERM", 0, rc)
print("# 5 records final in %.1f s, herald VmHWM %s kB" % (took, rss))
check("herald's peak RSS under 64 MB", rss is not None and rss < 64 * 1024,
      "(VmHWM %s kB)" % rss)
log = itlib.read_plugin_log(plog)
check_eq("the plugin got exactly the good records, once each",
         {(0, 0): ["OK"], (0, 2): ["OK"], (0, 4): ["OK"]}, log)
err = h.stderr()
seen = {}
for m in re.finditer(r'topic=(\S+) partition=(\d+) offset=(\d+) '
                     r'msg="record rejected: undecodable record: ([^"]*)"', err):
    if m.group(1) == T:
        seen[int(m.group(3))] = m.group(4)
WANT = ("value: array block count 1000000 at byte 5: decoded output would "
        "exceed its budget of 4168 values and 1049152 string bytes for 9 "
        "input bytes (4096 values + 8 per input byte, max_nodes 1000000; "
        "1048576 bytes + 64 per input byte, max_bytes 67108864)")
check_eq("rejections with the budget as the reason", {1: WANT, 3: WANT}, seen)

# ---- 404 then 200 --------------------------------------------------------
T2 = RID + "-404"
itlib.create_topic(T2, 1)
base = register("base", {"type": "record", "name": "Base",
                         "namespace": RID.replace("-", "_"),
                         "fields": [{"name": "a", "type": "string"}]})
late_id = base + 1  # what the registry hands out next
late_schema = {"type": "record", "name": "Late",
               "namespace": RID.replace("-", "_"),
               "fields": [{"name": "n", "type": "long"}]}
bulk = itlib.Bulk()
for n in (21, 22, 23):  # long n: zigzag varint
    bulk.send(T2, b"k", b"\x00" + struct.pack(">I", late_id) + bytes([2 * n]),
              partition=0)
bulk.flush()
plog2 = os.path.join(work, "plugin-404.log")
text = itlib.testplug_config(
    T2, T2 + "-g", plog2, "", key="{ format: string }",
    extra_connector="    errors: { tolerance: all }\n"
                    "    commit_interval: 200ms\n")
check("config sets not_found_wait", "not_found_wait: 2s" in text)
cfg2 = itlib.write_config(text.replace("not_found_wait: 2s",
                                       "not_found_wait: 60s"), work)
h = itlib.Herald(cfg2)
itlib.wait_for("herald waiting on the 404",
               lambda: ("schema id %d not found in registry (404) yet"
                        % late_id) in h.stderr(), timeout=30, interval=0.2)
time.sleep(2)
check_eq("nothing delivered while the id is unknown", {},
         itlib.read_plugin_log(plog2))
check("nothing committed while the id is unknown",
      itlib.committed(T2 + "-g", T2, 1)[0] <= 0,
      "(committed %s)" % itlib.committed(T2 + "-g", T2, 1))
got = register("late", late_schema)
check_eq("the registry handed out the id the records carry", late_id, got)
itlib.wait_for("all 3 records delivered",
               lambda: itlib.ok_count(itlib.read_plugin_log(plog2)) >= 3,
               timeout=60, interval=0.2)
itlib.wait_for("all 3 offsets committed",
               lambda: itlib.committed(T2 + "-g", T2, 1) == [3],
               timeout=20, interval=0.2)
rc, _ = h.stop()
check_eq("exit code on SIGTERM", 0, rc)
check_eq("every record delivered once",
         {(0, 0): ["OK"], (0, 1): ["OK"], (0, 2): ["OK"]},
         itlib.read_plugin_log(plog2))
check("no record rejected", "record rejected" not in h.stderr(),
      [l for l in h.stderr().splitlines() if "rejected" in l][:3])
itlib.done("decode_budget")
