#!/usr/bin/env python3
"""Consume benchmark: herald (null sink) against kcat on the same topic.

1. Produces COUNT possible_anomalies records into a new topic of PARTS
   partitions on the stack's broker. To be fast, 64 distinct values are
   serialized once by confluent-kafka's AvroSerializer (the schema ksqlDB
   registers) and their bytes reused; every record gets its own windowed key
   (card number + 8-byte window start, as ksqlDB writes it).
2. kcat -C -e -q -o beginning reads the topic raw to /dev/null.
3. herald run -n COUNT with `sink: {plugin: null}` reads, decodes (Avro and
   windowed keys) and delivers every record, with a fresh group.
Both under the same conditions, one after the other. CPU time and peak RSS
come from /proc/PID (utime+stime, VmHWM) sampled until the process ends;
herald's end is the moment it logs that it is stopping (its N-th record is
final), so a slow exit does not count.

Prints a table and, last, `consume ratio=<herald/kcat> rss_mb=<herald peak>`.
Env: KAFKA_BOOTSTRAP, SR_URL (the stack's env.sh), HERALD_BIN,
BENCH_COUNT (1000000), BENCH_PARTS (8), BENCH_KAFKA (extra librdkafka
settings for herald's `kafka:` block as YAML flow-map entries, e.g.
'fetch.queue.backoff.ms: 5, queued.max.messages.kbytes: 2048', to measure a
prefetch setting against herald's defaults), BENCH_TOPIC (reuse this
topic, made by an earlier run with the same COUNT, instead of producing a
new one; herald's group is always new).
"""

import importlib.util
import os
import re
import subprocess
import sys
import tempfile
import time

from confluent_kafka import Producer
from confluent_kafka.admin import AdminClient, NewTopic

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.dirname(HERE)
BS = os.environ.get("KAFKA_BOOTSTRAP", "127.0.0.1:39092")
SR = os.environ["SR_URL"]
HERALD = os.environ.get("HERALD_BIN", os.path.join(REPO, "build", "herald"))
COUNT = int(os.environ.get("BENCH_COUNT", "1000000"))
PARTS = int(os.environ.get("BENCH_PARTS", "8"))
EXTRA_KAFKA = os.environ.get("BENCH_KAFKA", "")
TICK = os.sysconf("SC_CLK_TCK")

spec = importlib.util.spec_from_file_location(
    "stack_producer", os.path.join(REPO, "tests", "stack", "producer.py"))
sp = importlib.util.module_from_spec(spec)
spec.loader.exec_module(sp)


