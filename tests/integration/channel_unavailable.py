"""A channel that refuses herald's credential (issue 10, item 3), against the
real stack: `channel_unavailable.py smtp` or `channel_unavailable.py sendgrid`.

smtp: herald logs in to the STARTTLS+AUTH Mailpit as an account Mailpit
does not know yet (a credential rotated on herald's side first), so every
delivery ends in SMTP 535. sendgrid: WireMock answers this run's API key
with 401 (a revoked key), later with 202.

NWIN windows (one record each) are produced to PARTS partitions. While the
credential is refused, for REFUSED_S seconds after the channel went down:
  - nothing is committed (a thread reads the group's committed offsets from
    the broker every 0.25 s), nothing is delivered, nothing is rejected;
  - the partitions are paused: no record is taken from Kafka beyond those
    taken before the first refusal, and all of those are held;
  - /readyz is 503 naming the channel and the reason (535 / 401),
    /connectors has channel_unavailable with the held records, /metrics
    has herald_connector_channel_unavailable 1 and the reason;
  - herald probes (the UNAVAILABLE count keeps growing) one record at a
    time (at most PROBES_MAX answers in PROBE_WINDOW_S), and the log says
    "unavailable" once, not once per record or probe;
  - the secret (password, API key) is in no log line and no admin answer.
Then the credential is fixed (smtp: Mailpit restarted with an auth file
that has herald's account, through scripts/stack/service.sh; sendgrid: the
401 stub removed) and:
  - every window is delivered exactly once, none before the fix;
  - the committed offsets are the ends of the partitions, and no commit
    sample ever passed a record not delivered yet;
  - /readyz is 200 again and the log says the channel is back."""

import atexit
import os
import re
import sys
import time

import itlib

WHICH = sys.argv[1] if len(sys.argv) > 1 else "smtp"
NWIN, PARTS = 12, 2
REFUSED_S = 8.0
PROBE_WINDOW_S, PROBES_MAX = 5.0, 5  # probes back off 0.5 s .. 2 s

rid = itlib.run_id("chun" + WHICH[:2])
domain = rid + ".example"
itlib.own(domain)
secret = "pw-%s-Zq7x" % rid if WHICH == "smtp" else "SG.chun-%s-Zq7x" % rid
user = "rotated-" + rid
extra_auth = os.path.join(os.environ["STACK_DIR"], "mailpit", "auth.extra")
stubs = []
print("# %s: %d windows, %d partitions, refused for %.0f s after it goes down"
      % (WHICH, NWIN, PARTS, REFUSED_S))


def restore():
    """Leave the shared stack as it was, pass or fail."""
    for mid in stubs:
        itlib.wm_remove(mid)
    if WHICH == "smtp" and os.path.exists(extra_auth):
        os.unlink(extra_auth)
        itlib.service("restart", "mailpit_tls")


atexit.register(restore)

if WHICH == "smtp":
    api = itlib.MAILPIT_TLS_API
    channel = itlib.smtp_tls_channel(max_connections=2, username=user, password=secret)
    want_reason = "authentication failed (check username and password) (SMTP 535, curl 67: "
else:
    run = {"method": "POST", "urlPath": "/v3/mail/send",
           "headers": {"Authorization": {"equalTo": "Bearer " + secret}}}
    stubs.append(itlib.wm_add({"priority": 2, "name": rid + " accepted", "request": run,
                           "response": {"status": 202, "headers": {"X-Message-Id": rid}}}))
    refused = itlib.wm_add({"priority": 1, "name": rid + " revoked key", "request": run,
                        "response": {"status": 401, "jsonBody": {"errors": [
                            {"message": "The provided authorization grant is invalid, "
                                        "expired, or revoked", "field": None,
                             "help": None}]}}})
    stubs.append(refused)
    channel = itlib.sendgrid_channel(secret, extra="    timeout: 30s\n")
    want_reason = ("API key refused (check api_key and its mail send permission): HTTP 401: "
                   "The provided authorization grant is invalid, expired, or revoked")

