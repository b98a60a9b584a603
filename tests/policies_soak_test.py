"""Soak: a policies apply under seeded faults (429, 5xx before and after a commit, lost answers,
late commits inside and past the settle time), and under Ctrl-C at a random write. Every run
ends with the rules in exactly the files' order, no duplicate, nothing lost, kept rules never
re-created, and an audit line per change the server holds. A create whose answer was lost is
never sent twice in one run: when the org does not show it yet, apply fails with its outcome
unknown and the next apply (the one it advises) converges."""

from __future__ import annotations

import contextlib
import dataclasses
import random
import time
from collections import Counter
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import pytest
from apply_scripted import INTERRUPT_AFTER, Scripted
from apply_support import apply_one
from conftest import ALL_SCOPES, ALL_SCOPES_TOKEN, TEST_ORG
from policies_apply_support import (
    PROVENANCE,
    audit_lines,
    names,
    plan_for,
    resolution,
    triage_client,
    want,
)

from reconciler.emulator import Emulator, Faults
from reconciler.engine.audit import AuditLog
from reconciler.errors import ApplyError
from reconciler.policies.plan import PolicyPlan
from reconciler.triage.client import TriageClient
from reconciler.vocab.policies.model import DesiredResolution, DesiredRule
from reconciler.vocab.policies.selectors import VigilSelector

# The request timeout of these runs: lost answers get this long to commit. Late commits land
# well inside it, so that a slow CI runner does not make them late (a create committing after
# it is apply_outcomes_test's and apply_test's).
SETTLE = 0.2
SOAK_FAULTS = Faults(
    rate_429=0.1,
    rate_500=0.05,
    rate_502=0.05,
    rate_ambiguous=0.08,
    rate_late_commit=0.08,
    late_commit_delay=0.005,
    rate_500_after_commit=0.05,
)
# What an apply may take beyond its fault-free time: two timeouts (recovery costs about one),
# and a little for a busy CI runner.
ALLOWED = 2 * SETTLE + 0.3
LIVE = [f"k{i}" for i in range(24)]
RESOLUTIONS = [f"res{i}" for i in range(8)]


def seed_org(emulator: Emulator) -> dict[str, str]:
    """24 rules (``error``) and 8 resolutions, none of them ours; the rule ids by name."""
    emulator.set_migration_state(TEST_ORG, "accepted")
    emulator.seed_policy_rules(
        TEST_ORG,
        [{"name": n, "action": "error", "vigil_selector": {"finding.alertType": n}} for n in LIVE],
    )
    emulator.seed_resolutions(
        TEST_ORG,
        [
            {"reason": "other", "vigil_selector": {"artifact.type": "npm", "artifact.name": n}}
            for n in RESOLUTIONS
        ],
    )
    return {r["name"]: r["id"] for r in emulator.policy_rules(TEST_ORG)}


def files(
    rng: random.Random, *, updates: bool
) -> tuple[list[DesiredRule], list[DesiredResolution]]:
    """Delete 4 rules, update 4 (when ``updates``), move 3 and insert 6 new ones anywhere;
    keep 4 resolutions, replace 2 (when ``updates``), delete the rest and create 4."""
    deleted = set(rng.sample(LIVE, 4))
    order = [n for n in LIVE if n not in deleted]
    updated = set(rng.sample(order, 4)) if updates else set()
    for _ in range(3):
        moving = order.pop(rng.randrange(len(order)))
        order.insert(rng.randrange(len(order) + 1), moving)
    for i in range(6):
        order.insert(rng.randrange(len(order) + 1), f"new{i}")
    rules = [want(n, "warn" if n in updated else "error") for n in order]
    kept = [resolution(n, "other") for n in RESOLUTIONS[:4]]
    replaced = [resolution(n, "remediated") for n in RESOLUTIONS[4:6]] if updates else []
    return rules, kept + replaced + [resolution(f"fresh{i}") for i in range(4)]


def label(line: dict[str, Any]) -> tuple[str, str]:
    return (line["action"], line.get("name") or str(line["selector"]))


def change_labels(plan: PolicyPlan) -> list[tuple[str, str]]:
    return [
        (c.action, c.to_dict().get("name") or str(c.to_dict()["selector"])) for c in plan.changes
    ]


def check_converged(
    emulator: Emulator,
    rules: Sequence[DesiredRule],
    resolutions: Sequence[DesiredResolution],
    ids: dict[str, str],
) -> None:
    """The org equals the files: exact order, no duplicate, kept rules kept, no resolution
    missing or twice; and the next plan is empty."""
    live = emulator.policy_rules(TEST_ORG)
    assert names(emulator) == [r.name for r in rules]
    assert [r["action"] for r in live] == [r.action for r in rules]
    assert all(ids[r["name"]] == r["id"] for r in live if r["name"] in ids)
    held = Counter(
        VigilSelector.from_wire(r["vigil_selector"]).text
        for r in emulator.alert_resolutions(TEST_ORG)
    )
    assert held == Counter(r.selector.text for r in resolutions)
    with triage_client(emulator) as client:
        assert not plan_for(client, rules, resolutions).has_changes


def timed_apply(client: TriageClient, plan: PolicyPlan, log: AuditLog | None) -> float:
    """Seconds one apply takes; an apply that fails only for outcomes still unknown counts."""
    started = time.monotonic()
    with contextlib.suppress(ApplyError):
        apply_one(client, plan, log, PROVENANCE, concurrency=8, settle=SETTLE)
    return time.monotonic() - started


