"""Helpers for the notify integration tests (it5_*.py): test data through
Confluent's AvroSerializer (tests/stack/producer.py, imported), the expected
rendering of the shipped templates computed independently in Python, and
small clients for Mailpit's and WireMock's APIs that only ever touch this
run's messages, mappings and journal entries."""

import argparse
import datetime as dt
import decimal
import email
import email.policy
import hashlib
import html
import json
import os
import random
import re
import sys
import time
import urllib.error
import urllib.parse
import urllib.request
import uuid

import pylib

sys.path.insert(0, os.path.join(pylib.REPO, "tests", "stack"))
import producer as P  # noqa: E402  (the stack's producer, as a module)

TEMPLATES = os.path.join(pylib.REPO, "config", "templates")
MAILPIT_API = os.environ.get("MAILPIT_API", "http://127.0.0.1:38025")
MAILPIT_TLS_API = os.environ.get("MAILPIT_TLS_API", "http://127.0.0.1:38026")
WIREMOCK = os.environ.get("WIREMOCK_URL", "http://127.0.0.1:38080")
PRISM = os.environ.get("PRISM_URL", "http://127.0.0.1:34010")
SUBJECT_TMPL = "Suspicious activity on your card ending {{card_number | last4}}"
FROM = "Fraud Alerts <alerts@bank.example>"

# ---------------------------------------------------------------- HTTP


def http(method, url, body=None, headers=None, timeout=30):
    """Returns (status, headers dict, body bytes); never raises on 4xx/5xx."""
    data = None
    h = dict(headers or {})
    if body is not None:
        data = body if isinstance(body, bytes) else (
            body.encode() if isinstance(body, str) else json.dumps(body).encode())
        h.setdefault("Content-Type", "application/json")
    req = urllib.request.Request(url, data=data, method=method, headers=h)
    try:
        with urllib.request.urlopen(req, timeout=timeout) as r:
            return r.status, dict(r.headers), r.read()
    except urllib.error.HTTPError as e:
        return e.code, dict(e.headers), e.read()


def http_json(method, url, body=None):
    st, _, b = http(method, url, body)
    if st // 100 != 2:
        raise RuntimeError("%s %s: HTTP %d %s" % (method, url, st, b[:300]))
    try:
        return json.loads(b) if b else None
    except ValueError:
        return b.decode(errors="replace")

# ---------------------------------------------------------------- data


def producer_stack():
    return P.Stack(argparse.Namespace(bootstrap=pylib.BOOTSTRAP, registry=pylib.SR_URL))


def anomaly_rows(n, domain, seed, base=None):
    """n possible_anomalies rows, each its own (card, window), recipients
    user<i>@domain. Returns the producer's rows (card, start, value, ts)."""
    rng = random.Random(seed)
    if base is None:
        base = 1_700_000_010_000 - (1_700_000_010_000 % P.WINDOW_MS)
    rows = []
    for i in range(n):
        card = "4" + "".join(str(rng.randrange(10)) for _ in range(15))
        start = base + rng.randrange(0, 100_000) * P.WINDOW_MS
        amounts = [decimal.Decimal(rng.randrange(1, 100_000)) / 100 for _ in range(3 + i % 3)]
        txs = [str(uuid.UUID(int=rng.getrandbits(128), version=4)) for _ in amounts]
        total = sum(amounts, decimal.Decimal("0.00")).quantize(decimal.Decimal("0.01"))
        v = P.anomaly_value(card, "user%d@%s" % (i, domain), len(txs), total, txs, start)
        rows.append((card, start, v, start + 1000))
    return rows


def produce_rows(topic, rows, partitions=1):
    """Create topic and produce rows with the producer's AvroSerializer and
    ksqlDB's windowed keys. Returns the producer's report (offsets...)."""
    st = producer_stack()
    P.create_topic(st, topic, partitions)
    args = argparse.Namespace(topic=topic, subject=P.ANOMALY_SUBJECT)
    return P.produce_anomalies(st, args, rows)

# ---------------------------------------------------------------- rendering

_TAG = re.compile(r"\{\{\s*(.*?)\s*\}\}")


def _filter(value, spec):
    name, _, arg = spec.strip().partition(" ")
    arg = arg.strip()
    if name == "last4":
        s = str(value)
        return s[-4:] if len(s) > 4 else "*" * len(s)
    if name == "decimal":
        q = decimal.Decimal(1).scaleb(-int(arg))
        return str(decimal.Decimal(value).quantize(q, rounding=decimal.ROUND_HALF_UP))
    if name == "datetime":
        fmt = json.loads(arg) if arg else "%Y-%m-%d %H:%M:%S %Z"
        t = dt.datetime.fromtimestamp(value / 1000, tz=dt.timezone.utc)
        return t.strftime(fmt)
    raise ValueError("filter %r not handled by the test renderer" % name)


