"""Issue 12: channels built out of tree against the installed SDK only.

herald is installed into a temporary prefix (`cmake --install`); each of
examples/plugins/webhook and examples/plugins/pagerduty is copied out of
the source tree and built as a fresh CMake project from that prefix alone
(CMAKE_PREFIX_PATH, no include path into the source: compile_commands.json
is checked); the installed herald loads the results from `plugin_path:`.

- `herald plugins describe` lists each channel's declared fields exactly;
  `herald check` passes on the shipped config/examples/channels/*.yaml
  without printing a secret, and reports a notify section that does not
  fit its channel with exact file:line:col errors.
- Records (JSON values) go through each channel to WireMock. The journal
  holds exactly the expected request bodies, byte for byte (a value with
  quotes and a newline stays a string: record data cannot change the
  JSON), with the configured secret header and PagerDuty's dedup_key = the
  keyed idempotency key. Per-record WireMock scenarios answer 429 with
  Retry-After 2 (the retry waits at least 2 s), 500 then 503, a connection
  reset, and 400 (rejected at once, never retried, with the answer in the
  log); every other attempt succeeds (webhook 200 "ok", PagerDuty 202).
"""

import glob
import json
import os
import shutil
import subprocess
import tempfile

import itlib

from confluent_kafka import Producer

BUILD = itlib.BUILD
REPO = itlib.REPO
rid = itlib.run_id("oot")
tmp = tempfile.mkdtemp(prefix="herald-oot-")
os.chmod(tmp, 0o700)
prefix = os.path.join(tmp, "prefix")


def run(cmd, **kw):
    p = subprocess.run(cmd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                       text=True, **kw)
    if p.returncode != 0:
        print(p.stdout[-4000:])
    itlib.check_eq("exit code of %s" % " ".join(cmd[:3]), 0, p.returncode)
    return p.stdout


# ---- install, then build each example from the prefix alone
run(["cmake", "--install", BUILD, "--prefix", prefix])
herald = os.path.join(prefix, "bin", "herald")
plugdir = os.path.join(tmp, "plugins")
os.mkdir(plugdir, 0o755)
for name in ("webhook", "pagerduty"):
    src = os.path.join(tmp, "src", name)
    shutil.copytree(os.path.join(REPO, "examples", "plugins", name), src)
    bdir = os.path.join(tmp, "build-" + name)
    run(["cmake", "-S", src, "-B", bdir, "-DCMAKE_PREFIX_PATH=" + prefix,
         "-DCMAKE_EXPORT_COMPILE_COMMANDS=ON",
         "-DCMAKE_C_FLAGS=-Wall -Wextra -Wpedantic -Werror"])
    run(["cmake", "--build", bdir])
    with open(os.path.join(bdir, "compile_commands.json")) as f:
        cc = f.read()
    itlib.check("%s compiles with nothing of the source tree" % name, REPO not in cc, cc)
    itlib.check("%s compiles against the prefix's headers" % name,
                "-I" + os.path.join(prefix, "include") in cc
                or "-isystem " + os.path.join(prefix, "include") in cc, cc)
    so = os.path.join(bdir, name + ".so")
    syms = run(["nm", "-D", "--defined-only", so]).split()
    itlib.check_eq("%s.so exports one symbol" % name, "herald_plugin", syms[-1])
    shutil.copy(so, plugdir)

env = {"HERALD_PLUGIN_PATH": plugdir, "HERALD_HASH_KEY": itlib.HASH_KEY}
base_env = dict(os.environ, **env)

out = run([herald, "plugins", "describe", "webhook"], env=base_env)
itlib.check("describe webhook lists its one field", out.endswith(
    "fields:\n"
    "  body (json, required)\n"
    "      the JSON document to POST; string leaves are templates\n"), out)
out = run([herald, "plugins", "describe", "pagerduty"], env=base_env)
itlib.check("describe pagerduty lists its fields", out.endswith(
    "fields:\n"
    "  summary (one line, required)\n"
    "      one line: what happened (cut at 1024 characters)\n"
    "  severity (enum: critical|error|warning|info, required)\n"
    "      critical, error, warning or info\n"
    "  source (one line)\n"
    "      where it happened (default: the source option)\n"
    "  component (one line)\n"
    "      part of the source\n"
    "  group (one line)\n"
    "      logical group\n"
    "  class (one line)\n"
    "      class or type of event\n"
    "  custom_details (json)\n"
    "      JSON shown with the alert; string leaves are templates\n"), out)

