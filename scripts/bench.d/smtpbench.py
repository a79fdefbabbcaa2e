#!/usr/bin/env python3
"""NAME
    smtpbench - the measurements of scripts/bench, one figure per call

SYNOPSIS
    smtpbench.py relay   --port P --sink-port Q --count N --queue DIR ...
    smtpbench.py local   --port P --count N --maildir DIR --queue DIR ...
    smtpbench.py tls-in  --port P --clients 20 --duration S [--resume] ...
    smtpbench.py tls-out --port P --sink-port Q --count N --rcpt R ...
    smtpbench.py latency --port P --sink-port Q --count N --rate 10 ...
    smtpbench.py memory  --port P --master-pid PID --sessions 100 ...
    smtpbench.py probe-starttls --port P
    smtpbench.py probe-tls-out --port P --sink-port Q --rcpt R --queue DIR ...
    smtpbench.py freeport
    smtpbench.py report  --results FILE [--json OUT] ...

DESCRIPTION
    scripts/bench starts the two MTAs and calls this program once per
    figure, system and round. Every measuring subcommand takes --results
    FILE --system NAME --round N and appends one JSON line per figure
    ({"figure", "system", "round", "value", "note"}) to FILE; a figure that
    could not be measured gets value null and a note saying why. `report`
    turns the file into the table (medians and ratios) and the JSON.

    Throughput is counted from the moment the client (Postfix's
    smtp-source) starts until the N-th message arrives at the sink (the
    "mesg=" counter smtp-sink -c prints, or this program's own sink for
    TLS); acceptance is N over the time smtp-source needs to finish. After
    every throughput figure the MTA's queue is left to drain before the
    sink stops, so figures do not overlap.

    Standard library only.
"""
import argparse
import json
import os
import select
import signal
import subprocess
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from client import Smtp, SmtpError, body  # noqa: E402
from sink import Sink  # noqa: E402
import measure  # noqa: E402
import report  # noqa: E402

SENDER = "bench@client.test"


def record(a, figure, value, note=None):
    line = {"figure": figure, "system": a.system, "round": a.round, "value": value}
    if note:
        line["note"] = note
    with open(a.results, "a") as f:
        f.write(json.dumps(line) + "\n")
    shown = "-" if value is None else f"{value:.1f}"
    print(f"    {a.system:8} {figure:24} {shown}{'  (' + note + ')' if note else ''}", file=sys.stderr)


def cpu_now(a):
    """The instance's CPU seconds so far (None without --master-pid)."""
    return measure.instance_cpu(a.master_pid) if a.master_pid else None


def record_cpu(a, figure, cpu0, count):
    """Record the instance's CPU milliseconds per unit of work since cpu0."""
    if cpu0 is not None and count:
        record(a, figure, (measure.instance_cpu(a.master_pid) - cpu0) * 1000 / count)


def queue_files(queue):
    """Messages still in the queue (maildrop, incoming, active, deferred, hold)."""
    n = 0
    for q in ("maildrop", "incoming", "active", "deferred", "hold"):
        for _, _, files in os.walk(os.path.join(queue, q)):
            n += len(files)
    return n


def drain(queue, tick, timeout=180):
    """Wait until the queue is empty, calling tick(seconds) meanwhile."""
    if queue is None:
        return True
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if queue_files(queue) == 0:
            return True
        tick(0.1)
    print(f"    warning: {queue} still holds {queue_files(queue)} messages", file=sys.stderr)
    return False


def smtp_source(a, count, rcpt):
    return subprocess.Popen(
        ["smtp-source", "-s", str(a.sessions), "-m", str(count), "-l", str(a.size),
         "-f", SENDER, "-t", rcpt, f"127.0.0.1:{a.port}"],
        stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
    )


def source_done(src, t0, done):
    """Note smtp-source's end time once; raise when it failed."""
    if done is None and src.poll() is not None:
        if src.returncode != 0:
            raise RuntimeError("smtp-source: " + src.stderr.read().decode(errors="replace").strip())
        return time.monotonic() - t0
    return done


def stop(proc):
    """Kill a child that is still running (after a failure or a signal)."""
    if proc.poll() is None:
        proc.kill()
        proc.wait()


