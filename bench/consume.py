#!/usr/bin/env python3
"""Consume benchmark: herald (null sink) against kcat and Kafka Connect.

1. Produces COUNT possible_anomalies records into a new Avro topic of PARTS
   partitions on the stack's broker, and the same records as JSON text into
   a second topic (TOPIC-json). To be fast, 64 distinct values are
   serialized once by confluent-kafka's AvroSerializer (the schema ksqlDB
   registers) and their bytes reused; every record gets its own windowed key
   (card number + 8-byte window start, as ksqlDB writes it). The JSON value
   is the Avro value as herald renders it (decimal as an exact string).
2. On each topic, one after the other:
   - kcat -C -e -q -o beginning reads it raw (no group, no decoding);
   - herald run -n COUNT with the null sink walking every field
     (null_walk: every node of key and value read through the host API,
     fields, string bytes and the integer sum logged at close), a fresh
     group, value format avro or json; the walk's totals must equal the
     ones computed here from the produced data, or the bench fails;
   - Apache Kafka Connect standalone (scripts/stack/connect-deps.sh),
     FileStreamSinkConnector, tasks.max=1, a fresh group, -Xmx256m: Avro
     through Apicurio's converter (Confluent framing, 4-byte content ids,
     the registry's v2 API), JSON through JsonConverter without schemas.
     Its file is a FIFO this script drains (the same as /dev/null, but the
     first byte tells when the first record was written); kcat's stdout is
     a pipe drained the same way.

What is measured, per consumer:
- whole run: from process start until the group's committed offsets reach
  COUNT (kcat: until it exits);
- steady state: between the first poll that sees a committed offset and
  the last one before the end (kcat: first to last byte of its output),
  records/s and CPU s per million records over that span;
- CPU: utime+stime of the process from /proc/PID/stat; peak RSS: VmHWM;
- time to first record: herald's null sink logs it; Connect's first byte
  in the FIFO; kcat's first byte on stdout;
- herald's allocations per record in steady state: a second herald run
  with the LD_PRELOAD counter bench/malloc_count.c (built here with cc;
  the first run, which gives every other figure, goes without it); calls
  to malloc/calloc/realloc/aligned forms between the two steady-state
  polls, divided by the records committed between them. Every thread
  counts (librdkafka's too); a note line gives the share of herald's loop
  thread (the main thread), where all of herald's per-record work runs.

Prints a table, a `peers ...` line (herald against Connect) and, last,
`consume ratio=<herald/kcat, Avro, whole run> rss_mb=<herald peak, Avro>`.
Env: KAFKA_BOOTSTRAP, SR_URL, SR_BASE (the stack's env.sh), HERALD_BIN,
CONNECT_LIBS (Connect's jars; empty: no Connect runs), BENCH_COUNT
(1000000), BENCH_PARTS (8), BENCH_KAFKA (extra librdkafka settings for
herald's `kafka:` block as YAML flow-map entries), BENCH_TOPIC (reuse this
Avro topic and its -json copy, made by an earlier run with the same COUNT),
BENCH_MALLOC (1: a second, counted herald run for allocations; 0: none),
BENCH_SINK (null_walk; `null` to measure what the walk costs, unchecked),
BENCH_ONLY (the consumers to run, of "kcat herald connect"), NULL_WALK_SO.
"""

import atexit
import datetime
import faulthandler
import importlib.util
import json
import os
import re
import signal
import struct
import subprocess
import sys
import tempfile
import threading
import time

from confluent_kafka import Consumer, KafkaError, KafkaException, Producer, TopicPartition
from confluent_kafka.admin import AdminClient, NewTopic

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.dirname(HERE)
BS = os.environ.get("KAFKA_BOOTSTRAP", "127.0.0.1:39092")
SR = os.environ["SR_URL"]
SR_BASE = os.environ.get("SR_BASE", SR.split("/apis/")[0])
HERALD = os.environ.get("HERALD_BIN", os.path.join(REPO, "build", "herald"))
# The walking null sink (plugins/null/null_walk.c), built beside herald but
# not among its installed plugins: named by path.
NULL_WALK = os.environ.get("NULL_WALK_SO", os.path.join(
    os.path.dirname(os.path.abspath(HERALD)), "bench-plugins", "null_walk.so"))
