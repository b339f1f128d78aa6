"""itlib: the one helper module of herald's Python integration tests.

Tests run through run_py.sh, which loads the stack's env.sh (KAFKA_BOOTSTRAP,
SR_URL, MAILPIT_*, WIREMOCK_URL, PRISM_URL, ...) and the stack's venv. The
herald binary and plugin directories come from ctest's environment
(HERALD_BIN, HERALD_PLUGIN_DIR, HERALD_TEST_PLUGIN_DIR).

Every test uses names unique to its run (topics, groups, recipients), so
tests share one stack and never see each other's data.

Sections, in order:
- the process and the broker: checks, configs, herald processes, topics,
  committed offsets;
- the consume path: records produced with the stack's producer
  (tests/stack/producer.py, imported as `sp`) with their delivery reports,
  the test plugin's log, a TCP gate that cuts a connection on demand;
- notify: test data through Confluent's AvroSerializer (the same producer,
  imported as `P`), the shipped templates rendered independently in
  Python, Mailpit, WireMock and Prism clients that only touch this run's
  messages, mappings and journal entries;
- delivery guarantees: windows with ksqlDB-style refinements, dedup and
  dead-letter configs, per-recipient Mailpit reads, commit sampling.
"""

import argparse
import atexit
import datetime as dt
import decimal
import email
import email.policy
import hashlib
import html
import importlib.util
import json
import os
import random
import re
import signal
import socket
import struct
import subprocess
import sys
import tempfile
import threading
import time
import urllib.error
import urllib.parse
import urllib.request
import uuid

from confluent_kafka import Consumer, KafkaError, KafkaException, TopicPartition
from confluent_kafka import Producer
from confluent_kafka.admin import AdminClient, NewTopic


# ======================================================================
# The process and the broker
# ======================================================================
HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.abspath(os.path.join(HERE, "..", ".."))
BUILD = os.environ.get("HERALD_BUILD_DIR", os.path.join(REPO, "build"))
HERALD = os.environ.get("HERALD_BIN", os.path.join(BUILD, "herald"))
PLUGIN_DIR = os.environ.get("HERALD_PLUGIN_DIR", os.path.join(BUILD, "plugins"))
TEST_PLUGIN_DIR = os.environ.get("HERALD_TEST_PLUGIN_DIR",
                                 os.path.join(BUILD, "tests", "plugins"))
PRODUCER = os.environ.get("STACK_PRODUCER", os.path.join(REPO, "tests", "stack", "producer.py"))
BOOTSTRAP = os.environ.get("KAFKA_BOOTSTRAP", "127.0.0.1:39092")
SR_URL = os.environ.get("SR_URL", "")
# The tests' hash_key (the top-level secret Message-IDs, SendGrid's
# idempotency_key and dedup marks are keyed with). Test-only: a real
# deployment reads its own from ${file:/run/secrets/...}.
HASH_KEY = "it-hash-key-not-a-secret-0123456789"
HASH_KEY_YAML = 'hash_key: "%s"\n' % HASH_KEY


def keyed_hash(dedup_key, key=HASH_KEY):
    """HMAC-SHA-256 of a dedup key under the hash key, 64 hex digits: what
    herald hands a channel as the idempotency key (notify.c)."""
    import hashlib
    import hmac
    return hmac.new(key.encode(), dedup_key.encode(), hashlib.sha256).hexdigest()

CHECKS = [0]


def run_id(prefix="it"):
    """A short name unique to this run: topics, groups, recipients."""
    return "%s-%d-%s" % (prefix, os.getpid(), uuid.uuid4().hex[:8])


def check(what, cond, detail=""):
    CHECKS[0] += 1
    if not cond:
        print("FAIL: %s %s" % (what, detail), file=sys.stderr)
        sys.exit(1)
    print("ok - %s" % what)


def check_eq(what, expected, actual):
    CHECKS[0] += 1
    if expected != actual:
        print("FAIL: %s: expected %r, got %r" % (what, expected, actual), file=sys.stderr)
        sys.exit(1)
    print("ok - %s = %r" % (what, expected))


def done(name):
    print("PASS [%s]: %d checks" % (name, CHECKS[0]))


def create_topic(topic, partitions=1, config=None):
    admin = AdminClient({"bootstrap.servers": BOOTSTRAP})
    fs = admin.create_topics([NewTopic(topic, partitions, 1, config=config or {})])
    for f in fs.values():
        f.result(30)


