"""Issue 6, acceptance 4: a service of the stack goes away mid-stream and
comes back; herald recovers by itself.

  service_faults.py mailpit   Mailpit (the SMTP server) stopped for 20 s
  service_faults.py registry  the schema registry stopped for 20 s, and herald
                          restarted inside the outage, so its schema cache is
                          empty and every record needs the registry
  service_faults.py broker    the Kafka broker restarted: stopped for 12 s (longer
                          than the session timeout), started on the same log
                          directory

possible_anomalies records with refinements are produced to 4 partitions
for ~30 s while herald (smtp channel to Mailpit, dedup on, retries with a
10 min budget) runs. Afterwards: every window has its email, and it is
the first refinement's; no record went to the dead-letter path; the
duplicates are printed and bounded by max_in_flight per fault; the group
committed the end of every partition; and no committed offset read from
the broker during the whole run (every 0.25 s) ever passed a record whose
email Mailpit had not received by then. Each scenario also checks that the
fault was felt (retries logged, records waiting), so it fails if the fault
was not injected. The service is always started again, even on failure."""

import atexit
import re
import sys
import time

import itlib

PARTS = 4
NWIN = 600
STEPS = 30
MAX_IN_FLIGHT = 32
OUTAGE_S = {"mailpit": 20, "registry": 20, "broker": 12}

what = sys.argv[1]
rid = itlib.run_id("it6fault-" + what)
domain = rid + ".example"
itlib.own(domain)
service = {"mailpit": "mailpit", "registry": "registry", "broker": "kafka"}[what]
down = []


def restore():
    if down:
        itlib.service("start", service)
        down.clear()


atexit.register(restore)

wins = itlib.windows(NWIN, domain, seed=44)
itlib.producer_create_topic(rid, PARTS)
cfg = itlib.notify_config(
    rid, rid, itlib.smtp_plain_channel(max_connections=2),
    "    max_in_flight: %d\n    dedup: { ttl: 7d }\n"
    "    batch: { max_records: 16, linger: 5ms }\n"
    "    errors: { tolerance: all, retry: { initial: 200ms, max: 2s, timeout: 10m } }\n"
    % MAX_IN_FLIGHT, subject="it6 fault n={{n_attempts}}")
sampler = itlib.CommitSampler(rid, rid, PARTS)
t0 = time.time()
runs = [itlib.start(cfg)]
stream = itlib.Stream(rid, itlib.stream_plan(wins, STEPS), every=1.0)
itlib.wait_for("herald sends mail", lambda: itlib.mail_count(domain) > 0, timeout=60)
time.sleep(3)
itlib.check("stream still running at the fault", stream.alive())
before = itlib.mail_count(domain)

t_down = time.time()
down.append(service)
itlib.service("stop", service)
if what == "registry":
    # A new process inside the outage: nothing cached, every record needs
    # the registry.
    time.sleep(2)
    itlib.stop(runs[-1], "run 1 (stopped inside the registry outage)")
    runs.append(itlib.start(cfg))
time.sleep(max(0.0, OUTAGE_S[what] - (time.time() - t_down)))
itlib.check("herald kept running through the outage", runs[-1].alive(),
            runs[-1].stderr()[-2000:])
# Taken before restore(): that waits until the service answers again, and
# what it accepts from then on is not "received while stopped".
t_restore = time.time()
restore()
print("# %s down for %.1f s" % (service, time.time() - t_down))
t_up = time.time()

ends = stream.join(PARTS)
itlib.check_eq("records produced", 3 * NWIN, sum(ends))
itlib.wait_committed(rid, rid, ends, timeout=180, alive=runs[-1:])
itlib.stop(runs[-1], "last run")
samples = sampler.stop()
err = "".join(h.stderr() for h in runs)

msgs = itlib.settle(domain, NWIN)
rcpt = itlib.by_recipient(msgs)
delivered = itlib.mailpit_delivered(msgs)
missing = [w[0][2]["email_address"] for w in wins if w[0][2]["email_address"] not in rcpt]
dups = len(msgs) - len(rcpt)
after = sum(1 for t in delivered.values() if t >= t_up)
retries = err.count("delivery will be retried")
print("# %s: %d messages for %d windows, %d duplicate(s); %d before the fault, %d after it; "
      "%d retries logged; %d commit samples failed while the broker was away"
      % (what, len(msgs), NWIN, dups, before, after, retries, sampler.errors))
itlib.check_eq("windows without an email", [], missing[:10])
itlib.check("duplicates %d <= max_in_flight %d" % (dups, MAX_IN_FLIGHT), dups <= MAX_IN_FLIGHT)
itlib.check_eq("subjects other than the first refinement's", [],
               sorted({m["Subject"] for m in msgs} - {"it6 fault n=3"}))
itlib.check_eq("records rejected", 0, err.count("record rejected"))
itlib.check("windows mailed after the fault ended (%d)" % after, after > 0)
if what == "mailpit":
    itlib.check("sends were retried while Mailpit was away (%d)" % retries, retries > 0,
                err[-2000:])
    itlib.check_eq("messages Mailpit received while it was stopped", [],
                   [a for a, t in delivered.items() if t_down + 0.5 < t < t_restore - 0.5])
if what == "registry":
    waits = len(re.findall(r"schema registry request for id \d+ failed.*retrying in",
                           runs[-1].stderr()))
    itlib.check("the run started inside the outage retried the registry (%d)" % waits,
                waits > 0, runs[-1].stderr()[-2000:])
if what == "broker":
    lost = len(re.findall(r"kafka: .*(Connection refused|Disconnected|brokers are down)",
                          runs[-1].stderr()))
    itlib.check("herald logged the broker's absence (%d lines)" % lost, lost > 0,
                runs[-1].stderr()[-2000:])
itlib.check_commits_delivered(what, samples, stream.where, delivered, PARTS)
itlib.done("service_faults " + what)
