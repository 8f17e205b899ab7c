"""Markdown tables (and the issue's targets as ratios) from the bench's rows."""

from __future__ import annotations

from typing import Any

Row = dict[str, Any]


def num(value: Any, digits: int = 0) -> str:
    if value is None:
        return "-"
    if isinstance(value, float | int):
        return f"{value:,.{digits}f}"
    return str(value)


def table(header: list[str], lines: list[list[str]]) -> str:
    out = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    out += ["| " + " | ".join(line) + " |" for line in lines]
    return "\n".join(out)


def messaging(rows: list[Row]) -> str:
    lines = []
    for r in rows:
        if r.get("na"):
            lines.append([r["scenario"], "", r["server"], f"n/a ({r['na']})"] + [""] * 9)
            continue
        lat, ack = r["latency_ms"], r["ack_ms"]
        lines.append([
            r["scenario"], r["mode"], r["server"], r["offered"],
            num(r["acks_per_s"]), num(r["deliveries_per_s"]),
            " / ".join(num(lat[k], 1) for k in ("p50", "p99", "p999")),
            " / ".join(num(ack[k], 1) for k in ("p50", "p99")),
            num(r["server_cpu_s_per_1k"], 3), num(r["db_cpu_s_per_1k"], 3),
            ", ".join(f"{x:.0%}" for x in r["loadgen_cpu"]),
            "**yes**" if r["loadgen_saturated"] else "no",
            f"{r['sent']}/{r['acked']}/{r['refused']}"
            + (f" {r['refusals']}" if r["refusals"] else ""),
        ])
    return table(["scenario", "mode", "server", "offered load", "acks/s", "deliveries/s",
                  "latency p50/p99/p999 ms", "ack p50/p99 ms", "server CPU s/1k msgs",
                  "+PostgreSQL CPU s/1k", "loadgen CPU (per process)", "loadgen saturated",
                  "sent/acked/refused"], lines)


def idle(rows: list[Row]) -> str:
    return table(["server", "idle connections", "RSS before MiB", "RSS after MiB",
                  "RSS per connection KiB", "connects/s"],
                 [[r["server"], num(r["connections"]), num(r["rss_before_mib"], 1),
                   num(r["rss_after_mib"], 1), num(r["rss_per_conn_kib"], 2),
                   num(r["connects_per_s"])] for r in rows])


def rebuild(rows: list[Row]) -> str:
    return table(["server", "events", "seconds", "events/s"],
                 [[r["server"], "n/a (" + r["na"] + ")", "", ""] if r.get("na") else
                  [r["server"], num(r["events"]), num(r["seconds"], 2), num(r["events_per_s"])]
                  for r in rows])


def history(rows: list[Row]) -> str:
    return table(["server", "messages in chat", "page", "in flight", "requests/s", "p50 ms",
                  "p99 ms", "errors", "loadgen CPU", "loadgen saturated"],
                 [[r["server"], "n/a (" + r["na"] + ")"] + [""] * 8 if r.get("na") else
                  [r["server"], num(r["messages"]), num(r["limit"]), num(r["in_flight"]),
                   num(r["requests_per_s"]), num(r["p50_ms"], 1), num(r["p99_ms"], 1),
                   num(r["errors"]), ", ".join(f"{x:.0%}" for x in r["loadgen_cpu"]),
                   "**yes**" if r["loadgen_saturated"] else "no"] for r in rows])


def find(rows: list[Row], server: str, scenario: str, mode: str | None = None) -> Row | None:
    for r in rows:
        if (r["server"], r["scenario"]) == (server, scenario) and not r.get("na") \
                and (mode is None or r.get("mode") == mode):
            return r
    return None


def targets(rows: list[Row]) -> str:
    """The issue's targets, as ratios within this run (only those it measured)."""
    lines: list[list[str]] = []

    def ratio(label: str, goal: str, mine: float | None, theirs: float | None,
              ok: bool | None) -> None:
        if mine is None or theirs is None:
            return
        shown = f"{mine / theirs:.2f}x" if theirs else "-"
        lines.append([label, goal, f"{num(mine, 1)} vs {num(theirs, 1)}", shown,
                      "met" if ok else "**not met**"])

    def metric(server: str, scenario: str, mode: str | None, key: str) -> float | None:
        r = find(rows, server, scenario, mode)
        return None if r is None else r[key]

    def p99(server: str, scenario: str) -> float | None:
        r = find(rows, server, scenario, "fixed-rate")
        return None if r is None else r["latency_ms"]["p99"]

    pg, pgpeer = (metric("eschat-postgres", "rooms", "throughput", "acks_per_s"),
                  metric("node-socketio-pg", "rooms", "throughput", "acks_per_s"))
    ratio("durable acks/s, PostgreSQL: eschat-postgres / node-socketio-pg", ">= 5x", pg, pgpeer,
          pg is not None and pgpeer is not None and pg >= 5 * pgpeer)
    for mine in ("eschat-sqlite", "eschat-postgres"):
        d = metric(mine, "fanout", "throughput", "deliveries_per_s")
        for peer, factor in (("python-socketio", 2.0), ("node-socketio", 1.0)):
            theirs = metric(peer, "fanout", "throughput", "deliveries_per_s")
            ratio(f"fan-out deliveries/s: {mine} / {peer}", f">= {factor:g}x", d, theirs,
                  d is not None and theirs is not None and d >= factor * theirs)
        for scenario in ("rooms", "fanout"):
            for peer in ("node-socketio", "node-socketio-pg", "python-socketio"):
                a, b = p99(mine, scenario), p99(peer, scenario)
                ratio(f"p99 latency at the same load ({scenario}): {mine} / {peer}", "< 1x",
                      a, b, a is not None and b is not None and a < b)
        a = metric(mine, "idle", None, "rss_per_conn_kib")
        b = metric("python-socketio", "idle", None, "rss_per_conn_kib")
        ratio(f"RSS per idle connection: {mine} / python-socketio", "< 1x", a, b,
              a is not None and b is not None and a < b)
    rebuilt = metric("eschat-sqlite", "rebuild", None, "events_per_s")
    if rebuilt is not None:
        lines.append(["rebuild on SQLite, events/s", ">= 50,000", num(rebuilt), "-",
                      "met" if rebuilt >= 50_000 else "**not met**"])
    return table(["target", "goal", "eschat vs peer", "ratio", ""], lines)


def markdown(rows: list[Row]) -> str:
    parts = []
    chat = [r for r in rows if r["scenario"] in ("rooms", "fanout")]
    sections = [
        ("Messaging: scenario 1 (rooms, every member sends) and 2 (fan-out)", chat, messaging),
        ("Scenario 3: idle connections", [r for r in rows if r["scenario"] == "idle"], idle),
        ("Scenario 4: projections rebuild",
         [r for r in rows if r["scenario"] == "rebuild"], rebuild),
        ("Scenario 5: history queries", [r for r in rows if r["scenario"] == "history"],
         history),
    ]
    for title, subset, render in sections:
        if subset:
            parts.append(f"### {title}\n\n{render(subset)}")
    parts.append(f"### Targets (ratios within this run)\n\n{targets(rows)}")
    return "\n\n".join(parts) + "\n"
