"""Shared helpers for herald's Python integration tests.

Tests run through run_py.sh, which loads the stack's env.sh (KAFKA_BOOTSTRAP,
SR_URL, MAILPIT_*, WIREMOCK_URL, PRISM_URL, ...) and the stack's venv. The
herald binary and plugin directories come from ctest's environment
(HERALD_BIN, HERALD_PLUGIN_DIR, HERALD_TEST_PLUGIN_DIR).

Every test uses names unique to its run (topics, groups, recipients), so
tests share one stack and never see each other's data.
"""

import atexit
import json
import os
import signal
import subprocess
import sys
import tempfile
import time
import uuid

from confluent_kafka import Consumer, KafkaError, KafkaException, TopicPartition
from confluent_kafka.admin import AdminClient, NewTopic

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
