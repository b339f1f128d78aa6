"""Issue 5, acceptance 5: the shipped example configs.

- `herald check` passes on every config/examples/*.yaml with the env they
  need, prints the secret options as <redacted>, and the secret values
  appear nowhere in stdout or stderr.
- config/examples/anomaly-alerts-smtp.yaml runs against Mailpit (STARTTLS +
  AUTH) through its env vars, and anomaly-alerts-sendgrid.yaml against
  WireMock; no message holds a full card number (raw message, every
  decoded header and part; SendGrid request bodies). Two things the shipped
  files hard-code cannot point at a shared test stack: the topic/group
  (possible_anomalies / email-sender) and, for SMTP, the test CA
  (ca_file). The test runs a copy with exactly those lines changed (the
  diff is asserted), next to a link to the shipped templates directory.
"""

import glob
import json
import os
import subprocess
import tempfile

import itlib

rid = itlib.run_id("it5ex")
D = rid + ".example"
itlib.own(D)
SECRET_SMTP = "smtp-secret-" + rid
SECRET_SG = "SG.secret-" + rid
EX = os.path.join(itlib.REPO, "config", "examples")
env = dict(itlib.herald_env(), KAFKA_BOOTSTRAP=itlib.BOOTSTRAP, SCHEMA_REGISTRY_URL=itlib.SR_URL,
           SMTP_URL="smtp://" + os.environ["MAILPIT_SMTP_TLS"],
           SMTP_USERNAME=os.environ["MAILPIT_USER"], SENDGRID_BASE_URL=itlib.WIREMOCK)

# ---- herald check on every example, secrets never printed
examples = sorted(glob.glob(os.path.join(EX, "*.yaml")))
itlib.check_eq("example configs", ["anomaly-alerts-sendgrid.yaml", "anomaly-alerts-smtp.yaml"],
               [os.path.basename(x) for x in examples])
for path in examples:
    p = subprocess.run([itlib.HERALD, "check", "-c", path], stdout=subprocess.PIPE,
                       stderr=subprocess.PIPE, text=True, timeout=60,
                       env=dict(os.environ, SMTP_PASSWORD=SECRET_SMTP,
                                SENDGRID_API_KEY=SECRET_SG, **env))
    name = os.path.basename(path)
    itlib.check_eq("herald check %s exit code" % name, 0, p.returncode)
    both = p.stdout + p.stderr
    itlib.check("%s: no secret value in the output" % name,
                SECRET_SMTP not in both and SECRET_SG not in both
                and rid not in both, both)
    key = "password" if "smtp" in name else "api_key"
    itlib.check("%s: %s printed as <redacted>" % (name, key),
                any(ln.strip().startswith(key + ":") and "<redacted>" in ln
                    for ln in p.stdout.splitlines()), p.stdout)
    # A value from ${env:} is redacted by provenance, even a broker list.
    itlib.check("%s: env values redacted (bootstrap.servers)" % name,
                "  bootstrap.servers: <redacted>\n" in p.stdout
                and itlib.BOOTSTRAP not in p.stdout, p.stdout)

# ---- the shipped connectors against the stack


def derived(name, group, extra_channel_line=None):
    """A copy of the shipped example with only the topic and group (and an
    optional channel line) changed; returns its path."""
    with open(os.path.join(EX, name)) as f:
        orig = f.read()
    text = orig.replace("topics: [possible_anomalies]", "topics: [%s]" % topic, 1)
    text = text.replace("group_id: email-sender", "group_id: %s" % group, 1)
    if extra_channel_line:
        text = text.replace("    tls: starttls", "    tls: starttls\n" + extra_channel_line, 1)
    back = text.replace("topics: [%s]" % topic, "topics: [possible_anomalies]")
    back = back.replace("group_id: %s" % group, "group_id: email-sender")
    if extra_channel_line:
        back = back.replace("\n" + extra_channel_line, "", 1)
    itlib.check("%s: the copy differs from the shipped file only in topic, group%s"
                % (name, " and ca_file" if extra_channel_line else ""),
                back == orig and text != orig)
    d = tempfile.mkdtemp(prefix="herald-it5ex-")
    os.mkdir(os.path.join(d, "examples"))
    os.symlink(os.path.join(itlib.REPO, "config", "templates"), os.path.join(d, "templates"))
    path = os.path.join(d, "examples", name)
    with open(path, "w") as f:
        f.write(text)
    return path


topic = rid
N = 30
rows = itlib.anomaly_rows(N, D, seed=5)
# the tutorial's card too, in this run's domain
g = dict(itlib.P.GOLDEN, email_address="michael@" + D, total_amount=itlib.decimal.Decimal("232.41"))
rows.append((g["card_number"], g["start_boundary"], g, g["start_boundary"] + 9000))
N += 1
itlib.produce_rows(topic, rows, partitions=2)
cards = [r[0] for r in rows]


def clean(what, blob_text, blob_bytes=b""):
    leaks = [c for c in cards if c in blob_text or c.encode() in blob_bytes]
    return leaks


# SMTP example -> Mailpit STARTTLS+AUTH
path = derived("anomaly-alerts-smtp.yaml", rid + "-smtp",
               "    ca_file: %s" % os.environ["MAILPIT_CA"])
h = itlib.Herald(path, args=("run",), extra=("-n", str(N)),
                 env=dict(env, SMTP_PASSWORD=os.environ["MAILPIT_PASS"]))
rc, _ = h.wait(180)
itlib.check_eq("smtp example: herald run exit code", 0, rc)
itlib.check("smtp example: password not in the log", os.environ["MAILPIT_PASS"] not in h.stderr())
msgs = itlib.mailpit_search(itlib.MAILPIT_TLS_API, 'to:"@%s"' % D, expect=N)
itlib.check_eq("smtp example: messages in Mailpit", N, len(msgs))
leaks, last4 = [], 0
for m in msgs:
    raw = itlib.mailpit_raw(itlib.MAILPIT_TLS_API, m["ID"])
    full = itlib.mailpit_message(itlib.MAILPIT_TLS_API, m["ID"])
    text = itlib.all_text(raw) + full["Text"] + full["HTML"] + full["Subject"]
    leaks += clean(m["ID"], text, raw)
    last4 += any(c[-4:] in full["Subject"] and c[-4:] in full["Text"] for c in cards)
itlib.check_eq("smtp example: messages holding a full card number", [], leaks)
itlib.check_eq("smtp example: messages showing the last four digits", N, last4)
itlib.mailpit_delete(itlib.MAILPIT_TLS_API, [m["ID"] for m in msgs])

# SendGrid example -> WireMock
path = derived("anomaly-alerts-sendgrid.yaml", rid + "-sendgrid")
h = itlib.Herald(path, args=("run",), extra=("-n", str(N)),
                 env=dict(env, SENDGRID_API_KEY=SECRET_SG))
rc, _ = h.wait(180)
itlib.check_eq("sendgrid example: herald run exit code", 0, rc)
itlib.check("sendgrid example: api key not in the log", SECRET_SG not in h.stderr())
ev = itlib.wm_take(D)
itlib.check_eq("sendgrid example: requests", N, len(ev))
itlib.check_eq("sendgrid example: requests authorized with the env's key", N,
               sum(e["request"]["headers"]["Authorization"] == "Bearer " + SECRET_SG for e in ev))
bodies = [e["request"]["body"] for e in ev]
leaks = [c for c in cards for b in bodies if c in b or c in json.dumps(json.loads(b),
                                                                         ensure_ascii=False)]
itlib.check_eq("sendgrid example: bodies holding a full card number", [], leaks)
itlib.done("shipped_examples")
