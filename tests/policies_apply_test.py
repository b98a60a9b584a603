"""``apply`` for an org on Alert Policies, against the emulator: order, dry run, gate, recovery,
verification, audit log and the API calls it costs."""

from __future__ import annotations

import datetime as dt
import time
from collections.abc import Iterator
from dataclasses import replace
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
from reconciler.engine.outcomes import APPLIED, NOT_APPLIED, UNKNOWN
from reconciler.engine.provenance import Provenance
from reconciler.errors import (
    ApiError,
    ApplyError,
    OutcomeUnknownError,
    ReadOnlyError,
    StalePlanError,
    VerificationError,
)
from reconciler.policies.apply import apply_org
from reconciler.policies.changes import Placement, ResolutionChange, RuleChange
from reconciler.policies.order import longest_increasing
from reconciler.policies.outcomes import Item, PolicyResult
from reconciler.policies.plan import PolicyPlan
from reconciler.policies.recover import find_resolutions, find_rules
from reconciler.policies.requests import PolicyChange
from reconciler.policies.snapshot import Snapshot, read_snapshot
from reconciler.policies.verify import conclude, differences, expected_rules, holds
from reconciler.triage.client import TriageClient
from reconciler.vocab.policies.model import DesiredRule, LiveResolution, LiveRule
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


# policies/audit.py (record, _rule_sides, _resolution_sides, _now): every field of every line.
def test_each_audit_line_holds_the_change_the_server_s_answer_and_the_origin(
    client: TriageClient, moved: Emulator, tmp_path: Path
) -> None:
    ids = seed_rules(moved, [("old", "warn"), ("gone", "error")])
    stale = {"artifact.type": "npm", "artifact.name": "stale"}
    moved.seed_resolutions(TEST_ORG, [{"reason": "other", "vigil_selector": stale}])
    origin = Provenance(commit="0123abcdef", pr=7, repository="acme/triage", actor="octocat")
    new = replace(want("new", "ignore", "why", line=4), owner="team-a", ticket="SEC-1")
    kept = replace(resolution("left-pad", comment="checked"), owner="team-b", ticket="SEC-2")
    plan = plan_for(client, [new, want("old", "error", "tighter")], [kept])
    (dropped,) = [c.existing for c in plan.resolution_changes if c.action == "delete"]
    assert dropped is not None
    log = AuditLog.open(str(tmp_path / "audit.jsonl"), origin)
    apply_one(client, plan, log, origin, concurrency=8, settle=0.0)
    log.close()
    lines = sorted(audit_lines(tmp_path / "audit.jsonl"), key=lambda x: (x["kind"], x["action"]))
    for line in lines:
        written = dt.datetime.fromisoformat(line.pop("time"))
        assert written.tzinfo == dt.UTC and written.microsecond == 0
        assert abs(dt.datetime.now(dt.UTC) - written) < dt.timedelta(minutes=5)
    live = {r["name"]: r for r in moved.policy_rules(TEST_ORG)}
    (made,) = moved.alert_resolutions(TEST_ORG)
    same = {"target": "alert-policies", "org": TEST_ORG, "commit": "0123abcdef", "pr": 7}
    same |= {"actor": "octocat", "repository": "acme/triage"}
    rule = {"kind": "policy_rule", "policy": "default", **same}
    assert lines == [
        {
            **rule,
            **{"action": "create", "name": "new", "uuid": live["new"]["id"]},
            **{"rule_id": live["new"]["id"], "rank": live["new"]["rank"], "from": None, "to": 1},
            "selector": {"finding.alertType": "new"},
            "before": None,
            "after": {"action": "ignore", "note": "why"},
            "placement": {
                "after": None,
                "anchor_id": ids["old"],
                "before": "old",
                "position": None,
            },
            **{"source": "p.yaml:4:3", "owner": "team-a", "ticket": "SEC-1"},
        },
        {
            **rule,
            **{"action": "delete", "name": "gone", "uuid": ids["gone"], "rule_id": ids["gone"]},
            **{"rank": None, "from": 2, "to": None, "placement": None},
            "selector": {"finding.alertType": "gone"},
            "before": {"action": "error", "note": ""},
            "after": None,
            **{"source": None, "owner": None, "ticket": None},
        },
        {
            **rule,
            **{"action": "update", "name": "old", "uuid": ids["old"], "rule_id": ids["old"]},
            **{"rank": live["old"]["rank"], "from": 1, "to": 2, "placement": None},
            "selector": {"finding.alertType": "old"},
            "before": {"action": "warn", "note": ""},
            "after": {"action": "error", "note": "tighter"},
            **{"source": "p.yaml:1:3", "owner": None, "ticket": None},
        },
        {
            **{"kind": "resolution", "action": "create", "uuid": made["uuid"], **same},
            "selector": {"artifact.name": "left-pad", "artifact.type": "npm"},
            "before": None,
            "after": {"comment": "checked", "reason": "false_positive", "reason_text": None},
            **{"source": "r.yaml:2:3", "owner": "team-b", "ticket": "SEC-2"},
        },
        {
            **{"kind": "resolution", "action": "delete", "uuid": dropped.uuid, **same},
            "selector": stale,
            "before": {"uuid": dropped.uuid, "comment": "", "reason": "other", "reason_text": None},
            "after": None,
            **{"source": None, "owner": None, "ticket": None},
        },
    ]


