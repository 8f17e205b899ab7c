"""eschat against its peers, side by side, in one run on one machine:

    python -m bench [--tiny] [--servers a,b] [--scenarios a,b] [--client sio,raw]
                    [--py-spy DIR] [--json out.json] [sizes...]

(`eschat bench compare ...` is the same.) Each server under test is started as a
subprocess on a free port (pinned to the server's CPU set), the load
generators run as separate processes (pinned to the others), and a markdown
table goes to stdout (progress to stderr), the raw rows to --json. With
--py-spy DIR, every eschat server is sampled by `py-spy record` during each
scenario (all threads; raw collapsed stacks in DIR, see bench/profile_report.py).
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import os
import platform
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

from bench import report, scenarios
from bench.servers import SERVERS, BenchError, Server, start

SCENARIOS = ("latency", "rooms", "fanout", "storm", "idle", "rebuild", "history")
CHAT = ("latency", "rooms", "fanout", "storm")
DEFAULT_PG = "postgresql://postgres@127.0.0.1:5432/eschat_bench"


def csv(choices: tuple[str, ...]) -> Any:
    def parse(text: str) -> list[str]:
        names = [n.strip() for n in text.split(",") if n.strip()]
        unknown = [n for n in names if n not in choices]
        if unknown or not names:
            raise argparse.ArgumentTypeError(
                f"unknown {', '.join(unknown) or 'empty list'}; choose from {', '.join(choices)}")
        return names
    return parse


def parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="python -m bench", description=__doc__.split("\n\n")[0])
    p.add_argument("--servers", type=csv(SERVERS), default=list(SERVERS),
                   help=f"comma-separated, default all: {','.join(SERVERS)}")
    p.add_argument("--scenarios", type=csv(SCENARIOS), default=list(SCENARIOS),
                   help=f"comma-separated, default all: {','.join(SCENARIOS)}")
    p.add_argument("--client", type=csv(scenarios.CLIENTS), default=["sio"],
                   help="load generator(s), comma-separated, each used for every chat "
                        "scenario: sio = stock socket.io-client (npm) with default options "
                        "over WebSocket (default), raw = raw frames on picows")
    p.add_argument("--tiny", action="store_true", help="every scenario at a tiny size (smoke)")
    p.add_argument("--py-spy", type=Path, metavar="DIR",
                   help="sample each eschat server with py-spy during each scenario")
    p.add_argument("--py-spy-flags", default="--threads --native",
                   help="flags for `py-spy record` (default: %(default)s; add --idle or --gil)")
    p.add_argument("--pg-url", default=os.environ.get("ESCHAT_BENCH_PG_URL", DEFAULT_PG),
                   help="database for eschat-postgres and node-socketio-pg (its tables are "
                        "DROPPED); default $ESCHAT_BENCH_PG_URL or " + DEFAULT_PG)
    p.add_argument("--no-pin", action="store_true",
                   help="do not pin the server to CPU 0 and the load generators to the rest")
    p.add_argument("--repeat", type=int, default=1, metavar="N",
                   help="run every server and scenario N times, the servers taking turns in "
                        "each round; the tables show each one's median run (by p99 at a fixed "
                        "rate, acks/s or deliveries/s at saturation) and list every run's")
    p.add_argument("--json", type=Path, help="write the raw rows here (every run's)")
    for f in dataclasses.fields(scenarios.Sizes):
        kind = {"int": int, "float": float}[str(f.type)]
        p.add_argument("--" + f.name.replace("_", "-"), type=kind, default=None,
                       help=f"default {f.default} ({getattr(scenarios.TINY, f.name)} with --tiny)")
    return p


def sizes_from(args: argparse.Namespace) -> scenarios.Sizes:
    base = scenarios.TINY if args.tiny else scenarios.Sizes()
    given = {f.name: getattr(args, f.name) for f in dataclasses.fields(base)
             if getattr(args, f.name) is not None}
    for name, value in given.items():
        if value <= 0 and name not in ("warmup",):
            raise BenchError(f"--{name.replace('_', '-')} must be positive")
    sizes = dataclasses.replace(base, **given)
    if sizes.warmup >= sizes.seconds:
        raise BenchError("--warmup must be shorter than --seconds")
    if sizes.fanout_senders > sizes.fanout_members:
        raise BenchError("--fanout-senders cannot exceed --fanout-members")
    if sizes.storm_senders > sizes.storm_members:
        raise BenchError("--storm-senders cannot exceed --storm-members")
    return sizes


def pinning(no_pin: bool) -> tuple[set[int] | None, set[int] | None]:
    cores = sorted(os.sched_getaffinity(0))
    if no_pin or len(cores) < 2:
        return None, None
    return {cores[0]}, set(cores[1:])


def log(message: str) -> None:
    print(f"[bench {time.strftime('%H:%M:%S')}] {message}", file=sys.stderr, flush=True)


class Profiler:
    """`py-spy record` of one server process for one scenario, one profile per phase
    (`phase(name)` ends the current one by SIGINT and starts the next): DIR/LABEL-PHASE.txt.
    py-spy pauses the process for each sample: profiled figures are not the bench's."""

    def __init__(self, directory: Path | None, flags: str, server: Server, label: str) -> None:
        self.procs: list[subprocess.Popen[bytes]] = []
        self.directory, self.flags, self.label = directory, flags, label
        self.pid = server.proc.pid if server.is_eschat else None
        self.phase("setup")

    def phase(self, name: str) -> None:
        if self.directory is None or self.pid is None:
            return
        if self.procs and self.procs[-1].poll() is None:
            self.procs[-1].send_signal(signal.SIGINT)
        exe = shutil.which("py-spy") or str(Path(sys.executable).parent / "py-spy")
        self.directory.mkdir(parents=True, exist_ok=True)
        out = self.directory / f"{self.label}-{name}"
        self.procs.append(subprocess.Popen(
            [exe, "record", "--pid", str(self.pid), "--format", "raw", "-o", f"{out}.txt",
             *self.flags.split()], stdout=subprocess.DEVNULL,
            stderr=out.with_suffix(".log").open("wb")))
        if name == "setup":
            time.sleep(0.5)  # attached before the scenario starts

    def stop(self) -> None:
        for proc in self.procs:
            if proc.poll() is None:
                proc.send_signal(signal.SIGINT)
        for proc in self.procs:
            try:
                proc.wait(60)
            except subprocess.TimeoutExpired:
                proc.kill()