class SmtpSink:
    """Postfix's smtp-sink -c on 127.0.0.1:port; counts messages from its counter line."""

    def __init__(self, port):
        self.proc = subprocess.Popen(
            ["smtp-sink", "-c", "-u", "postfix", f"127.0.0.1:{port}", "256"],
            stdout=subprocess.PIPE, stderr=subprocess.DEVNULL,
        )
        self.count = 0
        self.buf = b""
        measure.wait_port(port)

    def poll(self, timeout):
        r, _, _ = select.select([self.proc.stdout], [], [], max(timeout, 0))
        if not r:
            return
        data = os.read(self.proc.stdout.fileno(), 1 << 16)
        self.buf = (self.buf + data)[-256:]
        i = self.buf.rfind(b"mesg=")
        j = self.buf.find(b"\r", i)
        if i >= 0 and j > i:
            self.count = int(self.buf[i + 5:j])

    def stop(self):
        self.proc.kill()
        self.proc.wait()


def cmd_relay(a):
    sink = SmtpSink(a.sink_port)
    cpu0 = cpu_now(a)
    t0 = time.monotonic()
    src = smtp_source(a, a.count, a.rcpt)
    try:
        accepted = relayed = None
        deadline = t0 + a.timeout
        while (accepted is None or relayed is None) and time.monotonic() < deadline:
            sink.poll(0.02)
            if relayed is None and sink.count >= a.count:
                relayed = time.monotonic() - t0
            accepted = source_done(src, t0, accepted)
        if accepted is None or relayed is None:
            raise RuntimeError(f"timeout: sink counted {sink.count} of {a.count}")
        record(a, "accept", a.count / accepted)
        record(a, "relay", a.count / relayed)
        drain(a.queue, sink.poll)
        record_cpu(a, "relay_cpu", cpu0, a.count)
    finally:
        stop(src)
        sink.stop()


def cmd_local(a):
    new = os.path.join(a.maildir, "new")

    def delivered():
        try:
            return sum(1 for _ in os.scandir(new))
        except FileNotFoundError:
            return 0

    t0 = time.monotonic()
    src = smtp_source(a, a.count, a.rcpt)
    accepted = done = None
    deadline = t0 + a.timeout
    try:
        while (accepted is None or done is None) and time.monotonic() < deadline:
            time.sleep(0.05)
            if done is None and delivered() >= a.count:
                done = time.monotonic() - t0
            accepted = source_done(src, t0, accepted)
    finally:
        stop(src)
    if done is None:
        raise RuntimeError(f"timeout: {delivered()} of {a.count} delivered")
    record(a, "local", a.count / done)
    drain(a.queue, time.sleep)


def cmd_tls_out(a):
    with Sink(a.sink_port, tls=(a.cert, a.key), workers=2) as sink:
        t0 = time.monotonic()
        src = smtp_source(a, a.count, a.rcpt)
        accepted = None
        deadline = t0 + a.timeout
        try:
            while sink.count < a.count and time.monotonic() < deadline:
                sink.poll(0.05)
                accepted = source_done(src, t0, accepted)
        finally:
            stop(src)
        if sink.count < a.count:
            raise RuntimeError(f"timeout: sink counted {sink.count} of {a.count}")
        elapsed = sink.last - t0
        note = None
        if sink.tls_count < sink.count:
            note = f"only {sink.tls_count} of {sink.count} over TLS"
        record(a, a.figure, a.count / elapsed, note)
        drain(a.queue, sink.poll)


def cmd_latency(a):
    sent = {}
    with Sink(a.sink_port, workers=1) as sink:
        start = time.monotonic() + 0.2
        for i in range(a.count):
            while time.monotonic() < start + i / a.rate:
                sink.poll(start + i / a.rate - time.monotonic())
            c = Smtp(a.port)
            c.cmd(b"EHLO bench.client")
            c.message(SENDER.encode(), [a.rcpt.encode()], body(1024, ident=i))
            sent[str(i)] = time.monotonic()
            c.close()
        if not sink.wait_count(a.count, 60):
            raise RuntimeError(f"timeout: sink got {sink.count} of {a.count}")
        lat = sorted((sink.arrivals[k] - t) * 1000 for k, t in sent.items())
        record(a, "latency_p50", measure.percentile(lat, 50))
        record(a, "latency_p99", measure.percentile(lat, 99))
        drain(a.queue, sink.poll)


def cmd_tls_in(a):
    cpu0 = cpu_now(a)
    sessions, reused, errors, first_error = measure.tls_sessions(
        a.port, a.clients, a.duration, a.resume, a.rcpt.encode()
    )
    figure = "tls_in_resumed" if a.resume else "tls_in_full"
    note = None
    if errors:
        note = f"{errors} failed sessions, first: {first_error}"
    if a.resume and sessions and reused < sessions * 0.9:
        note = (note + "; " if note else "") + f"only {reused} of {sessions} resumed"
    record(a, figure, sessions / a.duration, note)
    drain(a.queue, time.sleep)
    record_cpu(a, figure + "_cpu", cpu0, sessions)


