"""Whole-process apply benchmark: ``socket-triage apply --yes`` against a one-call-per-entry client.

Reference scenario (issue 12): 1,500 live rules; rule files that make 500 creates, 300 updates
and 200 deletes; 20 ms per API call. The API server (``e2e_server.py``, the emulator on
loopback) and each client run as separate processes; a client's wall time is from process start
to exit, as a user sees it. API calls are the emulator's counters; the phase breakdown comes
from the server's request log (see ``harness.phases``). Each run gets a fresh copy of the org.

    .venv/bin/python bench/bench_e2e.py [--repeat 3] [--latency 0.02] [--options '--concurrency 16']
"""

from __future__ import annotations

import argparse
import statistics
import subprocess
import tempfile
from collections import defaultdict
from collections.abc import Sequence
from pathlib import Path

from harness import (
    APPLY_IMPORTS,
    BENCH,
    PYTHON,
    SOCKET_TRIAGE,
    Call,
    Finished,
    check,
    load_average,
    phases,
    python_seconds,
    run,
    server,
    summary,
)
from scenario import Scenario, seeded_store, write_files

REFERENCE = Scenario(live=1500, creates=500, updates=300, deletes=200)


def prepare(scenario: Scenario, work: Path) -> Path:
    """Rule files in a git checkout (provenance reads it, as in a real repository); the org."""
    write_files(scenario, work / "rules")
    git = ["git", "-c", "user.name=bench", "-c", "user.email=bench@example.com"]
    subprocess.run([*git, "init", "-q"], cwd=work, check=True)
    subprocess.run([*git, "add", "rules"], cwd=work, check=True)
    subprocess.run([*git, "commit", "-q", "-m", "rules"], cwd=work, check=True)
    return seeded_store(scenario)


def clients(url: str, options: Sequence[str] = ()) -> dict[str, list[str]]:
    return {
        "socket-triage": [SOCKET_TRIAGE, "apply", "rules", "--yes", "--api-url", url, *options],
        "naive": [PYTHON, str(BENCH / "naive_client.py"), url, "rules"],
    }


class Results:
    def __init__(self) -> None:
        self.runs: dict[str, list[Finished]] = defaultdict(list)
        self.calls: dict[str, dict[str, int]] = {}
        self.phases: dict[str, list[float]] = defaultdict(list)
        self.phase_calls: dict[str, int] = {}
        self.last_log: list[tuple[float, Call]] = []


def measure(
    scenario: Scenario, work: Path, store: Path, latency: float, results: Results, options: str
) -> None:
    """One run of each client, each against a fresh copy of the org."""
    for name in ("socket-triage", "naive"):
        with server(store, work, latency) as api:
            finished = run(clients(api.url, options.split())[name], cwd=work)
            check(finished, name)
            counters, log = api.counters(), api.log()
        expected = {
            "created": scenario.creates,
            "updated": scenario.updates,
            "deleted": scenario.deletes,
        }
        assert counters["entries"] == expected, (name, counters["entries"])
        results.runs[name].append(finished)
        results.calls[name] = counters["calls"]
        if name == "socket-triage":
            results.last_log = [(c.start - finished.started, c) for c in log]
            for phase, seconds, count in phases(finished, log):
                results.phases[phase].append(seconds)
                results.phase_calls[phase] = count


def report(scenario: Scenario, latency: float, results: Results, imports: list[float]) -> None:
    minimum = scenario.minimum_calls()
    print(
        f"{scenario.live:,} live rules; {scenario.creates} creates, {scenario.updates} updates, "
        f"{scenario.deletes} deletes; {latency * 1000:.0f} ms per call; "
        f"{len(results.runs['naive'])} runs each; minimum calls {minimum}"
    )
    print("| client | GET | POST | DELETE | calls | wall s (min / median) | peak RSS MB |")
    print("|---|---:|---:|---:|---:|---:|---:|")
    for name, runs in results.runs.items():
        c = results.calls[name]
        rss = max(r.rss_mb for r in runs)
        print(
            f"| {name} | {c['GET']} | {c['POST']} | {c['DELETE']} | {sum(c.values())} "
            f"| {summary([r.seconds for r in runs])} | {rss:.0f} |"
        )
    ours = [r.seconds for r in results.runs["socket-triage"]]
    naive = [r.seconds for r in results.runs["naive"]]
    calls = sum(results.calls["socket-triage"].values())
    print(
        f"wall time vs naive: 1/{min(naive) / min(ours):.1f} (min), "
        f"1/{statistics.median(naive) / statistics.median(ours):.1f} (median); "
        f"calls vs minimum: {calls / minimum:.3f}x"
    )
    print("\nsocket-triage phases (median over runs; from the server's request log):")
    print("| phase | seconds | calls |")
    print("|---|---:|---:|")
    for phase, values in results.phases.items():
        print(f"| {phase} | {statistics.median(values):.3f} | {results.phase_calls[phase]} |")
    print(
        f"(of the start-up: `python -c '{APPLY_IMPORTS}'` as a new process, interpreter "
        f"included: {summary(imports)} s min / median)"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--latency", type=float, default=0.02)
    parser.add_argument("--show-log", action="store_true", help="print socket-triage's calls")
    parser.add_argument("--options", default="", help="more apply options, e.g. '--concurrency 16'")
    args = parser.parse_args()
    results = Results()
    with tempfile.TemporaryDirectory(prefix="bench-e2e-") as directory:
        work = Path(directory)
        store = prepare(REFERENCE, work)
        print(f"load average before: {load_average()}")
        for _ in range(args.repeat):
            measure(REFERENCE, work, store, args.latency, results, args.options)
        imports = python_seconds(APPLY_IMPORTS, max(5, args.repeat))
        print(f"load average after: {load_average()}\n")
    report(REFERENCE, args.latency, results, imports)
    if args.show_log:
        print("\nsocket-triage's last run, as the server saw it (seconds from process start):")
        for offset, call in results.last_log:
            took = (call.end - call.start) * 1000
            print(f"  {offset:7.3f} +{took:5.1f} ms  {call.method:6} {call.status} {call.path}")


if __name__ == "__main__":
    main()
