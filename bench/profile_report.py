"""Where the samples of a `py-spy record --format raw --threads` profile go:

    python bench/profile_report.py PROFILE.txt [--top 25] [--thread NAME] [--under FUNC]
                                               [--stages [--per N]]

Prints each thread's share of all samples (the asyncio executor's threads
counted together), then per thread the functions with the largest inclusive
share (the frame is anywhere on the stack) and self share (the innermost Python
frame; native frames below it are folded into it). `--under FUNC` restricts to
stacks through FUNC and shows its callees. `--stages` sorts every sample into the
stage of a message's path it belongs to (the deepest marker of STAGES on its
stack wins), with `--per N` also the milliseconds per message for N messages
(samples are 10 ms at py-spy's default rate). `bench --py-spy DIR` writes such
profiles, one per scenario phase.
"""

from __future__ import annotations

import argparse
import re
from collections import Counter
from pathlib import Path

NATIVE = re.compile(r"^0x[0-9a-f]+ \(|\((lib[^)]*|[^)]*\.so[^)]*)\)$")


# (stage, marker): a sample belongs to the stage of the deepest marker on its stack.
STAGES = [
    ("event loop: libuv/uWS I/O, asyncio", "BaseEventLoop._run_once"),
    ("frame decode (Engine.IO/Socket.IO)", "EngineServer._ws_message"),
    ("connect: handshake, JWT, rooms", "EngineServer._ws_upgrade"),
    ("connect: handshake, JWT, rooms", "ChatGateway.on_connect"),
    ("connect: replay of the feed", "ChatGateway._replay"),
    ("disconnect", "ChatGateway.on_disconnect"),
    ("validation + rate limit", "gateway_payloads.py"),
    ("validation + rate limit", "TokenBucket.take"),
    ("command: service + queue (loop)", "ChatService.send_message"),
    ("ack: settle futures, encode, send", "Socket._ack"),
    ("ack: settle futures, encode, send", "_settle_all"),
    ("writer: wait for commands", "GroupCommitWriter._run"),
    ("writer: command (load, domain)", "GroupCommitWriter._try_batch"),
    ("writer: save (eventsourcing + SQL)", "Application.save"),
    ("writer: commit", "GroupCommitWriter._commit"),
    ("projection: idle/wait", "ProjectionRunner._run"),
    ("projection: read the log", "read_changes"),
    ("projection: apply + rm_feed write + commit", "ProjectionRunner._cycle"),
    ("projection: read rm_feed back", "ProjectionRunner._emit_feed"),
    ("projection: resolve waiters", "ProjectionRunner._resolve_waiters"),
    ("publish: fan-out from the feed", "ChatGateway._fan_out"),
    ("presence: user-online/offline fan-out", "ChatGateway._presence"),
    ("executor: read-model queries", "_WorkItem.run"),
    ("LISTEN thread", "ProjectionRunner._listen_loop"),
]


def stage_of(frames: list[str]) -> str:
    best, depth = "other", -1
    for stage, marker in STAGES:
        for i in range(len(frames) - 1, depth, -1):
            if marker in frames[i]:
                best, depth = stage, i
                break
    return best


def stages(stacks: list[tuple[str, list[str], int]], per: int | None) -> str:
    total = sum(n for _, _, n in stacks)
    counts: Counter[tuple[str, str]] = Counter()
    for t, frames, n in stacks:
        counts[(stage_of(frames), t)] += n
    by_stage: Counter[str] = Counter()
    for (stage, _), n in counts.items():
        by_stage[stage] += n
    out = [f"{total} samples by stage" + (f", ms per message for {per:,}" if per else "")]
    for stage, n in by_stage.most_common():
        threads = ", ".join(f"{t} {m / n:.0%}" for (s, t), m in counts.most_common() if s == stage)
        ms = f"  {n * 10 / per:6.3f} ms" if per else ""
        out.append(f"  {n / total:6.1%}{ms}  {stage}  ({threads})")
    return "\n".join(out)


def thread_name(root: str) -> str:
    name = root.split(": ", 1)[-1]
    return re.sub(r"^asyncio_\d+$", "asyncio executor", name)


def function(frame: str) -> str:
    """`func (path/to/file.py:12)` -> `func (path/to/file.py)`: lines folded together."""
    return re.sub(r":\d+\)$", ")", frame)


def load(path: Path) -> list[tuple[str, list[str], int]]:
    stacks = []
    for line in path.read_text().splitlines():
        stack, _, count = line.rpartition(" ")
        if not stack:
            continue
        frames = stack.split(";")
        stacks.append((thread_name(frames[0]), [function(f) for f in frames[1:]], int(count)))
    return stacks


def innermost_python(frames: list[str]) -> str:
    for f in reversed(frames):
        if not NATIVE.search(f):
            return f
    return frames[-1] if frames else "?"


def report(stacks: list[tuple[str, list[str], int]], top: int, only: str | None,
           under: str | None) -> str:
    if under:
        stacks = [(t, fs[next(i for i, f in enumerate(fs) if under in f):], n)
                  for t, fs, n in stacks if any(under in f for f in fs)]
    total = sum(n for _, _, n in stacks)
    if not total:
        return "no samples"
    per_thread: Counter[str] = Counter()
    for t, _, n in stacks:
        per_thread[t] += n
    out = [f"{total} samples" + (f" through {under}" if under else "")]
    out += [f"  {n / total:6.1%}  {t}" for t, n in per_thread.most_common()]
    for t, t_total in per_thread.most_common():
        if only and only not in t:
            continue
        inclusive: Counter[str] = Counter()
        own: Counter[str] = Counter()
        for tt, frames, n in stacks:
            if tt != t:
                continue
            for f in set(frames):
                inclusive[f] += n
            own[innermost_python(frames)] += n
        out.append(f"\n## {t}: {t_total} samples ({t_total / total:.1%} of all)")
        out.append("inclusive (share of all samples):")
        out += [f"  {n / total:6.1%}  {f}" for f, n in inclusive.most_common(top)]
        out.append("self, innermost Python frame (share of all samples):")
        out += [f"  {n / total:6.1%}  {f}" for f, n in own.most_common(top)]
    return "\n".join(out)


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("profile", type=Path)
    p.add_argument("--top", type=int, default=25)
    p.add_argument("--thread", help="only threads whose name contains this")
    p.add_argument("--under", help="only stacks through a frame containing this")
    p.add_argument("--stages", action="store_true", help="samples by stage of the path")
    p.add_argument("--per", type=int, help="with --stages: messages, for ms per message")
    args = p.parse_args()
    stacks = load(args.profile)
    if args.stages:
        if args.thread:
            stacks = [s for s in stacks if args.thread in s[0]]
        print(stages(stacks, args.per))
    else:
        print(report(stacks, args.top, args.thread, args.under))


if __name__ == "__main__":
    main()
