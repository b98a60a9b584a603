from __future__ import annotations

from typing import Any

import pytest

from reconciler import notes
from reconciler.errors import Location
from reconciler.vocab.policies.checks import (
    HUMAN_COMMENT_MAX,
    HUMAN_NOTE_MAX,
    action_for,
    check_resolution,
    check_rule,
    duplicate_names,
    shadowed_rules,
)
from reconciler.vocab.policies.model import DesiredRule
from reconciler.vocab.policies.selectors import Problem, VigilSelector
from reconciler.vocab.policies.wire import RULE_NOTE_MAX

GOOD: dict[str, Any] = {
    "name": "block malware",
    "action": "error",
    "note": "no exceptions",
    "vigil_selector": {"finding.alertType": "malware"},
}


def test_a_good_rule_has_no_problems() -> None:
    assert check_rule(GOOD) == []


@pytest.mark.parametrize(
    ("state", "action"),
    [("block", "error"), ("warn", "warn"), ("monitor", "monitor"), ("ignore", "ignore")],
)
def test_states_map_by_the_documented_table(state: str, action: str) -> None:
    assert action_for(None, state) == (action, [])


@pytest.mark.parametrize(
    ("fields", "expected"),
    [
        ({"name": ""}, Problem(("name",), "name must be 1-128 characters (it has 0)")),
        ({"name": "x" * 129}, Problem(("name",), "name must be 1-128 characters (it has 129)")),
        ({"name": 5}, Problem(("name",), "name must be a string")),
        ({"name": "a\tb"}, Problem(("name",), "name contains a control character")),
        (
            {"action": "block"},
            Problem(("action",), "action must be one of error, warn, monitor, ignore"),
        ),
        (
            {"action": None, "state": "inherit"},
            Problem(
                ("state",),
                "state inherit has no action: the baseline decides; remove the rule instead",
            ),
        ),
        (
            {"action": None, "state": "deny"},
            Problem(("state",), "state must be one of block, warn, monitor, ignore, inherit"),
        ),
        ({"state": "block"}, Problem(("state",), "give either action or state, not both")),
        (
            {"action": None},
            Problem((), "a policy rule needs an action (error, warn, monitor, ignore)"),
        ),
        (
            {"note": "x" * (HUMAN_NOTE_MAX + 1)},
            Problem(
                ("note",),
                f"note must be at most {HUMAN_NOTE_MAX} characters (it has {HUMAN_NOTE_MAX + 1})"
                ": a rule's note holds 256 with the provenance trailer the tool adds",
            ),
        ),
        ({"note": "bell\x07"}, Problem(("note",), "note contains a control character")),
        (
            {"note": "copied\n\n[socket-triage] source=a.yaml:1"},
            Problem(("note",), "note must not contain [socket-triage]: the tool adds it"),
        ),
        ({"vigil_selector": None}, Problem((), "a policy rule needs a vigil_selector")),
        (
            {"vigil_selector": {"artifact.name": ["x"]}},
            Problem(("vigil_selector", "artifact.name"), "artifact.name: ['x'] must be a string"),
        ),
    ],
)
def test_each_rule_problem_is_reported_with_its_path(
    fields: dict[str, Any], expected: Problem
) -> None:
    assert check_rule(GOOD | fields) == [expected]


def test_the_human_note_leaves_room_for_the_shortest_sealed_trailer() -> None:
    shortest = notes.trailer([], "0" * notes.SEAL_LENGTH)
    assert HUMAN_NOTE_MAX + len("\n\n") + len(shortest) == RULE_NOTE_MAX
    assert check_rule(GOOD | {"note": "x" * HUMAN_NOTE_MAX}) == []
    assert check_rule(GOOD | {"note": "multi\nline\tnote"}) == []


def test_resolution_checks() -> None:
    good = {
        "vigil_selector": {"location.repo": "acme/api", "artifact.name": "x"},
        "reason": "false_positive",
    }
    assert check_resolution(good) == []
    assert check_resolution(good | {"reason": "wontfix"}) == [
        Problem(
            ("reason",), "reason must be one of false_positive, remediated, tolerable_risk, other"
        )
    ]
    assert check_resolution(good | {"reason_text": "x" * 257}) == [
        Problem(("reason_text",), "reason_text must be at most 256 characters (it has 257)")
    ]
    long = "x" * (HUMAN_COMMENT_MAX + 1)
    assert [p.path for p in check_resolution(good | {"comment": long})] == [("comment",)]
    assert check_resolution({"reason": "other"}) == [
        Problem((), "a resolution needs a vigil_selector")
    ]


def _rule(
    name: str, selector: dict[str, Any], policy: str = "default", line: int = 1
) -> DesiredRule:
    return DesiredRule(
        name,
        VigilSelector.from_wire(selector),
        "error",
        policy=policy,
        location=Location("a.yaml", line, 3),
    )


def test_duplicate_names_are_per_policy() -> None:
    a = _rule("x", {"t": "1"}, line=1)
    b = _rule("x", {"t": "2"}, line=5)
    c = _rule("x", {"t": "3"}, policy="prod", line=9)
    assert duplicate_names([a, b, c]) == [(b, a)]


def test_shadowed_rules_are_per_policy_and_name_both_rules() -> None:
    broad = _rule("all cves", {"finding.alertType": "cve"}, line=1)
    narrow = _rule("one cve", {"finding.alertType": "cve", "artifact.name": "x"}, line=5)
    elsewhere = _rule(
        "prod cve", {"finding.alertType": "cve", "artifact.name": "x"}, policy="prod", line=9
    )
    assert shadowed_rules([broad, narrow, elsewhere]) == [(narrow, broad)]
    assert shadowed_rules([narrow, broad]) == []  # most specific first is right