# policies/verify.py (holds, _placed, _resolution_holds, expected_rules): how the final listing
# settles a change whose outcome was unknown, and what order it expects.
def _rule(rule_id: str, name: str, action: str = "error") -> LiveRule:
    return LiveRule(rule_id, "default", name, VigilSelector.from_wire({"x": name}), action)


def _org(*rules: LiveRule, resolutions: tuple[LiveResolution, ...] = ()) -> Snapshot:
    return Snapshot(TEST_ORG, (), {"default": rules}, resolutions)


def _moved(placement: Placement | None) -> RuleChange:
    return RuleChange("move", TEST_ORG, "default", _B, _desired("b"), placement=placement)


def _desired(name: str, action: str = "error") -> DesiredRule:
    return DesiredRule(name, VigilSelector.from_wire({"x": name}), action)


_A, _B, _C, _N = _rule("id-a", "a"), _rule("id-b", "b"), _rule("id-c", "c"), _rule("id-n", "n")
_CREATE = RuleChange("create", TEST_ORG, "default", None, _desired("n"))
_UPDATE = RuleChange("update", TEST_ORG, "default", _B, _desired("b", "warn"))
_WARNS = _rule("id-b", "b", "warn")
_HOLDS = [
    (_CREATE, _org(_A, _B, _C, _N), (True, _N)),
    (_CREATE, _org(_A, _B, _C), (False, None)),
    (replace(_CREATE, new=_desired("b")), _org(_A, _B, _C), (False, None)),  # b was there before
    (replace(_CREATE, policy_id="other"), _org(_A, _B, _C), (False, None)),  # a policy not listed
    (RuleChange("delete", TEST_ORG, "default", _B, None), _org(_A, _C), (True, None)),
    (RuleChange("delete", TEST_ORG, "default", _B, None), _org(_A, _B, _C), (False, None)),
    (_UPDATE, _org(_A, _WARNS, _C), (True, _WARNS)),
    (_UPDATE, _org(_A, _B, _C), (False, _B)),
    (_UPDATE, _org(_A, _C), (False, None)),
    (_moved(None), _org(_B, _A, _C), (True, _B)),  # no placement: first
    (_moved(None), _org(_A, _B, _C), (False, _B)),
    (_moved(Placement(position="first")), _org(_B, _A, _C), (True, _B)),
    (_moved(Placement(position="last")), _org(_A, _C, _B), (True, _B)),
    (_moved(Placement(position="last")), _org(_B, _A, _C), (False, _B)),
    (_moved(Placement(after="c", anchor_id="id-c")), _org(_A, _C, _B), (True, _B)),
    (_moved(Placement(after="c", anchor_id="id-c")), _org(_B, _A, _C), (False, _B)),
    (_moved(Placement(before="a", anchor_id="id-a")), _org(_B, _A, _C), (True, _B)),
    (_moved(Placement(before="a", anchor_id="id-a")), _org(_A, _C, _B), (False, _B)),
    (_moved(Placement(after="gone", anchor_id="id-gone")), _org(_A, _B), (False, _B)),
    # next to a rule the same apply created: known by its name
    (_moved(Placement(after="n")), _org(_A, _N, _B, _C), (True, _B)),
    (_moved(Placement(before="n")), _org(_A, _B, _N, _C), (True, _B)),
    (_moved(Placement(before="n")), _org(_A, _N, _B, _C), (False, _B)),
]


