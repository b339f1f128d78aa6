"""Issue 4, acceptance 6: the schema registry is down when herald starts, and
again for 30 s mid-stream: nothing is skipped or committed early, and
delivery resumes by itself when the registry is back.

How the registry is "stopped": herald reaches the registry through a TCP
gate (itlib.TcpGate) on a port of its own; closing the gate closes the
listening socket (connection refused) and resets open connections, which is
what herald sees when the registry process is down. The shared Apicurio
itself keeps running, because (1) other tests use the same stack at the same
time and (2) Apicurio runs in memory: a restart forgets every schema, so the
ids already written into records would point to nothing (or to other
schemas) afterwards. Producers here talk to the registry directly, so a new
schema can be registered while herald cannot see it."""

import os
import re
import time

import itlib
from itlib import check, check_eq

T = itlib.run_id("it4-sr")
G = T + "-g"
PARTS = 3
itlib.create_topic(T, PARTS)
V_A = itlib.SCHEMA
V_B = dict(itlib.SCHEMA, fields=itlib.SCHEMA["fields"] + [
    {"name": "note", "type": ["null", "string"], "default": None}])
ser_a = itlib.serializer(V_A, T + "-value")
ser_b = itlib.serializer(V_B, T + "-value")
key = itlib.sp.window_key("9000000000000001", 1587525570000)
va = ser_a(itlib.anomaly("9000000000000001", 1587525570000, 3, "3.00", ["a"]), T)

port = int(re.search(r":(\d+)", itlib.SR_URL).group(1))
gate = itlib.TcpGate("127.0.0.1", port)
sr = re.sub(r":\d+", ":%d" % gate.port, itlib.SR_URL, count=1)
work = os.path.dirname(itlib.write_config(""))
plog = os.path.join(work, "plugin.log")
cfg = itlib.write_config(itlib.testplug_config(
    T, G, plog, "", registry=sr,
    extra_connector="    commit_interval: 200ms\n    errors: { tolerance: all }\n"))


def log():
    return itlib.read_plugin_log(plog)


# ---- phase 1: registry down at start ------------------------------------
bulk = itlib.Bulk()
for i in range(300):
    bulk.send(T, key, va, partition=i % PARTS)
bulk.flush()
h = itlib.Herald(cfg)
try:
    time.sleep(8)
    check("herald alive while the registry is down", h.alive())
    check_eq("records delivered while the registry was down at start", 0, len(log()))
    # Nothing committed, or offset 0 (the start: nothing marked done).
    c = itlib.committed(G, T, PARTS)
    check("offsets committed while the registry was down at start %s are "
          "none or 0" % c, all(x in (-1001, 0) for x in c))
    check("herald logged that it retries the registry",
          re.search(r"schema registry request for id \d+ failed.*retrying in",
                    h.stderr()) is not None, h.stderr()[-1500:])
    t0 = time.time()
    gate.open()
    itlib.wait_for("all 300 delivered after the registry came back",
                   lambda: itlib.ok_count(log()) == 300, timeout=40)
    print("# delivery resumed %.1f s after the registry came back" % (time.time() - t0))
    itlib.wait_for("300 committed", lambda: itlib.committed(G, T, PARTS) == [100] * 3,
                   timeout=10)

    # ---- phase 2: 30 s outage mid-stream, a schema herald has not seen --
    gate.close()
    bulk = itlib.Bulk()
    vb = ser_b(dict(itlib.anomaly("9000000000000002", 1587525570000, 4, "4.00",
                                   ["b"]), note="v2"), T)
    check("the new schema has a new id", itlib.schema_id(vb) != itlib.schema_id(va))
    b_at = {}
    for p in range(PARTS):
        for i in range(200):
            if p < 2 and i == 100:
                b_at[p] = bulk.send(T, key, vb, partition=p)
            else:
                bulk.send(T, key, va, partition=p)
    bulk.flush()
    b_off = {p: r["offset"] for p, r in b_at.items()}
    check_eq("new-schema records at offset 200 of partitions 0 and 1",
             {0: 200, 1: 200}, b_off)
    # Partition 2 (old schema only) goes on; 0 and 1 stop at the new schema.
    itlib.wait_for("partition 2 delivered during the outage",
                   lambda: sum(1 for (p, _) in log() if p == 2) == 300, timeout=20)
    t_end = time.time() + 30 - 1
    samples = 0
    while time.time() < t_end:
        c = itlib.committed(G, T, PARTS)
        past = [(p, o) for (p, o) in log() if p < 2 and o >= b_off[p]]
        check("second %d of the outage: committed %s, nothing on 0/1 past "
              "the record waiting for its schema" % (samples, c),
              c[0] <= b_off[0] and c[1] <= b_off[1] and not past,
              "(committed %s, delivered past it %s)" % (c, past[:3]))
        samples += 1
        time.sleep(1)
    check_eq("delivered on partitions 0/1 during the outage (exactly up to the "
             "waiting record)", [200, 200],
             [sum(1 for (p, _) in log() if p == q) for q in (0, 1)])
    check_eq("committed at the end of the outage", [200, 200, 300],
             itlib.committed(G, T, PARTS))
    check("herald alive after the outage", h.alive())
    t0 = time.time()
    gate.open()
    itlib.wait_for("everything delivered after the registry came back",
                   lambda: itlib.ok_count(log()) == 900, timeout=45)
    print("# delivery resumed %.1f s after the registry came back" % (time.time() - t0))
    itlib.wait_for("end committed", lambda: itlib.committed(G, T, PARTS) == [300] * 3,
                   timeout=10)
    rc, _ = h.stop()
    check_eq("exit code on SIGTERM", 0, rc)
    lg = log()
    check_eq("records not delivered exactly once", [],
             [k for k, v in lg.items() if v != ["OK"]][:5])
    check_eq("records rejected", 0, h.stderr().count("record rejected"))
finally:
    if h.alive():
        h.kill()
    gate.close()
itlib.done("registry_outage")