def produce(*args):
    """Run the stack's producer (Confluent's AvroSerializer) and return its
    JSON report."""
    out = subprocess.run([sys.executable, PRODUCER, *args], check=True,
                         stdout=subprocess.PIPE, text=True).stdout
    return json.loads(out)


def committed(group, topic, partitions):
    """The group's committed offsets for topic, read from the broker: a list
    indexed by partition (-1001 when nothing was committed)."""
    c = Consumer({"bootstrap.servers": BOOTSTRAP, "group.id": group,
                  "enable.auto.commit": False})
    try:
        # A fresh broker answers NOT_COORDINATOR or COORDINATOR_LOAD_IN_PROGRESS
        # while it loads __consumer_offsets: ask again for a while.
        deadline = time.time() + 30
        while True:
            try:
                tps = c.committed([TopicPartition(topic, p) for p in range(partitions)],
                                  timeout=30)
                return [tp.offset for tp in tps]
            except KafkaException as e:
                transient = (KafkaError.NOT_COORDINATOR, KafkaError.COORDINATOR_LOAD_IN_PROGRESS,
                             KafkaError.COORDINATOR_NOT_AVAILABLE, KafkaError._TIMED_OUT,
                             KafkaError._TRANSPORT)
                if e.args[0].code() not in transient or time.time() > deadline:
                    raise
                time.sleep(0.5)
    finally:
        c.close()


def write_config(text, directory=None):
    d = directory or tempfile.mkdtemp(prefix="herald-it-")
    path = os.path.join(d, "herald.yaml")
    with open(path, "w") as f:
        f.write(text)
    return path


class Herald:
    """One herald process: started with a config, stopped by signal or
    killed, its stderr kept in a file for assertions and for failures."""

    def __init__(self, config_path, args=("run",), extra=(), env=None):
        self.log_path = config_path + ".%d.log" % int(time.time() * 1000)
        self.log = open(self.log_path, "w")
        e = dict(os.environ)
        e.update(env or {})
        self.proc = subprocess.Popen([HERALD, *args, "-c", config_path, *extra],
                                     stdout=subprocess.PIPE, stderr=self.log,
                                     env=e, text=True)

    def wait(self, timeout=120):
        try:
            out, _ = self.proc.communicate(timeout=timeout)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            out, _ = self.proc.communicate()
            print(self.stderr()[-4000:], file=sys.stderr)
            raise
        return self.proc.returncode, out

    def stop(self, sig=signal.SIGTERM, timeout=120):
        if self.proc.poll() is None:
            self.proc.send_signal(sig)
        return self.wait(timeout)

    def kill(self):
        self.proc.kill()
        self.proc.wait()

    def alive(self):
        return self.proc.poll() is None

    def stderr(self):
        self.log.flush()
        with open(self.log_path) as f:
            return f.read()


_STARTED = []


@atexit.register
def _kill_started():
    for h in _STARTED:
        if h.alive():
            h.kill()


def start_herald(config_path, env=None):
    """Herald(config_path, env=env), killed when the test exits if still
    running: a failed check exits early and leaves nothing behind."""
    h = Herald(config_path, env=env)
    _STARTED.append(h)
    return h


def wait_for(what, fn, timeout=60, interval=0.2):
    """Poll fn until it returns a truthy value; fail the test on timeout."""
    deadline = time.time() + timeout
    last = None
    while time.time() < deadline:
        last = fn()
        if last:
            return last
        time.sleep(interval)
    check(what, False, "(timed out after %ss; last %r)" % (timeout, last))


# ======================================================================
# The consume path
# ======================================================================
_spec = importlib.util.spec_from_file_location("stack_producer", PRODUCER)
sp = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(sp)

SCHEMA = sp.POSSIBLE_ANOMALY_SCHEMA
WINDOW_MS = sp.WINDOW_MS


class _Args:
    def __init__(self, registry=None):
        self.bootstrap = BOOTSTRAP
        self.registry = registry or SR_URL


def stack(registry=None):
    """The producer's Stack: .sr (SchemaRegistryClient), .serializer()."""
    return sp.Stack(_Args(registry))


def serializer(schema, subject, registry=None):
    """(serialize(value, topic) -> framed bytes, schema id)."""
    st = stack(registry)
    ser = st.serializer(schema, subject)

    def run(value, topic):
        return ser(value, sp.SerializationContext(topic, sp.MessageField.VALUE))
    return run


def schema_id(framed):
    return struct.unpack(">I", framed[1:5])[0]


