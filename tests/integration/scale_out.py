"""Issue 6, acceptance 3: scale 1 -> 3 -> 1 instances during the stream.

possible_anomalies records with refinements (n_attempts 3, 4, 5 per window)
are produced over ~25 s to 8 partitions while herald instance A runs
alone; B and C join the group mid-stream (both get partitions and send
mail), then leave with SIGTERM mid-stream and A takes everything back.
Afterwards every window has its email, the duplicates are at most one
max_in_flight per membership change (printed; revokes drain first, so
normally none), every email is the first refinement's, A commits the end
of every partition, and no committed offset read from the broker during
the run ever passed a record whose email Mailpit had not received.
Run with cooperative-sticky and with librdkafka's default (eager) assignor.

  scale_out.py [eager|coop]: one scenario only (for debugging)."""

import re
import signal
import sys
import time

import itlib

PARTS = 8
NWIN = 1200
STEPS = 25
MAX_IN_FLIGHT = 32
CHANGES = 3  # B joins, C joins, B and C leave


def assigned(h):
    return sum(int(n) for n in re.findall(r"assigned (\d+) partition", h.stderr()))


def scenario(strategy):
    label = strategy or "eager"
    rid = itlib.run_id("it6scale-" + label[:4])
    domain = rid + ".example"
    itlib.own(domain)
    wins = itlib.windows(NWIN, domain, seed=33)
    itlib.producer_create_topic(rid, PARTS)
    kafka = "  partition.assignment.strategy: %s\n" % strategy if strategy else ""
    cfg = itlib.notify_config(
        rid, rid, itlib.smtp_plain_channel(max_connections=2),
        "    max_in_flight: %d\n    dedup: { ttl: 7d }\n"
        "    batch: { max_records: 16, linger: 5ms }\n" % MAX_IN_FLIGHT,
        subject="it6 scale n={{n_attempts}}", kafka_extra=kafka)
    sampler = itlib.CommitSampler(rid, rid, PARTS)
    t0 = time.time()
    a = itlib.start(cfg)
    stream = itlib.Stream(rid, itlib.stream_plan(wins, STEPS), every=1.0)
    itlib.wait_for("%s: A sends mail" % label, lambda: itlib.mail_count(domain) > 0, timeout=60)
    time.sleep(4)

    others = [itlib.start(cfg), itlib.start(cfg)]
    itlib.wait_for("%s: B and C were assigned partitions" % label,
                   lambda: all(assigned(h) > 0 for h in others), timeout=60)
    at_join = itlib.mail_count(domain)
    time.sleep(5)
    itlib.check("%s: mail flowed with three instances (%d -> %d)"
                % (label, at_join, itlib.mail_count(domain)), itlib.mail_count(domain) > at_join)
    itlib.check("%s: stream still running when B and C leave" % label, stream.alive())
    for h in others:
        h.proc.send_signal(signal.SIGTERM)
    for n, h in zip("BC", others):
        itlib.stop(h, "%s: %s" % (label, n))
    print("# %s: B and C left at %.1f s" % (label, time.time() - t0))

    ends = stream.join(PARTS)
    itlib.check_eq("%s: records produced" % label, 3 * NWIN, sum(ends))
    itlib.wait_committed(rid, rid, ends, timeout=120, alive=[a])
    itlib.stop(a, "%s: A" % label)
    samples = sampler.stop()

    msgs = itlib.settle(domain, NWIN)
    rcpt = itlib.by_recipient(msgs)
    missing = [w[0][2]["email_address"] for w in wins if w[0][2]["email_address"] not in rcpt]
    dups = len(msgs) - len(rcpt)
    err = "".join(h.stderr() for h in [a] + others)
    drained = sum(int(x) for x in re.findall(r"draining (\d+) record\(s\) in flight first", err))
    print("# %s: %d messages for %d windows, %d duplicate(s); B and C assigned %s; "
          "%d record(s) drained at revokes"
          % (label, len(msgs), NWIN, dups, [assigned(h) for h in others], drained))
    itlib.check_eq("%s: windows without an email" % label, [], missing[:10])
    itlib.check("%s: duplicates %d <= %d membership changes x max_in_flight"
                % (label, dups, CHANGES), dups <= CHANGES * MAX_IN_FLIGHT)
    itlib.check_eq("%s: subjects other than the first refinement's" % label, [],
                   sorted({m["Subject"] for m in msgs} - {"it6 scale n=3"}))
    itlib.check_eq("%s: drain timeouts" % label, 0, err.count("drain timeout"))
    itlib.check_commits_delivered(label, samples, stream.where, itlib.mailpit_delivered(msgs), PARTS)


only = sys.argv[1] if len(sys.argv) > 1 else None
if only in (None, "coop"):
    scenario("cooperative-sticky")
if only in (None, "eager"):
    scenario(None)
itlib.done("scale_out")