# ---- the shipped examples check, secrets never printed
secrets = {"SLACK_WEBHOOK_URL": "https://hooks.example/services/T0/B0/" + rid + "-slack",
           "TEAMS_WORKFLOW_URL": "https://flows.example/wf?sig=" + rid + "-teams",
           "PAGERDUTY_ROUTING_KEY": "R" + rid.replace("-", ""),
           "SMTP_PASSWORD": rid + "-smtp"}
examples = sorted(glob.glob(os.path.join(REPO, "config", "examples", "channels", "*.yaml")))
itlib.check_eq("channel examples", ["anomaly-alerts-pagerduty.yaml", "anomaly-alerts-slack.yaml",
                                    "anomaly-alerts-teams.yaml"],
               [os.path.basename(x) for x in examples])
for path in examples:
    p = subprocess.run([herald, "check", "-c", path], stdout=subprocess.PIPE,
                       stderr=subprocess.STDOUT, text=True,
                       env=dict(base_env, KAFKA_BOOTSTRAP=itlib.BOOTSTRAP, **secrets))
    itlib.check_eq("herald check %s" % os.path.basename(path), 0, p.returncode)
    leaked = [k for k, v in secrets.items() if v in p.stdout]
    itlib.check_eq("no secret printed by check %s" % os.path.basename(path), [], leaked)

# ---- a notify section that does not fit its channel
bad = """kafka: { bootstrap.servers: %s }
plugin_path: %s
hash_key: "%s"
channels:
  hook: { plugin: webhook, url: "http://127.0.0.1:9/x" }
  pd: { plugin: pagerduty, routing_key: abc }
connectors:
  - name: a
    topics: [t]
    value: { format: json }
    notify:
      channel: hook
      to: "{{email}}"
      subject: hi
  - name: b
    topics: [t]
    value: { format: json }
    notify:
      channel: pd
      summary: "{{x}}"
      severity: "panic"
  - name: c
    topics: [t]
    value: { format: json }
    notify:
      channel: nosuch
      body: { text: "{{x}}" }
""" % (itlib.BOOTSTRAP, plugdir, itlib.HASH_KEY)
cfg = itlib.write_config(bad)
p = subprocess.run([herald, "check", "-c", cfg], stdout=subprocess.PIPE,
                   stderr=subprocess.STDOUT, text=True, env=base_env)
itlib.check_eq("check of a misfit notify section: exit 1", 1, p.returncode)
errs = [ln for ln in p.stdout.splitlines() if ln.startswith(cfg)]
itlib.check_eq("file:line:col errors", [
    "%s:13:7: unknown field 'to' for channel 'hook' (plugin webhook takes: body)" % cfg,
    "%s:14:7: unknown field 'subject' for channel 'hook' (plugin webhook takes: body)" % cfg,
    "%s:12:7: 'body' is required by channel 'hook' (plugin webhook): the JSON document to "
    "POST; string leaves are templates" % cfg,
    "%s:21:17: 'connectors[1].notify.severity' expects one of: critical, error, warning, "
    "info; got 'panic'" % cfg,
    # only this, not what an email channel would want of the section
    "%s:26:16: unknown channel 'nosuch' (define it under 'channels:')" % cfg,
    "%s: invalid" % cfg,
], errs)

# ---- records through both channels against WireMock
N = 8
topic = rid
itlib.create_topic(topic, 1)
rows = []
for i in range(N):
    card = "4%015d" % (1234567890123 + i * 7919)
    rows.append({"card_number": card, "n_attempts": 3 + i,
                 "total_amount": "%d.%02d" % (100 + i, i),
                 "note": 'he said "stop"\nline %d' % i, "marker": "%s-r%d" % (rid, i)})
prod = Producer({"bootstrap.servers": itlib.BOOTSTRAP})
for r in rows:
    prod.produce(topic, key=r["card_number"], value=json.dumps(r))
prod.flush(30)

WM = itlib.WIREMOCK
hook_path = "/%s/hook" % rid
pd_path = "/%s/v2/enqueue" % rid
token = "tok-" + rid
stubs = []


def stub(m):
    stubs.append(itlib.wm_add(m))


