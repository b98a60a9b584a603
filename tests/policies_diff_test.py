from __future__ import annotations

import itertools
from collections.abc import Sequence
from dataclasses import replace
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from reconciler import notes
from reconciler.errors import ConfigError, Location
from reconciler.policies.changes import Placement, RuleChange
from reconciler.policies.diff import diff, diff_rules, fingerprint, keepers
from reconciler.policies.plan import PolicyPlan
from reconciler.policies.resolutions import diff_resolutions
from reconciler.policies.trailer import fit_note
from reconciler.rules.safety import SafetyPolicy
from reconciler.vocab.policies.checks import HUMAN_NOTE_MAX
from reconciler.vocab.policies.model import (
    DesiredResolution,
    DesiredRule,
    LivePolicy,
    LiveResolution,
    LiveRule,
    resolution_seal_parts,
    rule_seal_parts,
)
from reconciler.vocab.policies.selectors import VigilSelector
from reconciler.vocab.policies.wire import RULE_NOTE_MAX

WHERE = Location("a.yaml", 1, 3)


def trailer(where: Location | None, seal: str) -> str:
    return notes.trailer([("source", f"{where.file}:{where.line}")] if where else [], seal)


def rule_trailer(name: str) -> str:
    return trailer(WHERE, notes.seal("acme", rule_seal_parts(name, sel(name))))


def res_trailer(alert: str) -> str:
    return trailer(WHERE, notes.seal("acme", resolution_seal_parts(sel(alert))))


DEFAULT = LivePolicy("default", None, "unlabeled_repos")
PROD = LivePolicy("p-prod", "prod", "labeled_repos")


def sel(alert: str) -> VigilSelector:
    return VigilSelector.from_wire({"finding.alertType": alert})


def want(name: str, action: str = "error", note: str = "", policy: str = "default") -> DesiredRule:
    return DesiredRule(name, sel(name), action, note, policy, WHERE)


def live(
    name: str, rid: str | None = None, action: str = "error", note: str = "", mine: bool = True
) -> LiveRule:
    full = notes.compose(note, rule_trailer(name)) if mine else note
    rule_id = rid if rid is not None else f"id-{name}"
    return LiveRule(rule_id, "default", name, sel(name), action, full, org="acme")


def run(
    desired: Sequence[DesiredRule], current: Sequence[LiveRule], prune: bool = True
) -> list[RuleChange]:
    return diff_rules("acme", "default", desired, current, prune=prune, trailer=trailer)[0]


def brief(changes: Sequence[RuleChange]) -> list[tuple[str, str]]:
    return [(c.action, c.name) for c in changes]


def test_new_rules_are_created_in_file_order_after_rules_we_do_not_own() -> None:
    changes = run([want("a"), want("b")], [live("dash", mine=False)], prune=False)
    assert brief(changes) == [("create", "a"), ("create", "b")]
    assert changes[0].placement == Placement(position="last")
    assert changes[1].placement == Placement(after="a")
    assert (changes[0].to_position, changes[1].to_position) == (1, 2)
    assert changes[0].api_note == rule_trailer("a")


def test_a_create_between_live_rules_names_its_live_neighbour_by_id() -> None:
    changes = run([want("a"), want("new"), want("b")], [live("a"), live("b")])
    assert brief(changes) == [("create", "new")]
    assert changes[0].placement == Placement(after="a", anchor_id="id-a")


def test_an_unchanged_policy_has_no_changes() -> None:
    desired = [want("a", note="why"), want("b")]
    assert run(desired, [live("a", note="why"), live("b")]) == []


def test_the_trailer_and_selector_spelling_do_not_cause_updates() -> None:
    rule = replace(
        want("a"), selector=VigilSelector.from_wire({"finding.alertType": {"$in": ["a"]}})
    )
    assert run([rule], [live("a", mine=False)]) == []


