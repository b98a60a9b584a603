"""``apply`` for an org on Alert Policies, against the emulator: order, dry run, gate, recovery,
verification, audit log and the API calls it costs."""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from apply_scripted import Scripted
from apply_support import apply_one, dry_run_one
from conftest import TEST_ORG
from policies_apply_support import (
    PROVENANCE,
    audit_lines,
    names,
    plan_for,
    resolution,
    seed_rules,
    triage_client,
    want,
)

from reconciler.emulator import Emulator, Faults
from reconciler.engine.audit import AuditLog
from reconciler.errors import ApplyError, ReadOnlyError, StalePlanError, VerificationError
from reconciler.policies.order import longest_increasing
from reconciler.policies.plan import PolicyPlan
from reconciler.triage.client import TriageClient
from reconciler.vocab.policies.selectors import VigilSelector
from reconciler.wiring import policies_client

FILES = [want("malware"), want("installScripts", "warn"), want("cve", "ignore", "not reachable")]


@pytest.fixture
def client(emulator: Emulator) -> Iterator[TriageClient]:
    with triage_client(emulator) as made:
        yield made


def since(emulator: Emulator, start: dict[str, Any], kind: str) -> dict[str, int]:
    """The emulator's ``kind`` counters (calls by method, changes) since ``start``."""
    now = emulator.counters()[kind]
    return {key: now[key] - start[kind][key] for key in now}


def apply(
    client: TriageClient, plan: PolicyPlan, log: AuditLog | None = None, settle: float = 0.0
) -> None:
    apply_one(client, plan, log, PROVENANCE, concurrency=8, settle=settle)


def test_apply_reaches_the_files_in_order_and_the_next_plan_is_empty(
    client: TriageClient, moved: Emulator, tmp_path: Path
) -> None:
    seed_rules(moved, [("old", "warn"), ("cve", "warn"), ("malware", "error")])
    moved.seed_resolutions(
        TEST_ORG, [{"reason": "other", "vigil_selector": {"artifact.name": "gone"}}]
    )
    files = [*FILES, want("new", "monitor")]
    plan = plan_for(client, files, [resolution("left-pad")])
    log = AuditLog.open(str(tmp_path / "audit.jsonl"), PROVENANCE)
    apply(client, plan, log)
    log.close()
    assert names(moved) == ["malware", "installScripts", "cve", "new"]
    assert not plan_for(client, files, [resolution("left-pad")]).has_changes
    lines = audit_lines(tmp_path / "audit.jsonl")
    assert sorted((line["action"], line["kind"]) for line in lines) == sorted(
        (c.action, c.to_dict()["kind"]) for c in plan.changes
    )
    live = {r["name"]: r for r in moved.policy_rules(TEST_ORG)}
    created = next(line for line in lines if line["action"] == "create" and line.get("name"))
    assert created["target"] == "alert-policies" and created["policy"] == "default"
    assert created["rule_id"] == created["uuid"] == live[created["name"]]["id"]
    assert created["rank"] == live[created["name"]]["rank"] and created["commit"] == "0123abcdef"
    assert created["source"] == "p.yaml:1:3"


def test_a_reordered_file_is_moves_only_and_the_fewest_puts(
    client: TriageClient, moved: Emulator, tmp_path: Path
) -> None:
    first = [want(f"r{i}") for i in range(10)]
    apply(client, plan_for(client, first))
    ids = {r["name"]: r["id"] for r in moved.policy_rules(TEST_ORG)}
    order = [9, 0, 1, 5, 2, 3, 4, 8, 6, 7]
    reordered = [first[i] for i in order]
    plan = plan_for(client, reordered)
    fewest = len(order) - len(longest_increasing(order))  # 3: r9, r5, r8 move
    assert [c.action for c in plan.changes] == ["move"] * fewest
    start = moved.counters()
    log = AuditLog.open(str(tmp_path / "audit.jsonl"), PROVENANCE)
    apply(client, plan, log)
    log.close()
    sent = since(moved, start, "calls")
    # One rehearsal and one real PUT per move; nothing created or deleted.
    assert sent["PUT"] == 2 * fewest and sent["POST"] == sent["DELETE"] == 0
    assert since(moved, start, "policy_rules") == {
        "created": 0,
        "updated": fewest,
        "moved": fewest,
        "deleted": 0,
    }
    assert names(moved) == [r.name for r in reordered]
    assert {r["name"]: r["id"] for r in moved.policy_rules(TEST_ORG)} == ids  # moved, not remade
    moves = audit_lines(tmp_path / "audit.jsonl")
    assert sorted((m["action"], m["name"], m["from"], m["to"]) for m in moves) == [
        ("move", "r5", 6, 4),
        ("move", "r8", 9, 8),
        ("move", "r9", 10, 1),
    ]
    assert all(m["rank"] and m["placement"] for m in moves)


