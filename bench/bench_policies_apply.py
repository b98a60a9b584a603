"""Policies apply benchmark: API calls against the minimum, and wall time, on Alert Policies.

Setup: an org that has moved, with 300 policy rules and 200 resolutions; files that delete 30
rules, update 40, reorder the rest (20 rules put elsewhere) and create 60 anywhere among them,
and keep 150 resolutions, replace 20, delete 30 and create 50. The emulator runs on a real
loopback socket with 20 ms of latency per API call.

socket-triage's apply (``commands.apply_policies``): the check listing, the status, a dry run of
every write, the writes (each policy's creates and moves in order, everything else
``--concurrency`` at a time), and the final listing that verifies content and order. Against it,
the same plan sent one request at a time with no dry run and no verification
(``policies.apply.apply_plan``), the simplest client there is.

    .venv/bin/python bench/bench_policies_apply.py [--latency 0.02] [--repeat 1]
"""

from __future__ import annotations

import argparse
import random
import time
from collections.abc import Callable
from typing import NamedTuple

from reconciler.emulator import Emulator, Faults, serve
from reconciler.engine import flow
from reconciler.engine.provenance import Provenance
from reconciler.policies.apply import apply_plan
from reconciler.policies.diff import diff
from reconciler.policies.order import longest_increasing
from reconciler.policies.plan import PolicyPlan
from reconciler.triage.client import TriageClient
from reconciler.vocab.policies.model import DesiredResolution, DesiredRule
from reconciler.vocab.policies.selectors import VigilSelector
from reconciler.vocab.policies.wire import PER_PAGE_MAX
from reconciler.wiring import Wiring, policies_client

ORG = "bench"
TOKEN = "sktsec_bench_token"
SCOPES = ("alert-policy", "alert-resolution")
RULES, DELETES, UPDATES, MOVES, CREATES = 300, 30, 40, 20, 60
RESOLUTIONS, KEEP, REPLACE, RES_CREATES = 200, 150, 20, 50
METHODS = ("GET", "POST", "PUT", "DELETE")


def rule(name: str, action: str) -> DesiredRule:
    return DesiredRule(name, VigilSelector.from_wire({"finding.alertType": name}), action)


def res(name: str, reason: str) -> DesiredResolution:
    selector = VigilSelector.from_wire({"artifact.type": "npm", "artifact.name": name})
    return DesiredResolution(selector, reason)


def fresh_emulator(latency: float) -> Emulator:
    emulator = Emulator()
    emulator.add_org(ORG)
    emulator.add_token(TOKEN, ORG, SCOPES)
    emulator.set_migration_state(ORG, "accepted")
    emulator.seed_policy_rules(
        ORG,
        [
            {
                "name": f"r{i:03}",
                "action": "warn",
                "vigil_selector": {"finding.alertType": f"r{i:03}"},
            }
            for i in range(RULES)
        ],
    )
    emulator.seed_resolutions(
        ORG,
        [
            {
                "reason": "other",
                "vigil_selector": {"artifact.type": "npm", "artifact.name": f"p{i}"},
            }
            for i in range(RESOLUTIONS)
        ],
    )
    emulator.set_faults(Faults(latency=latency))
    return emulator


def desired(rng: random.Random) -> tuple[list[DesiredRule], list[DesiredResolution]]:
    order = [f"r{i:03}" for i in range(DELETES, RULES)]  # the first 30 are deleted
    for _ in range(MOVES):
        order.insert(rng.randrange(len(order) + 1), order.pop(rng.randrange(len(order))))
    for i in range(CREATES):
        order.insert(rng.randrange(len(order) + 1), f"new{i:02}")
    updated = {f"r{i:03}" for i in range(DELETES, DELETES + UPDATES)}
    rules = [rule(n, "error" if n in updated else "warn") for n in order]
    kept = [res(f"p{i}", "other") for i in range(KEEP)]
    replaced = [res(f"p{i}", "remediated") for i in range(KEEP, KEEP + REPLACE)]
    return rules, kept + replaced + [res(f"n{i}", "other") for i in range(RES_CREATES)]


def make_plan(client: TriageClient) -> PolicyPlan:
    api = policies_client(client)
    rules, resolutions = desired(random.Random(5))
    policies = api.list_policies(ORG)
    return diff(
        ORG,
        rules=rules,
        resolutions=resolutions,
        policies=policies,
        live_rules={p.id: api.list_rules(ORG, p.id) for p in policies},
        live_resolutions=api.list_resolutions(ORG),
    )