def cmd_memory(a):
    m = measure.memory(a.port, a.master_pid, a.sessions)
    record(a, "rss_master", m["master_rss"] / 1024)
    record(a, "rss_idle_smtpd", m["smtpd_rss"] / 1024)
    note = f"{m['procs']} processes, {m['sessions']} sessions"
    record(a, "rss_total_100", m["total_rss"] / 1024, note)
    record(a, "pss_total_100", m["total_pss"] / 1024, note)


def cmd_probe_starttls(a):
    c = Smtp(a.port)
    text = c.cmd(b"EHLO bench.client")
    c.close()
    sys.exit(0 if b"STARTTLS" in text.upper() else 1)


def cmd_probe_tls_out(a):
    """Exit 0 when a message sent to --rcpt reaches the TLS sink over TLS."""
    with Sink(a.sink_port, tls=(a.cert, a.key), workers=1) as sink:
        c = Smtp(a.port)
        c.cmd(b"EHLO bench.client")
        c.message(SENDER.encode(), [a.rcpt.encode()], body(512))
        c.close()
        sink.wait_count(1, 30)
        drain(a.queue, sink.poll, timeout=30)
        sys.exit(0 if sink.tls_count >= 1 else 1)


def main():
    p = argparse.ArgumentParser(description="scripts/bench measurements")
    sub = p.add_subparsers(dest="cmd", required=True)

    def common(name, fn):
        s = sub.add_parser(name)
        s.set_defaults(fn=fn)
        s.add_argument("--port", type=int, required=True, help="the MTA's SMTP port on 127.0.0.1")
        s.add_argument("--results", default="/dev/null")
        s.add_argument("--system", default="?")
        s.add_argument("--round", type=int, default=0)
        s.add_argument("--queue", help="the MTA's queue_directory (drained after the figure)")
        s.add_argument("--rcpt", default="sink@sink.test")
        s.add_argument("--count", type=int, default=1000)
        s.add_argument("--sessions", type=int, default=20)
        s.add_argument("--size", type=int, default=4096)
        s.add_argument("--sink-port", type=int)
        s.add_argument("--cert")
        s.add_argument("--key")
        s.add_argument("--timeout", type=float, default=300)
        if name != "memory":
            s.add_argument("--master-pid", type=int, help="for the CPU figures")
        return s

    common("relay", cmd_relay)
    common("local", cmd_local).add_argument("--maildir", required=True)
    common("tls-out", cmd_tls_out).add_argument("--figure", default="tls_out")
    common("latency", cmd_latency).add_argument("--rate", type=float, default=10)
    s = common("tls-in", cmd_tls_in)
    s.add_argument("--clients", type=int, default=20)
    s.add_argument("--duration", type=float, default=10)
    s.add_argument("--resume", action="store_true")
    s = common("memory", cmd_memory)
    s.add_argument("--master-pid", type=int, required=True)
    common("probe-starttls", cmd_probe_starttls)
    common("probe-tls-out", cmd_probe_tls_out)
    common("wait-port", lambda a: measure.wait_port(a.port, 20))
    sub.add_parser("freeport").set_defaults(fn=lambda a: print(measure.free_port()))
    report.add_parser(sub)
    a = p.parse_args()
    # scripts/bench stops a helper with SIGTERM: unwind, so sinks and
    # clients started here stop too.
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))
    try:
        a.fn(a)
    except (OSError, SmtpError, RuntimeError) as e:
        if a.cmd in ("relay", "local", "tls-out", "latency", "tls-in", "memory"):
            for fig in FIGURES_OF[a.cmd](a):
                record(a, fig, None, f"failed: {e}")
            sys.exit(0)
        print(f"smtpbench {a.cmd}: {e}", file=sys.stderr)
        sys.exit(2)


FIGURES_OF = {
    "relay": lambda a: ["accept", "relay"],
    "local": lambda a: ["local"],
    "tls-out": lambda a: [a.figure],
    "latency": lambda a: ["latency_p50", "latency_p99"],
    "tls-in": lambda a: ["tls_in_resumed" if a.resume else "tls_in_full"],
    "memory": lambda a: ["rss_master", "rss_idle_smtpd", "rss_total_100", "pss_total_100"],
}

if __name__ == "__main__":
    main()