@pytest.mark.parametrize(("change", "after", "held"), _HOLDS)
def test_an_unknown_rule_change_is_settled_by_what_the_final_listing_holds(
    change: RuleChange, after: Snapshot, held: tuple[bool, LiveRule | None]
) -> None:
    assert holds(change, _org(_A, _B, _C), after) == held


def _live_resolution(uuid: str, name: str) -> LiveResolution:
    return LiveResolution(uuid, resolution(name).selector, "other")


_OLD_X, _NEW_X, _NEW_Y = (
    _live_resolution(u, n) for u, n in [("u1", "x"), ("u2", "x"), ("u3", "y")]
)
_REPLACE = ResolutionChange("replace", TEST_ORG, _OLD_X, resolution("x"))
_RESOLUTIONS = [
    (ResolutionChange("create", TEST_ORG, None, resolution("y")), (_NEW_Y,), (True, _NEW_Y)),
    (ResolutionChange("create", TEST_ORG, None, resolution("y")), (_OLD_X,), (False, None)),
    (ResolutionChange("delete", TEST_ORG, _OLD_X, None), (_NEW_Y,), (True, None)),
    (ResolutionChange("delete", TEST_ORG, _OLD_X, None), (_OLD_X,), (False, None)),
    (_REPLACE, (_NEW_X,), (True, _NEW_X)),  # the new half made, the old one gone
    (_REPLACE, (_OLD_X, _NEW_X), (False, _NEW_X)),
    (_REPLACE, (_NEW_Y,), (False, None)),
]


@pytest.mark.parametrize(("change", "after", "held"), _RESOLUTIONS)
def test_an_unknown_resolution_change_is_settled_by_what_the_final_listing_holds(
    change: ResolutionChange,
    after: tuple[LiveResolution, ...],
    held: tuple[bool, LiveResolution | None],
) -> None:
    assert holds(change, _org(resolutions=(_OLD_X,)), _org(resolutions=after)) == held


def test_the_expected_order_places_a_create_without_placement_first_and_by_name() -> None:
    moves = (
        _CREATE,  # a hand-edited plan may leave the placement out: the server puts it first
        _moved(Placement(before="n")),  # next to a rule the same apply creates: by its name
    )
    plan = PolicyPlan(TEST_ORG, moves, (), unchanged=1, existing=3, fingerprint="")
    assert [key for key, _ in expected_rules(plan, _org(_A, _B, _C), "default")] == [
        ("id", "id-b"),
        ("new", "n"),
        ("id", "id-a"),
        ("id", "id-c"),
    ]


# policies/apply.py (_Run.created_resolution, delete_resolution): a replace is applied, and
# audited once, when both halves are: its line names the new resolution and the old one.
def test_a_replaced_resolution_is_one_audit_line_naming_the_new_and_the_old(
    client: TriageClient, moved: Emulator, tmp_path: Path
) -> None:
    apply(client, plan_for(client, [], [resolution("x")]))
    (old,) = moved.alert_resolutions(TEST_ORG)
    plan = plan_for(client, [], [resolution("x", "other", "now a comment")])
    assert [c.action for c in plan.changes] == ["replace"]
    log = AuditLog.open(str(tmp_path / "audit.jsonl"), PROVENANCE)
    apply(client, plan, log)
    log.close()
    (new,) = moved.alert_resolutions(TEST_ORG)
    (line,) = audit_lines(tmp_path / "audit.jsonl")
    assert new["uuid"] != old["uuid"] and line["uuid"] == new["uuid"]
    assert line["action"] == "replace" and line["before"]["uuid"] == old["uuid"]
    assert line["after"] == {"comment": "now a comment", "reason": "other", "reason_text": None}


