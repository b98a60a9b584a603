"""The diff decisions apply relies on: rules without a uuid, expiry under ``prune: false``,
duplicates ranked by time, the safety exemption for copies of our own rules, and saved plans
that keep all of it."""

from __future__ import annotations

import datetime as dt
import io

import pytest

from reconciler.engine.plan import Plan
from reconciler.engine.provenance import Provenance
from reconciler.errors import Location
from reconciler.render import render_text
from reconciler.rules.model import Rule
from reconciler.triage.plan import TriagePlan, diff
from reconciler.vocab.triage.selector import LiveRule, Selector, parse_time
from reconciler.wiring import read_plan

TODAY = dt.date(2026, 11, 28)
ORG = "acme"
SEALED = Provenance(repository="acme/rules")


def rule(name: str, state: str = "ignore", expires: dt.date | None = None) -> Rule:
    selector = Selector(package_type="npm", package_name=name)
    return Rule(ORG, selector, state, "why", expires=expires, location=Location("a.yaml", 1, 3))


def live(
    name: str, uuid: str, state: str = "ignore", created: str = "", note: str = "why"
) -> LiveRule:
    selector = Selector(package_type="npm", package_name=name)
    return LiveRule(uuid, selector, state, note, created, created, org=ORG)


def ours(name: str, uuid: str, created: str = "") -> LiveRule:
    """A live rule this tool wrote: its note carries our sealed trailer."""
    note = f"why\n\n{SEALED.trailer(rule(name))}"
    return live(name, uuid, created=created, note=note)


def plan_of(desired: list[Rule], existing: list[LiveRule], prune: bool = True) -> TriagePlan:
    return diff(ORG, desired, existing, today=TODAY, prune=prune, trailer=SEALED.trailer)


def actions(plan: TriagePlan) -> list[tuple[str, str | None, str | None]]:
    return [(c.action, c.selector.package_name, c.uuid) for c in plan.changes]


@pytest.mark.parametrize("prune", [True, False])
def test_a_live_rule_without_a_uuid_is_never_written_and_gets_a_warning(prune: bool) -> None:
    existing = [live("differs", ""), live("same", ""), live("undeclared", ""), live("x", "u-x")]
    desired = [rule("differs", state="block"), rule("same"), rule("x")]
    plan = plan_of(desired, existing, prune=prune)
    assert plan.changes == ()  # no update, no delete, and no create beside the uuid-less rule
    assert plan.summary()["unchanged"] == 2  # "same" and "x"
    assert [w.split(":", 1)[1].strip() for w in plan.warnings] == [
        "the files want another state or note",
        "it matches the files",
        "the files do not declare it; delete it by hand"
        if prune
        else "the files do not declare it (kept: prune is off)",
    ]
    assert plan_of(desired, existing, prune=prune).to_dict() == plan.to_dict()  # stable
    shown = io.StringIO()
    render_text(Plan((plan,)), shown)
    assert "  ! live rule npm/undeclared (state ignore) has no uuid" in shown.getvalue()


def test_a_uuid_less_copy_beside_a_managed_rule_is_left_alone() -> None:
    plan = plan_of([rule("x", state="block")], [live("x", "u-x"), live("x", "")])
    assert actions(plan) == [("update", "x", "u-x")]
    assert "another rule with this selector is kept instead" in plan.warnings[0]


@pytest.mark.parametrize("existing", [live("old", "u-1"), ours("old", "u-1")])
def test_an_expired_rule_is_deleted_even_under_prune_false(existing: LiveRule) -> None:
    """Managed or not, it was declared, so it is ours to remove when it expires."""
    plan = plan_of([rule("old", expires=TODAY - dt.timedelta(days=1))], [existing], prune=False)
    assert actions(plan) == [("delete", "old", "u-1")]
    assert plan.changes[0].reason == "expired"


def test_an_undeclared_rule_someone_else_made_is_kept_under_prune_false() -> None:
    assert plan_of([], [live("theirs", "u-1")], prune=False).changes == ()


def test_duplicates_are_ranked_by_parsed_time_not_text() -> None:
    # In text order "...09:00:00.5Z" and "...10:00:00+02:00" sort the wrong way round.
    copies = [
        live("x", "c", created="2026-01-01T09:00:00.5Z"),
        live("x", "a", created="2026-01-01T10:00:00+02:00"),  # 08:00 UTC: the oldest
        live("x", "b", created="2026-01-01T09:00:00.123456Z"),
        live("x", "d", created="not a time"),
    ]
    plan = plan_of([rule("x", state="block")], copies)
    assert sorted(actions(plan)) == [
        ("delete", "x", "b"),
        ("delete", "x", "c"),
        ("delete", "x", "d"),
        ("update", "x", "a"),
    ]


def test_parse_time_reads_zones_and_takes_naive_stamps_as_utc() -> None:
    assert parse_time("2026-01-01T00:00:00") == dt.datetime(2026, 1, 1, tzinfo=dt.UTC)
    assert parse_time("") is None


def test_deleting_copies_of_our_own_rules_needs_no_force() -> None:
    """Two applies at once left every rule twice: the clean-up deletes half of the org."""
    existing = [ours(f"p{i}", f"a{i}", created="2026-01-01T00:00:00Z") for i in range(10)]
    existing += [ours(f"p{i}", f"b{i}", created="2026-01-01T00:00:01Z") for i in range(10)]
    plan = plan_of([rule(f"p{i}") for i in range(10)], existing)
    assert [c.reason for c in plan.changes] == ["duplicate"] * 10
    assert {c.uuid for c in plan.changes} == {f"b{i}" for i in range(10)}
    assert plan.unsafe_reasons() == []
    again = read_plan(Plan((plan,)).to_dict()).orgs[0]  # a saved plan decides the same
    assert again.unsafe_reasons() == []


def test_deleting_copies_someone_else_made_still_counts() -> None:
    existing = [live(f"p{i}", f"a{i}", created="2026-01-01T00:00:00Z") for i in range(10)]
    existing += [live(f"p{i}", f"b{i}", created="2026-01-01T00:00:01Z") for i in range(10)]
    plan = plan_of([rule(f"p{i}") for i in range(10)], existing)
    assert plan.unsafe_reasons() == [
        "it updates or deletes 10 of 20 live rules of org acme (50% > 30%)"
    ]