@pytest.mark.parametrize(
    ("desired", "field"),
    [
        (want("a", action="warn"), "action"),
        (want("a", note="new reason"), "note"),
        (replace(want("a"), selector=sel("other")), "selector"),
    ],
)
def test_a_changed_field_is_an_update_keeping_the_id(desired: DesiredRule, field: str) -> None:
    changes = run([desired], [live("a")])
    assert brief(changes) == [("update", "a")], field
    assert changes[0].rule_id == "id-a"


def test_prune_deletes_what_the_files_drop_and_prune_false_only_what_we_wrote() -> None:
    current = [live("ours"), live("theirs", mine=False)]
    assert brief(run([], current)) == [("delete", "ours"), ("delete", "theirs")]
    assert brief(run([], current, prune=False)) == [("delete", "ours")]


def test_a_reordered_file_is_moves_only_and_the_fewest() -> None:
    current = [live(n) for n in "abcde"]
    changes = run([want(n) for n in "eabcd"], current)
    assert brief(changes) == [("move", "e")]
    assert changes[0].placement == Placement(before="a", anchor_id="id-a")
    assert (changes[0].from_position, changes[0].to_position) == (5, 1)


def test_a_live_duplicate_name_keeps_the_first_and_deletes_the_rest_it_may() -> None:
    current = [live("a", "id-1"), live("a", "id-2"), live("a", "id-3", mine=False)]
    assert [(c.action, c.rule_id, c.reason) for c in run([want("a")], current)] == [
        ("delete", "id-2", "duplicate"),
        ("delete", "id-3", "duplicate"),
    ]
    assert [c.rule_id for c in run([want("a")], current, prune=False)] == ["id-2"]


def test_a_live_rule_without_an_id_is_left_alone_and_reported() -> None:
    changes, _, notices = diff_rules("acme", "default", [want("a")], [live("a", rid="")])
    assert brief(changes) == [("create", "a")]
    assert notices == [
        "rule 'a' of policy default has no id: it can be neither changed nor deleted"
    ]


def test_desired_names_must_be_unique() -> None:
    with pytest.raises(ValueError, match="unique"):
        run([want("a"), want("a")], [])


def test_fit_note_drops_trailer_fields_never_the_marker_seal_or_human_text() -> None:
    line = notes.trailer([("source", "a.yaml:3"), ("commit", "0123abc"), ("pr", "12")], "0" * 12)
    assert fit_note("why", line, 1000) == f"why\n\n{line}"
    assert fit_note("why", line, 60) == "why\n\n[socket-triage] source=a.yaml:3 sel=000000000000"
    assert fit_note("why", line, 5) == "why\n\n[socket-triage] sel=000000000000"
    assert fit_note("", None, 5) == ""


def test_a_long_human_note_still_gets_a_sealed_trailer_within_the_limit() -> None:
    rule = want("a", note="x" * HUMAN_NOTE_MAX)
    (change,) = run([rule], [])
    assert change.api_note is not None and len(change.api_note) <= RULE_NOTE_MAX
    owned = LiveRule("id", "default", "a", sel("a"), "error", change.api_note, org="acme")
    assert owned.managed and owned.human_note == "x" * HUMAN_NOTE_MAX


# --- resolutions -------------------------------------------------------------------------------


def res(
    alert: str, comment: str = "", mine: bool = True, uuid: str = "", created: str = ""
) -> LiveResolution:
    full = notes.compose(comment, res_trailer(alert)) if mine else comment
    uuid = uuid or f"u-{alert}"
    return LiveResolution(
        uuid, sel(alert), "false_positive", None, full or None, created, org="acme"
    )


def want_res(alert: str, comment: str = "", reason: str = "false_positive") -> DesiredResolution:
    return DesiredResolution(sel(alert), reason, None, comment, WHERE)


def test_a_changed_resolution_is_one_replace() -> None:
    changes, unchanged = diff_resolutions(
        "acme",
        [want_res("a", "new words"), want_res("b")],
        [res("a", "old"), res("b")],
        trailer=trailer,
    )
    assert [(c.action, c.uuid, c.api_comment) for c in changes] == [
        ("replace", "u-a", f"new words\n\n{res_trailer('a')}")
    ]
    assert unchanged == 1