def anomaly(card, start, n, amount, tx_ids, email=None):
    """One possible_anomalies value (amount: a decimal string)."""
    return sp.anomaly_value(card, email or "u%s@example.com" % card[-4:], n,
                            decimal.Decimal(amount), tx_ids, start)


class Bulk:
    """A fast producer that keeps (partition, offset) of each record, in the
    order produced."""

    def __init__(self, **conf):
        c = {"bootstrap.servers": BOOTSTRAP, "linger.ms": 20,
             "batch.size": 1000000, "acks": "all",
             "queue.buffering.max.messages": 1000000,
             "partitioner": "murmur2_random"}
        c.update(conf)
        self.p = Producer(c)
        self.reports = []

    def send(self, topic, key, payload, partition=None, **extra):
        rep = dict(extra)
        self.reports.append(rep)

        def cb(err, msg, rep=rep):
            if err is not None:
                rep["error"] = str(err)
            else:
                rep["partition"] = msg.partition()
                rep["offset"] = msg.offset()
        kw = {"key": key, "value": payload, "on_delivery": cb}
        if partition is not None:
            kw["partition"] = partition
        while True:
            try:
                self.p.produce(topic, **kw)
                break
            except BufferError:
                self.p.poll(0.05)
        return rep

    def flush(self):
        left = self.p.flush(60)
        check("all %d records acknowledged by the broker" % len(self.reports),
                    left == 0 and not any("error" in r for r in self.reports),
                    "(%d left, first error %r)" % (left, next(
                        (r["error"] for r in self.reports if "error" in r), None)))
        return self.reports


def testplug_config(topic, group, log_file, script="", extra_connector="",
                    registry=None, name="c", value_format="avro",
                    key="{ format: string, window: tumbling, window_size: 30s }",
                    sink_extra=""):
    """A herald config with one connector whose sink is the test plugin."""
    return """\
kafka: {{ bootstrap.servers: "{bs}", session.timeout.ms: 6000,
          heartbeat.interval.ms: 500 }}
schema_registry: {{ url: "{sr}", not_found_wait: 2s }}
plugin_path: {pp}
log: {{ level: info }}
hash_key: "{hk}"
connectors:
  - name: {name}
    group_id: {group}
    topics: [{topic}]
    key: {key}
    value: {{ format: {vf} }}
{extra}    sink:
      plugin: testplug
      log_file: {log}
      script: "{script}"
{sink_extra}""".format(bs=BOOTSTRAP, sr=registry or SR_URL,
                       pp=TEST_PLUGIN_DIR, name=name, group=group,
                       topic=topic, key=key, vf=value_format,
                       extra=extra_connector, log=log_file, script=script,
                       sink_extra=sink_extra, hk=HASH_KEY)


def read_plugin_log(path):
    """The test plugin's log: {(partition, offset): [outcome, ...]}."""
    out = {}
    if not os.path.exists(path):
        return out
    with open(path) as f:
        for line in f:
            parts = line.split()
            if len(parts) < 4 or not line.endswith("\n"):
                continue  # a line being written
            out.setdefault((int(parts[1]), int(parts[2])), []).append(parts[3])
    return out


def finals(log):
    """Offsets with a final outcome (OK or REJECT) at least once."""
    return {k for k, v in log.items() if "OK" in v or "REJECT" in v}


def ok_count(log):
    return sum(v.count("OK") for v in log.values())


def check_commit_sample(what, committed, final_set, partitions):
    """Committed offset C of a partition: every offset < C is final."""
    for p in range(partitions):
        c = committed[p]
        if c < 0:
            continue
        missing = [o for o in range(c) if (p, o) not in final_set]
        if missing:
            check("%s: committed %d on partition %d covers only final "
                        "records" % (what, c, p), False,
                        "(offsets %s not final)" % missing[:10])
    return True


def tail(config, connector, n, timeout=90):
    """`herald tail`: the first n decoded records, as parsed JSON lines.
    Stops herald with SIGTERM once n lines are out (not with -n, which
    stop_after.py tests on its own)."""
    h = Herald(config, args=("tail",), extra=(connector,))
    lines = []

    def reader():
        for line in h.proc.stdout:
            if line.strip():
                lines.append(line)
    t = threading.Thread(target=reader, daemon=True)
    t.start()
    deadline = time.time() + timeout
    while len(lines) < n and time.time() < deadline and h.alive():
        time.sleep(0.05)
    time.sleep(0.5)  # anything beyond n would show up here
    if h.alive():
        h.proc.send_signal(signal.SIGTERM)
    try:
        rc = h.proc.wait(30)
    except subprocess.TimeoutExpired:
        h.kill()
        rc = "hung after SIGTERM"
    t.join(5)
    if len(lines) < n:
        print(h.stderr()[-3000:], file=sys.stderr)
    check_eq("herald tail exit code after SIGTERM", 0, rc)
    return [json.loads(l) for l in lines], h