def fewest_moves() -> tuple[int, int]:
    """(moves, PUTs): the fewest moves (``order.plan_order``'s longest kept subsequence, of
    those the one that moves updated rules, so that a move rides on the update's PUT), and the
    PUTs they and the updates need together."""
    rules, _ = desired(random.Random(5))
    where = {r.name: i for i, r in enumerate(rules)}
    kept = [f"r{i:03}" for i in range(DELETES, RULES)]
    updated = {f"r{i:03}" for i in range(DELETES, DELETES + UPDATES)}
    bonus = [0 if name in updated else 1 for name in kept]
    stays = {kept[i] for i in longest_increasing([where[n] for n in kept], bonus)}
    moved = set(kept) - stays
    return len(moved), len(moved | updated)


def minimum_calls() -> dict[str, int]:
    """What a policies apply must send: reads to check, status, each write rehearsed and sent
    (a resolution DELETE has no rehearsal; a move and an update of one rule share a PUT)."""
    pages_before = -(-RESOLUTIONS // PER_PAGE_MAX)
    pages_after = -(-(KEEP + REPLACE + RES_CREATES) // PER_PAGE_MAX)
    res_deletes = RESOLUTIONS - KEEP - REPLACE
    return {
        "GET": (1 + 1 + pages_before) + 1 + (1 + pages_after),
        "POST": 2 * (CREATES + RES_CREATES + REPLACE),
        "PUT": 2 * fewest_moves()[1],
        "DELETE": 2 * DELETES + res_deletes + REPLACE,
    }


class Row(NamedTuple):
    name: str
    seconds: float
    calls: dict[str, int]

    @property
    def total(self) -> int:
        return sum(self.calls.values())


def ours(client: TriageClient, plan: PolicyPlan) -> None:
    provider = Wiring(client, print).provider(plan.target)
    flow.apply_org(provider, plan, None, Provenance(), 8, settle=0.0, say=print)


def sequential(client: TriageClient, plan: PolicyPlan) -> None:
    apply_plan(policies_client(client), plan)


def measure(name: str, job: Callable[[TriageClient, PolicyPlan], None], latency: float) -> Row:
    emulator = fresh_emulator(latency)
    with serve(emulator) as url, TriageClient(url, TOKEN) as client:
        plan = make_plan(client)
        before = emulator.counters()["calls"]
        started = time.perf_counter()
        job(client, plan)
        elapsed = time.perf_counter() - started
        after = emulator.counters()["calls"]
    emulator.close()
    return Row(name, elapsed, {m: int(after[m] - before[m]) for m in METHODS})


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--latency", type=float, default=0.02)
    parser.add_argument("--repeat", type=int, default=1)
    args = parser.parse_args()
    best: dict[str, Row] = {}
    for _ in range(args.repeat):
        for row in (
            measure("socket-triage", ours, args.latency),
            measure("sequential", sequential, args.latency),
        ):
            if row.name not in best or row.seconds < best[row.name].seconds:
                best[row.name] = row
    minimum = minimum_calls()
    moves, puts = fewest_moves()
    print(f"latency {args.latency * 1000:.0f} ms; fewest moves {moves} ({puts} PUTs with updates)")
    print(f"{'client':<14} {'GET':>5} {'POST':>5} {'PUT':>5} {'DELETE':>6} {'calls':>6} {'s':>7}")
    print(
        f"{'minimum':<14} {minimum['GET']:>5} {minimum['POST']:>5} {minimum['PUT']:>5} "
        f"{minimum['DELETE']:>6} {sum(minimum.values()):>6}"
    )
    for row in best.values():
        c = row.calls
        print(
            f"{row.name:<14} {c['GET']:>5} {c['POST']:>5} {c['PUT']:>5} {c['DELETE']:>6} "
            f"{row.total:>6} {row.seconds:>7.2f}"
        )
    mine, slow = best["socket-triage"], best["sequential"]
    print(
        f"calls vs minimum: {mine.total / sum(minimum.values()):.3f}x; "
        f"wall time vs sequential: 1/{slow.seconds / mine.seconds:.1f}"
    )


if __name__ == "__main__":
    main()
