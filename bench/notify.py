"""Notify benchmark (`make bench-notify`, through bench/notify.sh).

Records are produced into Kafka first (Confluent's AvroSerializer, ksqlDB
windowed keys, 4 partitions); then herald runs `-n N` on them, and the
rate is measured where the emails land, from the first to the last one
(so herald's startup and Kafka's group join are not counted; they are
shown as "startup"):

  sendgrid   WireMock answering 202 after a fixed 50 ms; max_in_flight 64,
             so the bound is 64 / 0.05 s = 1,280 emails/s. Rate from the
             journal's loggedDate (first to last request, + the 50 ms).
  smtp       the smtp channel, max_connections 4, connections kept open:
             against Mailpit (plain) and against bench/smtp_sink.py, a
             minimal asyncio sink; and, for contrast, against the sink
             closing the connection after every message (the channel has
             no option to stop reusing connections, so the server forces a
             new connection per message).

Only this run's topic, group ids, WireMock mapping and journal entries, and
Mailpit messages are touched; all are removed at the end.
Env: BENCH_SG_N (5000), BENCH_SMTP_N (2000), HERALD_BIN, HERALD_PLUGIN_DIR.
"""

import json
import os
import socket
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "tests", "integration"))
import itlib as L  # noqa: E402  (tests/integration/itlib.py)
import itlib as pylib  # noqa: E402

SG_N = int(os.environ.get("BENCH_SG_N", "5000"))
SMTP_N = int(os.environ.get("BENCH_SMTP_N", "2000"))
DELAY_MS = 50
IN_FLIGHT = 64
BOUND = IN_FLIGHT / (DELAY_MS / 1000.0)

rid = pylib.run_id("bench-notify")
domain = rid + ".example"
topic = rid
results = []


RETRIES = [0]


def herald(cfg, n):
    """Run herald -n n; returns (start epoch s, end epoch s) and counts the
    channel's retries (log level info) in RETRIES[0]."""
    t0 = time.time()
    rc, _, err = L.run_herald(cfg, n, timeout=600)
    t1 = time.time()
    if rc != 0:
        sys.exit("herald exited %d:\n%s" % (rc, err[-3000:]))
    rej = err.count("record rejected")
    if rej:
        sys.exit("%d records rejected:\n%s" % (rej, err[-3000:]))
    RETRIES[0] = err.count("will retry")
    return t0, t1


def row(name, n, t0, t1, first, last, extra_s=0.0, note=""):
    rate = n / (last - first + extra_s)
    note += ", %d retries" % RETRIES[0]
    results.append((name, n, t1 - t0, first - t0, last - first + extra_s, rate, note))
    return rate


def log(msg):
    print("# " + msg, file=sys.stderr, flush=True)


# One topic per channel holding exactly the records it sends: herald -n N
# stops after N final records but drains what is already in flight.
rows = L.anomaly_rows(max(SG_N, SMTP_N), domain, seed=3)
log("producing %d + %d records" % (SG_N, SMTP_N))
L.produce_rows(topic + "-sg", rows[:SG_N], partitions=4)
L.produce_rows(topic + "-smtp", rows[:SMTP_N], partitions=4)

# ---- SendGrid -> WireMock, 50 ms per request
key = "SG.bench-" + rid
auth = {"Authorization": {"equalTo": "Bearer " + key}}
mid = L.wm_add({"priority": 1,
                "request": {"method": "POST", "urlPath": "/v3/mail/send", "headers": auth},
                "response": {"status": 202, "fixedDelayMilliseconds": DELAY_MS,
                             "headers": {"X-Message-Id": "bench"}}})
try:
    log("sendgrid: %d emails, WireMock +%d ms, max_in_flight %d" % (SG_N, DELAY_MS, IN_FLIGHT))
    cfg = L.config(topic + "-sg", rid + "-sg", L.sendgrid_channel(key, max_in_flight=IN_FLIGHT),
                   level="info")
    t0, t1 = herald(cfg, SG_N)
    pattern = {"method": "POST", "url": "/v3/mail/send", "headers": auth}
    reqs = L.http_json("POST", L.WIREMOCK + "/__admin/requests/find", pattern)["requests"]
    dates = sorted(r["loggedDate"] / 1000.0 for r in reqs)
finally:
    L.wm_remove(mid)
    L.http("POST", L.WIREMOCK + "/__admin/requests/remove", pattern)
if len(dates) != SG_N:
    sys.exit("sendgrid: %d requests in the journal, expected %d" % (len(dates), SG_N))
sg_rate = row("sendgrid (WireMock, 50 ms)", SG_N, t0, t1, dates[0], dates[-1],
              DELAY_MS / 1000.0, "bound %d/s" % BOUND)

# ---- SMTP -> Mailpit (plain), kept-open connections
log("smtp: %d messages to Mailpit (plain)" % SMTP_N)
cfg = L.config(topic + "-smtp", rid + "-mp", L.smtp_plain_channel(max_connections=4),
               level="info")
t0, t1 = herald(cfg, SMTP_N)
msgs = L.mailpit_search(L.MAILPIT_API, 'to:"@%s"' % domain, expect=SMTP_N)
import datetime as dt  # noqa: E402
created = sorted(dt.datetime.fromisoformat(m["Created"].replace("Z", "+00:00")).timestamp()
                 for m in msgs)
L.mailpit_delete(L.MAILPIT_API, [m["ID"] for m in msgs])
if len(created) != SMTP_N:
    sys.exit("mailpit: %d messages, expected %d" % (len(created), SMTP_N))
mp_rate = row("smtp reuse -> Mailpit", SMTP_N, t0, t1, created[0], created[-1], 0,
              "4 connections")


# ---- SMTP -> local sink, kept open / one connection per message
def free_port():
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    p = s.getsockname()[1]
    s.close()
    return p


def sink_run(name, group, close_after):
    port = free_port()
    stats = tempfile.mktemp(prefix="herald-bench-sink-", suffix=".json")
    args = [sys.executable, os.path.join(HERE, "smtp_sink.py"), "--port", str(port),
            "--stats", stats] + (["--close-after-message"] if close_after else [])
    sink = subprocess.Popen(args, stdout=subprocess.PIPE, text=True)
    try:
        sink.stdout.readline()  # "ready"
        log("smtp: %d messages to the sink (%s)" % (SMTP_N, name))
        cfg = L.config(topic + "-smtp", group, L.smtp_plain_channel("127.0.0.1:%d" % port,
                                                          max_connections=4), level="info")
        t0, t1 = herald(cfg, SMTP_N)
    finally:
        sink.terminate()
        sink.wait(30)
    with open(stats) as f:
        st = json.load(f)
    os.unlink(stats)
    if st["messages"] != SMTP_N:
        sys.exit("sink: %d messages, expected %d" % (st["messages"], SMTP_N))
    return row(name, SMTP_N, t0, t1, st["first"], st["last"], 0,
               "%d connections" % st["connections"])


sink_rate = sink_run("smtp reuse -> sink", rid + "-sink", False)
sink_close_rate = sink_run("smtp new conn/msg -> sink", rid + "-sink1", True)

print("%-28s %6s %8s %8s %8s %10s  %s" % ("channel", "emails", "wall s", "startup", "span s",
                                          "emails/s", "note"))
for name, n, wall, startup, span, rate, note in results:
    print("%-28s %6d %8.2f %8.2f %8.2f %10.0f  %s" % (name, n, wall, startup, span, rate, note))
smtp_rate = max(mp_rate, sink_rate)
print("notify sendgrid_ratio=%.2f smtp_msgs_per_s=%.0f" % (sg_rate / BOUND, smtp_rate))