def render(template, value, escape=False):
    """The test's own rendering of a herald template for one anomaly value
    (only the filters the shipped templates use)."""
    def sub(m):
        parts = m.group(1).split("|")
        v = value[parts[0].strip()]
        for f in parts[1:]:
            v = _filter(v, f)
        s = str(v)
        return html.escape(s, quote=True) if escape else s
    return _TAG.sub(sub, template)


def template(name):
    with open(os.path.join(TEMPLATES, name)) as f:
        return f.read()


def expected_email(v):
    """(subject, text, html) for an anomaly value with the shipped templates."""
    return (render(SUBJECT_TMPL, v), render(template("possible_anomaly.txt"), v),
            render(template("possible_anomaly.html"), v, escape=True))


def key_hash(card, start):
    """First 32 hex digits of the keyed hash (HMAC-SHA-256 under the tests'
    hash_key) of the default dedup key {{@key}}@{{@window.start}}: the
    Message-ID and SendGrid's idempotency_key (notify.c, mime.c)."""
    return pylib.keyed_hash("%s@%d" % (card, start))[:32]


def message_id(card, start):
    return "<%s@herald>" % key_hash(card, start)

# ---------------------------------------------------------------- config


def config(topic, group, channel_yaml, notify_extra="", connector_extra="",
           text_file=None, html_file=None, retry="{ initial: 200ms, max: 3s, timeout: 2m }",
           tolerance="all", level="info", subject=SUBJECT_TMPL, to="{{email_address}}"):
    text_file = text_file or os.path.join(TEMPLATES, "possible_anomaly.txt")
    html_file = html_file or os.path.join(TEMPLATES, "possible_anomaly.html")
    return ("""kafka:
  bootstrap.servers: %s
schema_registry:
  url: %s
""" + pylib.HASH_KEY_YAML + """channels:
  email:
%s
connectors:
  - name: it5
    topics: [%s]
    group_id: %s
    key:   { format: string, window: tumbling, window_size: 30s }
    value: { format: avro }
    notify:
      channel: email
      to: %s
      subject: %s
      text_file: %s
      html_file: %s
%s    errors:
      tolerance: %s
      retry: %s
%slog: { level: %s }
""") % (pylib.BOOTSTRAP, pylib.SR_URL, channel_yaml, topic, group, json.dumps(to),
       json.dumps(subject), text_file, html_file, notify_extra, tolerance, retry,
       connector_extra, level)


def smtp_tls_channel(max_connections=4, extra="", username=None, password=None):
    """The STARTTLS+AUTH Mailpit as a channel; username and password default
    to the account the stack configures."""
    return """    plugin: smtp
    url: smtp://%s
    tls: starttls
    ca_file: %s
    username: %s
    password: %s
    from: "%s"
    max_connections: %d
%s""" % (os.environ["MAILPIT_SMTP_TLS"], os.environ["MAILPIT_CA"],
         username or os.environ["MAILPIT_USER"], password or os.environ["MAILPIT_PASS"],
         FROM, max_connections, extra)


def smtp_plain_channel(hostport=None, max_connections=4, extra=""):
    return """    plugin: smtp
    url: smtp://%s
    tls: none
    from: "%s"
    max_connections: %d
%s""" % (hostport or os.environ["MAILPIT_SMTP"], FROM, max_connections, extra)


def sendgrid_channel(api_key, base_url=None, max_in_flight=64, extra=""):
    return """    plugin: sendgrid
    api_key: %s
    base_url: %s
    from: "%s"
    categories: [fraud-alert]
    max_in_flight: %d
%s""" % (api_key, base_url or WIREMOCK, FROM, max_in_flight, extra)


def herald_env():
    """HERALD_HASH_KEY: the hash_key of the shipped configs
    (${env:HERALD_HASH_KEY}), the tests' key."""
    return {"HERALD_PLUGIN_PATH": pylib.PLUGIN_DIR, "HERALD_HASH_KEY": pylib.HASH_KEY}


def run_herald(cfg_text, n, timeout=240, extra_env=None):
    """Run `herald run -n n` to completion; returns (rc, stdout, stderr)."""
    path = pylib.write_config(cfg_text)
    env = herald_env()
    env.update(extra_env or {})
    h = pylib.Herald(path, args=("run",), extra=("-n", str(n)), env=env)
    rc, out = h.wait(timeout)
    return rc, out, h.stderr()

# ---------------------------------------------------------------- Mailpit


def mailpit_search(api, query, expect=None, timeout=60):
    """All messages matching query (paged). With expect, poll until that
    many are there (or timeout)."""
    deadline = time.time() + timeout
    while True:
        msgs, start = [], 0
        while True:
            r = http_json("GET", "%s/api/v1/search?query=%s&start=%d&limit=500" % (
                api, urllib.parse.quote(query), start))
            msgs += r["messages"]
            start += len(r["messages"])
            if not r["messages"] or start >= r["messages_count"]:
                break
        if expect is None or len(msgs) >= expect or time.time() > deadline:
            return msgs
        time.sleep(0.5)