def test_resolution_creates_and_deletes_respect_prune() -> None:
    current = [res("gone"), res("theirs", mine=False)]
    changes, _ = diff_resolutions("acme", [want_res("new")], current, prune=False)
    assert [(c.action, c.selector) for c in changes] == [
        ("create", sel("new")),
        ("delete", sel("gone")),
    ]
    assert changes[0].api_comment is None  # nothing to say and no trailer: null, not ""


def test_resolution_duplicates_keep_the_oldest_by_real_time_not_text() -> None:
    early = res("a", uuid="u-early", created="2026-01-02T00:00:00Z")
    late = res("a", uuid="u-late", created="2026-01-01T20:00:00-05:00")  # 01:00Z on Jan 2
    changes, unchanged = diff_resolutions("acme", [want_res("a")], [late, early])
    assert [(c.action, c.uuid) for c in changes] == [("delete", "u-late")]
    assert unchanged == 1


# --- whole org ---------------------------------------------------------------------------------


def test_rules_go_to_the_policy_the_file_names_and_unknown_policies_are_errors() -> None:
    plan = diff(
        "acme",
        rules=[want("a"), want("b", policy="prod")],
        resolutions=[],
        policies=[DEFAULT, PROD],
        live_rules={"default": [], "p-prod": []},
        live_resolutions=[],
    )
    assert [(c.policy_id, c.name) for c in plan.rule_changes] == [("default", "a"), ("p-prod", "b")]
    with pytest.raises(ConfigError, match=r"a.yaml:1:3: policy 'staging' does not exist"):
        diff(
            "acme",
            rules=[want("a", policy="staging")],
            resolutions=[],
            policies=[DEFAULT],
            live_rules={},
            live_resolutions=[],
        )


def _org(desired: Sequence[DesiredRule], current: Sequence[LiveRule], **kw: Any) -> PolicyPlan:
    return diff(
        "acme",
        rules=desired,
        resolutions=[],
        policies=[DEFAULT],
        live_rules={"default": current},
        live_resolutions=[],
        **kw,
    )


def test_moves_do_not_count_towards_the_safety_threshold() -> None:
    names = [f"r{i:02}" for i in range(20)]
    plan = _org([want(n) for n in reversed(names)], [live(n) for n in names])
    assert plan.summary() == {
        "create": 0,
        "update": 0,
        "replace": 0,
        "move": 19,
        "delete": 0,
        "unchanged": 1,
    }
    assert plan.unsafe_reasons() == []
    plan = _org([want(n, action="warn") for n in names[:10]], [live(n) for n in names])
    assert plan.unsafe_reasons() == [
        "it updates, replaces or deletes 20 of 20 live rules and resolutions of org acme "
        "(100% > 30%)"
    ]


def test_deleting_everything_is_unsafe_even_when_small() -> None:
    plan = _org([], [live("a")], safety=SafetyPolicy(30.0, 10))
    assert plan.unsafe_reasons() == ["it deletes every live rule and resolution of org acme (1)"]


def test_a_plan_survives_its_dict_form() -> None:
    plan = diff(
        "acme",
        rules=[want("c"), want("a", action="warn", note="why"), want("new")],
        resolutions=[want_res("x", "fp"), want_res("y", "changed")],
        policies=[DEFAULT],
        live_rules={"default": [live("a"), live("b"), live("c")]},
        live_resolutions=[res("y", "old"), res("z")],
        trailer=trailer,
    )
    assert {c.action for c in plan.changes} == {"create", "update", "move", "delete", "replace"}
    data = plan.to_dict()
    again = PolicyPlan.from_dict(data)
    assert again.to_dict() == data
    move = next(c for c in data["changes"] if c["action"] == "move")
    # a and c are both out of order; one move suffices, and a moves after c.
    assert (move["name"], move["from"], move["to"], move["placement"]["after"]) == ("a", 1, 2, "c")