def herald_rss_kb(pid):
    try:
        with open("/proc/%d/status" % pid) as f:
            for line in f:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1])
    except OSError:
        pass
    return None


class TcpGate:
    """A TCP forwarder in front of a service (the schema registry). While
    closed, nothing listens on its port (connection refused) and open
    connections are reset: to herald, the service is stopped. The shared
    registry itself keeps running, so the schema ids stay valid and other
    tests using the stack are not disturbed."""

    def __init__(self, target_host, target_port):
        self.target = (target_host, target_port)
        s = socket.socket()
        s.bind(("127.0.0.1", 0))
        self.port = s.getsockname()[1]
        s.close()
        self.lsock = None
        self.conns = []
        self.lock = threading.Lock()
        self.accepted = 0

    def open(self):
        ls = socket.socket()
        ls.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        ls.bind(("127.0.0.1", self.port))
        ls.listen(64)
        self.lsock = ls
        threading.Thread(target=self._accept, args=(ls,), daemon=True).start()

    def close(self):
        ls, self.lsock = self.lsock, None
        if ls:
            try:
                ls.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass
            ls.close()
        with self.lock:
            conns, self.conns = self.conns, []
        for c in conns:
            try:
                c.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER,
                             struct.pack("ii", 1, 0))
                c.close()
            except OSError:
                pass

    def _accept(self, ls):
        while True:
            try:
                c, _ = ls.accept()
            except OSError:
                return
            if self.lsock is not ls:
                c.close()
                return
            try:
                u = socket.create_connection(self.target, timeout=5)
            except OSError:
                c.close()
                continue
            self.accepted += 1
            with self.lock:
                self.conns += [c, u]
            for a, b in ((c, u), (u, c)):
                threading.Thread(target=self._pipe, args=(a, b), daemon=True).start()

    @staticmethod
    def _pipe(a, b):
        try:
            while True:
                d = a.recv(65536)
                if not d:
                    break
                b.sendall(d)
        except OSError:
            pass
        for s in (a, b):
            try:
                s.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass


def run_checked(cmd, **kw):
    return subprocess.run(cmd, check=True, **kw)


def now():
    return time.monotonic()


# ======================================================================
# Notify
# ======================================================================
sys.path.insert(0, os.path.join(REPO, "tests", "stack"))
import producer as P  # noqa: E402  (the stack's producer, as a module)

TEMPLATES = os.path.join(REPO, "config", "templates")
MAILPIT_API = os.environ.get("MAILPIT_API", "http://127.0.0.1:38025")
MAILPIT_SMTP = os.environ.get("MAILPIT_SMTP", "127.0.0.1:31025")
MAILPIT_TLS_API = os.environ.get("MAILPIT_TLS_API", "http://127.0.0.1:38026")
WIREMOCK = os.environ.get("WIREMOCK_URL", "http://127.0.0.1:38080")
PRISM = os.environ.get("PRISM_URL", "http://127.0.0.1:34010")
SUBJECT_TMPL = "Suspicious activity on your card ending {{card_number | last4}}"
FROM = "Fraud Alerts <alerts@bank.example>"

# ---------------------------------------------------------------- HTTP


def http(method, url, body=None, headers=None, timeout=30):
    """Returns (status, headers dict, body bytes); never raises on 4xx/5xx."""
    data = None
    h = dict(headers or {})
    if body is not None:
        data = body if isinstance(body, bytes) else (
            body.encode() if isinstance(body, str) else json.dumps(body).encode())
        h.setdefault("Content-Type", "application/json")
    req = urllib.request.Request(url, data=data, method=method, headers=h)
    try:
        with urllib.request.urlopen(req, timeout=timeout) as r:
            return r.status, dict(r.headers), r.read()
    except urllib.error.HTTPError as e:
        return e.code, dict(e.headers), e.read()


