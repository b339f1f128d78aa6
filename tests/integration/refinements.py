"""Issue 6, acceptance 1: ksqlDB refinements (the same windowed key with
n_attempts 3, then 4, then 5) through the smtp channel to Mailpit become
exactly one email per window, the first refinement's, with dedup marks in
Kafka:
  a) one run, refinements back to back (the later ones wait for the first
     one's outcome, then are skipped);
  b) herald stopped with SIGTERM after the 3s and started again for the
     4s and 5s (marks read back from the marks topic);
  c) the partitions move between two instances of one group between
     refinements: A alone for the 3s, B joins (partitions split) for the
     4s, A leaves (B owns all) for the 5s; with cooperative-sticky
     assignment (c) and with librdkafka's default eager one (e), where A
     gives up all its partitions when B joins and gets half of them back."""

import time

import itlib

N = 20  # windows per scenario
rid = itlib.run_id("it6ref")
DEDUP = "    dedup: { ttl: 7d }\n"  # default key {{@key}}@{{@window.start}}
CH = itlib.smtp_plain_channel(max_connections=4)


def scenario_a():
    name = rid + "-a"
    domain = name + ".example"
    itlib.own(domain)
    wins = itlib.windows(N, domain, seed=11)
    itlib.producer_create_topic(name, 2)
    rows = [r for w in wins for r in w]  # 3, 4, 5 of a window back to back
    rep = itlib.produce_checked(name, rows)
    ends = itlib.ends([rep], 2)
    cfg = itlib.notify_config(name, name, CH, DEDUP)
    t0 = time.time()
    rc, _, err = itlib.run_herald(cfg, 3 * N, timeout=120)
    if rc:
        print(err[-3000:])
    itlib.check_eq("a: herald run -n %d exit code (%.1f s)" % (3 * N, time.time() - t0), 0, rc)
    itlib.check_eq("a: no record rejected", 0, err.count("record rejected"))
    itlib.check_eq("a: committed offsets = end of each partition", ends,
                   itlib.committed(name, name, 2))
    itlib.check_one_per_window("a (one run)", domain, wins)
    marks = "herald-dedup-" + name
    itlib.check("a: default marks topic %s was created" % marks,
                ("creating dedup marks topic %s" % marks) in err, err[-2000:])


def scenario_b():
    name = rid + "-b"
    domain = name + ".example"
    itlib.own(domain)
    wins = itlib.windows(N, domain, seed=22)
    itlib.producer_create_topic(name, 2)
    rep1 = itlib.produce_checked(name, [w[0] for w in wins])
    cfg = itlib.notify_config(name, name, CH, DEDUP)
    h = itlib.start(cfg)
    itlib.mail(domain, expect=N, timeout=60)
    itlib.wait_committed(name, name, itlib.ends([rep1], 2), alive=[h])
    itlib.stop(h, "b: first run")
    rep2 = itlib.produce_checked(name, [w[1] for w in wins] + [w[2] for w in wins])
    ends = itlib.ends([rep1, rep2], 2)
    h = itlib.start(cfg)
    itlib.wait_committed(name, name, ends, alive=[h])
    err = itlib.stop(h, "b: second run")
    itlib.check_eq("b: second run: no record rejected", 0, err.count("record rejected"))
    itlib.check_eq("b: second run read back the %d marks" % N, N, sum(
        int(x.split(" mark(s)")[0].rsplit(" ", 1)[1])
        for x in err.splitlines() if "dedup: read " in x))
    itlib.check_one_per_window("b (restart between refinements)", domain, wins)


def assigned(h, n):
    return ("assigned %d partition(s)" % n) in h.stderr()


def owned(h):
    """Partitions h owns now, from its log: assigned minus released (eager
    and cooperative callbacks both log the count they handle)."""
    n = 0
    for line in h.stderr().splitlines():
        for verb, sign in (("assigned ", 1), ("released ", -1)):
            if 'msg="%s' % verb in line:
                n += sign * int(line.split('msg="' + verb)[1].split(" ")[0])
    return n


def scenario_c(strategy, tag):
    """strategy: the group's partition.assignment.strategy. With eager
    assignment (librdkafka's default, range,roundrobin) A loses all its
    partitions when B joins and gets half of them back."""
    name = rid + "-" + tag
    domain = name + ".example"
    itlib.own(domain)
    P = 4
    wins = itlib.windows(N, domain, seed=33)
    itlib.producer_create_topic(name, P)
    rep1 = itlib.produce_checked(name, [w[0] for w in wins])
    parts = sorted({r["partition"] for r in rep1["records"]})
    itlib.check("%s: the windows span several partitions %r" % (tag, parts), len(parts) >= 2)
    cfg = itlib.notify_config(name, name, CH, DEDUP,
                          kafka_extra="  partition.assignment.strategy: %s\n" % strategy)
    a = itlib.start(cfg)
    itlib.mail(domain, expect=N, timeout=60)
    itlib.wait_committed(name, name, itlib.ends([rep1], P), alive=[a])
    itlib.check("%s: A owned all %d partitions" % (tag, P), assigned(a, P), a.stderr()[-2000:])

    b = itlib.start(cfg)
    itlib.wait_for("%s: B and A own part of the partitions each" % tag,
                   lambda: 0 < owned(b) < P and owned(a) == P - owned(b), timeout=60)
    rep2 = itlib.produce_checked(name, [w[1] for w in wins])
    # eager: A has its partitions back after the rebalance; they must flow
    itlib.wait_committed(name, name, itlib.ends([rep1, rep2], P), timeout=45, alive=[a, b])
    itlib.stop(a, "%s: A leaves" % tag)
    itlib.wait_for("%s: B owns all %d partitions" % (tag, P), lambda: owned(b) == P, timeout=60)
    rep3 = itlib.produce_checked(name, [w[2] for w in wins])
    itlib.wait_committed(name, name, itlib.ends([rep1, rep2, rep3], P), alive=[b])
    itlib.stop(b, "%s: B" % tag)
    itlib.check_one_per_window("%s (partitions moved between refinements, %s)" % (tag, strategy),
                           domain, wins)


scenario_a()
scenario_b()
scenario_c("cooperative-sticky", "c")
scenario_c("range,roundrobin", "e")
itlib.done("refinements")