wins = itlib.windows(NWIN, domain, seed=1010, refinements=0)
rows = [w[0] for w in wins]
itlib.producer_create_topic(rid, PARTS)
cfg = itlib.notify_config(
    rid, rid, channel,
    "    commit_interval: 200ms\n"
    "    errors:\n      tolerance: all\n"
    "      retry: { initial: 200ms, max: 2s, timeout: 10m }\n"
    "      channel_probe: { initial: 500ms, max: 2s }\n",
    name="chun") + "admin: { listen: 127.0.0.1:0 }\n"
h = itlib.start(cfg)
port = int(itlib.wait_for("admin port in the log", lambda: (re.findall(
    r"admin: listening on 127\.0\.0\.1:(\d+)", h.stderr()) or [None])[0], timeout=30))
base = "http://127.0.0.1:%d" % port


def admin(path):
    st, _, body = itlib.http("GET", base + path)
    return st, body.decode()


def connector():
    import json
    return json.loads(admin("/connectors")[1])["connectors"][0]


sampler = itlib.CommitSampler(rid, rid, PARTS)
rep = itlib.produce_checked(rid, rows)
where = itlib.index_records(rows, rep, {})
ends = itlib.ends([rep], PARTS)

# ---------------------------------------------------------------- refused

last = [None]


def all_held():
    """The channel is down and every record taken from Kafka is held (or
    out as the probe): the partitions are paused, so the rest wait in
    Kafka."""
    c = last[0] = connector()
    ch = c.get("channel_unavailable")
    return c if (ch and c["counters"]["consumed"] > 0 and
                 ch["held"] + c["counters"]["in_flight"] == c["counters"]["consumed"]) \
        else None


c = all_held() or time.sleep(0) or None
deadline = time.time() + 60
while not c and time.time() < deadline and h.alive():
    time.sleep(0.2)
    c = all_held()
if not c:
    print(last[0], h.stderr()[-3000:])
itlib.check("the channel is unavailable and every record taken is held", c)
t_held = time.time()
itlib.check_eq("channel_unavailable.reason starts with", want_reason,
               c["channel_unavailable"]["reason"][:len(want_reason)])
u0 = c["counters"]["unavailable"]
u0_consumed = c["counters"]["consumed"]
print("# %d of %d records taken before the partitions paused" % (u0_consumed, NWIN))
time.sleep(max(0.0, REFUSED_S - PROBE_WINDOW_S))
u1 = connector()["counters"]["unavailable"]
time.sleep(PROBE_WINDOW_S)
c = connector()
u2 = c["counters"]["unavailable"]
print("# UNAVAILABLE answers: %d when all were held, %d, then %d %.0f s later"
      % (u0, u1, u2, PROBE_WINDOW_S))
itlib.check("herald keeps probing (%d -> %d)" % (u1, u2), u2 > u1)
itlib.check("one record at a time: %d probes in %.0f s <= %d"
            % (u2 - u1, PROBE_WINDOW_S, PROBES_MAX), u2 - u1 <= PROBES_MAX)
itlib.check_eq("nothing delivered, rejected or retried while refused",
               (0, 0, 0), (c["counters"]["delivered"], c["counters"]["rejected"],
                           c["counters"]["retried"]))
itlib.check_eq("nothing more taken from Kafka while refused (consumed, held + in flight)",
               (u0_consumed, u0_consumed),
               (c["counters"]["consumed"],
                c["channel_unavailable"]["held"] + c["counters"]["in_flight"]))
itlib.check_eq("every partition paused", [True] * PARTS,
               [p["paused"] for p in c["partitions"]])
st, ready = admin("/readyz")
itlib.check_eq("/readyz status while refused", 503, st)
itlib.check("/readyz names the channel and why: %s" % ready,
            ("channel email is unavailable (every partition waits; nothing is committed "
             "past the held records): " + want_reason) in ready.replace('\\"', '"'))
