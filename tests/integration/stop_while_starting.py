"""Ctrl-C is honoured within a second while a connector starts (issue 11):
nothing on the loop waits on the broker.

1. `herald run` against an unreachable broker (a closed port), with and
   without dedup (whose start asks the broker for the marks topic's
   metadata, up to 10 s): SIGINT -> exit 0 within 1 s.
2. `herald run` while the dedup marks topic is being created on the real
   broker: SIGINT as soon as herald says it creates it -> exit 0 within
   1 s, nothing delivered and nothing committed (the consumer never
   started); a second run then delivers every record once and commits
   them all (its stop, with a running consumer, within 1 s too)."""

import signal
import socket
import time

import itlib

LIMIT_S = 1.0


def closed_port():
    """A local TCP port nothing listens on."""
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    return port


def sigint_exit(h, label, limit=LIMIT_S):
    """SIGINT h; check it exits 0 within limit seconds."""
    t0 = time.time()
    h.proc.send_signal(signal.SIGINT)
    try:
        rc, _ = h.wait(timeout=30)
    except Exception:  # hung: wait() killed it and printed its log
        rc = "hung"
    took = time.time() - t0
    print("# %s: exited %.2f s after SIGINT" % (label, took))
    itlib.check_eq("%s: exit code after SIGINT" % label, 0, rc)
    itlib.check("%s: exited within %.1f s of SIGINT (%.2f s)" % (label, limit, took),
                took <= limit, h.stderr()[-3000:])


# ---- 1. unreachable broker ---------------------------------------------
rid = itlib.run_id("itstop")
for label, extra in (("unreachable", ""),
                     ("unreachable, dedup", "    dedup: { key: \"{{@key}}\" }\n")):
    text = itlib.testplug_config(rid, rid, "/dev/null", value_format="string",
                                  key="{ format: string }", extra_connector=extra)
    text = text.replace(itlib.BOOTSTRAP, "127.0.0.1:%d" % closed_port())
    h = itlib.start_herald(itlib.write_config(text))
    time.sleep(2.0)
    itlib.check("%s: still running before the signal" % label, h.alive(),
                h.stderr()[-3000:])
    sigint_exit(h, label)

# ---- 2. while the marks topic is being created ------------------------
N = 20
topic = rid + "-src"
itlib.create_topic(topic, 1)
from confluent_kafka import Producer  # noqa: E402

p = Producer({"bootstrap.servers": itlib.BOOTSTRAP, "linger.ms": 5})
for i in range(N):
    p.produce(topic, key=b"k%d" % i, value=b"v%d" % i)
itlib.check_eq("records produced", 0, p.flush(30))

cfg_path = itlib.write_config("")
plog = cfg_path + ".plugin.log"
marks = rid + "-marks"
text = itlib.testplug_config(
    topic, rid, plog, value_format="string", key="{ format: string }",
    extra_connector="    dedup: { key: \"{{@key}}\", topic: %s }\n" % marks)
with open(cfg_path, "w") as f:
    f.write(text)
h = itlib.start_herald(cfg_path)
itlib.wait_for("herald creates the marks topic",
               lambda: "creating dedup marks topic" in h.stderr(), timeout=30,
               interval=0.01)
sigint_exit(h, "marks topic being created")
itlib.check_eq("nothing delivered before the stop", {}, itlib.read_plugin_log(plog))
itlib.check_eq("nothing committed by the stopped run", [-1001],
               itlib.committed(rid, topic, 1))

h = itlib.start_herald(cfg_path)
itlib.wait_for("second run delivers every record",
               lambda: len(itlib.read_plugin_log(plog)) >= N, timeout=60)
itlib.wait_for("second run commits every record",
               lambda: itlib.committed(rid, topic, 1) == [N], timeout=30)
# A running consumer's stop: the same second, after the group is left.
sigint_exit(h, "second run")
log = itlib.read_plugin_log(plog)
itlib.check_eq("each record delivered once, OK",
               {(0, i): ["OK"] for i in range(N)}, log)

itlib.done("stop_while_starting")
