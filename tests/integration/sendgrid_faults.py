"""Issue 6, acceptance 3: the sendgrid channel against a faulty WireMock.
possible_anomalies windows with refinements (n_attempts 3, 4, 5) flow in
chunks over PRODUCE_S seconds through herald (dedup on) to WireMock, which
answers this run's requests (matched on its API key) from a cyclic scenario
of 10 states: 429 with Retry-After 1, 500 and a connection reset in 3 of
them, 202 in the other 7 (30 % faults, deterministically). In the middle of
the stream a higher-priority stub resets every request of the run for
BLACKOUT_S seconds. Afterwards:
  - every window has an accepted (202) request, with the first refinement's
    rendering, and none with another body;
  - a thread reading the group's committed offsets from the broker every
    0.25 s never saw an offset past a record whose window had no 202 yet;
  - the committed offsets are the ends of the partitions;
  - the faults really fired (each kind, ~30 % outside the blackout, and
    the blackout's resets spread over it), herald retried instead of
    rejecting, and every retry after a 429 waited its Retry-After;
  - duplicates (accepted requests beyond one per window) are 0: there is no
    crash, and a fault is never an acceptance; only a 202 arriving after
    herald's timeout could make one, so they are bounded by the timeouts
    herald logged."""

import atexit
import json
import threading
import time

import itlib

NWIN = 300
PARTS = 4
REFINEMENTS = 2
CHUNKS = 30
PRODUCE_S = 30.0
BLACKOUT_AT, BLACKOUT_S = 6.0, 20.0  # seconds after production starts
MAX_IN_FLIGHT = 64

rid = itlib.run_id("it6sgf")
domain = rid + ".example"
itlib.own(domain)
key = "SG.it6-" + rid
print("# %d windows x %d records, %d partitions, %d chunks over %.0f s, blackout %.0f s"
      % (NWIN, REFINEMENTS + 1, PARTS, CHUNKS, PRODUCE_S, BLACKOUT_S))

# ---------------------------------------------------------------- WireMock

OK = {"status": 202, "transformers": ["response-template"],
      "headers": {"X-Message-Id": "{{randomValue length=22 type='ALPHANUMERIC'}}"}}
R429 = {"status": 429, "headers": {"Content-Type": "application/json", "Retry-After": "1",
                                   "X-RateLimit-Limit": "600", "X-RateLimit-Remaining": "0"},
        "jsonBody": {"errors": [{"message": "too many requests", "field": None, "help": None}]}}
R500 = {"status": 500, "jsonBody": {"errors": [{"message": "internal error"}]}}
RESET = {"fault": "CONNECTION_RESET_BY_PEER"}
CYCLE = [("429", R429), ("ok", OK), ("ok", OK), ("500", R500), ("ok", OK), ("ok", OK),
         ("reset", RESET), ("ok", OK), ("ok", OK), ("ok", OK)]
RUN = {"method": "POST", "urlPath": "/v3/mail/send",
       "headers": {"Authorization": {"equalTo": "Bearer " + key}}}

kind = {}  # stub id -> "429" | "500" | "reset" | "ok" | "blackout"
herald = []


def cleanup():
    for h in herald:  # no request of this run may reach the default stub
        if h.alive():
            h.kill()
    for mid in list(kind):
        itlib.wm_remove(mid)


atexit.register(cleanup)


def state(n):
    return "Started" if n % len(CYCLE) == 0 else "s%d" % (n % len(CYCLE))


for n, (what, resp) in enumerate(CYCLE):
    kind[itlib.wm_add({"priority": 2, "name": "%s cycle %d (%s)" % (rid, n, what),
                   "scenarioName": rid + "-cycle", "requiredScenarioState": state(n),
                   "newScenarioState": state(n + 1), "request": RUN,
                   "response": resp})] = what
# A request that races a state change matches no state: it gets this 202,
# not the shared default's, so every request of the run is answered here.
kind[itlib.wm_add({"priority": 3, "name": rid + " between states", "request": RUN,
               "response": OK})] = "ok"

journal = []  # this run's serve events, taken from WireMock as they come
journal_lock = threading.Lock()


def harvest():
    """Move this run's journal entries here, so a journal shared with other
    tests (10,000 entries at most) never drops ours."""
    got = itlib.wm_take(domain)
    with journal_lock:
        journal.extend(got)


