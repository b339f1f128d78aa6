"""The admin HTTP endpoint against the real broker.

1. `admin: { listen: 127.0.0.1:0 }`, one connector with the null sink on a
   topic of 3 partitions holding N records, and an SMTP channel whose
   password comes from ${env:} and username from ${file:}: herald logs the
   port it bound, that port is the one socket the process listens on;
   /healthz answers exactly "ok"; once all N are consumed /metrics says
   exactly consumed N, delivered N, nothing rejected, retried, poison or
   deduped, nothing in flight, 3 partitions, the null plugin's counters
   (records N, bytes = keys + values); /connectors says the same and, per
   partition, next = committed = the partition's record count, matching
   the group's offsets on the broker; /readyz is 200 {"status": "ready"};
   neither secret appears in any answer or in the log. SIGTERM: exit 0,
   and the port is closed.
2. A second connector with `errors.tolerance: none` whose plugin rejects
   offset 5: once it has stopped, /readyz is 503 naming it `failed`,
   herald_connector_up is 0 for it and 1 for the other, its rejected
   counter is exactly 1; SIGTERM then exits 3 (a connector failed).
3. Without `admin:` the process listens on nothing.
"""

import http.client
import json
import os
import re
import signal
import socket
import time
import uuid

from confluent_kafka import Producer

import itlib

rid = itlib.run_id("it7admin")
PARTS, N = 3, 300
SECRET_ENV = "it7-env-secret-" + uuid.uuid4().hex
SECRET_FILE = "it7-file-secret-" + uuid.uuid4().hex
work = os.path.dirname(itlib.write_config(""))
secret_path = os.path.join(work, "smtp_user")
with open(secret_path, "w") as f:
    f.write(SECRET_FILE)

itlib.create_topic(rid, PARTS)
p = Producer({"bootstrap.servers": itlib.BOOTSTRAP, "linger.ms": 5})
nbytes = 0
for i in range(N):
    k, v = b"key-%d" % i, b"value-%05d" % i
    nbytes += len(k) + len(v)
    p.produce(rid, key=k, value=v, partition=i % PARTS)
itlib.check_eq("records produced", 0, p.flush(30))
PER_PART = N // PARTS

strict_topic = rid + "-strict"
itlib.create_topic(strict_topic, 1)
for i in range(20):
    p.produce(strict_topic, key=b"s%d" % i, value=b"v%d" % i, partition=0)
itlib.check_eq("strict records produced", 0, p.flush(30))

def config(admin, strict=False):
    text = """\
kafka: {{ bootstrap.servers: "{bs}", session.timeout.ms: 6000,
          heartbeat.interval.ms: 500 }}
plugin_path: {pp}
{admin}log: {{ level: info }}
channels:
  mail:
    plugin: smtp
    url: smtp://{smtp}
    username: ${{file:{userfile}}}
    password: ${{env:IT7_SECRET}}
    from: alerts@example.com
connectors:
  - name: c
    group_id: {rid}
    topics: [{rid}]
    key: {{ format: string }}
    value: {{ format: string }}
    commit_interval: 200ms
    sink: {{ plugin: null }}
""".format(bs=itlib.BOOTSTRAP, pp=itlib.TEST_PLUGIN_DIR, admin=admin,
           smtp=os.environ.get("MAILPIT_SMTP", "127.0.0.1:31025"),
           userfile=secret_path, rid=rid)
    if strict:
        text += """\
  - name: strict
    group_id: {rid}-strict
    topics: [{t}]
    key: {{ format: string }}
    value: {{ format: string }}
    errors: {{ tolerance: none }}
    sink:
      plugin: testplug
      log_file: {log}
      script: "reject:offset==5"
""".format(rid=rid, t=strict_topic, log=os.path.join(work, "strict.log"))
    return text


def start(cfg):
    return itlib.start_herald(itlib.write_config(cfg, work),
                              env={"HERALD_PLUGIN_PATH": "", "IT7_SECRET": SECRET_ENV})


def admin_port(h):
    m = itlib.wait_for("admin: listening on 127.0.0.1:PORT in the log",
                       lambda: re.search(r"admin: listening on 127\.0\.0\.1:(\d+)",
                                         h.stderr()) or not h.alive(), timeout=30)
    itlib.check("herald is running", h.alive(), h.stderr()[-2000:])
    return int(m.group(1))


def listening(pid):
    """(address, port) of every TCP socket in LISTEN state the process
    holds, from /proc: its socket inodes matched against /proc/net/tcp*."""
    inodes = set()
    for fd in os.listdir("/proc/%d/fd" % pid):
        try:
            link = os.readlink("/proc/%d/fd/%s" % (pid, fd))
        except OSError:
            continue
        m = re.match(r"socket:\[(\d+)\]", link)
        if m:
            inodes.add(m.group(1))
    out = []
    for table in ("/proc/net/tcp", "/proc/net/tcp6"):
        with open(table) as f:
            next(f)
            for line in f:
                cols = line.split()
                if cols[3] != "0A" or cols[9] not in inodes:
                    continue
                addr, port = cols[1].split(":")
                if len(addr) == 8:
                    addr = socket.inet_ntop(socket.AF_INET, bytes.fromhex(addr)[::-1])
                out.append((addr, int(port, 16)))
    return sorted(out)


