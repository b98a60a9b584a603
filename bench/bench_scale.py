"""Scale table: list, plan and apply of a 1% change at 10k, 100k and 1M live rules.

Each command is a new process against ``e2e_server.py`` (the emulator on loopback, a fresh copy
of the seeded org per run, 20 ms per call), as a user runs it:

- list:  ``socket-triage export --org bench --out live.yaml`` (every live rule, written as YAML)
- plan:  ``socket-triage plan rules`` (N file rules against N live rules, 1% differ)
- apply: ``socket-triage apply rules --yes`` (that 1% change: 0.5% creates, 0.3% updates,
  0.2% deletes; then verification)

Reported: wall time (process start to exit); the first listing's span, from the server's
request log; CPU seconds of the client process and of the server process during the run (when
the server's CPU nears the wall time, the emulator, not the client, sets the pace); API calls
against the minimum; the client process's own peak RSS (``os.wait4``).

    .venv/bin/python bench/bench_scale.py [--repeat 3] [--large-repeat 1] [--phases] [SIZES ...]
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
from collections.abc import Sequence
from pathlib import Path

from bench_e2e import prepare
from harness import SOCKET_TRIAGE, Call, check, load_average, phases, run, server, summary
from scenario import ORG, Scenario

LARGE = 1_000_000


def commands(url: str) -> dict[str, list[str]]:
    api = ["--api-url", url]
    return {
        "list": [SOCKET_TRIAGE, "export", "--org", ORG, "--out", "live.yaml", *api],
        "plan": [SOCKET_TRIAGE, "plan", "rules", *api],
        "apply": [SOCKET_TRIAGE, "apply", "rules", "--yes", *api],
    }


def listing(log: Sequence[Call]) -> float:
    """The first listing's span: the first page's start to the end of the last page read
    before the first page was asked for again (or before any write)."""
    pages = [c for c in log if "/triage/alerts?" in c.path and c.method == "GET"]
    first_write = min((c.start for c in log if c.method != "GET"), default=float("inf"))
    seen: set[str] = set()
    end = pages[0].end if pages else 0.0
    for call in pages:
        if call.path in seen or call.start > first_write:
            break
        seen.add(call.path)
        end = max(end, call.end)
    return end - pages[0].start if pages else 0.0


def minimum(scenario: Scenario, command: str) -> int:
    if command == "apply":
        return scenario.minimum_calls()
    return scenario.list_pages


def measure(
    scenario: Scenario, repeat: int, latency: float, only: Sequence[str], show_phases: bool
) -> None:
    with tempfile.TemporaryDirectory(prefix="bench-scale-") as directory:
        work = Path(directory)
        store = prepare(scenario, work)
        for command in only:
            walls: list[float] = []
            listings: list[float] = []
            cpus: list[tuple[float, float]] = []
            rss: list[float] = []
            calls = 0
            for _ in range(repeat):
                with server(store, work, latency) as api:
                    before = api.cpu()
                    finished = run(commands(api.url)[command], cwd=work)
                    check(finished, f"{command} at {scenario.label}")
                    cpus.append((finished.cpu, api.cpu() - before))
                    calls = sum(api.counters()["calls"].values())
                    log = api.log()
                    listings.append(listing(log))
                walls.append(finished.seconds)
                rss.append(finished.rss_mb)
            client_cpu, server_cpu = (statistics.median(c) for c in zip(*cpus, strict=True))
            print(
                f"| {scenario.live:,} | {command} | {summary(walls)} | {summary(listings)} "
                f"| {client_cpu:.2f} / {server_cpu:.2f} "
                f"| {calls} ({minimum(scenario, command)}) | {statistics.median(rss):.0f} "
                f"| {load_average()} |",
                flush=True,
            )
            if show_phases:  # of the last run, from the server's request log
                for phase, seconds, count in phases(finished, log):
                    print(f"|   | {phase} | {seconds:.3f} |  |  | {count} |  |  |", flush=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("sizes", nargs="*", type=int, default=[10_000, 100_000, LARGE])
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--large-repeat", type=int, default=1, help=f"runs at {LARGE:,} and up")
    parser.add_argument("--latency", type=float, default=0.02)
    parser.add_argument("--only", nargs="+", choices=("list", "plan", "apply"))
    parser.add_argument("--phases", action="store_true", help="where the last run's time went")
    args = parser.parse_args()
    only = args.only or ["list", "plan", "apply"]
    print(f"{args.latency * 1000:.0f} ms per call; load average before: {load_average()}")
    print(
        "| live rules | command | wall s (min / median) | listing s (min / median) "
        "| CPU s: client / server | calls (minimum) | peak RSS MB | load average after |"
    )
    print("|---:|---|---:|---:|---:|---:|---:|---|")
    for size in args.sizes:
        repeat = args.large_repeat if size >= LARGE else args.repeat
        measure(Scenario.one_percent(size), repeat, args.latency, only, args.phases)


if __name__ == "__main__":
    main()
