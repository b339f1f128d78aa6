"""Issue 6, acceptance 2: herald is killed with SIGKILL at random moments
while possible_anomalies records with refinements (n_attempts 3, 4, 5 per
window) flow through the smtp channel to Mailpit; afterwards every window
has at least one email, and the duplicates (a send whose dedup mark was not
written before the kill) are at most kills x max_in_flight.

The acceptance size by default: 50,000 records (16,666 windows), 8
partitions, 20 kills, max_in_flight 16. The stream is cut in 21 segments;
run k is started, its segment produced while it runs, and it is killed at a
random moment 0.1-1.5 s after it sent its first email, so every kill lands
while records flow; the last run gets the rest and must commit everything.
Smaller by hand: IT6_CRASH_RECORDS=3000 IT6_CRASH_PARTITIONS=4 IT6_CRASH_KILLS=5.
"""

import os
import random
import signal
import time

import itlib

RECORDS = int(os.environ.get("IT6_CRASH_RECORDS", "50000"))
PARTS = int(os.environ.get("IT6_CRASH_PARTITIONS", "8"))
KILLS = int(os.environ.get("IT6_CRASH_KILLS", "20"))
MAX_IN_FLIGHT = int(os.environ.get("IT6_CRASH_MAX_IN_FLIGHT", "16"))
REFINEMENTS = 2
NWIN = RECORDS // (REFINEMENTS + 1)

rid = itlib.run_id("it6crash")
domain = rid + ".example"
itlib.own(domain)
rng = random.Random(os.getpid())
print("# %d windows x %d records, %d partitions, %d kills, max_in_flight %d"
      % (NWIN, REFINEMENTS + 1, PARTS, KILLS, MAX_IN_FLIGHT))

wins = itlib.windows(NWIN, domain, seed=66, refinements=REFINEMENTS)
itlib.producer_create_topic(rid, PARTS)

# One segment per run (refinements later than their window's first record,
# as ksqlDB emits them), so every run has new windows to mail.
plan = itlib.stream_plan(wins, KILLS + 1)
reports = []

cfg = itlib.notify_config(
    rid, rid, itlib.smtp_plain_channel(max_connections=4),
    "    max_in_flight: %d\n    dedup: { ttl: 7d }\n"
    "    batch: { max_records: 16, linger: 5ms }\n" % MAX_IN_FLIGHT,
    subject="it6 crash n={{n_attempts}}",
    kafka_extra="  group.instance.id: %s-member\n" % rid)

t0 = time.time()
at_kill = []
for k in range(KILLS):
    before = itlib.mail_count(domain)
    h = itlib.start(cfg)
    reports.append(itlib.produce_checked(rid, plan[k]))
    itlib.wait_for("run %d sends mail before it is killed" % (k + 1),
                   lambda: itlib.mail_count(domain) > before or not h.alive(), timeout=60)
    time.sleep(rng.uniform(0.1, 1.5))
    itlib.check("run %d still running when killed" % (k + 1), h.alive(), h.stderr()[-2000:])
    h.proc.send_signal(signal.SIGKILL)
    h.proc.wait()
    n = itlib.mail_count(domain)
    at_kill.append(n)
    print("# kill %d at %.1f s: %d messages so far" % (k + 1, time.time() - t0, n))
itlib.check("every kill hit before all %d windows were mailed: %r" % (NWIN, at_kill),
            max(at_kill) < NWIN)

h = itlib.start(cfg)
for rows in plan[KILLS:]:
    reports.append(itlib.produce_checked(rid, rows))
ends = itlib.ends(reports, PARTS)
itlib.check_eq("records produced", NWIN * (REFINEMENTS + 1), sum(ends))
itlib.wait_committed(rid, rid, ends, timeout=300, alive=[h])
err = itlib.stop(h, "final run")
print("# all committed after %.1f s" % (time.time() - t0))

msgs = itlib.settle(domain, NWIN, quiet=3.0, timeout=120)
rcpt = itlib.by_recipient(msgs)
missing = [w[0][2]["email_address"] for w in wins if w[0][2]["email_address"] not in rcpt]
dups = len(msgs) - len(rcpt)
worst = max(len(v) for v in rcpt.values()) if rcpt else 0
print("# %d messages for %d windows: %d duplicate(s), at most %d for one window"
      % (len(msgs), NWIN, dups, worst))
itlib.check_eq("windows without an email", [], missing[:10])
itlib.check_eq("messages to addresses outside the windows", set(),
               set(rcpt) - {w[0][2]["email_address"] for w in wins})
itlib.check("duplicates %d <= kills x max_in_flight = %d" % (dups, KILLS * MAX_IN_FLIGHT),
            dups <= KILLS * MAX_IN_FLIGHT)
itlib.check_eq("subjects other than the first refinement's (n=3)", [],
               sorted({m["Subject"] for m in msgs} - {"it6 crash n=3"}))
itlib.done("crash_recovery")
