"""Issue 5, acceptance 2: the sendgrid channel against WireMock.

WireMock's journal holds exactly the expected JSON request bodies (built
here from the record and the shipped templates), and every one of them
passes Prism's validation against SendGrid's OpenAPI description (one
deliberately broken body proves Prism rejects). Per-record fault stubs
(matched on this run's recipient, priority 1) answer 429 with Retry-After
and X-RateLimit-Reset, 429 with only X-RateLimit-Reset, 500 twice, a slow
202 a 202 slower than the channel's timeout, and 400; every message but the
400 (REJECTed at once, with SendGrid's message in the log) ends up
delivered, and each retry of a 429 comes no earlier than the server asked
(journal loggedDate)."""

import json
import time

import itlib

N = 40
rid = itlib.run_id("it5sg")
domain = rid + ".example"
itlib.own(domain)
topic = rid
key = "SG.it5-" + rid

rows = itlib.anomaly_rows(N, domain, seed=7)
rep = itlib.produce_rows(topic, rows, partitions=2)
itlib.check_eq("records produced", N, rep["count"])
coords = {r["value"]["email_address"]: (r["partition"], r["offset"]) for r in rep["records"]}


def addr(i):
    return "user%d@%s" % (i, domain)


def body_has(i):
    return [{"contains": '"email":"%s"' % addr(i)}]


def fault(i, steps):
    """A scenario for recipient i: each step answers once, then WireMock's
    default 202 stub takes over."""
    ids = []
    for n, resp in enumerate(steps):
        m = {"priority": 1, "scenarioName": "%s-u%d" % (rid, i),
             "requiredScenarioState": "Started" if n == 0 else "s%d" % n,
             "newScenarioState": "s%d" % (n + 1),
             "request": {"method": "POST", "urlPath": "/v3/mail/send",
                         "headers": {"Authorization": {"equalTo": "Bearer " + key}},
                         "bodyPatterns": body_has(i)},
             "response": resp}
        ids.append(itlib.wm_add(m))
    return ids


R429 = {"status": 429, "transformers": ["response-template"],
        "headers": {"Content-Type": "application/json", "X-RateLimit-Limit": "600",
                    "X-RateLimit-Remaining": "0", "Retry-After": "2",
                    "X-RateLimit-Reset": "{{now offset='2 seconds' format='unix'}}"},
        "jsonBody": {"errors": [{"message": "too many requests", "field": None, "help": None}]}}
R429_RESET = {"status": 429, "transformers": ["response-template"],
              "headers": {"Content-Type": "application/json", "X-RateLimit-Limit": "600",
                          "X-RateLimit-Remaining": "0",
                          "X-RateLimit-Reset": "{{now offset='3 seconds' format='unix'}}"},
              "jsonBody": {"errors": [{"message": "too many requests"}]}}
R500 = {"status": 500, "jsonBody": {"errors": [{"message": "internal error"}]}}
SLOW = {"status": 202, "fixedDelayMilliseconds": 1500, "headers": {"X-Message-Id": "slow"}}
R400 = {"status": 400, "jsonBody": {"errors": [
    {"message": "The from address does not match a verified Sender Identity.",
     "field": "from", "help": None}]}}
TOO_SLOW = {"status": 202, "fixedDelayMilliseconds": 3500, "headers": {"X-Message-Id": "late"}}

mappings = []
try:
    mappings += fault(0, [R429])
    mappings += fault(1, [R429_RESET])
    mappings += fault(2, [R500, R500])
    mappings += fault(3, [SLOW])
    mappings += fault(4, [TOO_SLOW])
    mappings += fault(5, [R400, R400])
    cfg = itlib.config(topic, rid, itlib.sendgrid_channel(key, extra="    timeout: 2s\n"),
                   retry="{ initial: 100ms, max: 1s, timeout: 2m }")
    t0 = time.time()
    rc, out, err = itlib.run_herald(cfg, N, timeout=120)
    print("# herald: %d records final in %.1f s" % (N, time.time() - t0))
    itlib.check_eq("herald run -n exit code", 0, rc)
    rejected = [ln for ln in err.splitlines() if "record rejected" in ln]
    itlib.check_eq("exactly one record rejected (the 400)", 1, len(rejected))
    p5, o5 = coords[addr(5)]
    itlib.check("the 400 is rejected with its offset and SendGrid's message",
                "partition=%d offset=%d " % (p5, o5) in rejected[0]
                and "The from address does not match a verified Sender Identity." in rejected[0],
                rejected[0])
finally:
    for m in mappings:
        itlib.wm_remove(m)

time.sleep(1.0)  # the too-slow stub's first answer lands in the journal late
events = itlib.wm_take(domain)  # read and remove this run's journal entries
by_to = {}
for e in events:
    b = json.loads(e["request"]["body"])
    by_to.setdefault(b["personalizations"][0]["to"][0]["email"], []).append(e)