_OTHER = VigilSelector.from_wire({"x": "other"})
_DIFFERENT = [
    (_rule("id-b", "b", "warn"), "rule 'b' in policy default has action warn, expected error"),
    (
        LiveRule("id-b", "default", "b", _OTHER, "error"),
        """rule 'b' in policy default has selector {"x":"other"}, expected {"x":"b"}""",
    ),
    (
        LiveRule("id-b", "default", "b", _B.selector, "error", "edited by hand"),
        "rule 'b' in policy default has a different note than expected",
    ),
]


# policies/verify.py (differences, _unlike, _duplicates): what the check after apply says.
@pytest.mark.parametrize(("found", "problem"), _DIFFERENT)
def test_a_rule_that_differs_from_the_plan_says_how(found: LiveRule, problem: str) -> None:
    plan = PolicyPlan(TEST_ORG, (), (), unchanged=3, existing=3, fingerprint="")
    assert differences(plan, _org(_A, _B, _C), _org(_A, found, _C)) == [problem]


def test_a_rule_created_twice_is_reported_as_two_copies() -> None:
    create = replace(_CREATE, placement=Placement(after="c", anchor_id="id-c"))
    plan = PolicyPlan(TEST_ORG, (create,), (), unchanged=3, existing=3, fingerprint="")
    twice = _org(_A, _B, _C, _N, _rule("id-n2", "n"))
    assert differences(plan, _org(_A, _B, _C), twice) == [
        "2 copies of rule 'n' in policy default: another writer (a second apply?) made the same "
        "change at the same time, or a lost create committed late"
    ]


_NEW_Y2 = _live_resolution("u4", "y")
_CREATE_Y = ResolutionChange("create", TEST_ORG, None, resolution("y", "other"))
_BECAUSE = replace(_CREATE_Y, new=replace(resolution("y", "other"), reason_text="because"))
_UNADDRESSABLE = _live_resolution("", "z")  # listed without a uuid: nothing can touch it
_RESOLUTION_PROBLEMS = [
    ((), (_OLD_X, _NEW_Y), ["unexpected resolution artifact.name=y artifact.type=npm [u3]"]),
    ((), (), ["""missing resolution {"artifact.name":"x","artifact.type":"npm"}"""]),
    ((_CREATE_Y,), (_OLD_X, _NEW_Y), []),
    ((_BECAUSE,), (_OLD_X, replace(_NEW_Y, reason_text="because")), []),
    (
        (_CREATE_Y,),
        (_OLD_X, _NEW_Y, _NEW_Y2),
        [
            "2 copies of resolution artifact.name=y artifact.type=npm: another writer (a second "
            "apply?) made the same change at the same time, or a lost create committed late"
        ],
    ),
    (
        (),
        (replace(_OLD_X, reason="false_positive"),),
        [
            "resolution artifact.name=x artifact.type=npm has a different reason or comment "
            "than expected"
        ],
    ),
]


# policies/verify.py (_resolution_differences, expected_resolutions)
@pytest.mark.parametrize(("changes", "after", "problems"), _RESOLUTION_PROBLEMS)
def test_a_resolution_that_differs_from_the_plan_says_how(
    changes: tuple[ResolutionChange, ...], after: tuple[LiveResolution, ...], problems: list[str]
) -> None:
    plan = PolicyPlan(TEST_ORG, (), changes, unchanged=1, existing=4, fingerprint="")
    before = _org(_A, _B, _C, resolutions=(_OLD_X, _UNADDRESSABLE))
    assert differences(plan, before, _org(_A, _B, _C, resolutions=after)) == problems