def http_json(method, url, body=None):
    st, _, b = http(method, url, body)
    if st // 100 != 2:
        raise RuntimeError("%s %s: HTTP %d %s" % (method, url, st, b[:300]))
    try:
        return json.loads(b) if b else None
    except ValueError:
        return b.decode(errors="replace")

# ---------------------------------------------------------------- data


def producer_stack():
    return P.Stack(argparse.Namespace(bootstrap=BOOTSTRAP, registry=SR_URL))


def anomaly_rows(n, domain, seed, base=None):
    """n possible_anomalies rows, each its own (card, window), recipients
    user<i>@domain. Returns the producer's rows (card, start, value, ts)."""
    rng = random.Random(seed)
    if base is None:
        base = 1_700_000_010_000 - (1_700_000_010_000 % P.WINDOW_MS)
    rows = []
    for i in range(n):
        card = "4" + "".join(str(rng.randrange(10)) for _ in range(15))
        start = base + rng.randrange(0, 100_000) * P.WINDOW_MS
        amounts = [decimal.Decimal(rng.randrange(1, 100_000)) / 100 for _ in range(3 + i % 3)]
        txs = [str(uuid.UUID(int=rng.getrandbits(128), version=4)) for _ in amounts]
        total = sum(amounts, decimal.Decimal("0.00")).quantize(decimal.Decimal("0.01"))
        v = P.anomaly_value(card, "user%d@%s" % (i, domain), len(txs), total, txs, start)
        rows.append((card, start, v, start + 1000))
    return rows


def produce_rows(topic, rows, partitions=1):
    """Create topic and produce rows with the producer's AvroSerializer and
    ksqlDB's windowed keys. Returns the producer's report (offsets...)."""
    st = producer_stack()
    P.create_topic(st, topic, partitions)
    args = argparse.Namespace(topic=topic, subject=P.ANOMALY_SUBJECT)
    return P.produce_anomalies(st, args, rows)

# ---------------------------------------------------------------- rendering

_TAG = re.compile(r"\{\{\s*(.*?)\s*\}\}")


def _filter(value, spec):
    name, _, arg = spec.strip().partition(" ")
    arg = arg.strip()
    if name == "last4":
        s = str(value)
        return s[-4:] if len(s) > 4 else "*" * len(s)
    if name == "decimal":
        q = decimal.Decimal(1).scaleb(-int(arg))
        return str(decimal.Decimal(value).quantize(q, rounding=decimal.ROUND_HALF_UP))
    if name == "datetime":
        fmt = json.loads(arg) if arg else "%Y-%m-%d %H:%M:%S %Z"
        t = dt.datetime.fromtimestamp(value / 1000, tz=dt.timezone.utc)
        return t.strftime(fmt)
    raise ValueError("filter %r not handled by the test renderer" % name)


def render(template, value, escape=False):
    """The test's own rendering of a herald template for one anomaly value
    (only the filters the shipped templates use)."""
    def sub(m):
        parts = m.group(1).split("|")
        v = value[parts[0].strip()]
        for f in parts[1:]:
            v = _filter(v, f)
        s = str(v)
        return html.escape(s, quote=True) if escape else s
    return _TAG.sub(sub, template)


def template(name):
    with open(os.path.join(TEMPLATES, name)) as f:
        return f.read()


def expected_email(v):
    """(subject, text, html) for an anomaly value with the shipped templates."""
    return (render(SUBJECT_TMPL, v), render(template("possible_anomaly.txt"), v),
            render(template("possible_anomaly.html"), v, escape=True))


def key_hash(card, start):
    """First 32 hex digits of the keyed hash (HMAC-SHA-256 under the tests'
    hash_key) of the default dedup key {{@key}}@{{@window.start}}: the
    Message-ID and SendGrid's idempotency_key (notify.c, mime.c)."""
    return keyed_hash("%s@%d" % (card, start))[:32]


def message_id(card, start):
    return "<%s@herald>" % key_hash(card, start)

# ---------------------------------------------------------------- config


def config(topic, group, channel_yaml, notify_extra="", connector_extra="",
           text_file=None, html_file=None, retry="{ initial: 200ms, max: 3s, timeout: 2m }",
           tolerance="all", level="info", subject=SUBJECT_TMPL, to="{{email_address}}"):
    text_file = text_file or os.path.join(TEMPLATES, "possible_anomaly.txt")
    html_file = html_file or os.path.join(TEMPLATES, "possible_anomaly.html")
    return ("""kafka:
  bootstrap.servers: %s
schema_registry:
  url: %s
""" + HASH_KEY_YAML + """channels:
  email:
%s
connectors:
  - name: it5
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
%s    errors:
      tolerance: %s
      retry: %s
%slog: { level: %s }
""") % (BOOTSTRAP, SR_URL, channel_yaml, topic, group, json.dumps(to),
       json.dumps(subject), text_file, html_file, notify_extra, tolerance, retry,
       connector_extra, level)


