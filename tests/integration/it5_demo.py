"""Issue 5, acceptance 6 (and the demo half of 5): `herald demo -c
config/demo.yaml`, run from the repository root as `make demo` does, exits
0, prints the tutorial's alert email (card ending 0099, 3 attempts, 232.41,
the window 03:19:30-03:20:00 UTC) once: the refinement of the same window
(4 attempts, 252.41) is recognised by dedup and not emailed again (issue 6),
and neither what it prints nor any email it writes holds the full card
number 358579699410099."""

import os
import re
import subprocess

import it5lib as L
import pylib

CARD = L.P.GOLDEN["card_number"]
p = subprocess.run([pylib.HERALD, "demo", "-c", "config/demo.yaml"], cwd=pylib.REPO,
                   stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, timeout=120,
                   env=dict(os.environ, **L.herald_env()))
out, err = p.stdout, p.stderr
pylib.check_eq("herald demo exit code", 0, p.returncode)
pylib.check("demo says all alerts were delivered", "demo: all alerts delivered" in out, out[-300:])

# The printed emails: each ends with "wrote <path>".
parts = re.split(r"^wrote (\S+)$", out, flags=re.M)
written = parts[1::2]
pylib.check_eq("emails printed and written (one per window)",
               ["build/demo-outbox/possible_anomalies-0-0.eml"], written)
pylib.check("demo reports the refinement skipped by dedup",
            "demo: 2 records, 1 email, 1 refinement skipped as a duplicate" in out,
            out[-300:])
printed = parts[0].split("\n\n", 1)[1]  # drop the "demo: mock cluster..." line

golden = dict(L.P.GOLDEN)
pm = L.parse_raw(printed.lstrip("\n").replace("\n", "\r\n").encode())
pylib.check_eq("printed Subject", "Suspicious activity on your card ending 0099",
               str(pm["Subject"]))
pylib.check_eq("printed To", "michael@example.com", str(pm["To"]))
pylib.check_eq("printed Message-ID", L.message_id(CARD, golden["start_boundary"]),
               pm["Message-ID"])
text = pm.get_body(("plain",)).get_content()
pylib.check_eq("printed text body", L.crlf(L.render(L.template("possible_anomaly.txt"), golden)),
               L.crlf(text))
pylib.check("text: 3 attempts, 232.41, window 03:19:30-03:20:00 UTC",
            "We noticed 3 attempts to use your card ending in 0099, for a total of 232.41, "
            "between 2020-04-22 03:19:30 UTC and 03:20:00 UTC." in text)
html = pm.get_body(("html",)).get_content()
pylib.check("html: 3 attempts, 0099, 232.41",
            "<strong>3 attempts</strong>" in html and "<strong>0099</strong>" in html
            and "<strong>232.41</strong>" in html)

for path, v in zip(written, (golden,)):
    with open(os.path.join(pylib.REPO, path), "rb") as f:
        raw = f.read()
    m = L.parse_raw(raw)
    pylib.check_eq("%s: text body" % path, L.render(L.template("possible_anomaly.txt"), v),
                   m.get_body(("plain",)).get_content().replace("\r\n", "\n"))
    pylib.check_eq("%s: html body" % path,
                   L.render(L.template("possible_anomaly.html"), v, escape=True),
                   m.get_body(("html",)).get_content().replace("\r\n", "\n"))
    pylib.check("%s: full card number in no header or part (raw and decoded)" % path,
                CARD.encode() not in raw and CARD not in L.all_text(raw)
                and CARD not in re.sub(r"\D", "", L.all_text(raw).replace("0099", "")))
pylib.check("full card number nowhere in the demo's stdout/stderr",
            CARD not in out and CARD not in err)
pylib.done("it5_demo")
