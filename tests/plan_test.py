from __future__ import annotations

import datetime as dt

import pytest

from reconciler import notes
from reconciler.engine.plan import Plan
from reconciler.errors import Location, UnsafePlanError
from reconciler.rules.model import Rule
from reconciler.rules.safety import SafetyPolicy
from reconciler.triage.plan import TriagePlan, diff, fingerprint
from reconciler.vocab.triage.selector import LiveRule, Selector
from reconciler.wiring import read_plan

TODAY = dt.date(2026, 11, 28)
TRAILER = "[socket-triage] source=a.yaml:1"


def rule(
    name: str,
    state: str = "ignore",
    note: str = "why",
    expires: dt.date | None = None,
    owner: str | None = None,
) -> Rule:
    selector = Selector(package_type="npm", package_name=name)
    return Rule(
        "acme",
        selector,
        state,
        note,
        expires=expires,
        owner=owner,
        location=Location("a.yaml", 1, 3),
    )


def live(
    name: str,
    state: str = "ignore",
    note: str = "why",
    uuid: str = "",
    created: str = "t1",
    **fields: str,
) -> LiveRule:
    return LiveRule(
        uuid or f"u-{name}",
        Selector.from_snake({"package_type": "npm", "package_name": name, **fields}),
        state,
        note,
        created,
        created,
        org="acme",
    )


def plan_of(desired: list[Rule], existing: list[LiveRule], **kw: object) -> TriagePlan:
    return diff("acme", desired, existing, today=TODAY, trailer=lambda loc: TRAILER, **kw)  # type: ignore[arg-type]


def actions(plan: TriagePlan) -> list[tuple[str, str | None, str | None]]:
    return [(c.action, c.selector.package_name, c.uuid) for c in plan.changes]


def test_create_update_delete_and_unchanged() -> None:
    plan = plan_of(
        [rule("new"), rule("changed", state="block"), rule("same")],
        [live("changed"), live("same"), live("gone")],
    )
    assert actions(plan) == [
        ("update", "changed", "u-changed"),
        ("delete", "gone", "u-gone"),
        ("create", "new", None),
    ]
    assert plan.summary() == {"create": 1, "update": 1, "delete": 1, "unchanged": 1}


def test_note_drift_is_an_update_but_the_trailer_is_not_compared() -> None:
    with_old_trailer = notes.compose("why", "[socket-triage] source=old.yaml:9 commit=abc")
    assert plan_of([rule("x")], [live("x", note=with_old_trailer)]).summary()["update"] == 0
    drift = plan_of([rule("x", note="new reason")], [live("x", note="why")])
    assert actions(drift) == [("update", "x", "u-x")]
    assert drift.changes[0].api_note == f"new reason\n\n{TRAILER}"


def test_duplicates_keep_the_oldest_and_delete_the_rest() -> None:
    plan = plan_of(
        [rule("x", state="warn")],
        [
            live("x", uuid="b", created="t2"),
            live("x", uuid="a", created="t1"),
            live("x", uuid="c", created="t3"),
        ],
    )
    assert sorted(actions(plan)) == [
        ("delete", "x", "b"),
        ("delete", "x", "c"),
        ("update", "x", "a"),
    ]
    assert {c.reason for c in plan.changes if c.action == "delete"} == {"duplicate"}


def test_expired_rules_count_as_absent() -> None:
    plan = plan_of(
        [rule("old", expires=dt.date(2026, 11, 27)), rule("today", expires=TODAY)], [live("old")]
    )
    assert actions(plan) == [("delete", "old", "u-old"), ("create", "today", None)]
    assert plan.changes[0].reason == "expired"


def test_prune_false_deletes_only_rules_this_tool_wrote() -> None:
    sealed = notes.trailer([], notes.seal("acme", live("ours").selector))
    ours = live("ours", note=notes.compose("why", sealed))
    theirs = live("theirs", note="clicked in the dashboard")
    plan = plan_of([], [ours, theirs], prune=False)
    assert actions(plan) == [("delete", "ours", "u-ours")]