def run(args: argparse.Namespace) -> list[dict[str, Any]]:
    if args.repeat < 1:
        raise BenchError("--repeat must be at least 1")
    sizes = sizes_from(args)
    server_cores, loadgen_cores = pinning(args.no_pin)
    n_loadgen = len(loadgen_cores or os.sched_getaffinity(0))
    log(f"sizes: {sizes}")
    log(f"pinning: server {server_cores or 'all'}, load generators {loadgen_cores or 'all'}")
    rows: list[dict[str, Any]] = []
    # Round after round, every server in turn: a noisy minute on a shared machine lands
    # on one run of each, not on every run of one server.
    for round_ in range(args.repeat):
        if args.repeat > 1:
            log(f"round {round_ + 1} of {args.repeat}")
        rows += run_round(args, sizes, server_cores, loadgen_cores, n_loadgen)
    return rows


def run_round(args: argparse.Namespace, sizes: scenarios.Sizes, server_cores: set[int] | None,
              loadgen_cores: set[int] | None, n_loadgen: int) -> list[dict[str, Any]]:
    rows: list[dict[str, Any]] = []
    for name in args.servers:
        for scenario in args.scenarios:
            if scenario == "rebuild":
                log(f"{name}: {scenario}")
                rows.append(scenarios.rebuild_scenario(name, sizes, args.pg_url))
                continue
            # Chat scenarios run once per load generator; idle and history once.
            for client in args.client if scenario in CHAT else args.client[:1]:
                log(f"{name}: {scenario} ({client})")
                server: Server = start(name, args.pg_url, server_cores)
                profiler = Profiler(args.py_spy, args.py_spy_flags, server,
                                    f"{name}-{scenario}-{client}")
                try:
                    if scenario in ("rooms", "fanout", "latency"):
                        rows += scenarios.chat_scenario(server, sizes, scenario, loadgen_cores,
                                                        n_loadgen, client, profiler.phase)
                    elif scenario == "storm":
                        rows.append(scenarios.storm_scenario(server, sizes, loadgen_cores,
                                                             n_loadgen, client, profiler.phase))
                    elif scenario == "idle":
                        rows.append(scenarios.idle_scenario(server, sizes, loadgen_cores,
                                                            client))
                    else:
                        rows.append(scenarios.history_scenario(server, sizes, loadgen_cores))
                finally:
                    profiler.stop()
                    server.stop()
                log(f"{name}: {scenario} ({client}) done")
    return rows


def machine() -> str:
    cpu = next((line.split(":", 1)[1].strip() for line in
                Path("/proc/cpuinfo").read_text().splitlines()
                if line.startswith("model name")), "?")
    return (f"{os.cpu_count()} CPUs ({cpu}), Python {platform.python_version()}, "
            f"{platform.system()} {platform.release()}")


def main(argv: list[str] | None = None) -> int:
    args = parser().parse_args(argv)
    try:
        rows = run(args)
    except BenchError as e:
        print(f"bench: {e}", file=sys.stderr)
        return 2
    print(f"## eschat bench ({'tiny' if args.tiny else 'full'} sizes) on {machine()}\n")
    print(report.markdown(rows))
    if args.json:
        args.json.write_text(json.dumps({"machine": machine(), "rows": rows}, indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main())
