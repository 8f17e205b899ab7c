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
            lines.append([r["scenario"], "", "", r["server"], f"n/a ({r['na']})"] + [""] * 9)
            continue
        lat, ack = r["latency_ms"], r["ack_ms"]
        lines.append([
            r["scenario"], r["mode"], r.get("client", "raw"), r["server"], r["offered"],
            num(r["acks_per_s"]), num(r["deliveries_per_s"]),
            " / ".join(num(lat[k], 1) for k in ("p50", "p99", "p999")),
            " / ".join(num(ack[k], 1) for k in ("p50", "p99")),
            num(r["server_cpu_s_per_1k"], 3), num(r["db_cpu_s_per_1k"], 3),
            ", ".join(f"{x:.0%}" for x in r["loadgen_cpu"]),
            "**yes**" if r["loadgen_saturated"] else "no",
            f"{r['sent']}/{r['acked']}/{r['refused']}"
            + (f" {r['refusals']}" if r["refusals"] else ""),
        ])
    return table(["scenario", "mode", "client", "server", "offered load", "acks/s",
                  "deliveries/s",
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


def find(rows: list[Row], server: str, scenario: str, mode: str | None = None,
         client: str | None = None) -> Row | None:
    for r in rows:
        if (r["server"], r["scenario"]) == (server, scenario) and not r.get("na") \
                and (mode is None or r.get("mode") == mode) \
                and (client is None or r.get("client", "raw") == client):
            return r
    return None


def pair(values: list[Any], digits: int = 1) -> str:
    return " / ".join(num(v, digits) for v in values)


def issue13(rows: list[Row], client: str) -> str:
    """The rows of issue 13's "Show", one column per server, for one load generator."""
    servers = list(dict.fromkeys(r["server"] for r in rows if r.get("client") == client))

    def cells(scenario: str, mode: str, render: Any) -> list[str]:
        out = []
        for s in servers:
            r = find(rows, s, scenario, mode, client)
            out.append("-" if r is None else render(r)
                       + (" (loadgen saturated)" if r["loadgen_saturated"] else ""))
        return out

    def shape(scenario: str, mode: str) -> str:
        r = next((r for r in rows if r.get("client") == client and r["scenario"] == scenario
                  and r.get("mode") == mode), None)
        if r is None:
            return "?"
        return f"{r['rooms']:,} room{'s' if r['rooms'] > 1 else ''} of {r['room_size']:,}"

    offered = next((r["offered"] for r in rows if r["scenario"] == "latency"), "?")
    lines = [
        [f"{shape('latency', 'fixed-rate')}, {offered}: send → other member p50 / p99 ms",
         *cells("latency", "fixed-rate", lambda r: pair([r["latency_ms"]["p50"],
                                                          r["latency_ms"]["p99"]]))],
        [f"{shape('rooms', 'throughput')}, every member sending (closed loop): acks/s",
         *cells("rooms", "throughput",
                lambda r: num(r["acks_per_s"]) + ("" if r["durable"] else " (not durable)"))],
        ["same: deliveries/s; send → other member p50 ms",
         *cells("rooms", "throughput", lambda r: f"{num(r['deliveries_per_s'])}; "
                                                 f"{num(r['latency_ms']['p50'], 1)}")],
        ["same: ack → delivery to every member, lag p50 / p99 / max ms",
         *cells("rooms", "throughput", lambda r: pair([r["lag_ms"][k] for k in
                                                       ("p50", "p99", "max")]))],
        ["same: copies delivered within 1 s of the ack",
         *cells("rooms", "throughput", lambda r: "-" if r["lag_within_1s"] is None else
                f"{r['lag_within_1s']:.1%}" + (f" ({r['lag_missing']:,} never)"
                                               if r["lag_missing"] else ""))],
        [f"reconnect storm, {shape('storm', 'throughput')}: s from first connect to last "
         "`connected`",
         *cells("storm", "throughput", lambda r: num(r["connect_s"], 2))],
        ["storm: server CPU s; PostgreSQL CPU s, from the first connect to all connected",
         *cells("storm", "throughput", lambda r: f"{num(r.get('connect_server_cpu_s'), 2)}; "
                                                 f"{num(r.get('connect_db_cpu_s'), 2)}")],
        ["storm, from 2 s after the last `connected`: acks/s over the window; per second",
         *cells("storm", "throughput", lambda r: f"{num(r['acks_per_s'])}; "
                + " ".join(str(n) for n in r["ack_timeline"]))],
        ["storm: disconnects during the run; sends lost with them (never acked)",
         *cells("storm", "throughput", lambda r: f"{r['disconnected']:,}; "
                                                 f"{r.get('lost', 0) + r['unacked']:,}")],
        ["storm: ack p50 / p99 ms; send → other member p50 / p99 ms",
         *cells("storm", "throughput", lambda r: pair([r["ack_ms"]["p50"], r["ack_ms"]["p99"]])
                + "; " + pair([r["latency_ms"]["p50"], r["latency_ms"]["p99"]]))],
        [f"fan-out, {shape('fanout', 'throughput')}, closed loop: deliveries/s (p99 ms)",
         *cells("fanout", "throughput", lambda r: f"{num(r['deliveries_per_s'])} "
                                                  f"({num(r['latency_ms']['p99'], 1)})")],
    ]
    return table(["scenario", *servers], [line for line in lines
                                          if any(c != "-" for c in line[1:])])


def issue13_targets(rows: list[Row], client: str) -> str:
    """Issue 13's "Show" targets as ratios within this run, for one load generator."""
    lines: list[list[str]] = []

    def get(server: str, scenario: str, mode: str, pick: Any) -> float | None:
        r = find(rows, server, scenario, mode, client)
        return None if r is None else pick(r)

    def line(label: str, goal: str, mine: float | None, theirs: float | None, ok: bool) -> None:
        if mine is None:
            return
        shown = "-" if theirs is None else f"{num(mine, 1)} vs {num(theirs, 1)}"
        ratio = f"{mine / theirs:.2f}x" if theirs else "-"
        lines.append([label, goal, shown if theirs is not None else num(mine, 1), ratio,
                      "met" if ok else "**not met**"])

    node_pg = get("node-socketio-pg", "latency", "fixed-rate", lambda r: r["latency_ms"]["p99"])
    for mine in ("eschat-postgres", "eschat-sqlite"):
        a = get(mine, "latency", "fixed-rate", lambda r: r["latency_ms"]["p99"])
        if node_pg is not None:
            line(f"p99 send → other member, latency scenario: {mine} / node-socketio-pg",
                 "<= 1x", a, node_pg, a is not None and a <= node_pg)
    a = get("eschat-postgres", "rooms", "throughput", lambda r: r["acks_per_s"])
    b = get("node-socketio-pg", "rooms", "throughput", lambda r: r["acks_per_s"])
    if b is not None:
        line("durable acks/s at saturation: eschat-postgres / node-socketio-pg", ">= 2x", a, b,
             a is not None and a >= 2 * b)
    for mine in ("eschat-postgres", "eschat-sqlite"):
        lag = get(mine, "rooms", "throughput", lambda r: r["lag_ms"]["p99"])
        missing = get(mine, "rooms", "throughput", lambda r: r["lag_missing"])
        line(f"ack → delivery lag p99 ms at saturation: {mine}", "< 1,000 ms", lag, None,
             lag is not None and lag < 1000 and not missing)
    for what, key in (("ack", "ack_ms"), ("send → other member", "latency_ms")):
        p99 = get("eschat-postgres", "storm", "throughput", lambda r, k=key: r[k]["p99"])
        line(f"reconnect storm, eschat-postgres: {what} p99 ms", "< 250 ms", p99, None,
             p99 is not None and p99 < 250)
    a = get("eschat-postgres", "fanout", "throughput", lambda r: r["deliveries_per_s"])
    b = get("node-socketio", "fanout", "throughput", lambda r: r["deliveries_per_s"])
    if b is not None:
        line("fan-out deliveries/s: eschat-postgres / node-socketio", ">= 1x", a, b,
             a is not None and a >= b)
    return table(["target", "goal", "eschat vs peer", "ratio", ""], lines)


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


# What a repeated run (`--repeat N`) is ranked by, per (scenario, mode): the run with the
# median of this figure stands for all N in the tables.
RANKED_BY: dict[tuple[str, str], tuple[str, Any]] = {
    ("latency", "fixed-rate"): ("p99 ms", lambda r: r["latency_ms"]["p99"]),
    ("rooms", "fixed-rate"): ("p99 ms", lambda r: r["latency_ms"]["p99"]),
    ("fanout", "fixed-rate"): ("p99 ms", lambda r: r["latency_ms"]["p99"]),
    ("rooms", "throughput"): ("acks/s", lambda r: r["acks_per_s"]),
    ("fanout", "throughput"): ("deliveries/s", lambda r: r["deliveries_per_s"]),
    ("storm", "throughput"): ("ack p99 ms", lambda r: r["ack_ms"]["p99"]),
}


def _group(row: Row) -> tuple[Any, ...]:
    return (row["server"], row["scenario"], row.get("mode"), row.get("client"))


def _figure(row: Row) -> float | None:
    ranked = RANKED_BY.get((row["scenario"], row.get("mode", "")))
    if ranked is None or row.get("na"):
        return None
    try:
        return float(ranked[1](row))
    except (KeyError, TypeError):
        return None


def medians(rows: list[Row]) -> list[Row]:
    """One row per server, scenario, mode and load generator: of repeated runs, the one
    with the median figure of RANKED_BY (the lower middle of an even count; the first
    run where there is no such figure). Whole rows, so every column is one run's."""
    groups: dict[tuple[Any, ...], list[Row]] = {}
    for r in rows:
        groups.setdefault(_group(r), []).append(r)
    out = []
    for group in groups.values():
        ranked = [r for r in group if _figure(r) is not None]
        if len(ranked) < 2:
            out.append(group[0])
            continue
        ranked.sort(key=lambda r: _figure(r) or 0.0)
        out.append(ranked[(len(ranked) - 1) // 2])
    return out


def repeats(rows: list[Row]) -> str:
    """Each repeated group's figure in every run, in run order, and the median reported."""
    groups: dict[tuple[Any, ...], list[Row]] = {}
    for r in rows:
        groups.setdefault(_group(r), []).append(r)
    lines = []
    for (server, scenario, mode, client), group in groups.items():
        figures = [_figure(r) for r in group]
        if len(group) < 2 or None in figures:
            continue
        digits = 1 if "ms" in RANKED_BY[(scenario, mode)][0] else 0
        median = _figure(medians(group)[0])
        lines.append([server, f"{scenario} {mode} ({client})", RANKED_BY[(scenario, mode)][0],
                      ", ".join(num(f, digits) for f in figures), num(median, digits)])
    return table(["server", "scenario", "figure", "each run, in order", "median (in the tables)"],
                 lines) if lines else ""


def markdown(rows: list[Row]) -> str:
    """The tables of the median run of each repeated group, then every run's figure."""
    every = rows
    rows = medians(rows)
    parts = []
    chat = [r for r in rows if r["scenario"] in ("latency", "rooms", "fanout", "storm")]
    for client in dict.fromkeys(r.get("client") for r in chat if not r.get("na")):
        name = {"sio": "stock socket.io-client", "raw": "raw frames (picows)"}.get(client, client)
        parts.append(f"### Issue 13: delivery, lag, reconnect storm — load generator: {name}"
                     f"\n\n{issue13(rows, client)}\n\n{issue13_targets(rows, client)}")
    sections = [
        ("Messaging: every run (latency, rooms, fan-out, storm)", chat, messaging),
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
    if spread := repeats(every):
        parts.append("### Repeats (`--repeat`): the tables above show each group's median run"
                     f"\n\n{spread}")
    return "\n\n".join(parts) + "\n"