def request(port, path, method="GET"):
    c = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
    try:
        c.request(method, path)
        r = c.getresponse()
        return r.status, dict(r.getheaders()), r.read().decode()
    finally:
        c.close()


def raw(port, data):
    with socket.create_connection(("127.0.0.1", port), timeout=10) as s:
        s.sendall(data)
        out = b""
        while True:
            b = s.recv(65536)
            if not b:
                return out
            out += b


def samples(text):
    """Prometheus text -> {'name{labels}': value}; every line must be a
    comment or a sample."""
    out = {}
    for line in text.splitlines():
        if line.startswith("# HELP ") or line.startswith("# TYPE "):
            continue
        m = re.fullmatch(r'([a-z_]+(?:\{[^}]*\})?) (-?\d+)', line)
        if m is None:
            itlib.check("metrics line is a sample: %r" % line, False)
        out[m.group(1)] = int(m.group(2))
    return out


def no_secret(what, text):
    itlib.check("%s shows neither secret" % what,
                SECRET_ENV not in text and SECRET_FILE not in text)


# ---- 1. one connector, null sink --------------------------------------------
h = start(config("admin: { listen: 127.0.0.1:0 }\n"))
port = admin_port(h)
itlib.check_eq("1: the process listens on exactly the logged port",
               [("127.0.0.1", port)], listening(h.proc.pid))
itlib.check_eq("1: GET /healthz, whole answer",
               b"HTTP/1.1 200 OK\r\n"
               b"Content-Type: text/plain; charset=utf-8\r\n"
               b"Content-Length: 3\r\n"
               b"Connection: close\r\n"
               b"Cache-Control: no-store\r\n"
               b"\r\n"
               b"ok\n",
               raw(port, b"GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n"))


def scrape():
    st, hdr, body = request(port, "/metrics")
    return samples(body) if st == 200 else {}


C = '{connector="c"}'
itlib.wait_for("1: consumed_total reaches N",
               lambda: scrape().get("herald_records_consumed_total" + C) == N
               and scrape().get("herald_records_in_flight" + C) == 0, timeout=90)
st, hdr, body = request(port, "/metrics")
itlib.check_eq("1: /metrics status", 200, st)
itlib.check_eq("1: /metrics content type", "text/plain; version=0.0.4; charset=utf-8",
               hdr["Content-Type"])
m = samples(body)
want = {
    "herald_connector_up" + C: 1,
    "herald_records_consumed_total" + C: N,
    "herald_records_delivered_total" + C: N,
    "herald_records_rejected_total" + C: 0,
    "herald_records_retried_total" + C: 0,
    "herald_records_unavailable_total" + C: 0,
    "herald_connector_channel_unavailable" + C: 0,
    "herald_connector_channel_unavailable_seconds" + C: 0,
    "herald_connector_channel_held_records" + C: 0,
    "herald_records_poison_total" + C: 0,
    "herald_records_deduped_total" + C: 0,
    "herald_records_in_flight" + C: 0,
    "herald_partitions_assigned" + C: PARTS,
    'herald_plugin_counter_total{kind="sink",instance="c",plugin="null",counter="records"}': N,
    'herald_plugin_counter_total{kind="sink",instance="c",plugin="null",counter="bytes"}': nbytes,
}
for k, v in want.items():
    itlib.check_eq("1: " + k, v, m.get(k))
itlib.check_eq("1: no other samples than these and herald_info",
               sorted(want), sorted(k for k in m if not k.startswith("herald_info")))
for fam in ("herald_records_consumed_total", "herald_records_in_flight",
            "herald_plugin_counter_total"):
    kind = "gauge" if fam == "herald_records_in_flight" else "counter"
    itlib.check("1: # TYPE %s %s" % (fam, kind), "# TYPE %s %s\n" % (fam, kind) in body)
no_secret("1: /metrics", body)


def connectors():
    st, hdr, body = request(port, "/connectors")
    itlib.check_eq("/connectors status", 200, st)
    itlib.check_eq("/connectors content type", "application/json", hdr["Content-Type"])
    no_secret("/connectors", body)
    return json.loads(body)


itlib.wait_for("1: every partition committed to its end", lambda: all(
    q["committed"] == PER_PART for q in connectors()["connectors"][0]["partitions"]),
    timeout=30)
