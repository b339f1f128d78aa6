"""Issue 5, acceptance 4: header and envelope injection. Records whose
email_address, card_number (and so the windowed key) or tx_ids hold CR,
LF, NUL, "\\r\\nBcc: ...", an over-long address or non-ASCII go through the
smtp channel to Mailpit with a config that also puts the address and the
transaction ids in extra headers. Bad records are REJECTed with a reason
in herald's log (with their offset); good records around them arrive; no
extra header or recipient ever reaches Mailpit (checked on the raw
messages, the envelope, and a search for the attacker's domain); over-long
and non-ASCII values that are legitimate arrive intact and folded/encoded."""

import decimal
import re

import itlib

rid = itlib.run_id("it5inj")
D = rid + ".example"
itlib.own(D)
EVIL = "x@evil-%s.example" % rid
topic = rid
api = itlib.MAILPIT_API
START = 1_700_000_010_000 - (1_700_000_010_000 % 30_000)
LONG_TX = "T" * 2000
UNI_TX = "Z\u00fcrich \u2603 \u6771\u4eac"


def rec(email, card="4111111111110099", txs=("tx-a", "tx-b")):
    return {"card_number": card, "email_address": email, "n_attempts": 3,
            "total_amount": decimal.Decimal("12.34"), "tx_ids": list(txs),
            "start_boundary": START, "end_boundary": START + 30_000}


# (value, expected outcome: "ok" or the exact REJECT reason herald logs)
CASES = [
    (rec("good0@" + D), "ok"),
    (rec("bad1@%s\r\nBcc: %s" % (D, EVIL)), "'to' contains a control character (CR)"),
    (rec("good2@" + D), "ok"),
    (rec("bad3@%s\nBcc: %s" % (D, EVIL)), "'to' contains a control character (LF)"),
    (rec("bad4@%s\x00%s" % (D, EVIL)),
     "to: field 'email_address' contains a NUL character"),
    (rec("bad5@" + D, card="411111111111\r\n99"),
     "'subject' contains a control character (CR)"),
    (rec("good6@" + D), "ok"),
    # CR/LF in the card number reaches the key, never a header: the subject
    # shows "mple", the default idempotency key falls back to the
    # coordinates (notify.c render_key), so the message is fine to send
    (rec("good7@" + D, card="4111111111110099\r\nBcc: " + EVIL), "ok"),
    (rec("bad8@" + D, txs=("tx-a", "t\r\nBcc: " + EVIL)),
     "'X-Tx' contains a control character (CR)"),
    (rec("b" * 300 + "@" + D), "'to' is not a valid address: longer than 254 octets"),
    (rec("good10@" + D, txs=(LONG_TX,)), "ok"),
    (rec("j\u00f6rg11@" + D),
     "'to' is not a valid address: character 0xc3 not allowed in the local part"),
    (rec("good12@" + D, txs=(UNI_TX,)), "ok"),
    (rec("bad13@%s, %s" % (D, EVIL)),
     "'to' is not a valid address: character '@' not allowed in the local part"),
    (rec("bad14@%s>\r\nRCPT TO:<%s" % (D, EVIL)),
     "'to' contains a control character (CR)"),
    (rec("Victim <bad15@%s>\r\nBcc: %s" % (D, EVIL)),
     "'to' contains a control character (CR)"),
    (rec("good16@" + D), "ok"),
]
N = len(CASES)
rows = [(v["card_number"], START, v, START + 1000) for v, _ in CASES]
rep = itlib.produce_rows(topic, rows)
offsets = [r["offset"] for r in rep["records"]]
itlib.check_eq("offsets", list(range(N)), offsets)

notify_extra = '''      headers:
        X-Customer: "{{email_address}}"
        X-Tx: "{{tx_ids | join \\", \\"}}"
'''
cfg = itlib.config(topic, rid, itlib.smtp_plain_channel(), notify_extra=notify_extra)
rc, out, err = itlib.run_herald(cfg, N, timeout=120)
itlib.check_eq("herald exit code", 0, rc)

