"""Issue 4, acceptance 4: two herald processes in one group on a 6-partition
topic, the test plugin completing after a delay so records are in flight;
the second joins mid-stream, then is stopped with SIGTERM mid-stream. The
survivor takes over its partitions, no record is lost, and a record is
delivered twice only if it was in flight at a revoke (printed; revokes drain
first, so normally none). Run with the eager protocol (default range
assignor) and with cooperative-sticky."""

import os
import re
import sys
import time

import itlib
from itlib import check, check_eq

PARTS = 6
N = 1800
MAX_IN_FLIGHT = 60
ser_cache = {}


def scenario(strategy):
    T = itlib.run_id("it4-reb-%s" % ("coop" if strategy else "eager"))
    G = T + "-g"
    itlib.create_topic(T, PARTS)
    ser = itlib.serializer(itlib.SCHEMA, T + "-value")
    vals = [ser(itlib.anomaly("8%015d" % i, 1587525570000, 3, "9.99", ["r"]), T)
            for i in range(4)]
    bulk = itlib.Bulk()
    for i in range(N):
        bulk.send(T, itlib.sp.window_key("8%015d" % (i % 4), 1587525570000),
                  vals[i % 4], partition=i % PARTS)
    reps = bulk.flush()
    work = os.path.dirname(itlib.write_config(""))
    logs = {n: os.path.join(work, "plugin-%s.log" % n) for n in "AB"}
    kafka = ("    kafka: { partition.assignment.strategy: %s }\n" % strategy
             if strategy else "")

    def cfg(n):
        return itlib.write_config(itlib.testplug_config(
            T, G, logs[n], "", name="reb",
            extra_connector=kafka + (
                "    batch: { max_records: 10, linger: 5ms }\n"
                "    max_in_flight: %d\n"
                "    commit_interval: 200ms\n"
                "    errors: { tolerance: all }\n" % MAX_IN_FLIGHT),
            sink_extra="      delay: 300ms\n"), directory=work if n == "A" else None)

    def log(n):
        return itlib.read_plugin_log(logs[n])

    label = strategy or "eager (range)"
    procs = []
    try:
        run(label, T, G, reps, cfg, log, procs)
    finally:
        for h in procs:
            if h.alive():
                h.kill()


def run(label, T, G, reps, cfg, log, procs):
    a = itlib.Herald(cfg("A"))
    procs.append(a)
    itlib.wait_for("%s: A delivering" % label, lambda: itlib.ok_count(log("A")) >= 100,
                   timeout=60)
    b = itlib.Herald(cfg("B"))
    procs.append(b)
    itlib.wait_for("%s: B took partitions and delivers" % label,
                   lambda: itlib.ok_count(log("B")) >= 150, timeout=60)
    b_parts = {p for (p, _) in log("B")}
    t_stop = time.time()
    rc_b, _ = b.stop()
    check_eq("%s: B exit code on SIGTERM" % label, 0, rc_b)
    b_done = log("B")
    check("%s: B stopped mid-stream (%d of %d delivered overall)"
          % (label, len(itlib.finals(log("A"))) + len(b_done), N),
          len(itlib.finals(log("A"))) + len(b_done) < N)
    itlib.wait_for("%s: every record delivered" % label,
                   lambda: len(itlib.finals(log("A")) | itlib.finals(log("B"))) == N,
                   timeout=60, interval=0.2)
    check("%s: A still running" % label, a.alive())
    itlib.wait_for("%s: end committed" % label,
                   lambda: itlib.committed(G, T, PARTS) == [N // PARTS] * PARTS,
                   timeout=20, interval=0.3)
    rc_a, _ = a.stop()
    check_eq("%s: A exit code on SIGTERM" % label, 0, rc_a)

    la, lb = log("A"), log("B")
    keys = {(r["partition"], r["offset"]) for r in reps}
    oks = {k: la.get(k, []).count("OK") + lb.get(k, []).count("OK") for k in keys}
    check_eq("%s: records never delivered" % label, [],
             sorted(k for k, n in oks.items() if n == 0)[:5])
    # A delivered records of the partitions B had, after B was stopped.
    taken = {p for (p, o) in la if p in b_parts and (p, o) not in lb}
    check_eq("%s: A took over B's partitions" % label, b_parts, taken)
    dups = sum(n - 1 for n in oks.values() if n > 1)
    err = a.stderr() + b.stderr()
    drained = [int(x) for x in re.findall(r"draining (\d+) record\(s\) in flight first", err)]
    timeouts = re.findall(r"drain timeout", err)
    print("# %s: B had partitions %s; duplicates %d; records in flight at "
          "revokes %s; drain timeouts %d"
          % (label, sorted(b_parts), dups, drained, len(timeouts)))
    check_eq("%s: drain timeouts" % label, 0, len(timeouts))
    check("%s: duplicates (%d) <= records in flight at revokes (%d)"
          % (label, dups, sum(drained)), dups <= sum(drained))
    check("%s: B drained records in flight at its revoke" % label,
          len(drained) >= 1, err[-2000:])


# rebalance.py [eager|coop]: one scenario only (for debugging).
only = sys.argv[1] if len(sys.argv) > 1 else None
if only in (None, "eager"):
    scenario(None)
if only in (None, "coop"):
    scenario("cooperative-sticky")
itlib.done("rebalance")
