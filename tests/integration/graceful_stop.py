"""Issue 6, acceptance 5: graceful stop with the test plugin (testplug,
`delay` so that batches are in flight when the signal comes).

1. SIGTERM mid-stream: exit 0 after draining; per partition, the committed
   offset equals the number of records the plugin logged OK, and those are
   exactly offsets 0 .. committed-1 (nothing committed past a record the
   plugin has not acknowledged, nothing acknowledged left uncommitted).
2. Two SIGTERMs 50 ms apart while batches wait 3 s in the plugin, then as many
   as can be sent until it exits: exit 0 at once (well before the delay), and the committed offset is not past any
   record the plugin has not logged OK.
3. A third run takes every record to the end: nothing was lost.
4. `herald run -n N` exits once N records are final when the last ones are
   finished inside the consumer poll (tombstones skipped; dedup skips of
   refinements take the same path)."""

import atexit
import os
import re
import signal
import subprocess
import time

from confluent_kafka import Producer

import itlib

rid = itlib.run_id("it6stop")
PARTS, N = 2, 2000
work = os.path.dirname(itlib.write_config(""))
plog = os.path.join(work, "testplug.log")

itlib.create_topic(rid, PARTS)
p = Producer({"bootstrap.servers": itlib.BOOTSTRAP, "linger.ms": 5})
for i in range(N):
    p.produce(rid, key=b"k%d" % i, value=b"v%d" % i, partition=i % PARTS)
itlib.check_eq("records produced", 0, p.flush(30))
END = [N // PARTS] * PARTS


def config(delay):
    return itlib.testplug_config(
        rid, rid, plog, value_format="string", key="{ format: string }",
        extra_connector="    batch: { max_records: 10, linger: 5ms }\n"
                        "    max_in_flight: 400\n    drain_timeout: 30s\n",
        sink_extra="      delay: %s\n" % delay)


def ok_offsets():
    log = itlib.read_plugin_log(plog)
    return {p_: sorted(o for (pp, o), v in log.items() if pp == p_ and "OK" in v)
            for p_ in range(PARTS)}


def committed():
    """The group's committed offsets; nothing committed counts as 0."""
    return [max(o, 0) for o in itlib.committed(rid, rid, PARTS)]


started = []


@atexit.register
def _kill_started():
    for h in started:  # a failed check exits early: leave nothing running
        if h.alive():
            h.kill()


def start(cfg):
    h = itlib.Herald(itlib.write_config(cfg, work), env={"HERALD_PLUGIN_PATH": ""})
    started.append(h)
    return h


def in_flight_at_stop(err):
    m = re.findall(r'stopping: draining (\d+) record\(s\) in flight', err)
    return int(m[0]) if m else -1


# ---- 1. one SIGTERM ---------------------------------------------------------
h = start(config("500ms"))
itlib.wait_for("plugin logged 200 OK", lambda: itlib.ok_count(itlib.read_plugin_log(plog))
               >= 200 or not h.alive(), timeout=60)
t0 = time.time()
rc, _ = h.stop(signal.SIGTERM, 60)
took = time.time() - t0
err = h.stderr()
itlib.check_eq("1: exit code after SIGTERM", 0, rc)
print("# 1: stopped in %.2f s, %d record(s) in flight at SIGTERM" % (took, in_flight_at_stop(err)))
itlib.check("1: records were in flight at SIGTERM", in_flight_at_stop(err) > 0, err[-2000:])
c1 = committed()
oks = ok_offsets()
for q in range(PARTS):
    itlib.check_eq("1: partition %d committed offset = records logged OK" % q,
                   len(oks[q]), c1[q])
    itlib.check("1: partition %d OK offsets are exactly 0..%d" % (q, c1[q] - 1),
                oks[q] == list(range(c1[q])), repr(oks[q][:5]))
itlib.check("1: stopped mid-stream", sum(c1) < N, repr(c1))

# ---- 2. two SIGTERMs -------------------------------------------------------
before = itlib.ok_count(itlib.read_plugin_log(plog))
h = start(config("3s"))
itlib.wait_for("2: plugin logged more OK", lambda: itlib.ok_count(
    itlib.read_plugin_log(plog)) > before or not h.alive(), timeout=60)
time.sleep(0.3)
t0 = time.time()
h.proc.send_signal(signal.SIGTERM)
time.sleep(0.05)
# Then keep signalling, as an impatient supervisor does: a SIGTERM that
# lands while herald tears down must not kill it after it committed.
storm = 0
while h.alive() and time.time() - t0 < 60:
    h.proc.send_signal(signal.SIGTERM)
    storm += 1
rc, _ = h.wait(60)
took = time.time() - t0
err = h.stderr()
print("# 2: exited %.2f s after the first SIGTERM, %d record(s) in flight" % (
    took, in_flight_at_stop(err)))
itlib.check_eq("2: exit code under a storm of SIGTERMs (%d sent)" % storm, 0, rc)
itlib.check("2: records were in flight (plugin delay 3 s)", in_flight_at_stop(err) > 0,
            err[-2000:])
itlib.check("2: exited promptly (%.2f s < 2 s, the plugin holds batches 3 s)" % took,
            took < 2.0)
c2 = committed()
oks = ok_offsets()
for q in range(PARTS):
    itlib.check("2: partition %d committed %d, not behind run 1 (%d)" % (q, c2[q], c1[q]),
                c2[q] >= c1[q])
    itlib.check_eq("2: partition %d offsets below the commit the plugin has not logged OK"
                   % q, [], sorted(set(range(c2[q])) - set(oks[q])))

# ---- 3. the rest: nothing lost -------------------------------------------
h = start(config("0"))
try:
    itlib.wait_for("3: committed to the end", lambda: committed() == END
                   or not h.alive(), timeout=90)
finally:
    rc, _ = h.stop(signal.SIGTERM, 60)
itlib.check_eq("3: exit code", 0, rc)
itlib.check_eq("3: committed", END, committed())
oks = ok_offsets()
for q in range(PARTS):
    itlib.check("3: partition %d: every offset 0..%d logged OK at least once" % (
        q, END[q] - 1), sorted(set(oks[q])) == list(range(END[q])))

# ---- 4. -n when the last records are finished inside the poll -------------
t4 = rid + "-n"
itlib.create_topic(t4, 1)
for i in range(5):
    p.produce(t4, key=b"k%d" % i, value=None)
itlib.check_eq("4: tombstones produced", 0, p.flush(30))
cfg = itlib.testplug_config(t4, t4, plog, value_format="string", key="{ format: string }")
path = itlib.write_config(cfg, work)
t0 = time.time()
try:
    r = subprocess.run([itlib.HERALD, "run", "-c", path, "-n", "5"], stdout=subprocess.PIPE,
                       stderr=subprocess.PIPE, text=True, timeout=30)
    rc = r.returncode
except subprocess.TimeoutExpired:  # run() killed it
    rc = "hung (killed after 30 s)"
itlib.check_eq("4: herald run -n 5 on 5 tombstones: exit code", 0, rc)
itlib.check_eq("4: committed", [5], itlib.committed(t4, t4, 1))
itlib.done("graceful_stop")
