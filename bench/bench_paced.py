"""Paced apply benchmark: ``socket-triage apply --yes`` against a server enforcing Socket's limit.

The API server (``e2e_server.py``) enforces Socket's documented rate limit (at most 600
requests per token in any 60 s, 429 with Retry-After past it) and adds 20 ms per call; the
client paces itself as it does against Socket (``SOCKET_TRIAGE_RATE=600``). Two scenarios: the
reference apply (1,500 live rules; 500 creates, 300 updates, 200 deletes: about 248 calls, all
within one window) and 1,000 deletes (past one window). Wall time is the whole process, as a
user sees it; each run gets a fresh copy of the org (and a fresh window).

    .venv/bin/python bench/bench_paced.py [--repeat 1] [--latency 0.02]
"""

from __future__ import annotations

import argparse
import tempfile
from pathlib import Path

from bench_e2e import clients, prepare
from harness import Finished, check, child_env, load_average, run, server, summary
from scenario import Scenario

SCENARIOS = {
    "reference apply": Scenario(live=1500, creates=500, updates=300, deletes=200),
    "1,000 deletes": Scenario(live=1001, creates=0, updates=0, deletes=1000),
}
SOCKET_RATE = 600


def measure(scenario: Scenario, latency: float, rate: str) -> tuple[Finished, int, int]:
    """One paced apply: its run, the calls the server counted, and the 429s it answered."""
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        store = prepare(scenario, work)
        with server(store, work, latency, rate_limit=SOCKET_RATE) as api:
            env = child_env({"SOCKET_TRIAGE_RATE": rate})
            finished = run(clients(api.url)["socket-triage"], cwd=work, env=env)
            check(finished, "socket-triage")
            counters, log = api.counters(), api.log()
    return finished, sum(counters["calls"].values()), sum(1 for c in log if c.status == 429)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=1)
    parser.add_argument("--latency", type=float, default=0.02)
    args = parser.parse_args()
    print(f"load average before: {load_average()}")
    for name, scenario in SCENARIOS.items():
        for rate, label in ((str(SOCKET_RATE), "paced to the window"), ("off", "unpaced")):
            runs = [measure(scenario, args.latency, rate) for _ in range(args.repeat)]
            seconds = summary([r[0].seconds for r in runs])
            print(
                f"{name}, {label}: {seconds} s wall, {runs[-1][1]} API calls, "
                f"{runs[-1][2]} answered 429"
            )


if __name__ == "__main__":
    main()
