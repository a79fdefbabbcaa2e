"""NAME
    measure - TLS session rate, memory and small helpers for smtpbench

DESCRIPTION
    tls_sessions(port, clients, seconds, resume, rcpt)
        Forks `clients` processes that each run complete SMTP sessions
        (EHLO, STARTTLS, EHLO, one message to rcpt, QUIT) back to back for
        `seconds` seconds, all starting at the same instant. With `resume`
        every session after a process's first offers the TLS session (the
        ticket) its previous session ended with. Returns (sessions
        completed within the time, of those resumed, failed sessions, the
        first failure's text).

    memory(port, master_pid, sessions)
        Resident (RSS) and proportional (PSS) set sizes in KiB, from
        /proc/PID/smaps_rollup: of master; of the smtpd serving one idle
        session; and the sums over master and all its descendants while
        `sessions` SMTP sessions sit idle after the greeting.

    instance_cpu(master_pid)
        CPU seconds (user + system) used so far by an instance: master,
        its live children (and what they reaped), and every child master
        has reaped (its cutime/cstime). The difference of two readings is
        the instance's work in between, whichever processes came and went;
        the load generators are not master's children and do not count.

    free_port(), wait_port(port), percentile(sorted, p)
"""
import os
import signal
import socket
import time

from client import Smtp, body, client_context

# Index of starttime (field 22 of /proc/PID/stat) among the fields after
# the command name, which start at field 3 (state).
STARTTIME = 22 - 3


def _stat_fields(pid):
    """The fields of /proc/PID/stat after the command name (state first)."""
    with open(f"/proc/{pid}/stat") as f:
        text = f.read()
    return text[text.rindex(")") + 2:].split()


# Indexes among those fields: ppid (4), utime (14), stime, cutime, cstime.
PPID, UTIME, STIME, CUTIME, CSTIME = 4 - 3, 14 - 3, 15 - 3, 16 - 3, 17 - 3


def instance_cpu(master_pid):
    ticks = os.sysconf("SC_CLK_TCK")
    m = _stat_fields(master_pid)
    total = sum(int(m[i]) for i in (UTIME, STIME, CUTIME, CSTIME))
    for d in os.listdir("/proc"):
        if not d.isdigit() or int(d) == master_pid:
            continue
        try:
            f = _stat_fields(d)
        except OSError:
            continue
        if int(f[PPID]) == master_pid:
            total += sum(int(f[i]) for i in (UTIME, STIME, CUTIME, CSTIME))
    return total / ticks


def free_port():
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    return port


def wait_port(port, timeout=10):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            socket.create_connection(("127.0.0.1", port), timeout=1).close()
            return
        except OSError:
            time.sleep(0.05)
    raise RuntimeError(f"nothing listens on 127.0.0.1:{port}")


def percentile(values, p):
    """Nearest-rank percentile of an ascending list."""
    if not values:
        return None
    k = max(0, min(len(values) - 1, -(-len(values) * p // 100) - 1))
    return values[int(k)]


def _one_session(port, ctx, session, rcpt, msg):
    c = Smtp(port)
    try:
        c.cmd(b"EHLO bench.client")
        c.starttls(ctx, session)
        c.cmd(b"EHLO bench.client")
        c.message(b"bench@client.test", [rcpt], msg)
        # The ticket of a TLS 1.3 server arrives after the handshake; by
        # now it has been read.
        return c.sock.session, c.sock.session_reused
    finally:
        c.close()


def _tls_worker(port, start, stop, resume, rcpt, wfd):
    signal.signal(signal.SIGTERM, signal.SIG_DFL)
    ctx = client_context()
    msg = body(1024)
    session = None
    n = reused = errors = 0
    first = ""
    while time.time() < start:
        time.sleep(0.001)
    while time.time() < stop:
        try:
            got, was_reused = _one_session(port, ctx, session if resume else None, rcpt, msg)
        except Exception as e:  # any failure counts, the run goes on
            errors += 1
            first = first or f"{type(e).__name__}: {e}"
            session = None
            continue
        if time.time() <= stop:
            n += 1
            reused += bool(was_reused)
        session = got
    os.write(wfd, f"{n} {reused} {errors} {first}\n".encode())
    os._exit(0)


def tls_sessions(port, clients, seconds, resume, rcpt):
    rfd, wfd = os.pipe()
    start = time.time() + 0.5
    pids = []
    for _ in range(clients):
        pid = os.fork()
        if pid == 0:
            os.close(rfd)
            _tls_worker(port, start, start + seconds, resume, rcpt, wfd)
        pids.append(pid)
    os.close(wfd)
    for pid in pids:
        os.waitpid(pid, 0)
    with os.fdopen(rfd) as f:
        lines = f.read().splitlines()
    sessions = reused = errors = 0
    first = ""
    for line in lines:
        n, r, e, text = (line.split(" ", 3) + [""])[:4]
        sessions += int(n)
        reused += int(r)
        errors += int(e)
        first = first or text
    return sessions, reused, errors, first


def _stat(pid):
    with open(f"/proc/{pid}/stat") as f:
        text = f.read()
    comm = text[text.index("(") + 1:text.rindex(")")]
    rest = text[text.rindex(")") + 2:].split()
    return comm, int(rest[1]), int(rest[STARTTIME])


def descendants(root):
    """root and every process below it."""
    children = {}
    for name in os.listdir("/proc"):
        if name.isdigit():
            try:
                _, ppid, _ = _stat(int(name))
            except (OSError, ValueError):
                continue
            children.setdefault(ppid, []).append(int(name))
    out, todo = [], [root]
    while todo:
        pid = todo.pop()
        out.append(pid)
        todo.extend(children.get(pid, []))
    return out


def rollup(pid):
    """(Rss, Pss) in KiB of one process."""
    rss = pss = 0
    with open(f"/proc/{pid}/smaps_rollup") as f:
        for line in f:
            if line.startswith("Rss:"):
                rss = int(line.split()[1])
            elif line.startswith("Pss:"):
                pss = int(line.split()[1])
    return rss, pss


def memory(port, master_pid, sessions):
    out = {"master_rss": rollup(master_pid)[0]}
    conns = [Smtp(port)]
    time.sleep(0.3)
    smtpds = []
    for pid in descendants(master_pid):
        try:
            comm, _, started = _stat(pid)
        except OSError:
            continue
        if comm == "smtpd":
            smtpds.append((started, pid))
    if not smtpds:
        raise RuntimeError("no smtpd process below master")
    out["smtpd_rss"] = rollup(max(smtpds)[1])[0]
    try:
        while len(conns) < sessions:
            conns.append(Smtp(port, timeout=20))
        time.sleep(0.5)
        total_rss = total_pss = procs = 0
        for pid in descendants(master_pid):
            try:
                rss, pss = rollup(pid)
            except OSError:
                continue
            total_rss += rss
            total_pss += pss
            procs += 1
        out.update(total_rss=total_rss, total_pss=total_pss, procs=procs, sessions=len(conns))
    finally:
        for c in conns:
            c.close()
    return out