def test_api_calls_are_the_minimum_for_a_policies_apply(
    client: TriageClient, moved: Emulator
) -> None:
    seed_rules(moved, [("a", "warn"), ("b", "error"), ("c", "error"), ("d", "warn")])
    moved.seed_resolutions(
        TEST_ORG,
        [
            {"reason": "other", "vigil_selector": {"artifact.type": "npm", "artifact.name": n}}
            for n in ("x", "y")
        ],
    )
    files = [want("b", "warn"), want("a", "warn"), want("n1"), want("c"), want("n2")]
    plan = plan_for(client, files, [resolution("z"), resolution("x", "remediated")])
    summary = plan.summary()
    assert summary == {
        "create": 3,  # n1, n2 and resolution z
        "update": 1,  # b (it also moves: one PUT)
        "replace": 1,  # resolution x
        "move": 1,  # b before a
        "delete": 2,  # rule d, resolution y
        "unchanged": 2,
    }
    start = moved.counters()
    apply(client, plan)
    # Reads: the check before writing (policies, rules, resolutions), the status, and the
    # final listing (rules, resolutions). Writes: each one rehearsed, then sent; one PUT for
    # b's move and update; a replace is a create and a delete; resolution DELETE has no dry run,
    # so one DELETE of the nil UUID checks the token may delete resolutions before any write.
    assert since(moved, start, "calls") == {
        "GET": 3 + 1 + 2,
        "POST": 2 * 3 + 2 * 1,
        "PUT": 2,
        "DELETE": 2 + 2 + 1,
    }


def test_the_server_refusing_a_dry_run_writes_nothing_and_names_the_line(
    client: TriageClient, moved: Emulator, capsys: pytest.CaptureFixture[str]
) -> None:
    seed_rules(moved, [("old", "warn")])
    bad = want("typo", line=7)
    bad = type(bad)(
        bad.name,
        VigilSelector.from_wire({"artifact.type": "npmm"}),  # not an ecosystem the API knows
        bad.action,
        location=bad.location,
    )
    plan = plan_for(client, [want("malware"), bad])
    with pytest.raises(ApplyError, match=r"refused 1 of the 3 writes .*nothing was written"):
        apply(client, plan)
    err = capsys.readouterr().err
    assert "p.yaml:7:3: error: the server refused this in a dry run:" in err and "npmm" in err
    counters = moved.counters()
    assert counters["policy_rules"] == {"created": 0, "updated": 0, "moved": 0, "deleted": 0}
    assert names(moved) == ["old"]


def test_a_dry_run_previews_an_org_that_has_not_moved(
    client: TriageClient, emulator: Emulator, capsys: pytest.CaptureFixture[str]
) -> None:
    emulator.set_migration_state(TEST_ORG, "pending")
    plan = plan_for(client, FILES, [resolution("left-pad")])
    dry_run_one(client, plan, concurrency=4)
    assert "the server accepts all 4 writes rehearsed. Nothing was written." in (
        capsys.readouterr().out
    )
    assert emulator.counters()["calls"]["POST"] == 4
    assert names(emulator) == [] and emulator.alert_resolutions(TEST_ORG) == []


def test_apply_before_the_move_says_what_to_do_and_sends_no_write(
    client: TriageClient, emulator: Emulator
) -> None:
    emulator.set_migration_state(TEST_ORG, "pending")
    plan = plan_for(client, FILES)
    with pytest.raises(ReadOnlyError) as refused:
        apply(client, plan)
    message = str(refused.value)
    assert message.startswith(
        "org acme has not moved to Alert Policies yet (state: pending); use plan --target "
        "alert-policies / apply --dry-run to preview"
    )
    assert "converges" not in message
    assert emulator.counters()["calls"]["POST"] == 0  # not even a rehearsal


def test_a_gate_met_part_way_is_reported_without_promising_convergence(
    emulator: Emulator, capsys: pytest.CaptureFixture[str]
) -> None:
    emulator.set_migration_state(TEST_ORG, "accepted")

    def roll_back() -> None:
        emulator.set_migration_state(TEST_ORG, "rolled_back")

    # POSTs: 3 rehearsals, then the first real create rolls the org back before it lands.
    transport = Scripted(emulator, {("POST", 4): roll_back})
    with triage_client(emulator, transport) as client:
        plan = plan_for(client, FILES)
        with pytest.raises(ApplyError) as stopped:
            apply(client, plan)
    message = str(stopped.value)
    assert "org acme has not moved to Alert Policies yet (state: rolled_back)" in message
    assert "Applied 0 of 3 changes" in message and "converges" not in message
    assert "not applied: create rule 'malware' of policy default" in capsys.readouterr().err


def test_a_plan_made_before_a_dashboard_reorder_is_refused(
    client: TriageClient, moved: Emulator
) -> None:
    apply(client, plan_for(client, FILES))
    plan = plan_for(client, [*FILES, want("new")])
    api_rules = moved.policy_rules(TEST_ORG)
    with triage_client(moved) as other:
        policies_client(other).update_rule(
            TEST_ORG, "default", api_rules[2]["id"], {"position": "first"}
        )
    before = moved.counters()["calls"]["POST"]
    with pytest.raises(StalePlanError, match="changed since the plan was made"):
        apply(client, plan)
    assert moved.counters()["calls"]["POST"] == before and "new" not in names(moved)