def smtp_tls_channel(max_connections=4, extra="", username=None, password=None):
    """The STARTTLS+AUTH Mailpit as a channel; username and password default
    to the account the stack configures."""
    return """    plugin: smtp
    url: smtp://%s
    tls: starttls
    ca_file: %s
    username: %s
    password: %s
    from: "%s"
    max_connections: %d
%s""" % (os.environ["MAILPIT_SMTP_TLS"], os.environ["MAILPIT_CA"],
         username or os.environ["MAILPIT_USER"], password or os.environ["MAILPIT_PASS"],
         FROM, max_connections, extra)


def smtp_plain_channel(hostport=None, max_connections=4, extra=""):
    return """    plugin: smtp
    url: smtp://%s
    tls: none
    from: "%s"
    max_connections: %d
%s""" % (hostport or MAILPIT_SMTP, FROM, max_connections, extra)


def sendgrid_channel(api_key, base_url=None, max_in_flight=64, extra=""):
    return """    plugin: sendgrid
    api_key: %s
    base_url: %s
    from: "%s"
    categories: [fraud-alert]
    max_in_flight: %d
%s""" % (api_key, base_url or WIREMOCK, FROM, max_in_flight, extra)


def herald_env():
    """HERALD_HASH_KEY: the hash_key of the shipped configs
    (${env:HERALD_HASH_KEY}), the tests' key."""
    return {"HERALD_PLUGIN_PATH": PLUGIN_DIR, "HERALD_HASH_KEY": HASH_KEY}


def run_herald(cfg_text, n, timeout=240, extra_env=None):
    """Run `herald run -n n` to completion; returns (rc, stdout, stderr)."""
    path = write_config(cfg_text)
    env = herald_env()
    env.update(extra_env or {})
    h = Herald(path, args=("run",), extra=("-n", str(n)), env=env)
    rc, out = h.wait(timeout)
    return rc, out, h.stderr()

# ---------------------------------------------------------------- Mailpit


def mailpit_search(api, query, expect=None, timeout=60):
    """All messages matching query (paged). With expect, poll until that
    many are there (or timeout)."""
    deadline = time.time() + timeout
    while True:
        msgs, start = [], 0
        while True:
            r = http_json("GET", "%s/api/v1/search?query=%s&start=%d&limit=500" % (
                api, urllib.parse.quote(query), start))
            msgs += r["messages"]
            start += len(r["messages"])
            if not r["messages"] or start >= r["messages_count"]:
                break
        if expect is None or len(msgs) >= expect or time.time() > deadline:
            return msgs
        time.sleep(0.5)


def mailpit_message(api, mid):
    return http_json("GET", "%s/api/v1/message/%s" % (api, mid))


def mailpit_raw(api, mid):
    st, _, b = http("GET", "%s/api/v1/message/%s/raw" % (api, mid))
    if st != 200:
        raise RuntimeError("raw %s: HTTP %d" % (mid, st))
    return b


def mailpit_delete(api, ids):
    ids = list(ids)
    for i in range(0, len(ids), 200):
        http_json("DELETE", "%s/api/v1/messages" % api, {"IDs": ids[i:i + 200]})


def parse_raw(raw):
    return email.message_from_bytes(raw, policy=email.policy.default)


def all_text(raw):
    """Every decoded header and part of a raw message, as one string."""
    m = parse_raw(raw)
    out = []
    for part in m.walk():
        for k, v in part.items():
            out.append("%s: %s" % (k, v))
        if not part.is_multipart():
            out.append(part.get_content())
    return "\n".join(out)

# ---------------------------------------------------------------- WireMock


def wm_add(mapping):
    return http_json("POST", "%s/__admin/mappings" % WIREMOCK, mapping)["id"]


def wm_remove(mid):
    http("DELETE", "%s/__admin/mappings/%s" % (WIREMOCK, mid))


def wm_pattern(marker):
    return {"method": "POST", "url": "/v3/mail/send",
            "bodyPatterns": [{"contains": marker}]}