stub({"priority": 5, "request": {"method": "POST", "urlPath": hook_path},
      "response": {"status": 200, "body": "ok"}})
stub({"priority": 5, "request": {"method": "POST", "urlPath": pd_path},
      "response": {"status": 202, "jsonBody": {"status": "success",
                                               "message": "Event processed"}}})


def scenario(path, i, steps):
    for n, resp in enumerate(steps):
        stub({"priority": 1, "scenarioName": "%s%s-%d" % (rid, path, i),
              "requiredScenarioState": "Started" if n == 0 else "s%d" % n,
              "newScenarioState": "s%d" % (n + 1),
              "request": {"method": "POST", "urlPath": path,
                          "bodyPatterns": [{"contains": rows[i]["marker"] + '"'}]},
              "response": resp})


R429 = {"status": 429, "headers": {"Retry-After": "2"}, "body": "rate limited"}
R500 = {"status": 500, "body": "oops"}
R503 = {"status": 503}
RESET = {"fault": "CONNECTION_RESET_BY_PEER"}
R400_HOOK = {"status": 400, "body": "invalid_payload"}
R400_PD = {"status": 400, "jsonBody": {"status": "invalid event",
                                       "message": "Event object is invalid",
                                       "errors": ["Length of 'routing_key' is incorrect"]}}
for path, r400 in ((hook_path, R400_HOOK), (pd_path, R400_PD)):
    scenario(path, 0, [R429])
    scenario(path, 1, [R500, R503])
    scenario(path, 2, [RESET])
    scenario(path, 3, [r400, r400])

config = """kafka:
  bootstrap.servers: %(bootstrap)s
plugin_path: %(plugdir)s
hash_key: "%(hash_key)s"
channels:
  hook:
    plugin: webhook
    url: %(wm)s%(hook_path)s
    headers: ["Authorization: Bearer ${env:OOT_TOKEN}", "X-Run: %(rid)s"]
    max_in_flight: 4
  pd:
    plugin: pagerduty
    url: %(wm)s%(pd_path)s
    routing_key: ${env:OOT_ROUTING_KEY}
    source: it-source
connectors:
  - name: hook
    topics: [%(topic)s]
    group_id: %(rid)s-hook
    value: { format: json }
    notify:
      channel: hook
      body:
        text: "Card ending {{card_number | last4}}: {{n_attempts}} attempts ({{note}})"
        meta: { attempts: 3, ok: true, none: null, marker: "{{marker}}" }
    errors: { tolerance: all, retry: { initial: 100ms, max: 1s, timeout: 2m } }
  - name: pd
    topics: [%(topic)s]
    group_id: %(rid)s-pd
    value: { format: json }
    notify:
      channel: pd
      summary: "{{n_attempts}} attempts on card ending {{card_number | last4}}"
      severity: warning
      component: "card-{{card_number | last4}}"
      custom_details: { total: "{{total_amount}}", note: "{{note}}", marker: "{{marker}}" }
    errors: { tolerance: all, retry: { initial: 100ms, max: 1s, timeout: 2m } }
log: { level: info }
""" % {"bootstrap": itlib.BOOTSTRAP, "plugdir": plugdir, "hash_key": itlib.HASH_KEY,
       "wm": WM, "hook_path": hook_path, "pd_path": pd_path, "rid": rid, "topic": topic}
routing_key = "R" + rid.replace("-", "")[:31]
try:
    itlib.HERALD = herald  # the installed binary, not the build tree's
    path = itlib.write_config(config, tempfile.mkdtemp(prefix="herald-oot-cfg-"))
    h = itlib.Herald(path, args=("run",), extra=("-n", str(N)),  # per connector
                     env={"OOT_TOKEN": token, "OOT_ROUTING_KEY": routing_key,
                          "HERALD_PLUGIN_PATH": ""})
    rc, _ = h.wait(120)
    err = h.stderr()
    itlib.check_eq("herald run -n %d exit code" % N, 0, rc)
finally:
    for s in stubs:
        itlib.wm_remove(s)

rejected = [ln for ln in err.splitlines() if "record rejected" in ln]
itlib.check_eq("two records rejected (the 400s)", 2, len(rejected))
itlib.check("webhook's 400 rejected with the answer",
            any("connector=hook" in ln and "offset=3 " in ln and "HTTP 400: invalid_payload" in ln
                for ln in rejected), rejected)