def harvester(stop):
    while not stop.wait(2.0):
        harvest()

# ---------------------------------------------------------------- data


wins = itlib.windows(NWIN, domain, seed=61, refinements=REFINEMENTS)
itlib.producer_create_topic(rid, PARTS)
cfg = itlib.notify_config(
    rid, rid, itlib.sendgrid_channel(key, extra="    timeout: 30s\n"),
    "    max_in_flight: %d\n    dedup: { ttl: 7d }\n"
    "    batch: { max_records: 16, linger: 5ms }\n    commit_interval: 500ms\n"
    "    errors:\n      tolerance: all\n"
    "      retry: { initial: 200ms, max: 2s, timeout: 10m }\n" % MAX_IN_FLIGHT)
h = itlib.start(cfg)
herald.append(h)
sampler = itlib.CommitSampler(rid, rid, PARTS)
stop_harvest = threading.Event()
threading.Thread(target=harvester, args=(stop_harvest,), daemon=True).start()

t0 = time.time()
# refinements arrive steps after their window's first record, as in ksqlDB
stream = itlib.Stream(rid, itlib.stream_plan(wins, CHUNKS), every=PRODUCE_S / (CHUNKS + REFINEMENTS))
time.sleep(max(0.0, t0 + BLACKOUT_AT - time.time()))
blackout = itlib.wm_add({"priority": 1, "name": rid + " blackout", "request": RUN,
                     "response": RESET})
kind[blackout] = "blackout"
b_on = time.time()
print("# blackout from %.1f s" % (b_on - t0))
time.sleep(BLACKOUT_S)
b_off = time.time()
itlib.wm_remove(blackout)
print("# blackout over at %.1f s" % (b_off - t0))

ends = stream.join(PARTS, timeout=PRODUCE_S + 60)
itlib.check_eq("records produced", NWIN * (REFINEMENTS + 1), sum(ends))
itlib.wait_committed(rid, rid, ends, timeout=120, alive=[h])
print("# all committed after %.1f s" % (time.time() - t0))
err = itlib.stop(h, "herald")
samples = sampler.stop()
stop_harvest.set()
time.sleep(0.5)
harvest()
events = sorted(journal, key=lambda e: e["request"]["loggedDate"])

# ---------------------------------------------------------------- checks

itlib.check_eq("committed offsets = end of each partition", ends,
               itlib.committed(rid, rid, PARTS))
itlib.check_eq("requests without this run's key", 0,
               sum(e["request"]["headers"].get("Authorization") != "Bearer " + key
                   for e in events))
kinds = [kind.get((e.get("stubMapping") or {}).get("id"), "other") for e in events]
count = {k: kinds.count(k) for k in ("ok", "429", "500", "reset", "blackout", "other")}
accepted = [e for e in events if itlib.wiremock_accepted(e)]
dups = len(accepted) - len({itlib.wiremock_recipient(e) for e in accepted})
outside = len(events) - count["blackout"]
faults = count["429"] + count["500"] + count["reset"]
print("# %d requests: %d accepted, faults: %d x 429, %d x 500, %d resets (%.0f %% of %d "
      "outside the blackout), %d in the blackout; %d duplicate(s); %d commit samples"
      % (len(events), count["ok"], count["429"], count["500"], count["reset"],
         100.0 * faults / max(1, outside), outside, count["blackout"], dups, len(samples)))
others = [(e["request"]["loggedDate"], (e.get("stubMapping") or {}).get("name"),
           e["response"].get("status")) for e, k in zip(events, kinds) if k == "other"]
itlib.check_eq("requests answered by another stub than this run's", [], others)
itlib.check_eq("accepted requests = those the 202 states answered", count["ok"], len(accepted))

# The faults fired.
for k in ("429", "500", "reset"):
    itlib.check("%s answers: %d >= 15" % (k, count[k]), count[k] >= 15)
itlib.check("faults outside the blackout are ~30 %% (%d of %d)" % (faults, outside),
            0.2 * outside <= faults <= 0.4 * outside)
in_b = [e["request"]["loggedDate"] / 1000.0 for e, k in zip(events, kinds) if k == "blackout"]
itlib.check("blackout resets: %d >= 30" % len(in_b), len(in_b) >= 30)
itlib.check("herald kept trying through the blackout (resets from %.1f s to %.1f s)"
            % (min(in_b) - t0, max(in_b) - t0),
            min(in_b) - b_on < 3.0 and b_off - max(in_b) < 3.0)