st, metrics = admin("/metrics")
for line in ('herald_connector_channel_unavailable{connector="chun"} 1',
             'herald_connector_channel_held_records{connector="chun"} %d'
             % c["channel_unavailable"]["held"],
             'herald_connector_channel_unavailable_info{connector="chun",channel="email",'
             'reason="' + want_reason):
    itlib.check("/metrics has %s" % line, line in metrics)
if WHICH == "smtp":
    itlib.check_eq("messages in Mailpit while refused", 0, itlib.mail_count(domain, api))
else:
    itlib.check_eq("requests WireMock accepted while refused", 0,
                   sum(itlib.wiremock_accepted(e) for e in itlib.wm_serve_events(domain)))
log = h.stderr()
itlib.check_eq("log lines saying the channel is unavailable", 1,
               log.count("channel email is unavailable"))
itlib.check_eq("log lines per record or probe (still unavailable: once a minute)", 0,
               log.count("still unavailable"))
itlib.check_eq("records rejected", 0, log.count("record rejected"))
for what, text in (("log", log), ("/readyz", ready), ("/metrics", metrics),
                   ("/connectors", admin("/connectors")[1])):
    itlib.check("the secret is not in %s" % what, secret not in text)

# ---------------------------------------------------------------- fixed

t_fix = time.time()
if WHICH == "smtp":
    with open(extra_auth, "w") as f:
        f.write("%s:%s\n" % (user, secret))
    itlib.service("restart", "mailpit_tls")
else:
    itlib.wm_remove(refused)
    stubs.remove(refused)
print("# fixed %.1f s after the channel went down" % (t_fix - t_held))
itlib.wait_committed(rid, rid, ends, timeout=90, alive=[h])
st, ready = admin("/readyz")
itlib.check_eq("/readyz after the fix", (200, '{\n  "status": "ready"\n}\n'), (st, ready))
itlib.check("/metrics: the channel is available",
            'herald_connector_channel_unavailable{connector="chun"} 0' in admin("/metrics")[1])
err = itlib.stop(h, "herald")
samples = sampler.stop()

if WHICH == "smtp":
    msgs = itlib.settle(domain, NWIN, api)
    per = itlib.by_recipient(msgs)
    delivered = itlib.mailpit_delivered(msgs)
    counts = sorted({len(per.get(r[2]["email_address"], [])) for r in rows})
else:
    time.sleep(0.5)
    events = itlib.wm_take(domain)
    accepted = [e for e in events if itlib.wiremock_accepted(e)]
    delivered = itlib.wiremock_delivered(events)
    counts = sorted({sum(itlib.wiremock_recipient(e) == r[2]["email_address"] for e in accepted)
                     for r in rows})
    print("# %d requests: %d answered 401, %d accepted"
          % (len(events), sum(e["response"].get("status") == 401 for e in events),
             len(accepted)))
itlib.check_eq("deliveries per window (distinct counts)", [1], counts)
early = sorted(r for r, t in delivered.items() if t < t_fix - 0.05)
itlib.check_eq("windows delivered before the credential was fixed", [], early)
itlib.check_eq("committed offsets = end of each partition", ends,
               itlib.committed(rid, rid, PARTS))
before = [offs for t, offs in samples if t < t_fix and any(o > 0 for o in offs)]
itlib.check_eq("commit samples before the fix with an offset committed", [], before[:5])
itlib.check_commits_delivered("channel unavailable (%s)" % WHICH, samples, where, delivered, PARTS)
itlib.check_eq("records rejected", 0, err.count("record rejected"))
itlib.check("log: the channel is available again",
            "channel email is available again after" in err)
itlib.check("the secret is not in the log", secret not in err)
itlib.done("channel_unavailable_" + WHICH)
