"""Soak: a policies apply under seeded faults (429, 5xx before and after a commit, lost answers,
late commits inside and past the settle time), and under Ctrl-C at a random write. Every run
ends with the rules in exactly the files' order, no duplicate, nothing lost, kept rules never
re-created, and an audit line per change the server holds. A create whose answer was lost is
never sent twice in one run: when the org does not show it yet, apply fails with its outcome
unknown and the next apply (the one it advises) converges.

The policy soak does the same for an org whose files declare its policies: policy creates,
updates (baselines, descriptions, repositories moving between policies and from a deleted one)
and deletes under the same faults, lost answers on policy writes included. No policy or rule
is created twice, none is lost, the audit log's policy lines equal what the server created and
deleted, and the plan made afterwards is empty (what apply verified)."""

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
    declared_plan,
    names,
    plan_for,
    resolution,
    triage_client,
    want,
)

from reconciler.emulator import Emulator, Faults
from reconciler.engine.audit import AuditLog
from reconciler.errors import ApplyError, Location
from reconciler.policies.plan import PolicyPlan
from reconciler.triage.client import TriageClient
from reconciler.vocab.policies.model import DesiredPolicy, DesiredResolution, DesiredRule
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


# --- policies as code ---------------------------------------------------------------------------

# More lost answers and 5xx after commit than above: an org has only a few policy writes, and
# each seed should meet some of them on those.
POLICY_FAULTS = dataclasses.replace(
    SOAK_FAULTS, rate_ambiguous=0.2, rate_late_commit=0.15, rate_500_after_commit=0.12
)
POLICY_REPOS = [f"repo{i}" for i in range(8)]


def seed_policies(emulator: Emulator) -> dict[str, str]:
    """Policies alpha (repo0, repo1; rules a0-a3), beta (repo2) and legacy (repo3, repo4;
    rules l0-l2), none of them ours; the repository ids by slug."""
    emulator.set_migration_state(TEST_ORG, "accepted")
    ids = {r["slug"]: r["id"] for r in emulator.seed_repos(TEST_ORG, POLICY_REPOS)}
    for name, repos, rules in (
        ("alpha", ["repo0", "repo1"], [f"a{i}" for i in range(4)]),
        ("beta", ["repo2"], []),
        ("legacy", ["repo3", "repo4"], [f"l{i}" for i in range(3)]),
    ):
        made = emulator.seed_policy(
            TEST_ORG, name, baseline="balanced", repository_ids=[ids[r] for r in repos]
        )
        bodies = [
            {"name": n, "action": "warn", "vigil_selector": {"finding.alertType": n}} for n in rules
        ]
        if bodies:
            emulator.seed_policy_rules(TEST_ORG, bodies, made["id"])
    return ids


def policy_files(rng: random.Random) -> tuple[list[DesiredPolicy], list[DesiredRule]]:
    """alpha changes baseline and gives repo0 to beta; gamma (new) takes repo3 from legacy,
    which is deleted; delta is new and empty; the default policy changes baseline. Rules: alpha's
    shuffled with a new one, three in gamma, two in delta, two in the default policy."""

    def policy(name: str, baseline: str | None, *repos: str) -> DesiredPolicy:
        return DesiredPolicy(name, baseline, f"{name} team", repos, Location("p.yaml", 2, 3))

    policies = [
        policy("default", "essential"),
        policy("alpha", "comprehensive", "repo1", "repo5"),
        policy("beta", "balanced", "repo2", "repo0"),
        policy("gamma", None, "repo3", "repo6"),
        policy("delta", "balanced"),
    ]
    rng.shuffle(policies)
    alpha = [f"a{i}" for i in range(4)] + ["a-new"]
    rng.shuffle(alpha)
    rules = [dataclasses.replace(want(n), policy="alpha") for n in alpha]
    rules += [dataclasses.replace(want(f"g{i}"), policy="gamma") for i in range(3)]
    rules += [dataclasses.replace(want(f"d{i}"), policy="delta") for i in range(2)]
    rules += [want("malware"), want("typosquat")]
    return policies, rules


def check_policies_converged(
    emulator: Emulator,
    policies: Sequence[DesiredPolicy],
    rules: Sequence[DesiredRule],
    ids: dict[str, str],
) -> None:
    """Each declared policy once, with its baseline and repositories, its rules in order."""
    live = emulator.alert_policies(TEST_ORG)
    by_name = {p["name"] or "default": p for p in live}
    assert len(by_name) == len(live)  # no policy twice
    assert sorted(by_name) == sorted(p.name for p in policies)
    for declared in policies:
        held = by_name[declared.name]
        assert held["baseline"] == declared.baseline
        if not declared.is_default:
            assert sorted(held["repository_ids"]) == sorted(ids[r] for r in declared.repositories)
        wanted = [r.name for r in rules if r.policy == declared.name]
        got = [r["name"] for r in emulator.policy_rules(TEST_ORG, held["id"])]
        assert got == wanted, declared.name
    with triage_client(emulator) as client:
        assert not declared_plan(client, policies, rules).has_changes


@pytest.mark.parametrize("seed", range(12))
def test_policy_fault_soak_ends_with_the_declared_policies_exactly(
    emulator: Emulator, seed: int, tmp_path: Path
) -> None:
    ids = seed_policies(emulator)
    policies, rules = policy_files(random.Random(seed))
    log_path = tmp_path / "audit.jsonl"
    log = AuditLog.open(str(log_path), PROVENANCE)
    with triage_client(emulator) as client:
        plan = declared_plan(client, policies, rules)
        assert [c.action for c in plan.policy_changes].count("create") == 2
        start = emulator.counters()
        emulator.set_faults(dataclasses.replace(POLICY_FAULTS, seed=seed))
        timed_apply(client, plan, log)
        emulator.set_faults(Faults())
        again = declared_plan(client, policies, rules)
        if again.has_changes:  # the rerun the failed apply advised: it sees what committed
            apply_one(client, again, log, PROVENANCE, concurrency=8, settle=SETTLE)
    log.close()
    end = emulator.counters()
    assert sum(end["faults"].values()) > sum(start["faults"].values())
    changed = {
        kind: {k: end[kind][k] - start[kind][k] for k in end[kind]}
        for kind in ("policies", "policy_rules")
    }
    # No create was ever sent twice: each committed exactly once, lost answers included.
    assert changed["policies"]["created"] == 2 and changed["policies"]["deleted"] == 1
    assert changed["policy_rules"]["created"] == 1 + 3 + 2 + 2
    check_policies_converged(emulator, policies, rules, ids)
    lines = Counter((line["kind"], line["action"]) for line in audit_lines(log_path))
    assert lines[("policy", "create")] == changed["policies"]["created"]
    assert lines[("policy", "delete")] == changed["policies"]["deleted"]
    assert lines[("policy_rule", "create")] == changed["policy_rules"]["created"]
    # Each policy update of the plan is held: at least one line each (a rerun may add one).
    updated = {line["name"] for line in audit_lines(log_path) if line["kind"] == "policy"}
    assert updated >= {"default", "alpha", "beta", "gamma", "delta", "legacy"}
