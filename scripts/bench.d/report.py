"""NAME
    report - the benchmark's table and JSON from the per-run results

SYNOPSIS
    smtpbench.py report --results FILE [--json OUT] [--meta KEY=VALUE]...
    smtpbench.py skip --figure F --note TEXT --system S --round N --results FILE

DESCRIPTION
    The results file holds one JSON object per measured figure, system and
    round (see smtpbench.py). `report` prints one table on standard output:
    each figure with the median over the rounds for Postern and for
    Postfix, the ratio Postern/Postfix, and how many runs each median is
    made of; notes (failures, figures not measured and why) follow the
    table. With --json the same goes to OUT, with every single value and
    the --meta pairs (mode, commit, machine load, ...).

    `skip` records a figure that is not measured for a system (value null),
    with the note shown instead of the number, e.g. "not built yet".
"""
import json
import statistics
import sys

# (key, label, unit, better)
FIGURES = [
    ("relay", "relay throughput: smtp-source -> MTA -> smtp-sink", "msg/s", "higher"),
    ("accept", "acceptance rate (until smtp-source is done)", "msg/s", "higher"),
    ("relay_cpu", "instance CPU per relayed message", "ms", "lower"),
    ("local", "local delivery to a Maildir", "msg/s", "higher"),
    ("tls_in_full", "inbound STARTTLS sessions, 20 clients, full", "sess/s", "higher"),
    ("tls_in_resumed", "inbound STARTTLS sessions, 20 clients, resumed", "sess/s", "higher"),
    ("tls_in_full_cpu", "instance CPU per inbound STARTTLS session, full", "ms", "lower"),
    ("tls_in_resumed_cpu", "instance CPU per inbound STARTTLS session, resumed", "ms", "lower"),
    ("tls_out", "outbound relay, smtp_tls_security_level=may", "msg/s", "higher"),
    ("tls_out_reuse", "outbound relay, TLS with connection reuse", "msg/s", "higher"),
    ("rss_master", "RSS of master", "MiB", "lower"),
    ("rss_idle_smtpd", "RSS of one idle smtpd", "MiB", "lower"),
    ("rss_total_100", "instance RSS, 100 idle SMTP sessions", "MiB", "lower"),
    ("pss_total_100", "instance PSS, 100 idle SMTP sessions", "MiB", "lower"),
    ("latency_p50", "latency at 10 msg/s, p50 (250 -> sink)", "ms", "lower"),
    ("latency_p99", "latency at 10 msg/s, p99 (250 -> sink)", "ms", "lower"),
]
SYSTEMS = ("postern", "postfix")


def fmt(v):
    if v is None:
        return "n/a"
    if abs(v) >= 100:
        return f"{v:.0f}"
    if abs(v) >= 10:
        return f"{v:.1f}"
    return f"{v:.2f}"


def summarize(results):
    """Per figure: per system the values, median and notes; and the ratio."""
    out = []
    for key, label, unit, better in FIGURES:
        fig = {"figure": key, "label": label, "unit": unit, "better": better}
        for system in SYSTEMS:
            rows = [r for r in results if r["figure"] == key and r["system"] == system]
            values = [r["value"] for r in rows if r["value"] is not None]
            notes = sorted({r["note"] for r in rows if r.get("note")})
            fig[system] = {
                "median": statistics.median(values) if values else None,
                "values": values,
                "runs": len(rows),
                "notes": notes,
            }
        a, b = fig["postern"]["median"], fig["postfix"]["median"]
        fig["ratio"] = a / b if a is not None and b else None
        if fig["postern"]["runs"] or fig["postfix"]["runs"]:
            out.append(fig)
    return out


def table(figs):
    head = ("figure", "unit", "Postern", "Postfix", "ratio", "runs")
    rows = []
    footnotes = []
    for f in figs:
        cells = []
        for system in SYSTEMS:
            s = f[system]
            text = fmt(s["median"])
            for note in s["notes"]:
                footnotes.append(f"{system} {f['figure']}: {note}")
                text += f" [{len(footnotes)}]"
            cells.append(text)
        ratio = "-" if f["ratio"] is None else f"{f['ratio']:.2f}"
        runs = f"{len(f['postern']['values'])}+{len(f['postfix']['values'])}"
        arrow = "^" if f["better"] == "higher" else "v"
        rows.append((f["label"], f"{f['unit']} {arrow}", cells[0], cells[1], ratio, runs))
    widths = [max(len(str(r[i])) for r in rows + [head]) for i in range(len(head))]
    lines = []
    for i, r in enumerate([head] + rows):
        lines.append(
            "  ".join(
                str(c).ljust(widths[j]) if j < 2 else str(c).rjust(widths[j])
                for j, c in enumerate(r)
            ).rstrip()
        )
        if i == 0:
            lines.append("  ".join("-" * w for w in widths))
    lines.append("")
    lines.append("ratio = Postern / Postfix;  ^ higher is better, v lower is better;"
                 "  runs = Postern+Postfix runs in the medians")
    for i, n in enumerate(footnotes, 1):
        lines.append(f"[{i}] {n}")
    return "\n".join(lines)


def cmd_report(a):
    with open(a.results) as f:
        results = [json.loads(line) for line in f if line.strip()]
    figs = summarize(results)
    print(table(figs))
    if a.json:
        meta = dict(kv.split("=", 1) for kv in a.meta)
        with open(a.json, "w") as f:
            json.dump({"meta": meta, "figures": figs}, f, indent=2)
            f.write("\n")


def cmd_skip(a):
    line = {"figure": a.figure, "system": a.system, "round": a.round, "value": None, "note": a.note}
    with open(a.results, "a") as f:
        f.write(json.dumps(line) + "\n")
    print(f"    {a.system:8} {a.figure:24} n/a ({a.note})", file=sys.stderr)


def add_parser(sub):
    s = sub.add_parser("report")
    s.set_defaults(fn=cmd_report)
    s.add_argument("--results", required=True)
    s.add_argument("--json")
    s.add_argument("--meta", action="append", default=[])
    s = sub.add_parser("skip")
    s.set_defaults(fn=cmd_skip)
    s.add_argument("--figure", required=True)
    s.add_argument("--note", required=True)
    s.add_argument("--system", required=True)
    s.add_argument("--round", type=int, default=0)
    s.add_argument("--results", required=True)
