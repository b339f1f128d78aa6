"""Issue 6, acceptance 6: the dedup key travels on the wire.

- smtp to Mailpit with an explicit dedup key "{{card_number}}/{{start_boundary}}":
  each window's one email carries Message-ID <first 32 hex of
  HMAC(hash_key, dedup key)@herald> in its raw header (plugins/common/mime.c).
- sendgrid to WireMock with the default key ({{@key}}@{{@window.start}}):
  one request per window whose personalizations[0].custom_args carry
  idempotency_key = the same 32 hex of HMAC(hash_key, card@start), and the first
  refinement's topic/partition/offset."""

import json

import itlib

N = 6
rid = itlib.run_id("it6idem")
domain = rid + ".example"
itlib.own("s." + domain)
itlib.own("g." + domain)


def run(topic, channel, dedup, wins):
    itlib.producer_create_topic(topic, 2)
    rep = itlib.produce_checked(topic, [r for w in wins for r in w])
    cfg = itlib.notify_config(topic, topic, channel, dedup)
    h = itlib.start(cfg)
    itlib.wait_committed(topic, topic, itlib.ends([rep], 2), timeout=60, alive=[h])
    itlib.stop(h, topic)
    return rep


# ---- smtp, explicit dedup key ---------------------------------------------
sub = rid + "-smtp"
wins = itlib.windows(N, "s." + domain, seed=77)
run(sub, itlib.smtp_plain_channel(), '    dedup: { key: "{{card_number}}/{{start_boundary}}" }\n',
    wins)
msgs = itlib.settle("s." + domain, N)
rcpt = itlib.by_recipient(msgs)
itlib.check_eq("smtp: one message per window", [1] * N,
               [len(rcpt.get(w[0][2]["email_address"], [])) for w in wins])
for w in wins:
    card, start, v, _ = w[0]
    raw = itlib.mailpit_raw(itlib.MAILPIT_API, rcpt[v["email_address"]][0]["ID"])
    want = "<%s@herald>" % itlib.dedup_key_hash("%s/%d" % (card, start))
    itlib.check_eq("smtp: %s Message-ID = HMAC(card/start)" % v["email_address"], want,
                   itlib.parse_raw(raw)["Message-ID"])

# ---- sendgrid, default key ------------------------------------------------
sg = rid + "-sg"
sgdom = "g." + domain
wins = itlib.windows(N, sgdom, seed=88)
rep = run(sg, itlib.sendgrid_channel("SG.it6-idem"), "    dedup: {}\n", wins)
reqs = itlib.wm_take(sgdom)
first = {}
for r in rep["records"]:
    first.setdefault(r["card_number"], r)
bodies = {}
for e in reqs:
    b = json.loads(e["request"]["body"])
    bodies.setdefault(b["personalizations"][0]["to"][0]["email"], []).append(b)
itlib.check_eq("sendgrid: requests per window", [1] * N,
               [len(bodies.get(w[0][2]["email_address"], [])) for w in wins])
itlib.check_eq("sendgrid: all answered 202", {202},
               {e["response"]["status"] for e in reqs})
for w in wins:
    card, start, v, _ = w[0]
    [b] = bodies[v["email_address"]]
    f = first[card]
    itlib.check_eq("sendgrid: %s custom_args" % v["email_address"],
                   {"idempotency_key": itlib.dedup_key_hash("%s@%d" % (card, start)), "topic": sg,
                    "partition": str(f["partition"]), "offset": str(f["offset"])},
                   b["personalizations"][0]["custom_args"])
    itlib.check("sendgrid: %s body is the first refinement's (n_attempts 3)" % v[
        "email_address"], "We noticed 3 attempts" in b["content"][0]["value"])
itlib.done("idempotency")