# policies/verify.py (differences): every policy is checked, past one whose plan is broken.
def test_the_check_after_apply_reports_every_policy() -> None:
    broken = _moved(Placement(after="gone", anchor_id="id-gone"))
    plan = PolicyPlan(TEST_ORG, (broken,), (), unchanged=2, existing=4, fingerprint="")
    other = _rule("id-o", "o")
    before = Snapshot(TEST_ORG, (), {"default": (_A, _B), "p2": (other,), "p3": (other,)}, ())
    after = Snapshot(TEST_ORG, (), {"default": (_A, _B), "p2": (), "p3": ()}, ())
    assert differences(plan, before, after) == [
        "policy default: the plan's placements do not add up: anchor ('id', 'id-gone') is not "
        "in the list",
        "missing rule 'o' in policy p2",
        "missing rule 'o' in policy p3",
    ]


# policies/outcomes.py (PolicyResult.failed, not_applied): a refusal is not applied at once; any
# other failure may still commit, so it stays unknown and the final listing waits for it.
@pytest.mark.parametrize(
    ("error", "status", "waits"),
    [
        (ApiError("refused", 400), NOT_APPLIED, False),
        (ApiError("server error", 503), UNKNOWN, True),
        (OutcomeUnknownError("no answer"), UNKNOWN, True),
    ],
)
def test_a_failed_write_is_not_applied_only_when_the_server_refused_it(
    error: Exception, status: str, waits: bool
) -> None:
    plan = PolicyPlan(TEST_ORG, (_CREATE,), (), unchanged=0, existing=0, fingerprint="")
    result = PolicyResult(TEST_ORG)
    result.sending([_CREATE])
    result.failed(_CREATE, error)
    if status == NOT_APPLIED:
        result.not_applied(_CREATE)  # twice is still not applied
    assert result.statuses(plan) == ((_CREATE, status),)
    assert (result.last_uncertain is not None) is waits


# policies/recover.py (find_rules, find_resolutions): after a lost answer, the oldest new rule or
# resolution is the one the create made; one that was there before never is.
def test_recovery_finds_the_oldest_new_rule_by_name_whatever_its_place(
    client: TriageClient, moved: Emulator
) -> None:
    seed_rules(moved, [("n", "warn")])
    old = frozenset(r["id"] for r in moved.policy_rules(TEST_ORG))
    seed_rules(moved, [("n", "error")])
    seed_rules(moved, [("n", "ignore")])  # apart, so that their times differ
    api = policies_client(client)
    oldest = next(r for r in moved.policy_rules(TEST_ORG) if r["action"] == "error")
    api.update_rule(TEST_ORG, "default", oldest["id"], {"position": "last"})
    missing = replace(_CREATE, new=_desired("m"))
    found, order = find_rules(api, "default", [_CREATE, missing], old)
    assert {key: rule.id for key, rule in found.items()} == {id(_CREATE): oldest["id"]}
    assert order == [r["id"] for r in moved.policy_rules(TEST_ORG)] and order[-1] == oldest["id"]
    assert find_rules(api, "default", [], old) == ({}, [])  # nothing to find: nothing listed


def test_recovery_finds_the_oldest_new_resolution_by_selector(
    client: TriageClient, moved: Emulator
) -> None:
    body = {"reason": "other", "vigil_selector": {"artifact.type": "npm", "artifact.name": "x"}}
    (before,) = moved.seed_resolutions(TEST_ORG, [body])
    moved.seed_resolutions(TEST_ORG, [{**body, "reason": "false_positive"}])
    moved.seed_resolutions(TEST_ORG, [{**body, "reason": "tolerable_risk"}])
    create = ResolutionChange("create", TEST_ORG, None, resolution("x"))
    found = find_resolutions(
        policies_client(client), TEST_ORG, [create, _CREATE_Y], {before["uuid"]}
    )
    assert [(c, r.reason) for c, r in found.items()] == [(id(create), "false_positive")]


