"""SMTP outcome classes end to end (design: "SMTP 2xx -> OK; 4xx reply,
connect or timeout -> RETRY; 5xx -> REJECT"), against a scripted SMTP
server run by this test (Mailpit's chaos switch is global to the shared
stack, so it is not used). Per recipient: 451 on RCPT once, 452 after DATA
once, 550 on RCPT, 554 after DATA, and the connection dropped mid-DATA
once; the other records are accepted. The very first MAIL of the run is
answered 503 "bad sequence of commands" (a server that lost the session,
as Mailpit does while shutting down). 4xx, the 503 and the drop are
retried and delivered exactly once; other 5xx are REJECTed with the
server's reply in the log, never retried."""

import asyncio
import re
import threading

import itlib

rid = itlib.run_id("it5smtpf")
D = rid + ".example"
topic = rid
N = 12
rows = itlib.anomaly_rows(N, D, seed=13)
rep = itlib.produce_rows(topic, rows)
offset_of = {r["value"]["email_address"]: r["offset"] for r in rep["records"]}

# recipient index -> script
SCRIPT = {0: "rcpt451once", 1: "data452once", 2: "rcpt550", 3: "data554", 4: "dropdata"}
seen = {}        # recipient -> number of RCPTs seen
accepted = []    # recipients whose message was accepted
attempts = []    # (recipient, outcome)
mails = []       # reply to each MAIL command


async def session(reader, writer):
    w = writer.write
    w(b"220 it5 ESMTP\r\n")
    rcpt = None
    try:
        while True:
            line = await reader.readline()
            if not line:
                break
            cmd = line[:4].upper()
            if cmd == b"EHLO":
                w(b"250-it5\r\n250 8BITMIME\r\n")
            elif cmd == b"MAIL":
                rcpt = None
                mails.append(503 if not mails else 250)
                w(b"503 5.5.1 bad sequence of commands\r\n" if mails[-1] == 503
                  else b"250 OK\r\n")
            elif cmd == b"RCPT":
                rcpt = re.search(rb"<([^>]*)>", line).group(1).decode()
                n = seen[rcpt] = seen.get(rcpt, 0) + 1
                i = int(re.match(r"user(\d+)@", rcpt).group(1))
                s = SCRIPT.get(i)
                if s == "rcpt451once" and n == 1:
                    attempts.append((rcpt, 451))
                    w(b"451 4.3.0 try again later\r\n")
                elif s == "rcpt550":
                    attempts.append((rcpt, 550))
                    w(b"550 5.1.1 no such user here\r\n")
                else:
                    w(b"250 OK\r\n")
            elif cmd == b"DATA":
                w(b"354 go\r\n")
                await writer.drain()
                i = int(re.match(r"user(\d+)@", rcpt).group(1))
                s, n = SCRIPT.get(i), seen[rcpt]
                if s == "dropdata" and n == 1:
                    await reader.readline()
                    attempts.append((rcpt, "drop"))
                    writer.transport.abort()
                    return
                while (await reader.readline()) not in (b".\r\n", b""):
                    pass
                if s == "data452once" and n == 1:
                    attempts.append((rcpt, 452))
                    w(b"452 4.3.1 insufficient storage\r\n")
                elif s == "data554":
                    attempts.append((rcpt, 554))
                    w(b"554 5.7.1 message refused\r\n")
                else:
                    attempts.append((rcpt, 250))
                    accepted.append(rcpt)
                    w(b"250 OK\r\n")
            elif cmd == b"QUIT":
                w(b"221 bye\r\n")
                await writer.drain()
                break
            else:
                w(b"250 OK\r\n")
            await writer.drain()
    except ConnectionError:
        pass
    finally:
        writer.close()


loop = asyncio.new_event_loop()
ready = threading.Event()
port = []


def serve():
    asyncio.set_event_loop(loop)
    srv = loop.run_until_complete(asyncio.start_server(session, "127.0.0.1", 0))
    port.append(srv.sockets[0].getsockname()[1])
    ready.set()
    loop.run_forever()


threading.Thread(target=serve, daemon=True).start()
ready.wait(10)

cfg = itlib.config(topic, rid, itlib.smtp_plain_channel("127.0.0.1:%d" % port[0], max_connections=2),
               retry="{ initial: 100ms, max: 1s, timeout: 1m }")
rc, out, err = itlib.run_herald(cfg, N, timeout=120)
itlib.check_eq("herald exit code", 0, rc)
loop.call_soon_threadsafe(loop.stop)


def addr(i):
    return "user%d@%s" % (i, D)


itlib.check_eq("accepted exactly once each", sorted(addr(i) for i in range(N) if i not in (2, 3)),
               sorted(accepted))
itlib.check_eq("451 on RCPT, then delivered", [451, 250],
               [o for a, o in attempts if a == addr(0)])
itlib.check_eq("452 after DATA, then delivered", [452, 250],
               [o for a, o in attempts if a == addr(1)])
itlib.check_eq("550 on RCPT: tried once", [550], [o for a, o in attempts if a == addr(2)])
itlib.check_eq("554 after DATA: tried once", [554], [o for a, o in attempts if a == addr(3)])
itlib.check_eq("dropped mid-DATA, then delivered", ["drop", 250],
               [o for a, o in attempts if a == addr(4)])
itlib.check_eq("MAIL commands answered 503", 1, mails.count(503))
rejected = {int(re.search(r"offset=(\d+)", ln).group(1)): ln
            for ln in err.splitlines() if "record rejected" in ln}
itlib.check_eq("rejected offsets", sorted([offset_of[addr(2)], offset_of[addr(3)]]),
               sorted(rejected))
itlib.check("550 reason logged", "550" in rejected[offset_of[addr(2)]], rejected)
itlib.check("554 reason logged", "554" in rejected[offset_of[addr(3)]], rejected)
itlib.done("smtp_faults")
