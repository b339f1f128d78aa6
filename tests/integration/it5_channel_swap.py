"""Issue 5, acceptance 3: swapping channels is a channel edit. One config,
whose connector section stays byte for byte the same, runs first with
`plugin: sendgrid` (WireMock) and then with `plugin: smtp` (Mailpit,
plain): the same binary delivers the same messages through each (same
recipients, subjects, text and HTML bodies, and the same 32-hex key hash:
custom_args.idempotency_key vs Message-ID). The records are produced once
per run, identically, so both runs read with the same group id."""

import json

import it5lib as L
import pylib

N = 25
rid = pylib.run_id("it5swap")
domain = rid + ".example"
L.own(domain)
topic = rid
rows = L.anomaly_rows(N, domain, seed=11)

sg_cfg = L.config(topic, rid, L.sendgrid_channel("SG.it5-" + rid))
smtp_cfg = L.config(topic, rid, L.smtp_plain_channel())
conn_a, conn_b = sg_cfg.split("connectors:")[1], smtp_cfg.split("connectors:")[1]
pylib.check_eq("connector section identical in both configs", conn_a, conn_b)
pylib.check_eq("configs differ only in the channel's lines",
               [], [a for a in sg_cfg.splitlines() if a not in smtp_cfg.splitlines()
                    and not a.startswith("    ")])

# Run 1: SendGrid.
rep1 = L.produce_rows(topic, rows)
rc, _, err = L.run_herald(sg_cfg, N, timeout=120)
pylib.check_eq("sendgrid run exit code", 0, rc)
ev = L.wm_take(domain)
pylib.check_eq("sendgrid requests", N, len(ev))
sg = {}
for e in ev:
    b = json.loads(e["request"]["body"])
    to = [t["email"] for t in b["personalizations"][0]["to"]]
    sg[to[0]] = {"to": to, "subject": b["subject"],
                 "text": L.crlf(b["content"][0]["value"]), "html": L.crlf(b["content"][1]["value"]),
                 "hash": b["personalizations"][0]["custom_args"]["idempotency_key"]}

# Run 2: the same records again, SMTP, same connector and group.
rep2 = L.produce_rows(topic, rows)
pylib.check("second batch follows the first (offsets %d..%d)" % (N, 2 * N - 1),
            [r["offset"] + N for r in rep1["records"]] == [r["offset"] for r in rep2["records"]])
rc, _, err = L.run_herald(smtp_cfg, N, timeout=120)
pylib.check_eq("smtp run exit code", 0, rc)
msgs = L.mailpit_search(L.MAILPIT_API, 'to:"@%s"' % domain, expect=N)
pylib.check_eq("smtp messages", N, len(msgs))
sm = {}
for m in msgs:
    full = L.mailpit_message(L.MAILPIT_API, m["ID"])
    to = [a["Address"] for a in full["To"]]
    sm[to[0]] = {"to": to, "subject": full["Subject"], "text": full["Text"],
                 "html": full["HTML"], "hash": full["MessageID"].split("@")[0]}

pylib.check("same %d recipients through both channels" % N,
            len(sg) == N and sorted(sg) == sorted(sm), (sorted(sg), sorted(sm)))
pylib.check_eq("messages that differ between the channels", [],
               [k for k in sg if sg[k] != sm[k]])
card, start, v, _ = rows[0]
subject, text, _html = L.expected_email(v)
pylib.check_eq("and they are the expected ones (subject)", subject,
               sm[v["email_address"]]["subject"])
pylib.check_eq("and they are the expected ones (text)", L.crlf(text),
               sg[v["email_address"]]["text"])
pylib.check_eq("key hash", L.key_hash(card, start), sg[v["email_address"]]["hash"])
L.mailpit_delete(L.MAILPIT_API, [m["ID"] for m in msgs])
pylib.done("it5_channel_swap")