def wm_find(marker):
    """Journal entries whose body contains marker, oldest first."""
    r = http_json("POST", "%s/__admin/requests/find" % WIREMOCK, wm_pattern(marker))
    reqs = r["requests"]
    reqs.sort(key=lambda q: q["loggedDate"])
    return reqs


def wm_serve_events(marker):
    """Full serve events (request and response) whose body contains marker,
    oldest first."""
    r = http_json("GET", "%s/__admin/requests?limit=100000" % WIREMOCK)
    ev = [e for e in r["requests"] if marker in (e["request"].get("body") or "")]
    ev.sort(key=lambda e: e["request"]["loggedDate"])
    return ev


def wm_forget(marker):
    http("POST", "%s/__admin/requests/remove" % WIREMOCK, wm_pattern(marker))


def expected_sendgrid_body(v, topic, partition, offset, categories=("fraud-alert",)):
    subject, text, html_ = expected_email(v)
    card, start = v["card_number"], v["start_boundary"]
    body = {
        "personalizations": [{
            "to": [{"email": v["email_address"]}],
            "custom_args": {"idempotency_key": key_hash(card, start), "topic": topic,
                            "partition": str(partition), "offset": str(offset)}}],
        "from": {"email": "alerts@bank.example", "name": "Fraud Alerts"},
        "subject": subject,
        "content": [{"type": "text/plain", "value": text},
                    {"type": "text/html", "value": html_}],
    }
    if categories:
        body["categories"] = list(categories)
    return body


def prism_send(body_text, key="SG.prism-check"):
    st, h, b = http("POST", "%s/v3/mail/send" % PRISM, body_text.encode() if isinstance(
        body_text, str) else body_text, {"Authorization": "Bearer " + key,
                                         "Content-Type": "application/json"})
    return st, h, b


def crlf(s):
    """A rendered body as it travels in an email: LF line ends become CRLF."""
    return s.replace("\r\n", "\n").replace("\n", "\r\n")


def wm_take(marker):
    """Remove this run's journal entries (body contains marker) and return
    them as full serve events (request and response), oldest first."""
    r = http_json("POST", "%s/__admin/requests/remove" % WIREMOCK, wm_pattern(marker))
    ev = r["serveEvents"]
    ev.sort(key=lambda e: e["request"]["loggedDate"])
    return ev


def own(domain):
    """At exit (pass or fail), delete this run's Mailpit messages (recipients
    in domain, both instances) and forget its WireMock journal entries."""
    import atexit

    def cleanup():
        for api in (MAILPIT_API, MAILPIT_TLS_API):
            try:
                ms = [m for m in mailpit_search(api, 'to:"%s"' % domain)
                      if m["To"] and all(a["Address"].endswith("@" + domain) for a in m["To"])]
                mailpit_delete(api, [m["ID"] for m in ms])
            except Exception as e:  # cleanup must not hide the test's result
                print("# cleanup %s: %s" % (api, e), file=sys.stderr)
        try:
            wm_forget(domain)
        except Exception as e:
            print("# cleanup WireMock: %s" % e, file=sys.stderr)
    atexit.register(cleanup)


# ======================================================================
# Delivery guarantees
# ======================================================================
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


def producer_create_topic(topic, partitions, config=None):
    """Create topic through the stack's producer module (its admin client)."""
    st = producer_stack()
    return P.create_topic(st, topic, partitions, config)