def fault_free_seconds(seed: int) -> float:
    """The same apply on a fresh emulator without faults."""
    quiet = Emulator()
    try:
        quiet.add_org(TEST_ORG)
        quiet.add_token(ALL_SCOPES_TOKEN, TEST_ORG, ALL_SCOPES)
        seed_org(quiet)
        rules, resolutions = files(random.Random(seed), updates=True)
        with triage_client(quiet) as client:
            return timed_apply(client, plan_for(client, rules, resolutions), None)
    finally:
        quiet.close()


def held_matches_audit(start: dict[str, Any], end: dict[str, Any], log_path: Path) -> None:
    """The server's own counts of what it created and deleted equal the audit lines (its
    update and move counts are of commits: a retried PUT, or a lost create put back in its
    place, counts again)."""
    lines = Counter((line["kind"], line["action"]) for line in audit_lines(log_path))
    rules = {k: end["policy_rules"][k] - start["policy_rules"][k] for k in end["policy_rules"]}
    res = {k: end["resolutions"][k] - start["resolutions"][k] for k in end["resolutions"]}
    assert lines[("policy_rule", "create")] == rules["created"]
    assert lines[("policy_rule", "delete")] == rules["deleted"]
    replaced = lines[("resolution", "replace")]
    assert lines[("resolution", "create")] + replaced == res["created"]
    assert lines[("resolution", "delete")] + replaced == res["deleted"]


@pytest.mark.parametrize("seed", range(24))
def test_fault_soak_ends_with_the_files_exactly(
    emulator: Emulator, seed: int, tmp_path: Path
) -> None:
    ids = seed_org(emulator)
    rules, resolutions = files(random.Random(seed), updates=True)
    log_path = tmp_path / "audit.jsonl"
    log = AuditLog.open(str(log_path), PROVENANCE)
    with triage_client(emulator) as client:
        plan = plan_for(client, rules, resolutions)
        start = emulator.counters()
        emulator.set_faults(dataclasses.replace(SOAK_FAULTS, seed=seed))
        took = timed_apply(client, plan, log)
        emulator.set_faults(Faults())
        again = plan_for(client, rules, resolutions)
        if again.has_changes:  # the rerun the failed apply advised: it sees what committed
            apply_one(client, again, log, PROVENANCE, concurrency=8, settle=SETTLE)
    log.close()
    end = emulator.counters()
    assert end["faults"]["500"] + end["faults"]["502"] + end["faults"]["500_after_commit"] > 0
    assert took <= fault_free_seconds(seed) + ALLOWED
    # No create was ever sent twice: each committed exactly once, lost answers included.
    created = end["policy_rules"]["created"] - start["policy_rules"]["created"]
    assert plan.count("create") == 6 + 4 and created == 6
    res_created = end["resolutions"]["created"] - start["resolutions"]["created"]
    assert res_created == 4 + 2
    check_converged(emulator, rules, resolutions, ids)
    held_matches_audit(start, end, log_path)
    # Every update and move is held (the org equals the files): each has exactly one line.
    lines = [label(line) for line in audit_lines(log_path)]
    for action in ("update", "move"):
        held = sorted(n for a, n in change_labels(plan) if a == action)
        assert sorted(n for a, n in lines if a == action) == held


@pytest.mark.parametrize("seed", range(8))
def test_ctrl_c_at_any_write_leaves_an_audit_line_per_change_held(
    emulator: Emulator, seed: int, tmp_path: Path
) -> None:
    ids = seed_org(emulator)
    rng = random.Random(seed)
    rules, resolutions = files(rng, updates=False)
    log_path = tmp_path / "audit.jsonl"
    log = AuditLog.open(str(log_path), PROVENANCE)
    transport = Scripted(emulator)
    with triage_client(emulator, transport) as client:
        plan = plan_for(client, rules, resolutions)
        # Each write is rehearsed first (but a resolution DELETE): the real ones come after.
        real = {
            "POST": plan.count("create"),
            "PUT": plan.count("move"),
            "DELETE": plan.count("delete"),
        }
        rehearsed = {**real, "DELETE": sum(1 for c in plan.rule_changes if c.action == "delete")}
        method = rng.choice([m for m, n in real.items() if n])
        transport.script[(method, rehearsed[method] + 1 + rng.randrange(real[method]))] = (
            INTERRUPT_AFTER
        )
        start = emulator.counters()
        with pytest.raises(KeyboardInterrupt):
            apply_one(client, plan, log, PROVENANCE, concurrency=8, settle=SETTLE)
        end = emulator.counters()
        lines = Counter((line["kind"], line["action"]) for line in audit_lines(log_path))
        changed = {
            kind: {k: end[kind][k] - start[kind][k] for k in end[kind]}
            for kind in ("policy_rules", "resolutions")
        }
        # The server's own counts of what it changed equal the audit lines, kind by kind.
        assert lines[("policy_rule", "create")] == changed["policy_rules"]["created"]
        assert lines[("policy_rule", "move")] == changed["policy_rules"]["moved"]
        assert lines[("policy_rule", "delete")] == changed["policy_rules"]["deleted"]
        assert lines[("resolution", "create")] == changed["resolutions"]["created"]
        assert lines[("resolution", "delete")] == changed["resolutions"]["deleted"]
        apply_one(
            client,
            plan_for(client, rules, resolutions),
            log,
            PROVENANCE,
            concurrency=8,
            settle=SETTLE,
        )
    log.close()
    check_converged(emulator, rules, resolutions, ids)
