"""Helpers for the consume-path integration tests (it4_*.py, issue 4).

Records are produced with the stack's producer (tests/stack/producer.py:
confluent-kafka's SchemaRegistryClient + AvroSerializer), imported here as
a module so tests can build exactly the rows they need (windowed keys, nulls
in tx_ids, many records) and keep the delivery report of each one.
"""

import decimal
import importlib.util
import json
import os
import signal
import socket
import struct
import subprocess
import sys
import threading
import time

import pylib
from confluent_kafka import Producer

_spec = importlib.util.spec_from_file_location("stack_producer", pylib.PRODUCER)
sp = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(sp)

SCHEMA = sp.POSSIBLE_ANOMALY_SCHEMA
WINDOW_MS = sp.WINDOW_MS


class _Args:
    def __init__(self, registry=None):
        self.bootstrap = pylib.BOOTSTRAP
        self.registry = registry or pylib.SR_URL


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
        c = {"bootstrap.servers": pylib.BOOTSTRAP, "linger.ms": 20,
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
        pylib.check("all %d records acknowledged by the broker" % len(self.reports),
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
{sink_extra}""".format(bs=pylib.BOOTSTRAP, sr=registry or pylib.SR_URL,
                       pp=pylib.TEST_PLUGIN_DIR, name=name, group=group,
                       topic=topic, key=key, vf=value_format,
                       extra=extra_connector, log=log_file, script=script,
                       sink_extra=sink_extra, hk=pylib.HASH_KEY)


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
            pylib.check("%s: committed %d on partition %d covers only final "
                        "records" % (what, c, p), False,
                        "(offsets %s not final)" % missing[:10])
    return True


def tail(config, connector, n, timeout=90):
    """`herald tail`: the first n decoded records, as parsed JSON lines.
    Stops herald with SIGTERM once n lines are out (not with -n, which
    it4_stop_after.py tests on its own)."""
    h = pylib.Herald(config, args=("tail",), extra=(connector,))
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
    pylib.check_eq("herald tail exit code after SIGTERM", 0, rc)
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
