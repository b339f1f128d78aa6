"""Helpers for the delivery-guarantee integration tests (it6_*.py):
windows with ksqlDB-style refinements (count 3, then 4, 5 ... for the same
windowed key) written with Confluent's AvroSerializer, herald configs with
dedup and dead letters, Mailpit reads restricted to this run's recipients,
and the group's committed offsets read from the broker."""

import argparse
import atexit
import decimal
import hashlib
import json
import os
import random
import signal
import time
import uuid

import it5lib as L
import pylib
from it5lib import P  # the stack's producer module

MAILPIT_SMTP = os.environ.get("MAILPIT_SMTP", "127.0.0.1:31025")
MAILPIT_API = L.MAILPIT_API
TEMPLATES = L.TEMPLATES

# ---------------------------------------------------------------- data


def windows(n, domain, seed, refinements=2):
    """n anomaly windows, each a list of refinement rows (card, start,
    value, ts): n_attempts 3, 4, ... like producer.py's `anomalies
    --refinements K` (same shapes, one more transaction each time), but with
    recipient w<i>@domain so this run's mail is its own. Cards are
    distinct, so every window has its own dedup key card@start."""
    rng = random.Random(seed)
    base = 1_700_000_010_000 - (1_700_000_010_000 % P.WINDOW_MS)
    out, cards = [], set()
    for i in range(n):
        card = "4" + "".join(str(rng.randrange(10)) for _ in range(15))
        while card in cards:
            card = "4" + "".join(str(rng.randrange(10)) for _ in range(15))
        cards.add(card)
        start = base + rng.randrange(0, 1000) * P.WINDOW_MS
        amounts = [decimal.Decimal(rng.randrange(1, 100_000)) / 100 for _ in range(3)]
        txs = [str(uuid.UUID(int=rng.getrandbits(128), version=4)) for _ in range(3)]
        rows = []
        for r in range(refinements + 1):
            if r:
                amounts.append(decimal.Decimal(rng.randrange(1, 100_000)) / 100)
                txs.append(str(uuid.UUID(int=rng.getrandbits(128), version=4)))
            total = sum(amounts, decimal.Decimal("0.00")).quantize(decimal.Decimal("0.01"))
            v = P.anomaly_value(card, "w%d@%s" % (i, domain), len(txs), total, list(txs),
                                start)
            rows.append((card, start, v, start + min(len(txs) * 1000, P.WINDOW_MS - 1)))
        out.append(rows)
    return out


