"""One listing of N live rules, in this process: the client's CPU and the server's, per pass.

The whole-process benchmarks time the listing inside a command; this one isolates it, to
compare two source trees (``PYTHONPATH=<tree>``) in the same minutes. It starts the benchmark
server (``e2e_server.py``, 20 ms a call) on a copy of the seeded org, then reads every page with
``TriageClient.listing`` (16 in flight, the default), ``--passes`` times, with the cyclic
garbage collector paused as the engine pauses it.

    .venv/bin/python bench/bench_listing.py [--passes 3] [LIVE_RULES]
"""

from __future__ import annotations

import argparse
import gc
import tempfile
import time
from pathlib import Path

from harness import server, summary
from scenario import ORG, TOKEN, Scenario, seeded_store

from reconciler.triage.client import TriageClient


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("live", type=int, nargs="?", default=100_000)
    parser.add_argument("--passes", type=int, default=3)
    args = parser.parse_args()
    store = seeded_store(Scenario.one_percent(args.live))
    walls: list[float] = []
    with tempfile.TemporaryDirectory() as tmp, server(store, Path(tmp), 0.02) as api:
        client = TriageClient(api.url, TOKEN)
        gc.disable()
        for _ in range(args.passes):
            served = api.cpu()
            started, cpu = time.perf_counter(), time.process_time()
            rules = client.listing(ORG).rules
            walls.append(time.perf_counter() - started)
            print(
                f"{len(rules):,} rules: wall {walls[-1]:.2f} s, client CPU "
                f"{time.process_time() - cpu:.2f} s, server CPU {api.cpu() - served:.2f} s"
            )
        client.close()
    print(f"wall s (min / median): {summary(walls)}")


if __name__ == "__main__":
    main()
