"""Issue 6, acceptance 6: the dedup key travels on the wire.

- smtp to Mailpit with an explicit dedup key "{{card_number}}/{{start_boundary}}":
  each window's one email carries Message-ID <first 32 hex of
  HMAC(hash_key, dedup key)@herald> in its raw header (plugins/common/mime.c).
- sendgrid to WireMock with the default key ({{@key}}@{{@window.start}}):
  one request per window whose personalizations[0].custom_args carry
  idempotency_key = the same 32 hex of HMAC(hash_key, card@start), and the first
  refinement's topic/partition/offset."""

import json

import it5lib as L
import it6lib as T
import pylib

N = 6
rid = pylib.run_id("it6idem")
domain = rid + ".example"
L.own("s." + domain)
L.own("g." + domain)


def run(topic, channel, dedup, wins):
    T.create_topic(topic, 2)
    rep = T.produce(topic, [r for w in wins for r in w])
    cfg = T.notify_config(topic, topic, channel, dedup)
    h = T.start(cfg)
    T.wait_committed(topic, topic, T.ends([rep], 2), timeout=60, alive=[h])
    T.stop(h, topic)
    return rep


# ---- smtp, explicit dedup key ---------------------------------------------
sub = rid + "-smtp"
wins = T.windows(N, "s." + domain, seed=77)
run(sub, T.smtp_plain_channel(), '    dedup: { key: "{{card_number}}/{{start_boundary}}" }\n',
    wins)
msgs = T.settle("s." + domain, N)
rcpt = T.by_recipient(msgs)
pylib.check_eq("smtp: one message per window", [1] * N,
               [len(rcpt.get(w[0][2]["email_address"], [])) for w in wins])
for w in wins:
    card, start, v, _ = w[0]
    raw = L.mailpit_raw(L.MAILPIT_API, rcpt[v["email_address"]][0]["ID"])
    want = "<%s@herald>" % T.key_hash("%s/%d" % (card, start))
    pylib.check_eq("smtp: %s Message-ID = HMAC(card/start)" % v["email_address"], want,
                   L.parse_raw(raw)["Message-ID"])

# ---- sendgrid, default key ------------------------------------------------
sg = rid + "-sg"
sgdom = "g." + domain
wins = T.windows(N, sgdom, seed=88)
rep = run(sg, L.sendgrid_channel("SG.it6-idem"), "    dedup: {}\n", wins)
reqs = L.wm_take(sgdom)
first = {}
for r in rep["records"]:
    first.setdefault(r["card_number"], r)
bodies = {}
for e in reqs:
    b = json.loads(e["request"]["body"])
    bodies.setdefault(b["personalizations"][0]["to"][0]["email"], []).append(b)
pylib.check_eq("sendgrid: requests per window", [1] * N,
               [len(bodies.get(w[0][2]["email_address"], [])) for w in wins])
pylib.check_eq("sendgrid: all answered 202", {202},
               {e["response"]["status"] for e in reqs})
for w in wins:
    card, start, v, _ = w[0]
    [b] = bodies[v["email_address"]]
    f = first[card]
    pylib.check_eq("sendgrid: %s custom_args" % v["email_address"],
                   {"idempotency_key": T.key_hash("%s@%d" % (card, start)), "topic": sg,
                    "partition": str(f["partition"]), "offset": str(f["offset"])},
                   b["personalizations"][0]["custom_args"])
    pylib.check("sendgrid: %s body is the first refinement's (n_attempts 3)" % v[
        "email_address"], "We noticed 3 attempts" in b["content"][0]["value"])
pylib.done("it6_idempotency")
