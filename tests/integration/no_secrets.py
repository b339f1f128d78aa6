"""Issue 10, "no sensitive value on the wire, in Kafka or in logs": a sweep
of every output of herald run end to end against the real stack.

One topic of possible_anomalies rows (Confluent's AvroSerializer, ksqlDB
windowed keys: card number + window start), read by two connectors: SMTP
to Mailpit over STARTTLS with AUTH, and SendGrid to WireMock; both with
dedup marks topics and a dead-letter topic; log level debug; the admin
endpoint on. Each window has a refinement (deduplicated) and one record
has an invalid address (REJECTed to the dead-letter topic by both). The
hash key comes from ${file:}, the SMTP password from ${file:}, the
SendGrid API key from ${env:}.

Swept for every card number (its digits whole, with separators, every
prefix longer than the BIN, base64 of it) and for every secret (plain and
base64): the raw emails from Mailpit's API, WireMock's journal (bodies and
headers but Authorization, which must carry the API key, and is checked to
carry exactly "Bearer <key>"), herald's stdout and stderr, the admin
answers (/healthz /readyz /metrics /connectors), the marks topics (keys,
values, headers) and the dead-letter topic's headers. Where the card may
appear by design it is checked to be only there: the last four digits in
the emails (the templates show them), and the dead-letter record's key and
value, which are the source record's bytes unchanged (Kafka Connect's
contract: nothing else of it may carry the number). The marks' keys are
checked to be exactly HMAC-SHA-256(hash key, card@window_start)."""

import base64
import json
import os
import re
import secrets
import socket
import tempfile
import time
import urllib.request

from confluent_kafka import OFFSET_BEGINNING, Consumer, TopicPartition

import itlib

rid = itlib.run_id("it10sec")
domain = rid + ".example"
topic, dlq = rid, rid + ".dlq"
marks = {"smtp": rid + ".marks-smtp", "sg": rid + ".marks-sg"}
itlib.own(domain)
work = tempfile.mkdtemp(prefix="herald-it10sec-")

HASH_KEY = "it10-hash-" + secrets.token_hex(16)
SMTP_PASS = os.environ["MAILPIT_PASS"]
SG_KEY = "SG.it10-" + secrets.token_hex(12)
SECRETS = {"hash_key": HASH_KEY, "smtp password": SMTP_PASS, "sendgrid api_key": SG_KEY}
hk_path = os.path.join(work, "hash_key")
pw_path = os.path.join(work, "smtp_password")
for path, val in ((hk_path, HASH_KEY), (pw_path, SMTP_PASS)):
    with open(path, "w") as f:
        f.write(val + "\n")
    os.chmod(path, 0o600)

s = socket.socket()
s.bind(("127.0.0.1", 0))
ADMIN = "127.0.0.1:%d" % s.getsockname()[1]
s.close()


def connector(name, channel, group, marks_topic):
    return """  - name: %s
    topics: [%s]
    group_id: %s
    key:   { format: string, window: tumbling, window_size: 30s }
    value: { format: avro }
    commit_interval: 200ms
    notify:
      channel: %s
      to: "{{email_address}}"
      subject: %s
      text_file: %s
      html_file: %s
    dedup: { topic: %s, ttl: 1d }
    errors:
      tolerance: all
      dead_letter_topic: %s
      retry: { initial: 200ms, max: 2s, timeout: 1m }
""" % (name, topic, group, channel, json.dumps(itlib.SUBJECT_TMPL),
       os.path.join(itlib.TEMPLATES, "possible_anomaly.txt"),
       os.path.join(itlib.TEMPLATES, "possible_anomaly.html"), marks_topic, dlq)


cfg_text = """kafka:
  bootstrap.servers: %s
  session.timeout.ms: 6000
  heartbeat.interval.ms: 500
schema_registry:
  url: %s
hash_key: ${file:%s}
admin: { listen: %s }
log: { level: debug }
channels:
  mail:
    plugin: smtp
    url: smtp://%s
    tls: starttls
    ca_file: %s
    username: %s
    password: ${file:%s}
    from: "%s"
  sg:
    plugin: sendgrid
    api_key: ${env:IT10_SG_KEY}
    base_url: %s
    from: "%s"
    categories: [fraud-alert]
connectors:
%s%s""" % (itlib.BOOTSTRAP, itlib.SR_URL, hk_path, ADMIN, os.environ["MAILPIT_SMTP_TLS"],
           os.environ["MAILPIT_CA"], os.environ["MAILPIT_USER"], pw_path, itlib.FROM, itlib.WIREMOCK,
           itlib.FROM, connector("it10-smtp", "mail", rid + "-smtp", marks["smtp"]),
           connector("it10-sg", "sg", rid + "-sg", marks["sg"]))

# ---- records: 4 windows with a refinement each, one bad address ----------
wins = itlib.windows(4, domain, seed=10, refinements=1)
bad_card = "4999888877776666"
bad = wins[0][0][2].copy()
bad.update(card_number=bad_card, email_address="not an address")
rows = [w[0] for w in wins] + [w[1] for w in wins] + [
    (bad_card, wins[0][0][1], bad, wins[0][0][3])]
itlib.producer_create_topic(topic, 1)
itlib.producer_create_topic(dlq, 1)
rep = itlib.produce_checked(topic, rows)
END = len(rows)
src = {r["offset"]: r for r in rep["records"]}
CARDS = sorted({r[0] for r in rows})


def forms(card):
    """What of a card number must never show: the digits whole, grouped by
    4 with a space or dash, every prefix longer than the BIN (6) up to all
    but the last four, and base64 of the number (3 alignments)."""
    out = {card, " ".join(card[i:i + 4] for i in range(0, len(card), 4)),
           "-".join(card[i:i + 4] for i in range(0, len(card), 4))}
    out |= {card[:n] for n in range(7, len(card) - 3)}
    for pad in ("", "x", "xx"):
        b = base64.b64encode((pad + card).encode()).decode()
        out.add(b[4:-4] if len(b) > 12 else b)
    return out