def stream_plan(wins, segments):
    """Cut windows into `segments` chunks and return the records to produce
    per step, refinements arriving later than their window's first record
    as in ksqlDB: step k carries the first rows of chunk k, the second rows
    of chunk k-1, and so on (len(plan) = chunks + refinements)."""
    size = -(-len(wins) // segments)
    chunks = [wins[i:i + size] for i in range(0, len(wins), size)]
    depth = len(wins[0])
    plan = []
    for k in range(len(chunks) + depth - 1):
        rows = []
        for r in range(depth):
            if 0 <= k - r < len(chunks):
                rows += [w[r] for w in chunks[k - r]]
        plan.append(rows)
    return plan


def create_topic(topic, partitions, config=None):
    st = L.producer_stack()
    return P.create_topic(st, topic, partitions, config)


def produce(topic, rows, st=None):
    """Produce rows (AvroSerializer, windowed keys, murmur2 partitioner) to
    an existing topic. Returns the producer's report. st: a producer stack
    to reuse (its registry client remembers the schema id)."""
    st = st or L.producer_stack()
    args = argparse.Namespace(topic=topic, subject=P.ANOMALY_SUBJECT)
    rep = P.produce_anomalies(st, args, rows)
    pylib.check("%d records acknowledged by the broker" % len(rows),
                rep["count"] == len(rows) and all("offset" in r for r in rep["records"]))
    return rep


class Stream:
    """Produces the steps of a plan (stream_plan) from a thread, one every
    `every` seconds, through one producer stack. reports: the producer's
    reports; where: (partition, offset) -> recipient (index_records)."""

    def __init__(self, topic, plan, every):
        import threading
        self.reports, self.where, self.error = [], {}, []
        self._topic, self._plan, self._every = topic, plan, every
        self._st = L.producer_stack()
        self._t = threading.Thread(target=self._run, daemon=True)
        self._t.start()

    def _run(self):
        try:
            for rows in self._plan:
                rep = produce(self._topic, rows, self._st)
                index_records(rows, rep, self.where)
                self.reports.append(rep)
                time.sleep(self._every)
        except BaseException as e:  # reported by join()
            self.error.append(e)

    def alive(self):
        return self._t.is_alive()

    def join(self, partitions, timeout=120):
        """Wait for the last step; returns the end offset of each partition."""
        self._t.join(timeout)
        pylib.check("producer finished all %d steps" % len(self._plan),
                    not self._t.is_alive() and not self.error, repr(self.error))
        return ends(self.reports, partitions)


def ends(reports, partitions):
    """End offset of each partition after the records of the reports (all
    produced to fresh partitions, so the end is the highest offset + 1)."""
    e = [0] * partitions
    for rep in reports:
        for r in rep["records"]:
            e[r["partition"]] = max(e[r["partition"]], r["offset"] + 1)
    return e


def key_hash(key):
    """Message-ID / SendGrid idempotency_key of a dedup key: the first 32
    hex digits of its HMAC under the tests' hash_key."""
    return pylib.keyed_hash(key)[:32]

# ---------------------------------------------------------------- config


def smtp_plain_channel(max_connections=4):
    return """    plugin: smtp
    url: smtp://%s
    tls: none
    from: "%s"
    max_connections: %d
""" % (MAILPIT_SMTP, L.FROM, max_connections)


def notify_config(topic, group, channel_yaml, connector_extra="", name="it6",
                  subject=L.SUBJECT_TMPL, to="{{email_address}}", level="info",
                  kafka_extra="", notify_extra=""):
    """A herald config: one notify connector reading possible_anomalies rows
    through the shipped templates. connector_extra: lines indented by 4
    (dedup:, errors:, max_in_flight: ...)."""
    return ("""kafka:
  bootstrap.servers: %s
  session.timeout.ms: 6000
  heartbeat.interval.ms: 500
%sschema_registry:
  url: %s
  not_found_wait: 2s
plugin_path: %s
""" + pylib.HASH_KEY_YAML + """channels:
  email:
%sconnectors:
  - name: %s
    topics: [%s]
    group_id: %s
    key:   { format: string, window: tumbling, window_size: 30s }
    value: { format: avro }
    notify:
      channel: email
      to: %s
      subject: %s
      text_file: %s
      html_file: %s
%s%slog: { level: %s }
""") % (pylib.BOOTSTRAP, kafka_extra, pylib.SR_URL, pylib.TEST_PLUGIN_DIR, channel_yaml,
       name, topic, group, json.dumps(to), json.dumps(subject),
       os.path.join(TEMPLATES, "possible_anomaly.txt"),
       os.path.join(TEMPLATES, "possible_anomaly.html"), notify_extra, connector_extra,
       level)


_started = []


def _kill_started():
    for h in _started:  # a failed check exits early: leave nothing running
        if h.alive():
            h.kill()


atexit.register(_kill_started)


def start(cfg_text, extra=()):
    """Start `herald run` on cfg_text; returns the pylib.Herald (killed at
    exit if still running)."""
    path = pylib.write_config(cfg_text)
    h = pylib.Herald(path, args=("run",), extra=tuple(extra), env=L.herald_env())
    _started.append(h)
    return h


def stop(h, what, timeout=60):
    """SIGTERM h and check it exits 0; returns its stderr."""
    t0 = time.time()
    rc, _ = h.stop(signal.SIGTERM, timeout)
    if rc != 0:
        print(h.stderr()[-3000:])
    pylib.check_eq("%s: exit code after SIGTERM (%.1f s)" % (what, time.time() - t0), 0, rc)
    return h.stderr()

# ---------------------------------------------------------------- broker


def committed(group, topic, partitions):
    return pylib.committed(group, topic, partitions)


def wait_committed(group, topic, want, timeout=120, alive=()):
    """Wait until the group's committed offsets equal want (a list by
    partition). Fails early when a process in alive exited."""
    deadline = time.time() + timeout
    got = None
    while time.time() < deadline:
        got = committed(group, topic, len(want))
        if got == want:
            return got
        for h in alive:
            if not h.alive():
                print(h.stderr()[-3000:])
                pylib.check("herald still running while waiting for commits", False)
        time.sleep(0.5)
    pylib.check_eq("committed offsets (timed out after %ss)" % timeout, want, got)

# ---------------------------------------------------------------- Mailpit


def mail(domain, api=MAILPIT_API, expect=None, timeout=60):
    """This run's messages (every recipient in domain): summaries."""
    ms = L.mailpit_search(api, 'to:"@%s"' % domain, expect=expect, timeout=timeout)
    return [m for m in ms if m["To"] and
            all(a["Address"].endswith("@" + domain) for a in m["To"])]


def mail_count(domain, api=MAILPIT_API):
    """How many messages Mailpit holds for recipients in domain (one
    request, however many there are)."""
    r = L.http_json("GET", "%s/api/v1/search?query=%s&limit=1" % (
        api, L.urllib.parse.quote('to:"@%s"' % domain)))
    return r["messages_count"]


def by_recipient(msgs):
    out = {}
    for m in msgs:
        for a in m["To"]:
            out.setdefault(a["Address"], []).append(m)
    return out


def settle(domain, expect, api=MAILPIT_API, quiet=2.0, timeout=60):
    """Wait for at least expect messages, then until the count has not
    changed for `quiet` seconds (so late duplicates are counted too)."""
    msgs = mail(domain, api, expect=expect, timeout=timeout)
    n, since = len(msgs), time.time()
    while time.time() - since < quiet:
        time.sleep(0.5)
        msgs = mail(domain, api)
        if len(msgs) != n:
            n, since = len(msgs), time.time()
    return msgs


def check_one_per_window(what, domain, wins, api=MAILPIT_API, full=True):
    """Exactly one message per window in Mailpit, and it is the first
    refinement's (n_attempts 3) rendering with Message-ID from card@start.
    full: also compare the text body (one GET per window)."""
    msgs = settle(domain, len(wins), api)
    rcpt = by_recipient(msgs)
    pylib.check_eq("%s: messages in Mailpit" % what, len(wins), len(msgs))
    counts = sorted({len(rcpt.get(w[0][2]["email_address"], [])) for w in wins})
    pylib.check_eq("%s: messages per window (distinct counts)" % what, [1], counts)
    bad = []
    for w in wins:
        card, start, v, _ = w[0]
        [m] = rcpt[v["email_address"]]
        subject, text, _html = L.expected_email(v)
        want = {"Subject": subject, "MessageID": L.message_id(card, start)[1:-1]}
        have = {"Subject": m["Subject"], "MessageID": m["MessageID"]}
        if full:
            want["Text"] = L.crlf(text)
            have["Text"] = L.mailpit_message(api, m["ID"])["Text"]
        if want != have:
            bad.append((v["email_address"], want, have))
    if bad:
        print("first mismatch: %r" % (bad[0],))
    pylib.check_eq("%s: messages not the first refinement's rendering (n_attempts 3, "
                   "Message-ID of card@start)" % what, 0, len(bad))
    return msgs

# ---------------------------------------------------------------- faults


def service(action, name):
    """Stop, kill, start or restart one service of the shared stack
    (scripts/stack/service.sh); start returns once it answers again."""
    import subprocess
    subprocess.run([os.path.join(pylib.REPO, "scripts", "stack", "service.sh"), action, name,
                    os.environ["STACK_DIR"]], check=True)


def index_records(rows, rep, into):
    """Record each produced row's coordinates: into[(partition, offset)] is
    the recipient of the row's window (the address its email goes to)."""
    for row, r in zip(rows, rep["records"]):
        into[(r["partition"], r["offset"])] = row[2]["email_address"]
    return into


class CommitSampler:
    """Reads the group's committed offsets from the broker every `interval`
    seconds in a thread, for the whole test: samples are (time the answer
    came, [offset by partition]). Errors while the broker is away are
    counted, not fatal."""

    def __init__(self, group, topic, partitions, interval=0.25):
        import threading
        from confluent_kafka import Consumer, TopicPartition
        self.samples, self.errors = [], 0
        self._tps = [TopicPartition(topic, p) for p in range(partitions)]
        self._c = Consumer({"bootstrap.servers": pylib.BOOTSTRAP, "group.id": group,
                            "enable.auto.commit": False, "log_level": 2})
        self._stop = threading.Event()
        self._interval = interval
        self._t = threading.Thread(target=self._run, daemon=True)
        self._t.start()

    def _run(self):
        while not self._stop.is_set():
            try:
                offs = [tp.offset for tp in self._c.committed(self._tps, timeout=5)]
                self.samples.append((time.time(), offs))
            except Exception:
                self.errors += 1
            self._stop.wait(self._interval)

    def stop(self):
        self._stop.set()
        self._t.join(30)
        self._c.close()
        return self.samples


def mailpit_delivered(msgs):
    """Earliest time Mailpit received a message, by recipient."""
    import datetime
    out = {}
    for m in msgs:
        t = datetime.datetime.fromisoformat(m["Created"].replace("Z", "+00:00")).timestamp()
        for a in m["To"]:
            out[a["Address"]] = min(t, out.get(a["Address"], t))
    return out


def wiremock_accepted(event):
    """A SendGrid double's answer that accepts the mail: 2xx and no fault
    (a fault's serve event still says status 200)."""
    r = event.get("response") or {}
    return not r.get("fault") and 200 <= r.get("status", 0) < 300


def wiremock_recipient(event):
    """The first recipient of the SendGrid request body of a serve event."""
    return json.loads(event["request"]["body"])["personalizations"][0]["to"][0]["email"]


def wiremock_delivered(events):
    """Earliest time WireMock finished answering a request for a recipient
    with 2xx, by recipient: request.loggedDate (arrival, epoch ms) plus
    timing.totalTime (ms until the answer was sent), in seconds."""
    out = {}
    for e in events:
        if not wiremock_accepted(e):
            continue
        took = max(0, (e.get("timing") or {}).get("totalTime") or 0)
        t = (e["request"]["loggedDate"] + took) / 1000.0
        a = wiremock_recipient(e)
        out[a] = min(t, out.get(a, t))
    return out


def check_commits_delivered(what, samples, where, delivered, partitions, slack=0.05):
    """No committed offset read from the broker ever passed a record whose
    window's email had not been delivered by then: for every sample (t,
    offsets) and partition p, every record below offsets[p] has its
    recipient in `delivered` at a time <= t (+ slack for the clocks'
    granularity). where: (partition, offset) -> recipient (index_records),
    for fresh partitions (offsets 0..n-1)."""
    inf = float("inf")
    upto = []  # upto[p][o]: latest delivery among offsets 0..o of p
    for p in range(partitions):
        n = sum(1 for (q, _) in where if q == p)
        acc, m = [], 0.0
        for o in range(n):
            m = max(m, delivered.get(where[(p, o)], inf))
            acc.append(m)
        upto.append(acc)
    bad, moved = [], set()
    for t, offs in samples:
        for p, c in enumerate(offs):
            if c <= 0:
                continue
            moved.add((p, c))
            if c > len(upto[p]) or upto[p][c - 1] > t + slack:
                bad.append((round(t, 3), p, c, upto[p][c - 1] if c <= len(upto[p]) else None))
    print("# %s: %d commit samples, %d distinct committed positions, %d past an undelivered "
          "record" % (what, len(samples), len(moved), len(bad)))
    pylib.check("%s: commit samples watched the offsets move (%d positions)" % (what, len(moved)),
                len(moved) >= partitions)
    pylib.check_eq("%s: samples with an offset committed past an undelivered record (first 5)"
                   % what, [], bad[:5])
