"""Issue 5, acceptance 3: swapping channels is a channel edit. One config,
whose connector section stays byte for byte the same, runs first with
`plugin: sendgrid` (WireMock) and then with `plugin: smtp` (Mailpit,
plain): the same binary delivers the same messages through each (same
recipients, subjects, text and HTML bodies, and the same 32-hex key hash:
custom_args.idempotency_key vs Message-ID). The records are produced once
per run, identically, so both runs read with the same group id."""

import json

import itlib

N = 25
rid = itlib.run_id("it5swap")
domain = rid + ".example"
itlib.own(domain)
topic = rid
rows = itlib.anomaly_rows(N, domain, seed=11)

sg_cfg = itlib.config(topic, rid, itlib.sendgrid_channel("SG.it5-" + rid))
smtp_cfg = itlib.config(topic, rid, itlib.smtp_plain_channel())
conn_a, conn_b = sg_cfg.split("connectors:")[1], smtp_cfg.split("connectors:")[1]
itlib.check_eq("connector section identical in both configs", conn_a, conn_b)
itlib.check_eq("configs differ only in the channel's lines",
               [], [a for a in sg_cfg.splitlines() if a not in smtp_cfg.splitlines()
                    and not a.startswith("    ")])

# Run 1: SendGrid.
rep1 = itlib.produce_rows(topic, rows)
rc, _, err = itlib.run_herald(sg_cfg, N, timeout=120)
itlib.check_eq("sendgrid run exit code", 0, rc)
ev = itlib.wm_take(domain)
itlib.check_eq("sendgrid requests", N, len(ev))
sg = {}
for e in ev:
    b = json.loads(e["request"]["body"])
    to = [t["email"] for t in b["personalizations"][0]["to"]]
    sg[to[0]] = {"to": to, "subject": b["subject"],
                 "text": itlib.crlf(b["content"][0]["value"]), "html": itlib.crlf(b["content"][1]["value"]),
                 "hash": b["personalizations"][0]["custom_args"]["idempotency_key"]}

# Run 2: the same records again, SMTP, same connector and group.
rep2 = itlib.produce_rows(topic, rows)
itlib.check("second batch follows the first (offsets %d..%d)" % (N, 2 * N - 1),
            [r["offset"] + N for r in rep1["records"]] == [r["offset"] for r in rep2["records"]])
rc, _, err = itlib.run_herald(smtp_cfg, N, timeout=120)
itlib.check_eq("smtp run exit code", 0, rc)
msgs = itlib.mailpit_search(itlib.MAILPIT_API, 'to:"@%s"' % domain, expect=N)
itlib.check_eq("smtp messages", N, len(msgs))
sm = {}
for m in msgs:
    full = itlib.mailpit_message(itlib.MAILPIT_API, m["ID"])
    to = [a["Address"] for a in full["To"]]
    sm[to[0]] = {"to": to, "subject": full["Subject"], "text": full["Text"],
                 "html": full["HTML"], "hash": full["MessageID"].split("@")[0]}

itlib.check("same %d recipients through both channels" % N,
            len(sg) == N and sorted(sg) == sorted(sm), (sorted(sg), sorted(sm)))
itlib.check_eq("messages that differ between the channels", [],
               [k for k in sg if sg[k] != sm[k]])
card, start, v, _ = rows[0]
subject, text, _html = itlib.expected_email(v)
itlib.check_eq("and they are the expected ones (subject)", subject,
               sm[v["email_address"]]["subject"])
itlib.check_eq("and they are the expected ones (text)", itlib.crlf(text),
               sg[v["email_address"]]["text"])
itlib.check_eq("key hash", itlib.key_hash(card, start), sg[v["email_address"]]["hash"])
itlib.mailpit_delete(itlib.MAILPIT_API, [m["ID"] for m in msgs])
itlib.done("channel_swap")
