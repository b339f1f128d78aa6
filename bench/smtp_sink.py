#!/usr/bin/env python3
"""A tiny, fast SMTP sink for `make bench-notify` (bench/notify.py): accepts
every message, stores nothing, and records when each one was accepted.

  smtp_sink.py --port P --stats FILE [--close-after-message]

Speaks just enough ESMTP for libcurl (EHLO/HELO, MAIL, RCPT, DATA, RSET,
NOOP, QUIT). With --close-after-message it closes the connection right
after accepting each message (no 221, as on an idle timeout), so every
message needs a new connection: the contrast to the channel's kept-open
connections. On
SIGTERM (or SIGINT) it writes {"messages", "connections", "first",
"last"} (epoch seconds) to FILE and exits.
"""

import argparse
import asyncio
import json
import signal
import time

STATS = {"messages": 0, "connections": 0, "first": None, "last": None}


async def session(reader, writer, close_after):
    STATS["connections"] += 1
    w = writer.write
    w(b"220 sink ESMTP\r\n")
    try:
        while True:
            line = await reader.readline()
            if not line:
                break
            cmd = line[:4].upper()
            if cmd == b"EHLO":
                w(b"250-sink\r\n250-8BITMIME\r\n250 SIZE 10485760\r\n")
            elif cmd == b"HELO":
                w(b"250 sink\r\n")
            elif cmd in (b"MAIL", b"RCPT", b"RSET", b"NOOP"):
                w(b"250 OK\r\n")
            elif cmd == b"DATA":
                w(b"354 go ahead\r\n")
                await writer.drain()
                while True:
                    d = await reader.readline()
                    if not d or d == b".\r\n":
                        break
                if not d:
                    break
                now = time.time()
                if STATS["first"] is None:
                    STATS["first"] = now
                STATS["last"] = now
                STATS["messages"] += 1
                w(b"250 OK queued\r\n")
                if close_after:  # like a server's idle timeout: just close
                    await writer.drain()
                    break
            elif cmd == b"QUIT":
                w(b"221 bye\r\n")
                await writer.drain()
                break
            else:
                w(b"502 not implemented\r\n")
            await writer.drain()
    except ConnectionError:
        pass
    finally:
        writer.close()


async def main():
    p = argparse.ArgumentParser()
    p.add_argument("--port", type=int, required=True)
    p.add_argument("--stats", required=True)
    p.add_argument("--close-after-message", action="store_true")
    a = p.parse_args()
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for s in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(s, stop.set)
    srv = await asyncio.start_server(
        lambda r, w: session(r, w, a.close_after_message), "127.0.0.1", a.port,
        backlog=512)
    print("ready", flush=True)
    async with srv:
        await stop.wait()
    with open(a.stats, "w") as f:
        json.dump(STATS, f)


if __name__ == "__main__":
    asyncio.run(main())