def test_the_fingerprint_sees_a_reorder() -> None:
    a, b = live("a"), live("b")
    assert fingerprint([], {"default": [a, b]}, []) != fingerprint([], {"default": [b, a]}, [])


# --- apply the plan to a model of the server, then plan again: nothing left ---------------------


def simulate(changes: Sequence[RuleChange], current: Sequence[LiveRule]) -> list[LiveRule]:
    """Apply rule changes one by one as the server would, placements by neighbour id."""
    rules = list(current)
    ids: dict[str, str] = {}
    fresh = itertools.count()

    def index_of(rule_id: str) -> int:
        return next(i for i, r in enumerate(rules) if r.id == rule_id)

    def place(rule: LiveRule, placement: Placement) -> None:
        anchor = placement.anchor_id or ids.get(placement.after or placement.before or "")
        if placement.after:
            rules.insert(index_of(str(anchor)) + 1, rule)
        elif placement.before:
            rules.insert(index_of(str(anchor)), rule)
        else:
            rules.insert(0 if placement.position == "first" else len(rules), rule)

    for change in changes:
        new = change.new
        if change.action == "create":
            assert new is not None and change.placement is not None
            rule = LiveRule(
                f"new-{next(fresh)}",
                "default",
                new.name,
                new.selector,
                new.action,
                str(change.api_note),
                org="acme",
            )
            ids[new.name] = rule.id
            place(rule, change.placement)
        elif change.action == "move":
            assert change.existing is not None and change.placement is not None
            moving = rules.pop(index_of(change.existing.id))
            place(moving, change.placement)
        elif change.action == "update":
            assert change.existing is not None and new is not None
            i = index_of(change.existing.id)
            rules[i] = replace(
                rules[i], selector=new.selector, action=new.action, note=str(change.api_note)
            )
        else:
            assert change.existing is not None
            rules.pop(index_of(change.existing.id))
    return rules


NAMES = st.sampled_from("abcdefghij")


@st.composite
def policies(draw: st.DrawFn) -> tuple[list[DesiredRule], list[LiveRule], bool]:
    live_names = draw(st.lists(NAMES, max_size=9))  # duplicates allowed: the server may hold them
    current = [
        live(
            n, f"id-{i}", action=draw(st.sampled_from(["error", "warn"])), mine=draw(st.booleans())
        )
        for i, n in enumerate(live_names)
    ]
    desired_names = draw(st.permutations(sorted(set(draw(st.lists(NAMES, max_size=9))))))
    desired = [want(n, action=draw(st.sampled_from(["error", "warn"]))) for n in desired_names]
    return desired, current, draw(st.booleans())


@settings(max_examples=300, deadline=None)
@given(policies())
def test_applying_a_plan_converges(case: tuple[list[DesiredRule], list[LiveRule], bool]) -> None:
    desired, current, prune = case
    changes = run(desired, current, prune=prune)
    after = simulate(changes, current)
    assert run(desired, after, prune=prune) == []
    wanted = {r.name for r in desired}
    assert [r for r in after if r.name in wanted and r.id.startswith("new-")] == [
        r for r in after if r.id.startswith("new-")
    ]


@settings(max_examples=200, deadline=None)
@given(policies())
def test_the_files_order_holds_after_apply(
    case: tuple[list[DesiredRule], list[LiveRule], bool],
) -> None:
    desired, current, prune = case
    after = simulate(run(desired, current, prune=prune), current)
    matched = keepers(after)
    assert sorted(matched[d.name] for d in desired) == [matched[d.name] for d in desired]


def test_a_foreign_namesake_never_takes_over_our_rule_when_it_moves() -> None:
    current = [live("b", "id-0", mine=False), live("b", "id-1"), live("a", "id-2")]
    changes = run([want("a"), want("b")], current, prune=False)
    assert [c.action for c in changes] == ["move"]
    assert all(c.rule_id != "id-0" for c in changes)
    assert run([want("a"), want("b")], simulate(changes, current), prune=False) == []