def produce_checked(topic, rows, st=None):
    """Produce rows (AvroSerializer, windowed keys, murmur2 partitioner) to
    an existing topic. Returns the producer's report. st: a producer stack
    to reuse (its registry client remembers the schema id)."""
    st = st or producer_stack()
    args = argparse.Namespace(topic=topic, subject=P.ANOMALY_SUBJECT)
    rep = P.produce_anomalies(st, args, rows)
    check("%d records acknowledged by the broker" % len(rows),
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
        self._st = producer_stack()
        self._t = threading.Thread(target=self._run, daemon=True)
        self._t.start()

    def _run(self):
        try:
            for rows in self._plan:
                rep = produce_checked(self._topic, rows, self._st)
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
        check("producer finished all %d steps" % len(self._plan),
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


def dedup_key_hash(key):
    """Message-ID / SendGrid idempotency_key of a dedup key: the first 32
    hex digits of its HMAC under the tests' hash_key."""
    return keyed_hash(key)[:32]

# ---------------------------------------------------------------- config


def notify_config(topic, group, channel_yaml, connector_extra="", name="it6",
                  subject=SUBJECT_TMPL, to="{{email_address}}", level="info",
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
""" + HASH_KEY_YAML + """channels:
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
""") % (BOOTSTRAP, kafka_extra, SR_URL, TEST_PLUGIN_DIR, channel_yaml,
       name, topic, group, json.dumps(to), json.dumps(subject),
       os.path.join(TEMPLATES, "possible_anomaly.txt"),
       os.path.join(TEMPLATES, "possible_anomaly.html"), notify_extra, connector_extra,
       level)


def start(cfg_text, extra=()):
    """Start `herald run` on cfg_text; returns the Herald (killed at
    exit if still running)."""
    path = write_config(cfg_text)
    h = Herald(path, args=("run",), extra=tuple(extra), env=herald_env())
    _STARTED.append(h)
    return h


def stop(h, what, timeout=60):
    """SIGTERM h and check it exits 0; returns its stderr."""
    t0 = time.time()
    rc, _ = h.stop(signal.SIGTERM, timeout)
    if rc != 0:
        print(h.stderr()[-3000:])
    check_eq("%s: exit code after SIGTERM (%.1f s)" % (what, time.time() - t0), 0, rc)
    return h.stderr()

# ---------------------------------------------------------------- broker


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
                check("herald still running while waiting for commits", False)
        time.sleep(0.5)
    check_eq("committed offsets (timed out after %ss)" % timeout, want, got)

# ---------------------------------------------------------------- Mailpit


def mail(domain, api=MAILPIT_API, expect=None, timeout=60):
    """This run's messages (every recipient in domain): summaries."""
    ms = mailpit_search(api, 'to:"@%s"' % domain, expect=expect, timeout=timeout)
    return [m for m in ms if m["To"] and
            all(a["Address"].endswith("@" + domain) for a in m["To"])]


def mail_count(domain, api=MAILPIT_API):
    """How many messages Mailpit holds for recipients in domain (one
    request, however many there are)."""
    r = http_json("GET", "%s/api/v1/search?query=%s&limit=1" % (
        api, urllib.parse.quote('to:"@%s"' % domain)))
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
    check_eq("%s: messages in Mailpit" % what, len(wins), len(msgs))
    counts = sorted({len(rcpt.get(w[0][2]["email_address"], [])) for w in wins})
    check_eq("%s: messages per window (distinct counts)" % what, [1], counts)
    bad = []
    for w in wins:
        card, start, v, _ = w[0]
        [m] = rcpt[v["email_address"]]
        subject, text, _html = expected_email(v)
        want = {"Subject": subject, "MessageID": message_id(card, start)[1:-1]}
        have = {"Subject": m["Subject"], "MessageID": m["MessageID"]}
        if full:
            want["Text"] = crlf(text)
            have["Text"] = mailpit_message(api, m["ID"])["Text"]
        if want != have:
            bad.append((v["email_address"], want, have))
    if bad:
        print("first mismatch: %r" % (bad[0],))
    check_eq("%s: messages not the first refinement's rendering (n_attempts 3, "
                   "Message-ID of card@start)" % what, 0, len(bad))
    return msgs

# ---------------------------------------------------------------- faults


def service(action, name):
    """Stop, kill, start or restart one service of the shared stack
    (scripts/stack/service.sh); start returns once it answers again."""
    import subprocess
    subprocess.run([os.path.join(REPO, "scripts", "stack", "service.sh"), action, name,
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
        self._c = Consumer({"bootstrap.servers": BOOTSTRAP, "group.id": group,
                            "enable.auto.commit": False, "log_level": 2})
        self._stop = threading.Event()
        self._interval = interval
        self._t = threading.Thread(target=self._run, daemon=True)
        self._t.start()

    def _sample(self):
        try:
            offs = [tp.offset for tp in self._c.committed(self._tps, timeout=5)]
            self.samples.append((time.time(), offs))
        except Exception:
            self.errors += 1

    def _run(self):
        while not self._stop.is_set():
            self._sample()
            self._stop.wait(self._interval)

    def stop(self):
        """Stops the thread, then takes one last sample: the caller has seen
        the final commit, and a sample between it and stop() is not
        guaranteed by the interval alone."""
        self._stop.set()
        self._t.join(30)
        self._sample()
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
    check("%s: commit samples watched the offsets move (%d positions)" % (what, len(moved)),
                len(moved) >= partitions)
    check_eq("%s: samples with an offset committed past an undelivered record (first 5)"
                   % what, [], bad[:5])
