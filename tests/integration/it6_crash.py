"""Issue 6, acceptance 2: herald is killed with SIGKILL at random moments
while possible_anomalies records with refinements (n_attempts 3, 4, 5 per
window) flow through the smtp channel to Mailpit; afterwards every window
has at least one email, and the duplicates (a send whose dedup mark was not
written before the kill) are at most kills x max_in_flight.

Reduced by default (3,000 records, 4 partitions, 5 kills, max_in_flight
16). The full version, by hand:
  IT6_CRASH_RECORDS=50000 IT6_CRASH_PARTITIONS=8 IT6_CRASH_KILLS=20 \\
  IT6_CRASH_PRODUCE_S=120 tests/integration/run_py.sh tests/integration/it6_crash.py
"""

import os
import random
import signal
import threading
import time

import it5lib as L
import it6lib as T
import pylib

RECORDS = int(os.environ.get("IT6_CRASH_RECORDS", "3000"))
PARTS = int(os.environ.get("IT6_CRASH_PARTITIONS", "4"))
KILLS = int(os.environ.get("IT6_CRASH_KILLS", "5"))
MAX_IN_FLIGHT = int(os.environ.get("IT6_CRASH_MAX_IN_FLIGHT", "16"))
PRODUCE_S = float(os.environ.get("IT6_CRASH_PRODUCE_S", "15"))
REFINEMENTS = 2
NWIN = RECORDS // (REFINEMENTS + 1)

rid = pylib.run_id("it6crash")
domain = rid + ".example"
L.own(domain)
rng = random.Random(os.getpid())
print("# %d windows x %d records, %d partitions, %d kills, max_in_flight %d"
      % (NWIN, REFINEMENTS + 1, PARTS, KILLS, MAX_IN_FLIGHT))

wins = T.windows(NWIN, domain, seed=66, refinements=REFINEMENTS)
T.create_topic(rid, PARTS)

# Refinements arrive later than the first record of their window, as in
# ksqlDB: chunk k carries the 3s of chunk k, the 4s of chunk k-1 and the
# 5s of chunk k-2; chunks are spread over PRODUCE_S seconds.
CHUNK = max(1, NWIN // 30)
chunks = [wins[i:i + CHUNK] for i in range(0, NWIN, CHUNK)]
plan = []
for k in range(len(chunks) + REFINEMENTS):
    rows = []
    for r in range(REFINEMENTS + 1):
        if 0 <= k - r < len(chunks):
            rows += [w[r] for w in chunks[k - r]]
    plan.append(rows)
reports, produce_err = [], []


def producer():
    try:
        for rows in plan:
            reports.append(T.produce(rid, rows))
            time.sleep(PRODUCE_S / len(plan))
    except BaseException as e:  # reported by the main thread
        produce_err.append(e)


cfg = T.notify_config(
    rid, rid, T.smtp_plain_channel(max_connections=4),
    "    max_in_flight: %d\n    dedup: { ttl: 7d }\n"
    "    batch: { max_records: 16, linger: 5ms }\n" % MAX_IN_FLIGHT,
    subject="it6 crash n={{n_attempts}}",
    kafka_extra="  group.instance.id: %s-member\n" % rid)

t0 = time.time()
prod = threading.Thread(target=producer, daemon=True)
prod.start()
at_kill = []
for k in range(KILLS):
    before = len(T.mail(domain))
    h = T.start(cfg)
    pylib.wait_for("run %d sends mail before it is killed" % (k + 1),
                   lambda: len(T.mail(domain)) > before or not h.alive(), timeout=60)
    time.sleep(rng.uniform(0.1, 1.5))
    pylib.check("run %d still running when killed" % (k + 1), h.alive(), h.stderr()[-2000:])
    h.proc.send_signal(signal.SIGKILL)
    h.proc.wait()
    n = len(T.mail(domain))
    at_kill.append(n)
    print("# kill %d at %.1f s: %d messages so far" % (k + 1, time.time() - t0, n))
pylib.check("every kill hit before all %d windows were mailed: %r" % (NWIN, at_kill),
            max(at_kill) < NWIN)

h = T.start(cfg)
prod.join(PRODUCE_S + 120)
pylib.check("producer finished", not prod.is_alive() and not produce_err, repr(produce_err))
ends = T.ends(reports, PARTS)
pylib.check_eq("records produced", RECORDS - RECORDS % (REFINEMENTS + 1), sum(ends))
T.wait_committed(rid, rid, ends, timeout=240, alive=[h])
err = T.stop(h, "final run")
print("# all committed after %.1f s" % (time.time() - t0))

msgs = T.settle(domain, NWIN, quiet=3.0)
rcpt = T.by_recipient(msgs)
missing = [w[0][2]["email_address"] for w in wins if w[0][2]["email_address"] not in rcpt]
dups = len(msgs) - len(rcpt)
worst = max(len(v) for v in rcpt.values()) if rcpt else 0
print("# %d messages for %d windows: %d duplicate(s), at most %d for one window"
      % (len(msgs), NWIN, dups, worst))
pylib.check_eq("windows without an email", [], missing[:10])
pylib.check_eq("messages to addresses outside the windows", set(),
               set(rcpt) - {w[0][2]["email_address"] for w in wins})
pylib.check("duplicates %d <= kills x max_in_flight = %d" % (dups, KILLS * MAX_IN_FLIGHT),
            dups <= KILLS * MAX_IN_FLIGHT)
pylib.check_eq("subjects other than the first refinement's (n=3)", [],
               sorted({m["Subject"] for m in msgs} - {"it6 crash n=3"}))
pylib.done("it6_crash")