CONNECT_LIBS = os.environ.get("CONNECT_LIBS", "")
JAVA = os.environ.get("KAFKA_JAVA", "java")
COUNT = int(os.environ.get("BENCH_COUNT", "1000000"))
PARTS = int(os.environ.get("BENCH_PARTS", "8"))
EXTRA_KAFKA = os.environ.get("BENCH_KAFKA", "")
MALLOC = os.environ.get("BENCH_MALLOC", "1") == "1"
# BENCH_SINK=null: herald with the plain null sink (no walk, no check), to
# measure what the walk costs. BENCH_ONLY: the consumers to run, a subset
# of "kcat herald connect".
SINK = os.environ.get("BENCH_SINK", "null_walk")
ONLY = os.environ.get("BENCH_ONLY", "kcat herald connect").split()
TICK = os.sysconf("SC_CLK_TCK")
POLL_S = 0.1          # committed-offset and /proc polling period
COMMIT_MS = 250  # herald's commit_interval and Connect's
                 # offset.flush.interval.ms, alike: at 500,000 records/s a
                 # run lasts 2 s, and the steady span needs two commits
                 # strictly inside it
RUN_TIMEOUT_S = 600
BASE_MS = 1587525570000
N_VALUES = 64
MC_THREADS, MC_LINE, MC_SLOTS = 64, 64, 4  # bench/malloc_count.c's file

spec = importlib.util.spec_from_file_location(
    "stack_producer", os.path.join(REPO, "tests", "stack", "producer.py"))
sp = importlib.util.module_from_spec(spec)
spec.loader.exec_module(sp)


def source_values():
    """The 64 distinct values (dicts with a Decimal amount)."""
    return [sp.anomaly_value("4%015d" % (i * 7919), "user%d@example.com" % i, 3 + i % 4,
                             sp.decimal.Decimal("%d.%02d" % (100 + i, i)),
                             ["%08x-0000-4000-8000-%012d" % (i, j) for j in range(3 + i % 4)],
                             BASE_MS + i * 30000)
            for i in range(N_VALUES)]


def record_key(i):
    return (("4%015d" % (i * 7919)).encode()
            + (BASE_MS + (i % N_VALUES) * 30000).to_bytes(8, "big"))


def expected_walk():
    """What the null sink's walk must report for COUNT records: every node
    of the key (the card number string) and of the value (the record, its
    7 fields, each tx_ids item), string bytes as herald renders them
    (decimal exactly, "100.00"), the sum of the integers plus each key's
    window start and end, modulo 2^64."""
    fields = sbytes = isum = 0
    vals = [sp.jsonable(v) for v in source_values()]
    for i in range(N_VALUES):
        n = COUNT // N_VALUES + (1 if i < COUNT % N_VALUES else 0)
        v = vals[i]
        # The key, its window's start and end (window_size 30 s).
        f, b, s = 1, 16, 2 * (BASE_MS + i * 30000) + 30000
        f += 1 + len(v)
        for x in v.values():
            if isinstance(x, str):
                b += len(x.encode())
            elif isinstance(x, int):
                s += x
            elif isinstance(x, list):
                f += len(x)
                b += sum(len(t.encode()) for t in x)
        fields, sbytes, isum = fields + n * f, sbytes + n * b, isum + n * s
    return {"records": COUNT, "fields": fields, "string_bytes": sbytes,
            "int_sum": isum % (1 << 64)}


