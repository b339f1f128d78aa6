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

import itlib

CARD = itlib.P.GOLDEN["card_number"]
p = subprocess.run([itlib.HERALD, "demo", "-c", "config/demo.yaml"], cwd=itlib.REPO,
                   stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, timeout=120,
                   env=dict(os.environ, **itlib.herald_env()))
out, err = p.stdout, p.stderr
itlib.check_eq("herald demo exit code", 0, p.returncode)
itlib.check("demo says all alerts were delivered", "demo: all alerts delivered" in out, out[-300:])

# The printed emails: each ends with "wrote <path>".
parts = re.split(r"^wrote (\S+)$", out, flags=re.M)
written = parts[1::2]
itlib.check_eq("emails printed and written (one per window)",
               ["build/demo-outbox/possible_anomalies-0-0.eml"], written)
itlib.check("demo reports the refinement skipped by dedup",
            "demo: 2 records, 1 email, 1 refinement skipped as a duplicate" in out,
            out[-300:])
printed = parts[0].split("\n\n", 1)[1]  # drop the "demo: mock cluster..." line

golden = dict(itlib.P.GOLDEN)
pm = itlib.parse_raw(printed.lstrip("\n").replace("\n", "\r\n").encode())
itlib.check_eq("printed Subject", "Suspicious activity on your card ending 0099",
               str(pm["Subject"]))
itlib.check_eq("printed To", "michael@example.com", str(pm["To"]))
itlib.check_eq("printed Message-ID", itlib.message_id(CARD, golden["start_boundary"]),
               pm["Message-ID"])
text = pm.get_body(("plain",)).get_content()
itlib.check_eq("printed text body", itlib.crlf(itlib.render(itlib.template("possible_anomaly.txt"), golden)),
               itlib.crlf(text))
itlib.check("text: 3 attempts, 232.41, window 03:19:30-03:20:00 UTC",
            "We noticed 3 attempts to use your card ending in 0099, for a total of 232.41, "
            "between 2020-04-22 03:19:30 UTC and 03:20:00 UTC." in text)
html = pm.get_body(("html",)).get_content()
itlib.check("html: 3 attempts, 0099, 232.41",
            "<strong>3 attempts</strong>" in html and "<strong>0099</strong>" in html
            and "<strong>232.41</strong>" in html)

for path, v in zip(written, (golden,)):
    with open(os.path.join(itlib.REPO, path), "rb") as f:
        raw = f.read()
    m = itlib.parse_raw(raw)
    itlib.check_eq("%s: text body" % path, itlib.render(itlib.template("possible_anomaly.txt"), v),
                   m.get_body(("plain",)).get_content().replace("\r\n", "\n"))
    itlib.check_eq("%s: html body" % path,
                   itlib.render(itlib.template("possible_anomaly.html"), v, escape=True),
                   m.get_body(("html",)).get_content().replace("\r\n", "\n"))
    itlib.check("%s: full card number in no header or part (raw and decoded)" % path,
                CARD.encode() not in raw and CARD not in itlib.all_text(raw)
                and CARD not in re.sub(r"\D", "", itlib.all_text(raw).replace("0099", "")))
itlib.check("full card number nowhere in the demo's stdout/stderr",
            CARD not in out and CARD not in err)

# The demo replaces bootstrap.servers only: the file's other kafka:
# settings still apply (a bad one is reported, not silently dropped).
import tempfile
with open(os.path.join(itlib.REPO, "config", "demo.yaml")) as f:
    demo_yaml = f.read()
demo_yaml = demo_yaml.replace(
    "  bootstrap.servers: localhost:9092",
    "  bootstrap.servers: localhost:9092\n  queued.min.messages: not-a-number", 1)
with tempfile.TemporaryDirectory() as tmp:
    for d in ("schemas", "templates"):  # relative to the config file
        os.symlink(os.path.join(itlib.REPO, "config", d), os.path.join(tmp, d))
    cfg = os.path.join(tmp, "demo.yaml")
    with open(cfg, "w") as f:
        f.write(demo_yaml)
    p = subprocess.run([itlib.HERALD, "demo", "-c", cfg], cwd=itlib.REPO,
                       stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, timeout=120,
                       env=dict(os.environ, **itlib.herald_env()))
itlib.check("demo with a bad kafka: setting in its file fails",
            p.returncode != 0, "exit %d" % p.returncode)
itlib.check("demo names the file's bad kafka: setting",
            "queued.min.messages" in p.stderr, p.stderr[-400:])
itlib.done("demo")