@pytest.mark.parametrize(
    "faults",
    [
        Faults(seed=3, rate_ambiguous=1.0),  # every create commits, then its answer is lost
        Faults(seed=3, rate_late_commit=1.0, late_commit_delay=0.05),  # commits after a while
    ],
    ids=["lost-answer", "late-commit"],
)
def test_a_create_whose_answer_was_lost_is_found_again_not_sent_twice(
    client: TriageClient, moved: Emulator, faults: Faults, tmp_path: Path
) -> None:
    files = [want("a"), want("b"), want("c")]
    plan = plan_for(client, files, [resolution("x")])
    moved.set_faults(faults)
    log = AuditLog.open(str(tmp_path / "audit.jsonl"), PROVENANCE)
    apply(client, plan, log, settle=0.2)
    log.close()
    moved.set_faults(Faults())
    counters = moved.counters()
    assert counters["policy_rules"]["created"] == 3 and counters["resolutions"]["created"] == 1
    assert names(moved) == ["a", "b", "c"]  # each placed after the one found before it
    assert len(moved.alert_resolutions(TEST_ORG)) == 1
    lines = audit_lines(tmp_path / "audit.jsonl")
    live = {r["name"]: r["id"] for r in moved.policy_rules(TEST_ORG)}
    assert sorted((line.get("name"), line["uuid"]) for line in lines if line.get("name")) == sorted(
        live.items()
    )
    assert len(lines) == 4


@pytest.mark.parametrize("where", ["after", "before"])
def test_lost_answers_cost_one_timeout_together_not_one_each(
    client: TriageClient, moved: Emulator, where: str, tmp_path: Path
) -> None:
    """Nine creates in a row, each answer lost (each commits a moment later): the lanes go on
    at once, placed where the lost rule was to go; one wait and one listing settle them all,
    and the order is exact."""
    seed_rules(moved, [("top", "warn"), ("bottom", "warn")])
    new = [want(f"n{i}") for i in range(9)]
    files = [want("top", "warn"), *new, want("bottom", "warn")]
    if where == "before":  # the run starts above the first rule that stays
        files = [*new, want("top", "warn"), want("bottom", "warn")]
    plan = plan_for(client, files)
    moved.set_faults(Faults(seed=1, rate_late_commit=1.0, late_commit_delay=0.02))
    log = AuditLog.open(str(tmp_path / "audit.jsonl"), PROVENANCE)
    settle = 0.5
    started = time.monotonic()
    apply(client, plan, log, settle=settle)
    took = time.monotonic() - started
    log.close()
    moved.set_faults(Faults())
    assert took < 2 * settle  # one settle for all nine, not nine in a row (4.5 s)
    assert names(moved) == [r.name for r in files]
    assert moved.counters()["policy_rules"]["created"] == 9  # none sent twice
    assert len(audit_lines(tmp_path / "audit.jsonl")) == 9


def test_what_remains_after_apply_is_reported_and_fails(
    emulator: Emulator, capsys: pytest.CaptureFixture[str]
) -> None:
    emulator.set_migration_state(TEST_ORG, "accepted")

    def intrude() -> None:  # another writer adds a rule while apply runs
        seed_rules(emulator, [("intruder", "ignore")])

    transport = Scripted(emulator, {("POST", 5): intrude})  # the second real create
    with triage_client(emulator, transport) as client:
        plan = plan_for(client, FILES)
        with pytest.raises(VerificationError, match="still differs from the plan in 1 ways"):
            apply(client, plan)
    err = capsys.readouterr().err
    assert "remains: unexpected rule 'intruder'" in err


def test_resolution_creates_that_commit_late_are_waited_for_not_sent_twice(
    client: TriageClient, moved: Emulator
) -> None:
    plan = plan_for(client, [], [resolution("x"), resolution("y"), resolution("z")])
    moved.set_faults(Faults(seed=1, rate_late_commit=1.0, late_commit_delay=0.1))
    apply(client, plan, settle=0.3)
    moved.set_faults(Faults())
    assert moved.counters()["resolutions"]["created"] == 3
    assert len(moved.alert_resolutions(TEST_ORG)) == 3


def test_an_order_changed_behind_apply_s_back_is_reported(
    emulator: Emulator, capsys: pytest.CaptureFixture[str]
) -> None:
    emulator.set_migration_state(TEST_ORG, "accepted")

    def reorder() -> None:  # someone moves rule a to the end in the dashboard
        with triage_client(emulator) as other:
            api = policies_client(other)
            first = api.list_rules(TEST_ORG, "default")[0]
            api.update_rule(TEST_ORG, "default", first.id, {"position": "last"})

    transport = Scripted(emulator, {("POST", 6): reorder})  # before c, the third create
    with triage_client(emulator, transport) as client:
        plan = plan_for(client, [want("a"), want("b"), want("c")])
        with pytest.raises(VerificationError):
            apply(client, plan)
    assert names(emulator) == ["b", "c", "a"]
    assert (
        "remains: the rules of policy default are out of order: expected a, b, c; found b, c, a"
        in capsys.readouterr().err
    )