doc = connectors()
con = doc["connectors"][0]
itlib.check_eq("1: /connectors has one connector", 1, len(doc["connectors"]))
for k, v in (("name", "c"), ("state", "running"), ("group_id", rid), ("topics", [rid]),
             ("sink", "c")):
    itlib.check_eq("1: /connectors " + k, v, con[k])
itlib.check_eq("1: /connectors partitions",
               [{"topic": rid, "partition": q, "committed": PER_PART, "next": PER_PART,
                 "in_doubt": 0, "paused": False} for q in range(PARTS)],
               sorted(con["partitions"], key=lambda q: q["partition"]))
itlib.check_eq("1: /connectors counters",
               {"consumed": N, "delivered": N, "rejected": 0, "retried": 0,
                "unavailable": 0, "poison": 0, "deduped": 0, "in_flight": 0}, con["counters"])
itlib.check_eq("1: /connectors channel_unavailable", None, con["channel_unavailable"])
itlib.check_eq("1: /connectors instances",
               [{"name": "mail", "plugin": "smtp", "kind": "notify", "counters": {}},
                {"name": "c", "plugin": "null", "kind": "sink",
                 "counters": {"records": N, "bytes": nbytes}}], doc["instances"])
itlib.check_eq("1: the broker has the offsets /connectors reports",
               [PER_PART] * PARTS, itlib.committed(rid, rid, PARTS))

st, hdr, body = request(port, "/readyz")
itlib.check_eq("1: /readyz", (200, "application/json", {"status": "ready"}),
               (st, hdr["Content-Type"], json.loads(body)))
st, hdr, body = request(port, "/readyz", "HEAD")
itlib.check_eq("1: HEAD /readyz", (200, "24", ""), (st, hdr["Content-Length"], body))
st, hdr, body = request(port, "/metrics", "POST")
itlib.check_eq("1: POST /metrics", (405, "GET, HEAD"), (st, hdr["Allow"]))
st, hdr, body = request(port, "/config")
itlib.check_eq("1: GET /config", 404, st)
no_secret("1: the 404 page", body)
itlib.check_eq("1: garbage gets 400",
               b"HTTP/1.1 400 Bad Request\r\n",
               raw(port, b"\x16\x03\x01\x00\xff garbage\r\n\r\n")[:26])
itlib.check("1: herald still runs", h.alive())
rc, _ = h.stop(signal.SIGTERM, 60)
itlib.check_eq("1: exit code after SIGTERM", 0, rc)
no_secret("1: the log", h.stderr())
try:
    socket.create_connection(("127.0.0.1", port), timeout=5).close()
    refused = False
except ConnectionRefusedError:
    refused = True
itlib.check("1: nothing listens on the port after exit", refused)

# ---- 2. a connector that stops on an error: not ready -----------------------
h = start(config("admin: { listen: \"127.0.0.1:0\" }\n", strict=True))
port = admin_port(h)


def strict_state():
    for c in connectors()["connectors"]:
        if c["name"] == "strict":
            return c["state"]
    return None


itlib.wait_for("2: connector strict failed", lambda: strict_state() == "failed"
               or not h.alive(), timeout=60)
st, hdr, body = request(port, "/readyz")
itlib.check_eq("2: /readyz status", 503, st)
itlib.check_eq("2: /readyz body",
               {"status": "not ready", "connectors": [
                   {"name": "strict", "state": "failed",
                    "reason": "stopped on an error (errors.tolerance: none, or a fatal "
                              "Kafka error); see the log"}]},
               json.loads(body))
m = samples(request(port, "/metrics")[2])
itlib.check_eq("2: herald_connector_up strict", 0, m['herald_connector_up{connector="strict"}'])
itlib.check_eq("2: herald_connector_up c", 1, m['herald_connector_up{connector="c"}'])
itlib.check_eq("2: rejected strict", 1, m['herald_records_rejected_total{connector="strict"}'])
itlib.check_eq("2: the one rejected record is offset 5",
               [(0, 5)], sorted(k for k, v in itlib.read_plugin_log(
                   os.path.join(work, "strict.log")).items() if "REJECT" in v))
rc, _ = h.stop(signal.SIGTERM, 60)
itlib.check_eq("2: exit code (a connector failed)", 3, rc)
no_secret("2: the log", h.stderr())

# ---- 3. no admin: nothing listens ---------------------------------------------
h = start(config(""))
itlib.wait_for("3: connector c started", lambda: "started: group" in h.stderr()
               or not h.alive(), timeout=30)
time.sleep(1)
itlib.check("3: herald is running", h.alive(), h.stderr()[-2000:])
itlib.check_eq("3: listening sockets without admin:", [], listening(h.proc.pid))
itlib.check("3: no admin line in the log", "admin:" not in h.stderr())
rc, _ = h.stop(signal.SIGTERM, 60)
itlib.check_eq("3: exit code", 0, rc)
itlib.done("admin_endpoint")