def produce(topic, jtopic):
    admin = AdminClient({"bootstrap.servers": BS})
    for f in admin.create_topics([NewTopic(topic, PARTS, 1),
                                  NewTopic(jtopic, PARTS, 1)]).values():
        f.result(30)

    class A:
        bootstrap, registry = BS, SR
    st = sp.Stack(A())
    ser = st.serializer(sp.POSSIBLE_ANOMALY_SCHEMA, topic + "-value")
    ctx = sp.SerializationContext(topic, sp.MessageField.VALUE)
    src = source_values()
    values = [ser(v, ctx) for v in src]
    jvalues = [json.dumps(sp.jsonable(v), separators=(",", ":")).encode() for v in src]
    p = Producer({"bootstrap.servers": BS, "linger.ms": 50, "batch.size": 1000000,
                  "queue.buffering.max.messages": 2000000,
                  "queue.buffering.max.kbytes": 2000000, "acks": 1})
    t0 = time.time()
    for i in range(COUNT):
        key = record_key(i)
        for t, v in ((topic, values[i % N_VALUES]), (jtopic, jvalues[i % N_VALUES])):
            while True:
                try:
                    p.produce(t, key=key, value=v, partition=i % PARTS)
                    break
                except BufferError:
                    p.poll(0.05)
        if i % 10000 == 0:
            p.poll(0)
    left = p.flush(120)
    if left:
        sys.exit("%d records not delivered" % left)
    print("# produced %d records into %s (Avro, %d bytes of value avg) and %s (JSON, "
          "%d bytes avg), %d partitions each, in %.1f s"
          % (COUNT, topic, sum(map(len, values)) // N_VALUES, jtopic,
             sum(map(len, jvalues)) // N_VALUES, PARTS, time.time() - t0), flush=True)


def proc_sample(pid):
    """(cpu seconds, peak RSS kB) of pid, or None once it is gone."""
    try:
        with open("/proc/%d/stat" % pid) as f:
            st = f.read().rsplit(")", 1)[1].split()
        cpu = (int(st[11]) + int(st[12])) / TICK
        with open("/proc/%d/status" % pid) as f:
            hwm = int(re.search(r"VmHWM:\s+(\d+)", f.read()).group(1))
        return cpu, hwm
    except (OSError, AttributeError, ValueError):
        return None


def malloc_count(path):
    """Allocations counted so far by bench/malloc_count.c: (every thread,
    the main thread), or None. The main thread, herald's loop, is the
    first to allocate, so its counts are block 0; librdkafka's threads
    come after it."""
    try:
        with open(path, "rb") as f:
            d = f.read()
    except OSError:
        return None
    if len(d) < MC_THREADS * MC_LINE:
        return None
    return (sum(struct.unpack_from("<Q", d, b * MC_LINE)[0] for b in range(MC_THREADS)),
            struct.unpack_from("<Q", d, 0)[0])


class Committed:
    """Polls a group's committed offsets on one topic (sum over partitions).

    Through a consumer that carries the group's id and never joins it: the
    admin client's list_consumer_group_offsets can crash the process (a
    NULL group handle in librdkafka's OffsetFetch reply when the broker
    answers NOT_COORDINATOR, as a fresh cluster does while it creates
    __consumer_offsets); a consumer has its group handle."""

    def __init__(self):
        self.consumers = {}

    def total(self, group, topic):
        c = self.consumers.get(group)
        if c is None:
            c = self.consumers[group] = Consumer({
                "bootstrap.servers": BS, "group.id": group,
                "enable.auto.commit": False})
        try:
            tps = c.committed([TopicPartition(topic, p) for p in range(PARTS)], timeout=5)
        except Exception:  # not answered yet: nothing committed as far as we know
            return 0
        return sum(tp.offset for tp in tps if tp.offset > 0)

    def close(self):
        for c in self.consumers.values():
            c.close()
        self.consumers = {}


class Drain:
    """Reads a pipe or FIFO to its end in a thread; notes first and last
    byte times."""

    def __init__(self, opener):
        self.first = self.last = None
        self.nbytes = 0
        self.t = threading.Thread(target=self.run, args=(opener,), daemon=True)
        self.t.start()

    def run(self, opener):
        f = opener()
        while True:
            b = f.read1(1 << 20) if hasattr(f, "read1") else f.read(1 << 20)
            if not b:
                break
            now = time.time()
            if self.first is None:
                self.first = now
            self.last = now
            self.nbytes += len(b)
        f.close()


class Result:
    def __init__(self, name, topic):
        self.name, self.topic = name, topic
        self.wall = self.cpu = self.rss_kb = self.first = float("nan")
        self.steady_rate = self.steady_cpu = self.allocs = float("nan")
        self.allocs_loop = float("nan")
        self.note = ""


def run_group_consumer(name, topic, group, cmd, env, log, first_record,
                       mc_path=None, exits=False):
    """Runs a consumer that commits into `group`; samples it until the
    group's committed offsets on topic reach COUNT. first_record(t0) ->
    epoch seconds of its first record, or None. Returns a Result."""
    res = Result(name, topic)
    com = Committed()
    t0 = time.time()
    pr = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=open(log, "w"), env=env,
                          start_new_session=True)
    # Its own session, so a ^C here does not reach it: stop it on any exit.
    atexit.register(stop, pr)
    samples = []  # (t, committed, cpu, mallocs)
    last = None
    t_end = None
    while time.time() - t0 < RUN_TIMEOUT_S:
        s = proc_sample(pr.pid)
        alive = pr.poll() is None
        if s and alive:
            last = s
        c = com.total(group, topic)
        now = time.time()
        samples.append((now, c, last[0] if last else 0.0,
                        malloc_count(mc_path) if mc_path else None))
        if c >= COUNT:
            t_end = now
            break
        if not alive and not exits:
            break
        if not alive and now - t0 > RUN_TIMEOUT_S / 10 and c == 0:
            break
        time.sleep(POLL_S)
    com.close()
    if t_end is None:
        tail = open(log).read()[-3000:]
        stop(pr)
        sys.exit("%s on %s: committed %d of %d records before giving up; log tail:\n%s"
                 % (name, topic, samples[-1][1] if samples else 0, COUNT, tail))
    if exits:
        try:
            pr.wait(30)
        except subprocess.TimeoutExpired:
            res.note = "did not exit by itself after -n (killed)"
    stop(pr)
    res.wall = t_end - t0
    res.cpu, res.rss_kb = last
    ft = first_record(t0)
    res.first = ft - t0 if ft else float("nan")
    inside = [x for x in samples if 0 < x[1] < COUNT]
    if len(inside) >= 2 and inside[-1][1] > inside[0][1]:
        a, b = inside[0], inside[-1]
        n = b[1] - a[1]
        res.steady_rate = n / (b[0] - a[0])
        res.steady_cpu = (b[2] - a[2]) * 1e6 / n
        if a[3] is not None and b[3] is not None:
            res.allocs = (b[3][0] - a[3][0]) / n
            res.allocs_loop = (b[3][1] - a[3][1]) / n
        res.steady_span = (a[1], b[1], b[0] - a[0])
    return res


def stop(pr):
    if pr.poll() is None:
        try:
            os.killpg(pr.pid, signal.SIGTERM)
            pr.wait(20)
        except (subprocess.TimeoutExpired, ProcessLookupError):
            try:
                os.killpg(pr.pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
            pr.wait()


def run_kcat(topic, work):
    res = Result("kcat -C -e -q (raw, no group)", topic)
    tf = os.path.join(work, "kcat.time")
    t0 = time.time()
    pr = subprocess.Popen(["/usr/bin/time", "-v", "-o", tf, "kcat", "-C", "-b", BS,
                           "-t", topic, "-e", "-q", "-o", "beginning"],
                          stdout=subprocess.PIPE)
    d = Drain(lambda: pr.stdout)
    pr.wait()
    d.t.join()
    res.wall = time.time() - t0
    if pr.returncode != 0:
        sys.exit("kcat failed on %s" % topic)
    tv = open(tf).read()
    res.cpu = (float(re.search(r"User time \(seconds\): ([\d.]+)", tv).group(1)) +
               float(re.search(r"System time \(seconds\): ([\d.]+)", tv).group(1)))
    res.rss_kb = int(re.search(r"Maximum resident set size \(kbytes\): (\d+)", tv).group(1))
    if d.first is not None:
        res.first = d.first - t0
        if d.last > d.first:
            res.steady_rate = COUNT / (d.last - d.first)
    return res


def log_epoch(text, pattern):
    """Epoch seconds of the first herald log line matching pattern."""
    m = re.search(r"ts=(\S+)Z [^\n]*" + pattern, text)
    if not m:
        return None
    return datetime.datetime.fromisoformat(m.group(1)).replace(
        tzinfo=datetime.timezone.utc).timestamp()


def write(path, text):
    with open(path, "w") as f:
        f.write(text)
    return path


def herald_once(topic, fmt, work, want, counted):
    """One herald run with a fresh group; counted: under the allocation
    counter. Checks the walk's totals. Returns a Result."""
    tag = "herald-%s%s" % (fmt, "-counted" if counted else "")
    group = "%s-%s-%d-%d" % (topic, tag, os.getpid(), int(time.time()))
    cfg = write(os.path.join(work, tag + ".yaml"), """\
kafka: {{ bootstrap.servers: "{bs}"{extra} }}
schema_registry: {{ url: "{sr}" }}
log: {{ level: info }}
connectors:
  - name: bench
    group_id: {g}
    topics: [{t}]
    commit_interval: {cms}ms
    key: {{ format: string, window: tumbling, window_size: 30s }}
    value: {{ format: {fmt} }}
    sink: {{ plugin: "{sink}" }}
""".format(bs=BS, sr=SR, t=topic, g=group, fmt=fmt, cms=COMMIT_MS,
           sink=NULL_WALK if SINK == "null_walk" else SINK,
           extra=(", " + EXTRA_KAFKA) if EXTRA_KAFKA else ""))
    log = os.path.join(work, tag + ".log")
    env = dict(os.environ)
    mc = None
    if counted:
        mc = os.path.join(work, tag + ".malloc")
        env["HERALD_MALLOC_COUNT"] = mc
        env["LD_PRELOAD"] = os.path.join(work, "malloc_count.so")
    res = run_group_consumer(
        "herald run -n, %s sink (%s)" % (SINK, fmt), topic, group,
        [HERALD, "run", "-c", cfg, "-n", str(COUNT)], env, log,
        lambda t0: log_epoch(open(log).read(), r"null_walk: first record"), mc, exits=True)
    if SINK != "null_walk":
        res.note = "fields not walked (BENCH_SINK=%s)" % SINK
        return res
    text = open(log).read()
    m = re.search(r"null_walk: walked ([^\"]*)", text)
    if not m:
        sys.exit("%s: no walk totals in its log (did it close its sink?):\n%s"
                 % (tag, text[-3000:]))
    got = dict(kv.split("=") for kv in m.group(1).split())
    print("# %s walked: %s" % (tag, m.group(1)))
    bad = ["%s %s (expected %s)" % (k, got.get(k), v) for k, v in want.items()
           if int(got.get(k, -1)) != v]
    if int(got.get("errors", 1)) != 0:
        bad.append("errors %s" % got.get("errors"))
    if bad:
        sys.exit("%s: the null sink's walk does not match the produced data: %s"
                 % (tag, "; ".join(bad)))
    return res


def run_herald(topic, fmt, work, want):
    """herald's figures come from a run without the allocation counter
    (under callgrind it adds about 3,000 of herald's 30,700 instructions
    per Avro record); allocations per record from a second, counted run."""
    res = herald_once(topic, fmt, work, want, False)
    if MALLOC:
        counted = herald_once(topic, fmt, work, want, True)
        res.allocs = counted.allocs
        res.note = ("allocations from a second run under the counter (its steady "
                    "state: %.0f records/s, %.2f CPU s/1M); of the %.2f per record, "
                    "%.2f on herald's loop thread, the rest on librdkafka's"
                    % (counted.steady_rate, counted.steady_cpu, counted.allocs,
                       counted.allocs_loop))
    return res


def run_connect(topic, kind, work):
    tag = "connect-%s" % kind
    name = "%s-%s-%d-%d" % (topic, tag, os.getpid(), int(time.time()))
    group = "connect-" + name
    fifo = os.path.join(work, tag + ".fifo")
    os.mkfifo(fifo)
    log = os.path.join(work, tag + ".log")
    l4j = write(os.path.join(work, tag + "-log4j2.properties"),
                "status = warn\n"
                "appender.f.type = File\nappender.f.name = F\nappender.f.fileName = %s\n"
                "appender.f.layout.type = PatternLayout\n"
                "appender.f.layout.pattern = [%%d] %%p %%m (%%c)%%n\n"
                "rootLogger.level = INFO\nrootLogger.appenderRef.f.ref = F\n" % log)
    if kind == "avro":
        conv = ("value.converter=io.apicurio.registry.utils.converter.AvroConverter\n"
                "value.converter.apicurio.registry.url=%s/apis/registry/v2\n"
                "value.converter.apicurio.registry.as-confluent=true\n"
                "value.converter.apicurio.registry.use-id=contentId\n"
                "value.converter.apicurio.registry.id-handler="
                "io.apicurio.registry.serde.Legacy4ByteIdHandler\n"
                "value.converter.apicurio.registry.headers.enabled=false\n" % SR_BASE)
    else:
        conv = ("value.converter=org.apache.kafka.connect.json.JsonConverter\n"
                "value.converter.schemas.enable=false\n")
    # The REST listener on a port the kernel picks: nothing here uses it.
    worker = write(os.path.join(work, tag + "-worker.properties"),
                   "bootstrap.servers=%s\n"
                   "key.converter=org.apache.kafka.connect.converters.ByteArrayConverter\n"
                   "%s"
                   "offset.storage.file.filename=%s\n"
                   "offset.flush.interval.ms=%d\n"
                   "listeners=http://127.0.0.1:0\n"
                   % (BS, conv, os.path.join(work, tag + ".offsets"), COMMIT_MS))
    sink = write(os.path.join(work, tag + "-sink.properties"),
                 "name=%s\n"
                 "connector.class=org.apache.kafka.connect.file.FileStreamSinkConnector\n"
                 "tasks.max=1\ntopics=%s\nfile=%s\n" % (name, topic, fifo))
    drain = Drain(lambda: open(fifo, "rb"))
    res = run_group_consumer(
        "Kafka Connect 4.2 standalone, FileStreamSink (%s)" % (
            "Apicurio AvroConverter" if kind == "avro" else "JsonConverter"),
        topic, group,
        [JAVA, "-Xmx256m", "-Dlog4j2.configurationFile=" + l4j, "-cp",
         os.path.join(CONNECT_LIBS, "*"), "org.apache.kafka.connect.cli.ConnectStandalone",
         worker, sink], dict(os.environ), log + ".stderr",
        lambda t0: drain.first)
    return res


def row(r):
    def f(x, fmt):
        return "n/a" if x != x else fmt % x
    return "| %s | %s | %s | %s | %s | %s | %s | %s | %s | %s |" % (
        r.name, "json" if r.topic.endswith("-json") else "avro",
        f(r.wall, "%.2f"), f(COUNT / r.wall, "%.0f"), f(r.steady_rate, "%.0f"),
        f(r.cpu * 1e6 / COUNT, "%.2f"), f(r.steady_cpu, "%.2f"),
        f(r.rss_kb / 1024, "%.1f"), f(r.first, "%.2f"), f(r.allocs, "%.1f"))


def warm_stack(topic):
    """Before anything is timed, do once what only the first consumer of a
    fresh stack would pay for: the broker creates __consumer_offsets on the
    first group coordinator lookup (1.03 s measured on this stack, against
    0.07 s for the next group), which herald, the first consumer with a
    group, was charged as time to its first record (1.24 s on Avro against
    0.16 s on JSON, run second); and the registry is asked for the topic's
    schema by id, as herald and Connect's converter do (0.1 s the first
    time)."""
    import json
    import urllib.request
    c = Consumer({"bootstrap.servers": BS, "group.id": "bench-warm-%d" % os.getpid(),
                  "enable.auto.commit": False, "log_level": 2})
    deadline = time.time() + 60
    try:
        while True:
            # On a fresh broker the first lookups answer NOT_COORDINATOR
            # (or COORDINATOR_LOAD_IN_PROGRESS) while the topic is created.
            try:
                c.committed([TopicPartition(topic, 0)], timeout=60)
                break
            except KafkaException as e:
                if time.time() > deadline or e.args[0].code() not in (
                        KafkaError.NOT_COORDINATOR,
                        KafkaError.COORDINATOR_LOAD_IN_PROGRESS,
                        KafkaError.COORDINATOR_NOT_AVAILABLE):
                    raise
                time.sleep(0.2)
    finally:
        c.close()
    url = "%s/subjects/%s-value/versions/latest" % (SR, topic)
    with urllib.request.urlopen(url, timeout=30) as r:
        sid = json.load(r)["id"]
    with urllib.request.urlopen("%s/schemas/ids/%d" % (SR, sid), timeout=30) as r:
        r.read()


def main():
    faulthandler.enable()  # a crash in a C extension shows where it was
    topic = os.environ.get("BENCH_TOPIC", "")
    if not topic:
        topic = "bench-consume-%d-%d" % (os.getpid(), int(time.time()))
        produce(topic, topic + "-json")
    jtopic = topic + "-json"
    print("# topics %s, %s; load average before: %s" % (
        topic, jtopic, " ".join(open("/proc/loadavg").read().split()[:3])), flush=True)
    want = expected_walk()
    warm_stack(topic)
    work = tempfile.mkdtemp(prefix="herald-bench-")
    if MALLOC:
        subprocess.run(["cc", "-O2", "-shared", "-fPIC", "-o",
                        os.path.join(work, "malloc_count.so"),
                        os.path.join(HERE, "malloc_count.c")], check=True)
    results = []
    runs = {}
    for t, fmt in ((topic, "avro"), (jtopic, "json")):
        for who in ("kcat", "herald", "connect"):
            if who not in ONLY or (who == "connect" and not CONNECT_LIBS):
                continue
            r = (run_kcat(t, work) if who == "kcat" else run_herald(t, fmt, work, want)
                 if who == "herald" else run_connect(t, fmt, work))
            runs[who, fmt] = r
            results.append(r)
            print("# " + row(r), flush=True)
    print("")
    print("# %d records, %d partitions; load average after: %s" % (
        COUNT, PARTS, " ".join(open("/proc/loadavg").read().split()[:3])))
    if EXTRA_KAFKA:
        print("# herald kafka: %s" % EXTRA_KAFKA)
    print("| consumer | topic | wall s | records/s run | records/s steady | CPU s/1M run "
          "| CPU s/1M steady | peak RSS MB | first record s | allocs/record steady |")
    print("| --- | --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |")
    for r in results:
        print(row(r))
    print("")
    for r in results:
        if r.note:
            print("# %s on %s: %s" % (r.name, r.topic, r.note))
        if hasattr(r, "steady_span"):
            a, b, dt = r.steady_span
            print("# %s on %s: steady from committed %d to %d in %.2f s"
                  % (r.name, r.topic, a, b, dt))
    nan = Result("", "")
    h, hj = runs.get(("herald", "avro"), nan), runs.get(("herald", "json"), nan)
    ca, cj = runs.get(("connect", "avro"), nan), runs.get(("connect", "json"), nan)
    k = runs.get(("kcat", "avro"), nan)
    print("peers avro_steady_x=%.2f json_steady_x=%.2f avro_rss_frac=%.3f "
          "json_rss_frac=%.3f (herald/Connect)"
          % (h.steady_rate / ca.steady_rate, hj.steady_rate / cj.steady_rate,
             h.rss_kb / ca.rss_kb, hj.rss_kb / cj.rss_kb))
    print("consume ratio=%.2f rss_mb=%.1f" % (k.wall / h.wall, h.rss_kb / 1024))


if __name__ == "__main__":
    main()
