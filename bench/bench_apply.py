"""Apply benchmark: API calls and wall time of socket-triage against a naive client.

Setup (issue 5): 1,500 live rules; a plan of 500 creates, 300 updates and 200 deletes; the
emulator on a real loopback socket with 20 ms of latency per API call. The naive client is the
pattern Socket's SDKs offer: one entry per POST and one DELETE at a time.

Both run in this process, so start-up, file loading and exit are left out: this is the API part
only. ``bench_e2e.py`` measures the whole process, as a user runs it (BENCHMARKS.md).

    .venv/bin/python bench/bench_apply.py [--latency 0.02] [--repeat 1]
"""

from __future__ import annotations

import argparse
import time
from collections.abc import Callable
from typing import NamedTuple

from reconciler.emulator import Emulator, Faults, serve
from reconciler.rules.model import Rule, utc_today
from reconciler.triage.apply import apply_org
from reconciler.triage.client import SocketClient
from reconciler.triage.plan import TriagePlan, diff
from reconciler.triage.verify import differences, expected_state
from reconciler.vocab.triage.selector import LiveRule, Selector
from reconciler.vocab.triage.wire import MAX_BATCH, MAX_PER_PAGE

ORG = "bench"
TOKEN = "sktsec_bench_token"
LIVE, CREATES, UPDATES, DELETES = 1500, 500, 300, 200


def fresh_emulator(latency: float) -> Emulator:
    emulator = Emulator()
    emulator.add_org(ORG)
    emulator.add_token(TOKEN, ORG)
    emulator.seed_rules(
        ORG,
        [
            {"package_type": "npm", "package_name": f"pkg{i:05}", "state": "warn", "note": "live"}
            for i in range(LIVE)
        ],
    )
    emulator.set_faults(Faults(latency=latency))
    return emulator


def desired() -> list[Rule]:
    def rule(name: str, state: str) -> Rule:
        return Rule(ORG, Selector(package_type="npm", package_name=name), state, "live")

    kept = [rule(f"pkg{i:05}", "block" if i < UPDATES else "warn") for i in range(LIVE - DELETES)]
    return kept + [rule(f"new{i:05}", "ignore") for i in range(CREATES)]


def make_plan(client: SocketClient) -> tuple[TriagePlan, list[LiveRule]]:
    live = [LiveRule.from_get(r) for r in client.list_rules(ORG)]
    return diff(ORG, desired(), live, today=utc_today()), live


def socket_triage(client: SocketClient) -> None:
    plan, before = make_plan(client)
    result = apply_org(client, plan)
    assert result.error is None, result.error
    expected = expected_state(plan, before)
    problems = differences(expected, client.live_rules(plan.org, expected=len(expected)))
    assert not problems, problems


def naive(client: SocketClient) -> None:
    plan, _ = make_plan(client)
    for change in plan.changes:
        if change.action == "delete":
            assert change.uuid is not None
            client.delete(ORG, change.uuid)
        else:
            client.upsert(ORG, [change.entry()], force=change.broad)


class Row(NamedTuple):
    name: str
    seconds: float
    calls: dict[str, int]

    @property
    def total(self) -> int:
        return sum(self.calls.values())


def measure(name: str, job: Callable[[SocketClient], None], latency: float) -> Row:
    emulator = fresh_emulator(latency)
    with serve(emulator) as url, SocketClient(url, TOKEN) as client:
        started = time.perf_counter()
        job(client)
        elapsed = time.perf_counter() - started
        calls = emulator.counters()["calls"]
    emulator.close()
    return Row(name, elapsed, {m: int(calls.get(m, 0)) for m in ("GET", "POST", "DELETE")})


def minimum_calls() -> int:
    pages_before = -(-LIVE // MAX_PER_PAGE)
    pages_after = -(-(LIVE + CREATES - DELETES) // MAX_PER_PAGE)
    posts = -(-CREATES // MAX_BATCH) + -(-UPDATES // MAX_BATCH)
    return pages_before + posts + DELETES + pages_after


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--latency", type=float, default=0.02)
    parser.add_argument("--repeat", type=int, default=1)
    args = parser.parse_args()
    best: dict[str, Row] = {}
    for _ in range(args.repeat):
        for row in (
            measure("socket-triage", socket_triage, args.latency),
            measure("naive", naive, args.latency),
        ):
            if row.name not in best or row.seconds < best[row.name].seconds:
                best[row.name] = row
    print(f"latency {args.latency * 1000:.0f} ms; minimum calls {minimum_calls()}")
    print(f"{'client':<14} {'GET':>5} {'POST':>5} {'DELETE':>6} {'calls':>6} {'seconds':>8}")
    for row in best.values():
        c = row.calls
        print(
            f"{row.name:<14} {c['GET']:>5} {c['POST']:>5} {c['DELETE']:>6} {row.total:>6} "
            f"{row.seconds:>8.2f}"
        )
    ours, slow = best["socket-triage"], best["naive"]
    print(
        f"calls vs minimum: {ours.total / minimum_calls():.3f}x; "
        f"wall time vs naive: 1/{slow.seconds / ours.seconds:.1f}"
    )


if __name__ == "__main__":
    main()