def secret_forms(v):
    return {v, base64.b64encode(v.encode()).decode()}


def leaks_in(data):
    """The card and secret forms found in data (str or bytes)."""
    if isinstance(data, bytes):
        data = data.decode("latin-1")
    leaks = []
    for card in CARDS:
        for f in forms(card):
            if f in data:
                leaks.append("card %s as %r" % (card[-4:], f))
    for name, v in SECRETS.items():
        for f in secret_forms(v):
            if f in data:
                leaks.append(name)
    return leaks


def sweep(what, data):
    """Check data holds no card form and no secret form."""
    leaks = leaks_in(data)
    if isinstance(data, bytes):
        data = data.decode("latin-1")
    itlib.check("%s: no card number and no secret (%d bytes)" % (what, len(data)),
                not leaks, leaks[:5])


# ---- run ------------------------------------------------------------------
cfg = itlib.write_config(cfg_text, work)
h = itlib.start_herald(cfg, env=dict(itlib.herald_env(), IT10_SG_KEY=SG_KEY))
itlib.wait_committed(rid + "-smtp", topic, [END], timeout=120, alive=[h])
itlib.wait_committed(rid + "-sg", topic, [END], timeout=120, alive=[h])

admin = {}
for path in ("/healthz", "/readyz", "/metrics", "/connectors"):
    with urllib.request.urlopen("http://%s%s" % (ADMIN, path), timeout=10) as r:
        admin[path] = r.read()
for path, body in admin.items():
    sweep("admin %s" % path, body)
rc, out = h.stop(timeout=60)
itlib.check_eq("herald exit code after SIGTERM", 0, rc)
err = h.stderr()
itlib.check("herald logged at debug", "level=debug" in err or '"debug"' in err, err[-500:])
sweep("herald stdout", out)
sweep("herald stderr (log level debug)", err)

# ---- emails: 4 windows, one each ------------------------------------------
msgs = itlib.mail(domain, api=itlib.MAILPIT_TLS_API, expect=4, timeout=30)
itlib.check_eq("emails in Mailpit (one per window)", 4, len(msgs))
for m in msgs:
    raw = itlib.mailpit_raw(itlib.MAILPIT_TLS_API, m["ID"])
    to = m["To"][0]["Address"]
    card = [w[0][0] for w in wins if w[0][2]["email_address"] == to][0]
    sweep("raw email to %s" % to, raw)
    sweep("decoded email to %s" % to, itlib.all_text(raw))
    itlib.check("email to %s shows the last four digits" % to, card[-4:] in itlib.all_text(raw))
    start = [w[0][1] for w in wins if w[0][2]["email_address"] == to][0]
    itlib.check_eq("email to %s: Message-ID is the keyed hash" % to,
                   "<%s@herald>" % itlib.keyed_hash("%s@%d" % (card, start), HASH_KEY)[:32],
                   itlib.parse_raw(raw)["Message-ID"])

# ---- WireMock journal -----------------------------------------------------
events = itlib.wm_serve_events(domain)
itlib.check_eq("SendGrid requests (one per window)", 4, len(events))
for e in events:
    req = e["request"]
    hdrs = dict(req.get("headers") or {})
    auth = hdrs.pop("Authorization", None)
    itlib.check_eq("request carries the API key only in Authorization", "Bearer " + SG_KEY, auth)
    sweep("SendGrid request body", req.get("body") or "")
    sweep("SendGrid request headers but Authorization", json.dumps(hdrs))
    sweep("SendGrid request URL", req.get("url") or "")
    sweep("WireMock response", json.dumps(e.get("response") or {}))


# ---- Kafka: marks and dead letters ----------------------------------------
def read_all(t, want):
    c = Consumer({"bootstrap.servers": itlib.BOOTSTRAP, "group.id": rid + "-reader-" + t,
                  "enable.auto.commit": False})
    c.assign([TopicPartition(t, 0, OFFSET_BEGINNING)])
    got, deadline = [], time.time() + 30
    while time.time() < deadline and len(got) < want:
        m = c.poll(0.5)
        if m is not None and m.error() is None:
            got.append(m)
    c.close()
    return got


want_keys = sorted(itlib.keyed_hash("%s@%d" % (w[0][0], w[0][1]), HASH_KEY) for w in wins)
for name, t in marks.items():
    got = read_all(t, 4)
    itlib.check_eq("%s marks: keys are HMAC(hash key, card@start)" % name, want_keys,
                   sorted(m.key().decode() for m in got))
    for m in got:
        sweep("%s mark key" % name, m.key())
        sweep("%s mark value" % name, m.value() or b"")
        sweep("%s mark headers" % name, repr(m.headers() or []))

dl = read_all(dlq, 2)
itlib.check_eq("dead letters (the bad address, once per connector)", 2, len(dl))
for m in dl:
    hd = m.headers() or []
    off = [v for k, v in hd if k == "__connect.errors.offset"]
    s = src[int(off[0])] if off else None
    sweep("dead-letter headers", repr(hd))
    itlib.check("dead letter: key and value are the source record's bytes, unchanged",
                s is not None and m.key().hex() == s["key_hex"]
                and m.value().hex() == s["value_hex"])
    # The sweep can fail: it finds the card in the (by design unchanged)
    # source key and value.
    itlib.check("the sweep finds the card in the dead letter's key and value",
                any(bad_card in x for x in leaks_in(m.key()))
                and any(bad_card[-4:] in x for x in leaks_in(m.value())), leaks_in(m.value()))

itlib.done("no_secrets")