itlib.check("pagerduty's 400 rejected with the answer",
            any("connector=pd" in ln and "offset=3 " in ln and "Event object is invalid" in ln
                for ln in rejected), rejected)
itlib.check_eq("no secret in herald's log", [],
               [s for s in (token, routing_key) if s in err])

journal = itlib.http_json("GET", "%s/__admin/requests?limit=100000" % WM)["requests"]
mine = [e for e in journal if e["request"]["url"] in (hook_path, pd_path)]
mine.sort(key=lambda e: e["request"]["loggedDate"])
itlib.http("POST", "%s/__admin/requests/remove" % WM,
       {"method": "POST", "urlPattern": "/%s/.*" % rid})


def compact(obj):
    """jansson's compact form: no spaces, UTF-8 as is, insertion order."""
    return json.dumps(obj, separators=(",", ":"), ensure_ascii=False)


def last4(card):
    return card[-4:]


def events(path, i):
    return [e for e in mine if e["request"]["url"] == path
            and rows[i]["marker"] + '"' in e["request"]["body"]]


wrong = []
for i, r in enumerate(rows):
    want_hook = compact({
        "text": "Card ending %s: %d attempts (%s)" % (last4(r["card_number"]), r["n_attempts"],
                                                       r["note"]),
        "meta": {"attempts": 3, "ok": True, "none": None, "marker": r["marker"]}})
    want_pd = compact({
        "routing_key": routing_key, "event_action": "trigger",
        "dedup_key": itlib.keyed_hash("%s-0-%d" % (topic, i)),
        "payload": {"summary": "%d attempts on card ending %s" % (r["n_attempts"],
                                                                 last4(r["card_number"])),
                    "source": "it-source", "severity": "warning",
                    "component": "card-" + last4(r["card_number"]),
                    "custom_details": {"total": r["total_amount"], "note": r["note"],
                                       "marker": r["marker"]}}})
    for path, want in ((hook_path, want_hook), (pd_path, want_pd)):
        evs = events(path, i)
        if not evs:
            wrong.append((path, i, "no request"))
        for e in evs:
            if e["request"]["body"] != want:
                wrong.append((path, i, want, e["request"]["body"]))
if wrong:
    print("first mismatch: %r" % (wrong[0],))
itlib.check_eq("request bodies differing from the expected bytes", 0, len(wrong))
itlib.check("no full card number sent", all(r["card_number"] not in e["request"]["body"]
                                            for r in rows for e in mine))
hook_evs = [e for e in mine if e["request"]["url"] == hook_path]
itlib.check_eq("webhook requests carry the secret header and the run's header",
               len(hook_evs), sum(e["request"]["headers"].get("Authorization") == "Bearer " + token
                                  and e["request"]["headers"].get("X-Run") == rid
                                  for e in hook_evs))
itlib.check_eq("every request is JSON", len(mine),
               sum(e["request"]["headers"].get("Content-Type") == "application/json"
                   for e in mine))


def statuses(path, i):
    return [e["response"]["status"] for e in events(path, i)]


for path, ok, name in ((hook_path, 200, "webhook"), (pd_path, 202, "pagerduty")):
    itlib.check_eq("%s: records without a fault, one request each" % name,
                   [[ok]] * (N - 4), [statuses(path, i) for i in range(4, N)])
    itlib.check_eq("%s: 429 then delivered" % name, [429, ok], statuses(path, 0))
    t = [e["request"]["loggedDate"] for e in events(path, 0)]
    itlib.check("%s: the retry after 429 waited >= Retry-After 2 s (%d ms)"
                % (name, t[1] - t[0]), t[1] - t[0] >= 2000)
    itlib.check_eq("%s: 500, 503, then delivered" % name, [500, 503, ok], statuses(path, 1))
    # a reset connection has no response status in the journal
    itlib.check_eq("%s: reset, then delivered" % name, 2, len(events(path, 2)))
    itlib.check_eq("%s: ... and the second attempt succeeded" % name, ok,
                   statuses(path, 2)[-1])
    itlib.check_eq("%s: 400 once, never retried" % name, [400], statuses(path, 3))

shutil.rmtree(tmp, ignore_errors=True)
itlib.done("out_of_tree_channels")
