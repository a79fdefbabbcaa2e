"""NAME
    sink - SMTP sinks that count and time the messages they receive

SYNOPSIS
    from sink import Sink
    with Sink(port, tls=(cert, key), workers=2) as s:
        ...
        s.wait_count(n, timeout)      # messages received so far >= n
        s.tls_count, s.arrivals        # how many came over TLS; id -> time

DESCRIPTION
    scripts/bench uses Postfix's smtp-sink for plain relay throughput; this
    sink is for what smtp-sink cannot do: offer STARTTLS (the outbound TLS
    figure) and note when each message arrived (the latency figure).

    It answers every command with success, advertises PIPELINING and, when
    a certificate is given, STARTTLS, and throws the message away. Each
    worker is a forked process running asyncio on the one shared listening
    socket, so the sink can use both cores; workers report every message on
    a pipe to the parent: "T" or "P" (over TLS or not) followed by the
    message's X-Bench-Id header value and the arrival time (CLOCK_MONOTONIC,
    which is the same clock in every process on Linux).

    Standard library only (Python 3.11 or later for StreamWriter.start_tls).
"""
import asyncio
import os
import select
import signal
import socket
import ssl
import time

BENCH_ID = b"x-bench-id:"


def _listen(port):
    s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    s.bind(("127.0.0.1", port))
    s.listen(1024)
    return s


async def _session(reader, writer, ctx, report):
    """One SMTP session: reply to everything, report each message."""
    tls = False
    # Replies go out at once: without this, the small last reply of a
    # pipelined group waits for the client's delayed ACK (40 ms).
    writer.get_extra_info("socket").setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)

    def reply(text):
        writer.write(text + b"\r\n")

    reply(b"220 bench-sink ESMTP")
    try:
        while True:
            line = await reader.readline()
            if not line:
                break
            verb = line[:4].upper()
            if verb == b"EHLO":
                caps = [b"250-bench-sink", b"250-PIPELINING", b"250-8BITMIME"]
                if ctx is not None and not tls:
                    caps.append(b"250-STARTTLS")
                caps.append(b"250 ENHANCEDSTATUSCODES")
                reply(b"\r\n".join(caps))
            elif verb == b"STAR" and ctx is not None and not tls:
                reply(b"220 2.0.0 Ready to start TLS")
                await writer.drain()
                await writer.start_tls(ctx)
                tls = True
            elif verb == b"DATA":
                reply(b"354 End data with <CR><LF>.<CR><LF>")
                await writer.drain()
                ident = b"-"
                while True:
                    data = await reader.readline()
                    if not data:
                        return
                    if data == b".\r\n":
                        break
                    if data[:11].lower() == BENCH_ID:
                        ident = data[11:].strip()
                arrived = time.monotonic()
                os.write(report, b"%s %s %.6f\n" % (b"T" if tls else b"P", ident, arrived))
                reply(b"250 2.0.0 Ok: queued")
            elif verb == b"QUIT":
                reply(b"221 2.0.0 Bye")
                await writer.drain()
                break
            elif verb in (b"HELO", b"MAIL", b"RCPT", b"RSET", b"NOOP"):
                reply(b"250 2.0.0 Ok")
            else:
                reply(b"502 5.5.2 Error: command not recognized")
            await writer.drain()
    except (ConnectionError, ssl.SSLError, asyncio.IncompleteReadError, asyncio.LimitOverrunError):
        pass
    finally:
        writer.close()


def _worker(lsock, ctx, report):
    signal.signal(signal.SIGTERM, signal.SIG_DFL)

    async def main():
        server = await asyncio.start_server(
            lambda r, w: _session(r, w, ctx, report), sock=lsock, limit=1 << 20
        )
        async with server:
            await server.serve_forever()

    try:
        asyncio.run(main())
    finally:
        os._exit(0)


class Sink:
    """A forked multi-process SMTP sink on 127.0.0.1:port (see module doc)."""

    def __init__(self, port, tls=None, workers=1):
        self.port = port
        self.ctx = None
        if tls:
            self.ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
            self.ctx.load_cert_chain(tls[0], tls[1])
        self.workers = workers
        self.pids = []
        self.count = 0
        self.tls_count = 0
        self.arrivals = {}
        self.first = None
        self.last = None
        self._buf = b""

    def __enter__(self):
        lsock = _listen(self.port)
        rfd, wfd = os.pipe()
        for _ in range(self.workers):
            pid = os.fork()
            if pid == 0:
                os.close(rfd)
                _worker(lsock, self.ctx, wfd)
            self.pids.append(pid)
        os.close(wfd)
        lsock.close()
        self.rfd = rfd
        return self

    def __exit__(self, *exc):
        for pid in self.pids:
            try:
                os.kill(pid, signal.SIGTERM)
            except ProcessLookupError:
                pass
        for pid in self.pids:
            os.waitpid(pid, 0)
        os.close(self.rfd)
        return False

    def poll(self, timeout):
        """Read the workers' reports for up to `timeout` seconds."""
        r, _, _ = select.select([self.rfd], [], [], max(timeout, 0))
        if not r:
            return
        data = os.read(self.rfd, 1 << 16)
        self._buf += data
        *lines, self._buf = self._buf.split(b"\n")
        for line in lines:
            kind, ident, when = line.split(b" ")
            when = float(when)
            self.count += 1
            self.tls_count += kind == b"T"
            self.arrivals[ident.decode()] = when
            self.first = when if self.first is None else self.first
            self.last = when

    def wait_count(self, n, timeout):
        """Wait until `n` messages arrived; returns whether they did."""
        deadline = time.monotonic() + timeout
        while self.count < n and time.monotonic() < deadline:
            self.poll(deadline - time.monotonic())
        return self.count >= n