def mailpit_message(api, mid):
    return http_json("GET", "%s/api/v1/message/%s" % (api, mid))


def mailpit_raw(api, mid):
    st, _, b = http("GET", "%s/api/v1/message/%s/raw" % (api, mid))
    if st != 200:
        raise RuntimeError("raw %s: HTTP %d" % (mid, st))
    return b


def mailpit_delete(api, ids):
    ids = list(ids)
    for i in range(0, len(ids), 200):
        http_json("DELETE", "%s/api/v1/messages" % api, {"IDs": ids[i:i + 200]})


def parse_raw(raw):
    return email.message_from_bytes(raw, policy=email.policy.default)


def all_text(raw):
    """Every decoded header and part of a raw message, as one string."""
    m = parse_raw(raw)
    out = []
    for part in m.walk():
        for k, v in part.items():
            out.append("%s: %s" % (k, v))
        if not part.is_multipart():
            out.append(part.get_content())
    return "\n".join(out)

# ---------------------------------------------------------------- WireMock


def wm_add(mapping):
    return http_json("POST", "%s/__admin/mappings" % WIREMOCK, mapping)["id"]


def wm_remove(mid):
    http("DELETE", "%s/__admin/mappings/%s" % (WIREMOCK, mid))


def wm_pattern(marker):
    return {"method": "POST", "url": "/v3/mail/send",
            "bodyPatterns": [{"contains": marker}]}


def wm_find(marker):
    """Journal entries whose body contains marker, oldest first."""
    r = http_json("POST", "%s/__admin/requests/find" % WIREMOCK, wm_pattern(marker))
    reqs = r["requests"]
    reqs.sort(key=lambda q: q["loggedDate"])
    return reqs


def wm_serve_events(marker):
    """Full serve events (request and response) whose body contains marker,
    oldest first."""
    r = http_json("GET", "%s/__admin/requests?limit=100000" % WIREMOCK)
    ev = [e for e in r["requests"] if marker in (e["request"].get("body") or "")]
    ev.sort(key=lambda e: e["request"]["loggedDate"])
    return ev


def wm_forget(marker):
    http("POST", "%s/__admin/requests/remove" % WIREMOCK, wm_pattern(marker))


def expected_sendgrid_body(v, topic, partition, offset, categories=("fraud-alert",)):
    subject, text, html_ = expected_email(v)
    card, start = v["card_number"], v["start_boundary"]
    body = {
        "personalizations": [{
            "to": [{"email": v["email_address"]}],
            "custom_args": {"idempotency_key": key_hash(card, start), "topic": topic,
                            "partition": str(partition), "offset": str(offset)}}],
        "from": {"email": "alerts@bank.example", "name": "Fraud Alerts"},
        "subject": subject,
        "content": [{"type": "text/plain", "value": text},
                    {"type": "text/html", "value": html_}],
    }
    if categories:
        body["categories"] = list(categories)
    return body


def prism_send(body_text, key="SG.prism-check"):
    st, h, b = http("POST", "%s/v3/mail/send" % PRISM, body_text.encode() if isinstance(
        body_text, str) else body_text, {"Authorization": "Bearer " + key,
                                         "Content-Type": "application/json"})
    return st, h, b


def crlf(s):
    """A rendered body as it travels in an email: LF line ends become CRLF."""
    return s.replace("\r\n", "\n").replace("\n", "\r\n")


def wm_take(marker):
    """Remove this run's journal entries (body contains marker) and return
    them as full serve events (request and response), oldest first."""
    r = http_json("POST", "%s/__admin/requests/remove" % WIREMOCK, wm_pattern(marker))
    ev = r["serveEvents"]
    ev.sort(key=lambda e: e["request"]["loggedDate"])
    return ev


def own(domain):
    """At exit (pass or fail), delete this run's Mailpit messages (recipients
    in domain, both instances) and forget its WireMock journal entries."""
    import atexit

    def cleanup():
        for api in (MAILPIT_API, MAILPIT_TLS_API):
            try:
                ms = [m for m in mailpit_search(api, 'to:"%s"' % domain)
                      if m["To"] and all(a["Address"].endswith("@" + domain) for a in m["To"])]
                mailpit_delete(api, [m["ID"] for m in ms])
            except Exception as e:  # cleanup must not hide the test's result
                print("# cleanup %s: %s" % (api, e), file=sys.stderr)
        try:
            wm_forget(domain)
        except Exception as e:
            print("# cleanup WireMock: %s" % e, file=sys.stderr)
    atexit.register(cleanup)