# The log: one REJECT per bad record, with its offset and a reason.
rejects = {}
for ln in err.splitlines():
    if "record rejected" in ln:
        m = re.search(r"\boffset=(\d+)\b", ln)
        rejects[int(m.group(1))] = ln
bad = [i for i, (_, want) in enumerate(CASES) if want != "ok"]
itlib.check_eq("rejected offsets (log)", bad, sorted(rejects))
for i in bad:
    want = CASES[i][1]
    itlib.check("offset %d rejected: %s" % (i, want),
                ('msg="record rejected: %s"' % want) in rejects[i], rejects[i])
itlib.check("no log line starts with an injected header",
            not any(ln.startswith(("Bcc", "RCPT")) for ln in err.splitlines()))

good = ["good%d@%s" % (i, D) for i, (_, w) in enumerate(CASES) if w == "ok"]
msgs = itlib.mailpit_search(api, 'to:"@%s"' % D, expect=len(good))
itlib.check_eq("recipients that got mail", sorted(good),
               sorted(a["Address"] for m in msgs for a in m["To"]))
itlib.check_eq("messages mentioning the attacker's domain", 0,
               len(itlib.mailpit_search(api, '"evil-%s"' % rid)))
itlib.check_eq("messages to the attacker", 0,
               len(itlib.mailpit_search(api, 'to:"evil-%s"' % rid)))

EXPECTED_HEADERS = ["Content-Type", "Date", "From", "MIME-Version", "Message-ID",
                    "Received", "Return-Path", "Subject", "To", "X-Customer",
                    "X-Herald-Source", "X-Tx"]
for m in msgs:
    to = m["To"][0]["Address"]
    i = int(re.match(r"good(\d+)@", to).group(1))
    v = CASES[i][0]
    raw = itlib.mailpit_raw(api, m["ID"])
    full = itlib.mailpit_message(api, m["ID"])
    head = raw.split(b"\r\n\r\n", 1)[0]
    head = head[head.index(b"\r\nDate: ") + 2:]  # herald's headers (after Mailpit's)
    pm = itlib.parse_raw(raw)
    names = sorted({k for k in pm.keys()})
    itlib.check_eq("%s: header names" % to, EXPECTED_HEADERS, names)
    itlib.check_eq("%s: each header once" % to, len(pm.keys()), len(names))
    itlib.check_eq("%s: envelope recipients (To, Cc, Bcc)" % to, ([to], [], []),
                   ([a["Address"] for a in full["To"]], full["Cc"] or [], full["Bcc"] or []))
    itlib.check("%s: attacker absent from the raw message" % to,
                b"evil-" + rid.encode() not in raw)
    itlib.check("%s: only CRLF line ends" % to,
                b"\r" not in raw.replace(b"\r\n", b"") and b"\n" not in raw.replace(b"\r\n", b""))
    itlib.check("%s: herald's header lines <= 78 octets, all lines <= 998" % to,
                max(len(x) for x in head.split(b"\r\n")) <= 78 and
                max(len(x) for x in raw.split(b"\r\n")) <= 998)
    itlib.check("%s: X-Tx decodes to the record's tx ids (%d characters)"
                % (to, len(", ".join(v["tx_ids"]))), ", ".join(v["tx_ids"]) == str(pm["X-Tx"]),
                repr(str(pm["X-Tx"])[:200]))
    itlib.check_eq("%s: X-Customer" % to, to, str(pm["X-Customer"]))
    itlib.check("%s: no NUL anywhere" % to, b"\x00" not in raw)
    if i == 7:
        itlib.check_eq("%s: Message-ID from topic-partition-offset" % to,
                       "<%s@herald>" % itlib.keyed_hash("%s-0-7" % topic)[:32],
                       pm["Message-ID"])
        itlib.check_eq("%s: subject" % to, "Suspicious activity on your card ending mple",
                       str(pm["Subject"]))

itlib.mailpit_delete(api, [m["ID"] for m in msgs])
itlib.done("header_injection")