def produce(topic):
    admin = AdminClient({"bootstrap.servers": BS})
    for f in admin.create_topics([NewTopic(topic, PARTS, 1)]).values():
        f.result(30)

    class A:
        bootstrap, registry = BS, SR
    st = sp.Stack(A())
    ser = st.serializer(sp.POSSIBLE_ANOMALY_SCHEMA, topic + "-value")
    ctx = sp.SerializationContext(topic, sp.MessageField.VALUE)
    base = 1587525570000
    values = []
    for i in range(64):
        v = sp.anomaly_value("4%015d" % (i * 7919), "user%d@example.com" % i, 3 + i % 4,
                             sp.decimal.Decimal("%d.%02d" % (100 + i, i)),
                             ["%08x-0000-4000-8000-%012d" % (i, j) for j in range(3 + i % 4)],
                             base + i * 30000)
        values.append(ser(v, ctx))
    p = Producer({"bootstrap.servers": BS, "linger.ms": 50, "batch.size": 1000000,
                  "queue.buffering.max.messages": 2000000,
                  "queue.buffering.max.kbytes": 2000000, "acks": 1})
    t0 = time.time()
    for i in range(COUNT):
        key = ("4%015d" % (i * 7919)).encode() + (base + (i % 64) * 30000).to_bytes(8, "big")
        while True:
            try:
                p.produce(topic, key=key, value=values[i % 64], partition=i % PARTS)
                break
            except BufferError:
                p.poll(0.05)
        if i % 10000 == 0:
            p.poll(0)
    left = p.flush(120)
    if left:
        sys.exit("%d records not delivered" % left)
    dt = time.time() - t0
    print("# produced %d records (%d bytes of value each, avg) into %s/%d partitions "
          "in %.1f s" % (COUNT, sum(map(len, values)) // 64, topic, PARTS, dt), flush=True)


def proc_sample(pid):
    """(cpu seconds, peak RSS kB) of pid, or None once it is gone."""
    try:
        with open("/proc/%d/stat" % pid) as f:
            st = f.read().rsplit(")", 1)[1].split()
        cpu = (int(st[11]) + int(st[12])) / TICK
        with open("/proc/%d/status" % pid) as f:
            hwm = int(re.search(r"VmHWM:\s+(\d+)", f.read()).group(1))
        return cpu, hwm
    except (OSError, AttributeError):
        return None


def measure(cmd, done=None, log=None):
    """Runs cmd; returns (wall s, cpu s, peak RSS kB, exited normally).
    done(log text) -> True marks the end of the work (herald)."""
    t0 = time.time()
    errf = open(log, "w") if log else subprocess.DEVNULL
    pr = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=errf)
    last = (0.0, 0)
    end = None
    while True:
        s = proc_sample(pr.pid)
        if s and pr.poll() is None:
            last = s
        if pr.poll() is not None:
            break
        if done and end is None and done(open(log).read()):
            end = time.time()
            s = proc_sample(pr.pid)
            last = s or last
            try:
                pr.wait(10)
            except subprocess.TimeoutExpired:
                pr.kill()  # see the report: run -n may not exit by itself
                pr.wait()
                return end - t0, last[0], last[1], False
            break
        time.sleep(0.02)
    wall = (end or time.time()) - t0
    # Children's totals are exact once the process is reaped.
    return wall, last[0], last[1], pr.returncode == 0


def main():
    topic = os.environ.get("BENCH_TOPIC", "")
    if not topic:
        topic = "bench-consume-%d-%d" % (os.getpid(), int(time.time()))
        produce(topic)
    print("# topic %s" % topic)
    group = "%s-g-%d-%d" % (topic, os.getpid(), int(time.time()))
    work = tempfile.mkdtemp(prefix="herald-bench-")

    # kcat: raw consumer, no group. /usr/bin/time gives exact CPU and RSS.
    tf = os.path.join(work, "kcat.time")
    t0 = time.time()
    subprocess.run(["/usr/bin/time", "-v", "-o", tf, "kcat", "-C", "-b", BS, "-t", topic,
                    "-e", "-q", "-o", "beginning"], stdout=subprocess.DEVNULL, check=True)
    k_wall = time.time() - t0
    tv = open(tf).read()
    k_cpu = (float(re.search(r"User time \(seconds\): ([\d.]+)", tv).group(1)) +
             float(re.search(r"System time \(seconds\): ([\d.]+)", tv).group(1)))
    k_rss = int(re.search(r"Maximum resident set size \(kbytes\): (\d+)", tv).group(1))

    cfg = os.path.join(work, "herald.yaml")
    with open(cfg, "w") as f:
        f.write("""\
kafka: {{ bootstrap.servers: "{bs}"{extra} }}
schema_registry: {{ url: "{sr}" }}
log: {{ level: info }}
connectors:
  - name: bench
    group_id: {g}
    topics: [{t}]
    key: {{ format: string, window: tumbling, window_size: 30s }}
    value: {{ format: avro }}
    sink: {{ plugin: null }}
""".format(bs=BS, sr=SR, t=topic, g=group,
           extra=(", " + EXTRA_KAFKA) if EXTRA_KAFKA else ""))
    hlog = os.path.join(work, "herald.log")
    h_wall, h_cpu, h_rss, h_exit = measure(
        [HERALD, "run", "-c", cfg, "-n", str(COUNT)],
        done=lambda s: "stopping" in s, log=hlog)
    text = open(hlog).read()
    ts = {m.group(2): m.group(1) for m in re.finditer(
        r"ts=\S+T(\d\d:\d\d:[\d.]+)Z .*msg=\"(assigned|stopping)", text)}

    def secs(hms):
        h, m, s = hms.split(":")
        return int(h) * 3600 + int(m) * 60 + float(s)
    h_steady = (secs(ts["stopping"]) - secs(ts["assigned"])
                if "stopping" in ts and "assigned" in ts else float("nan"))

    rate_k, rate_h = COUNT / k_wall, COUNT / h_wall
    per_m = 1e6 / COUNT
    print("")
    if EXTRA_KAFKA:
        print("# herald kafka: %s" % EXTRA_KAFKA)
    print("| consumer | wall s | records/s | CPU s / 1M records | peak RSS MB |")
    print("| --- | ---: | ---: | ---: | ---: |")
    print("| kcat -C -e -q (raw) | %.2f | %.0f | %.2f | %.1f |"
          % (k_wall, rate_k, k_cpu * per_m, k_rss / 1024))
    print("| herald run -n, null sink (decode Avro + windowed key) | %.2f | %.0f | %.2f | %.1f |"
          % (h_wall, rate_h, h_cpu * per_m, h_rss / 1024))
    print("")
    print("# herald from partition assignment to the last record: %.2f s (%.0f records/s)"
          % (h_steady, COUNT / h_steady if h_steady == h_steady else 0))
    if not h_exit:
        print("# herald did not exit by itself after -n %d was reached (killed)" % COUNT)
    print("consume ratio=%.2f rss_mb=%.1f" % (rate_h / rate_k, h_rss / 1024))


if __name__ == "__main__":
    main()