# policies/apply.py (writable): a hand-edited plan that addresses an item without an id is
# refused before anything is sent.
def test_a_plan_that_addresses_an_item_without_an_id_sends_nothing(
    client: TriageClient, moved: Emulator
) -> None:
    update = replace(_UPDATE, existing=replace(_B, id=""))
    delete = ResolutionChange("delete", TEST_ORG, replace(_OLD_X, uuid=""), None)
    plan = PolicyPlan(TEST_ORG, (update,), (delete,), unchanged=0, existing=2, fingerprint="")
    start = moved.counters()
    with pytest.raises(ApplyError) as refused:
        apply_org(policies_client(client), plan)
    assert str(refused.value) == (
        "refusing the plan of org acme: update rule 'b' of policy default, delete resolution "
        "artifact.name=x artifact.type=npm: an item without an id can be neither changed nor "
        "deleted; nothing was written"
    )
    assert moved.counters()["calls"] == start["calls"]


# policies/apply.py (_Run.created_resolution): a create is applied when made; a replace only
# once its old half is deleted too.
def test_a_replace_whose_delete_fails_is_not_applied(client: TriageClient, moved: Emulator) -> None:
    apply(client, plan_for(client, [], [resolution("x")]))
    transport = Scripted(moved)
    with triage_client(moved, transport) as refusing:
        plan = plan_for(refusing, [], [resolution("x", "other"), resolution("y")])
        transport.refusing.add("DELETE")
        result = apply_org(policies_client(refusing), plan, concurrency=1)
    assert result.error is not None
    assert [(c.action, c.to_dict()["selector"]) for c in result.applied] == [
        ("create", resolution("y").selector.to_wire())
    ]


class _Heard:
    def __init__(self) -> None:
        self.items: list[tuple[str, str | None]] = []

    def applied(self, change: PolicyChange, item: Item | None) -> None:
        self.items.append((change.action, getattr(item, "id", None)))

    def half_done(self, change: ResolutionChange, item: LiveResolution) -> None:
        self.items.append((f"{change.action} (half)", item.uuid))


# policies/verify.py (conclude): the final listing settles each unknown outcome, with the item
# it found; the org is checked only after a complete apply; a failed listing keeps the outcomes.
def test_the_final_listing_settles_unknown_outcomes_and_checks_only_a_complete_apply(
    client: TriageClient, moved: Emulator
) -> None:
    seed_rules(moved, [("a", "warn")])
    api = policies_client(client)
    plan = plan_for(client, [want("b")])  # a is deleted, b created
    before = read_snapshot(api, TEST_ORG)
    heard = _Heard()
    result = PolicyResult(TEST_ORG, listener=heard)
    api.create_rule(
        TEST_ORG,
        "default",
        {"name": "b", "action": "error", "vigil_selector": {"finding.alertType": "b"}},
    )
    result.sending(plan.changes)  # both unknown: b was created, a not deleted
    conclusion = conclude(api, plan, before, result)
    (made,) = [r for r in moved.policy_rules(TEST_ORG) if r["name"] == "b"]
    assert [(c.action, s) for c, s in conclusion.statuses] == [
        ("create", APPLIED),
        ("delete", NOT_APPLIED),
    ]
    assert heard.items == [("create", made["id"])]
    assert conclusion.after is not None and conclusion.listing_error is None
    (kept,) = before.rules["default"]
    assert conclusion.problems == (f"unexpected rule 'a' [{kept.id}] in policy default",)
    stopped = PolicyResult(TEST_ORG, error=ApiError("stopped", 503))
    assert conclude(api, plan, before, stopped).problems == ()  # not complete: not checked
    transport = Scripted(moved)
    transport.refusing.add("GET")
    with triage_client(moved, transport) as refusing:
        failed = conclude(policies_client(refusing), plan, before, result)
    assert failed.statuses == conclusion.statuses and failed.after is None
    assert failed.listing_error is not None


# policies/outcomes.py (PolicyResult.done): once, and no longer unknown.
def test_a_change_is_applied_once_however_often_it_is_confirmed() -> None:
    heard = _Heard()
    result = PolicyResult(TEST_ORG, listener=heard)
    result.done(_UPDATE)  # confirmed before it was ever counted as sent
    result.sending([_CREATE])
    result.done(_CREATE, _N)
    result.done(_CREATE, _N)
    assert result.applied == [_UPDATE, _CREATE] and result.unknown == []
    assert heard.items == [("update", None), ("create", "id-n")]