itlib.check("the journal holds requests for exactly this run's %d recipients" % N,
            sorted(addr(i) for i in range(N)) == sorted(by_to), sorted(by_to))
itlib.check_eq("every request carries this run's key", len(events),
               sum(e["request"]["headers"].get("Authorization") == "Bearer " + key
                   for e in events))
itlib.check_eq("every request is a POST to /v3/mail/send", len(events),
               sum(e["request"]["method"] == "POST" and e["request"]["url"] == "/v3/mail/send"
                   for e in events))
itlib.check_eq("every request is JSON", len(events),
               sum(e["request"]["headers"].get("Content-Type") == "application/json"
                   for e in events))

# Bodies: exactly the expected JSON, every attempt.
wrong = []
for card, start, v, _ in rows:
    p, o = coords[v["email_address"]]
    want = itlib.expected_sendgrid_body(v, topic, p, o)
    for e in by_to[v["email_address"]]:
        got = json.loads(e["request"]["body"])
        if got != want:
            wrong.append((v["email_address"], want, got))
if wrong:
    print("first mismatch: %r" % (wrong[0],))
itlib.check_eq("request bodies differing from the expected JSON", 0, len(wrong))
itlib.check("the idempotency key itself (card@start) never sent",
            all(rows[i][0] not in e["request"]["body"] for i in range(N)
                for e in by_to[addr(i)]))


def statuses(i):
    return [e["response"]["status"] for e in by_to[addr(i)]]


def logged(i):
    return [e["request"]["loggedDate"] for e in by_to[addr(i)]]


itlib.check_eq("records without a fault: one request each, 202",
               [[202]] * (N - 6), [statuses(i) for i in range(6, N)])
itlib.check_eq("400: one request, never retried", [400], statuses(5))
itlib.check_eq("429 (Retry-After 2, Reset +2) then delivered", [429, 202], statuses(0))
t = logged(0)
h = by_to[addr(0)][0]["response"]["headers"]
reset_ms = int(h["X-RateLimit-Reset"]) * 1000
itlib.check("retry after 429 waited >= Retry-After 2 s (%d ms)" % (t[1] - t[0]),
            t[1] - t[0] >= 2000)
itlib.check("retry after 429 came after X-RateLimit-Reset (%d ms after it)" % (t[1] - reset_ms),
            t[1] >= reset_ms)
itlib.check_eq("429 (only X-RateLimit-Reset +3 s) then delivered", [429, 202], statuses(1))
t = logged(1)
reset_ms = int(by_to[addr(1)][0]["response"]["headers"]["X-RateLimit-Reset"]) * 1000
itlib.check("retry came after X-RateLimit-Reset (%d ms after it, %d ms after the 429)"
            % (t[1] - reset_ms, t[1] - t[0]), t[1] >= reset_ms and t[1] - t[0] >= 2000)
itlib.check_eq("500, 500, then delivered", [500, 500, 202], statuses(2))
t = logged(2)
itlib.check("500 retries back off (gaps %s ms)" % [t[1] - t[0], t[2] - t[1]],
            t[1] > t[0] and t[2] > t[1])
itlib.check_eq("slow 202 (1.5 s): one request", [202], statuses(3))
itlib.check("slow 202 took >= 1.5 s", by_to[addr(3)][0]["timing"]["addedDelay"] == 1500)
itlib.check_eq("202 slower than the 2 s timeout: sent again, delivered", [202, 202],
               statuses(4))
t = logged(4)
# the 2 s timeout runs from the transfer's start, loggedDate from the
# request's arrival: allow the connect time (well under 100 ms on loopback)
itlib.check("timeout retry came ~2 s after the first attempt (%d ms)" % (t[1] - t[0]),
            t[1] - t[0] >= 1900)
retry_lines = [ln for ln in err.splitlines() if "will retry" in ln]
itlib.check_eq("herald logged each retry (2x 429, 2x 500, 1 timeout)", 5, len(retry_lines))
itlib.check_eq("one of them is the timeout", 1,
               sum("timed out" in ln.lower() or "timeout" in ln.lower() for ln in retry_lines))

# Prism: every distinct body the journal holds conforms to the description.
bodies = sorted({e["request"]["body"] for e in events})
codes = [itlib.prism_send(b)[0] for b in bodies]
itlib.check_eq("Prism accepts every journaled body (%d distinct)" % len(bodies),
               [True] * len(bodies), [c // 100 == 2 for c in codes])
broken = json.loads(bodies[0])
del broken["from"]
broken["content"][0]["type"] = 7
st, hdrs, _ = itlib.prism_send(json.dumps(broken))
itlib.check_eq("Prism rejects a body without from / with a numeric content type",
               400, st)
itlib.check("Prism names the violation",
            "from" in {k.lower(): v for k, v in hdrs.items()}.get("sl-violations", ""))
itlib.done("sendgrid_delivery")