def test_prune_false_shows_the_rules_it_leaves_alone_and_a_saved_plan_keeps_them() -> None:
    theirs = live("theirs", note="clicked in the dashboard")
    plan = plan_of([rule("declared")], [theirs, live("declared")], prune=False)
    assert [(r.uuid, r.label) for r in plan.unmanaged] == [("u-theirs", theirs.selector.describe())]
    assert plan.to_dict()["unmanaged"] == [
        {"uuid": "u-theirs", "label": theirs.selector.describe(), "state": theirs.state}
    ]
    assert TriagePlan.from_dict(plan.to_dict()).unmanaged == plan.unmanaged
    assert plan_of([], [theirs]).unmanaged == ()  # prune: true deletes it instead


def test_wildcard_spellings_in_live_rules_match_the_file() -> None:
    existing = live("x", kevs="*", reachability="*", alert_key="")
    assert plan_of([rule("x")], [existing]).summary()["unchanged"] == 1


@pytest.mark.parametrize(
    ("existing", "deletes", "unsafe"),
    [(10, 3, False), (10, 4, True), (9, 8, False), (2, 2, True), (0, 0, False)],
)
def test_safety_thresholds(existing: int, deletes: int, unsafe: bool) -> None:
    lives = [live(f"p{i}") for i in range(existing)]
    keep = [rule(f"p{i}") for i in range(deletes, existing)]
    plan = plan_of(keep, lives)
    assert plan.count("delete") == deletes
    assert bool(plan.unsafe_reasons()) is unsafe
    if unsafe:
        with pytest.raises(UnsafePlanError, match="--force"):
            plan.raise_if_unsafe()


# rules/safety.py (raise_if_unsafe): every reason, in one line.
def test_an_unsafe_plan_is_refused_with_every_reason() -> None:
    plan = plan_of([], [live(f"p{i}") for i in range(10)])
    with pytest.raises(UnsafePlanError) as refused:
        plan.raise_if_unsafe()
    assert str(refused.value) == (
        "refusing an unsafe plan: it deletes every live rule of org acme (10); it updates or "
        "deletes 10 of 10 live rules of org acme (100% > 30%). Use --force to apply it anyway."
    )


# rules/safety.py (SafetyPolicy.to_dict): the thresholds as plan --out saves them.
def test_the_thresholds_are_saved_under_their_names() -> None:
    safety = SafetyPolicy(max_change_percent=60, min_existing=5)
    assert safety.to_dict() == {"max_change_percent": 60, "min_existing": 5}


def test_safety_thresholds_are_configurable() -> None:
    lives = [live(f"p{i}") for i in range(10)]
    plan = plan_of(
        [rule(f"p{i}") for i in range(5, 10)],
        lives,
        safety=SafetyPolicy(max_change_percent=60, min_existing=10),
    )
    assert plan.unsafe_reasons() == []


def test_plan_is_deterministic_whatever_the_input_order() -> None:
    desired = [rule(f"n{i}") for i in range(20)]
    existing = [live(f"e{i}") for i in range(20)]
    first = plan_of(desired, existing).to_dict()
    second = plan_of(desired[::-1], existing[::-1]).to_dict()
    assert first == second


def test_fingerprint_changes_when_live_state_changes() -> None:
    base = [live("a"), live("b")]
    assert fingerprint(base) == fingerprint(base[::-1])
    assert fingerprint(base) != fingerprint([live("a"), live("b", state="block")])


def test_plan_dict_round_trips() -> None:
    plan = Plan(
        (
            plan_of(
                [rule("new", owner="sec@acme.dev"), rule("changed", state="block")],
                [live("changed"), live("gone")],
            ),
        )
    )
    again = read_plan(plan.to_dict())
    assert again.to_dict() == plan.to_dict()
    saved, made = again.orgs[0], plan.orgs[0]
    assert isinstance(saved, TriagePlan) and isinstance(made, TriagePlan)
    assert [c.entry() for c in saved.changes if c.action != "delete"] == [
        c.entry() for c in made.changes if c.action != "delete"
    ]
