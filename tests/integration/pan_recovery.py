"""Issue 10, finding 5 and its acceptance: the PAN-recovery attack against
the demo's Message-ID finds nothing without the configured secret.

`herald demo` (run from a scratch directory, its own in-process Kafka, the
demo's public hash_key) prints the tutorial's alert: its Message-ID, the
last four digits of the card (0099) and the window (03:19:30 UTC on
2020-04-22). An attacker also knows the 6-digit BIN (public per issuer).
The test brute-forces the 5 middle digits, 100,000 candidates, with three
derivations of Message-ID from the dedup key card@window_start:

- the old one (first 32 hex of an unkeyed SHA-256): nothing matches;
- HMAC-SHA-256 under a wrong key: nothing matches;
- HMAC-SHA-256 under the demo's key: exactly the demo's card matches, so
  the search itself works and the test can fail.

Needs no test stack; it reads the demo's key from config/demo.yaml."""

import datetime as dt
import hashlib
import hmac
import os
import re
import subprocess
import sys
import tempfile

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.abspath(os.path.join(HERE, "..", ".."))
HERALD = os.environ.get("HERALD_BIN", os.path.join(REPO, "build", "herald"))
PLUGINS = os.environ.get("HERALD_PLUGIN_DIR", os.path.join(REPO, "build", "plugins"))
DEMO = os.path.join(REPO, "config", "demo.yaml")
BIN, LAST4 = "358579", "0099"  # the BIN is public; the email shows the last four
CARD_LEN = 15  # the demo card's length (an attacker tries each length)
FAILED = []


def check(what, cond, detail=""):
    print("%s: %s%s" % ("ok" if cond else "FAIL", what, "" if cond else " " + str(detail)))
    if not cond:
        FAILED.append(what)


env = {k: v for k, v in os.environ.items() if k != "HERALD_HASH_KEY"}
env["HERALD_PLUGIN_PATH"] = PLUGINS
work = tempfile.mkdtemp(prefix="herald-it10pan-")
p = subprocess.run([HERALD, "demo", "-c", DEMO], cwd=work, env=env, text=True,
                   stdout=subprocess.PIPE, stderr=subprocess.PIPE, timeout=120)
check("herald demo exit code 0", p.returncode == 0, p.stderr[-2000:])
out = p.stdout
mid = re.search(r"^Message-ID: <([0-9a-f]{32})@herald>$", out, re.M)
check("the demo prints a Message-ID of 32 hex digits", mid is not None, out[:600])
shown = re.search(r"card ending in (\d{4}).* between (\d{4}-\d\d-\d\d \d\d:\d\d:\d\d) UTC",
                  out)
check("the email shows the last four digits and the window start", shown is not None)
if FAILED:
    sys.exit(1)
target = mid.group(1)
check("the last four digits shown are the ones the attacker uses", shown.group(1) == LAST4)
start = int(dt.datetime.strptime(shown.group(2), "%Y-%m-%d %H:%M:%S")
            .replace(tzinfo=dt.timezone.utc).timestamp() * 1000)
check("window start from the email is 1587525570000", start == 1587525570000, start)

with open(DEMO) as f:
    demo_key = re.search(r"^hash_key: \$\{env:HERALD_HASH_KEY:-(\S+)\}$", f.read(),
                         re.M).group(1)


def unkeyed(dedup_key):
    return hashlib.sha256(dedup_key.encode()).hexdigest()[:32]


def keyed(key):
    k = key.encode()
    return lambda dedup_key: hmac.new(k, dedup_key.encode(), hashlib.sha256).hexdigest()[:32]


def search(derive):
    mid_len = CARD_LEN - len(BIN) - len(LAST4)
    found = []
    for n in range(10 ** mid_len):
        card = "%s%0*d%s" % (BIN, mid_len, n, LAST4)
        if derive("%s@%d" % (card, start)) == target:
            found.append(card)
    return found


check("unkeyed SHA-256 (the old derivation): no card found", search(unkeyed) == [])
check("HMAC under a wrong key: no card found",
      search(keyed("a-wrong-key-of-enough-length-42")) == [])
check("HMAC under the demo's key: exactly the demo card found",
      search(keyed(demo_key)) == ["358579699410099"])
print("%d checks failed" % len(FAILED) if FAILED else "pan_recovery: all checks passed")
sys.exit(1 if FAILED else 0)