during = [e for e in accepted if b_on + 0.2 < e["request"]["loggedDate"] / 1000.0 < b_off - 0.2]
itlib.check_eq("requests accepted during the blackout", 0, len(during))
before = sum(e["request"]["loggedDate"] / 1000.0 < b_on for e in accepted)
after = sum(e["request"]["loggedDate"] / 1000.0 > b_off for e in accepted)
itlib.check("windows accepted both before (%d) and after (%d) the blackout" % (before, after),
            before >= 10 and after >= 10)

# herald retried every fault (none REJECTed, none given up) and waited for
# the 429's Retry-After. When a reused connection is reset before any
# answer, libcurl itself sends the request again on a new one (the journal
# shows a reset and the next request of that recipient in the same
# millisecond), so some resets never reach herald.
lines = [ln for ln in err.splitlines() if "delivery will be retried" in ln]
seen = {"429": 0, "500": 0, "reset": 0, "timeout": 0}
for ln in lines:
    if "(curl 28:" in ln:
        seen["timeout"] += 1
    elif "transport error" in ln:
        seen["reset"] += 1
    elif "HTTP 429" in ln or "HTTP 500" in ln:
        seen[ln.split("HTTP ")[1][:3]] += 1
print("# herald retried %d times: %d x 429, %d x 500, %d resets, %d timeouts"
      % (len(lines), seen["429"], seen["500"], seen["reset"], seen["timeout"]))
itlib.check_eq("records rejected", 0, err.count("record rejected"))
itlib.check_eq("herald retried each 429 and each 500", [count["429"], count["500"]],
               [seen["429"], seen["500"]])
resets = count["reset"] + count["blackout"]
itlib.check("herald retried most resets (%d of %d)" % (seen["reset"], resets),
            resets // 2 <= seen["reset"] <= resets)
itlib.check_eq("retries for other reasons", 0, len(lines) - sum(seen.values()))
by_to = {}
for e in events:
    by_to.setdefault(itlib.wiremock_recipient(e), []).append(e)
early = []
for rs in by_to.values():
    for a, b in zip(rs, rs[1:]):
        if a["response"].get("status") == 429 and not a["response"].get("fault"):
            gap = b["request"]["loggedDate"] - a["request"]["loggedDate"]
            if gap < 1000:
                early.append(gap)
itlib.check_eq("retries sooner than a 429's Retry-After: 1 (gaps in ms)", [], early)

# Every window got its email: the first refinement's, accepted at least once.
first = {}  # recipient -> (partition, offset) of its window's first record
for rep in stream.reports:
    for r in rep["records"]:
        if r["value"]["n_attempts"] == 3:
            first[r["value"]["email_address"]] = (r["partition"], r["offset"])
delivered = itlib.wiremock_delivered(events)
missing = [w[0][2]["email_address"] for w in wins if w[0][2]["email_address"] not in delivered]
itlib.check_eq("windows without an accepted request (first 10)", [], missing[:10])
itlib.check_eq("recipients outside the windows", set(),
               set(by_to) - {w[0][2]["email_address"] for w in wins})
wrong = []
for w in wins:
    v = w[0][2]
    want = itlib.expected_sendgrid_body(v, rid, *first[v["email_address"]])
    wrong += [(v["email_address"], want, got) for got in
              (json.loads(e["request"]["body"]) for e in by_to[v["email_address"]])
              if got != want]
if wrong:
    print("first mismatch: %r" % (wrong[0],))
itlib.check_eq("requests whose body is not the first refinement's (n_attempts 3)", 0,
               len(wrong))
codes = [itlib.prism_send(accepted[i]["request"]["body"])[0] // 100
         for i in (0, len(accepted) // 2, -1)]
itlib.check_eq("Prism accepts accepted bodies from the start, middle and end (status / 100)",
               [2] * 3, codes)
itlib.check("duplicates %d <= timeouts herald saw %d" % (dups, seen["timeout"]),
            dups <= seen["timeout"])

# No commit ever passed a record whose window had no 202 yet.
itlib.check_commits_delivered("sendgrid faults", samples, stream.where, delivered, PARTS)
itlib.done("sendgrid_faults")
