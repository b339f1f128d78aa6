"""Issue 5, acceptance 1: 1,000 possible_anomalies records (Confluent's
AvroSerializer, ksqlDB windowed keys, 3 partitions) go through the smtp
channel to Mailpit over STARTTLS with AUTH and become exactly 1,000
messages, each with the expected To, From, Subject, text and HTML bodies
(rendered here in Python from the shipped templates) and Message-ID
(<first 32 hex of HMAC(hash_key, card@window_start)>@herald), read back through
Mailpit's API."""

import time

import itlib

N = 1000
rid = itlib.run_id("it5smtp")
domain = rid + ".example"
itlib.own(domain)
topic = rid
api = itlib.MAILPIT_TLS_API

rows = itlib.anomaly_rows(N, domain, seed=hash(rid) & 0xffff)
rep = itlib.produce_rows(topic, rows, partitions=3)
itlib.check_eq("records produced", N, rep["count"])

cfg = itlib.config(topic, rid, itlib.smtp_tls_channel(max_connections=4))
t0 = time.time()
rc, out, err = itlib.run_herald(cfg, N, timeout=240)
print("# herald delivered %d records in %.1f s" % (N, time.time() - t0))
itlib.check_eq("herald run -n %d exit code" % N, 0, rc)
itlib.check_eq("no record rejected (log)", 0, err.count("record rejected"))

msgs = itlib.mailpit_search(api, 'to:"@%s"' % domain, expect=N, timeout=60)
itlib.check_eq("messages in Mailpit for this run", N, len(msgs))

by_to = {}
for m in msgs:
    for a in m["To"]:
        by_to.setdefault(a["Address"], []).append(m["ID"])
itlib.check_eq("To addresses over all messages", N, sum(len(m["To"]) for m in msgs))
itlib.check_eq("distinct recipients", N, len(by_to))
itlib.check_eq("each recipient got exactly one message", [1],
               sorted({len(v) for v in by_to.values()}))

bad = []
for card, start, v, _ts in rows:
    subject, text, html = itlib.expected_email(v)
    # on the wire (and so in Mailpit) every line ends with CRLF
    text, html = itlib.crlf(text), itlib.crlf(html)
    [mid] = by_to[v["email_address"]]
    got = itlib.mailpit_message(api, mid)
    want = {"To": [v["email_address"]], "From": "alerts@bank.example",
            "FromName": "Fraud Alerts", "Subject": subject, "Text": text,
            "HTML": html, "MessageID": itlib.message_id(card, start)[1:-1],
            "Cc": [], "Bcc": []}
    have = {"To": [a["Address"] for a in got["To"]], "From": got["From"]["Address"],
            "FromName": got["From"]["Name"], "Subject": got["Subject"],
            "Text": got["Text"], "HTML": got["HTML"], "MessageID": got["MessageID"],
            "Cc": got.get("Cc") or [], "Bcc": got.get("Bcc") or []}
    if want != have:
        bad.append((v["email_address"], {k: (want[k], have[k]) for k in want
                                          if want[k] != have[k]}))
if bad:
    print("first mismatch: %r" % (bad[0],))
itlib.check_eq("messages differing from the expected To/From/Subject/Text/HTML/"
               "Message-ID", 0, len(bad))

# One raw message, header by header: the Message-ID header as the channel
# wrote it, STARTTLS really used (Mailpit's Received line says so).
card, start, v, _ = rows[0]
raw = itlib.mailpit_raw(api, by_to[v["email_address"]][0])
pm = itlib.parse_raw(raw)
itlib.check_eq("raw Message-ID header", itlib.message_id(card, start), pm["Message-ID"])
itlib.check_eq("raw To header", v["email_address"], str(pm["To"]))
itlib.check_eq("raw From header", itlib.FROM, str(pm["From"]))
itlib.check_eq("raw MIME type", "multipart/alternative", pm.get_content_type())
itlib.check("full card number nowhere in the raw message",
            card.encode() not in raw and card not in itlib.all_text(raw))

itlib.mailpit_delete(api, [m["ID"] for m in msgs])
itlib.check_eq("this run's messages deleted", 0,
               len(itlib.mailpit_search(api, 'to:"@%s"' % domain)))
itlib.done("smtp_starttls")
