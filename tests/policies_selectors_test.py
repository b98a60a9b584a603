from __future__ import annotations

from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from reconciler.vocab.policies.selectors import (
    Problem,
    Shadow,
    VigilSelector,
    check_selector,
    covers,
    find_shadowed,
)


def sel(value: Any) -> VigilSelector:
    return VigilSelector.from_wire(value)


@pytest.mark.parametrize(
    ("a", "b"),
    [
        ({"b": "1", "a": "2"}, {"a": "2", "b": "1"}),
        ({"a": {"$in": ["y", "x", "y"]}}, {"a": {"$in": ["x", "y"]}}),
        ({"a": {"$in": ["x"]}}, {"a": "x"}),
    ],
)
def test_spellings_of_one_selector_are_equal(a: Any, b: Any) -> None:
    assert sel(a) == sel(b)
    assert hash(sel(a)) == hash(sel(b))


def test_different_selectors_differ_and_literal_types_are_kept_apart() -> None:
    assert sel({"a": "1"}) != sel({"a": 1})
    assert sel({"a": "x"}) != sel({"a": {"$in": ["x", "y"]}})


def test_to_wire_round_trips_and_any_json_is_kept() -> None:
    value = {"$or": [{"location.repo": "a/b"}, {"location.repo": "a/c"}]}
    assert sel(value).to_wire() == value
    assert sel(None).to_wire() is None
    assert sel(None).fields == {}


def test_describe_is_one_readable_line() -> None:
    label = sel({"finding.alertType": {"$in": ["cve", "criticalCVE"]}, "artifact.name": "x"})
    assert label.describe() == "artifact.name=x finding.alertType in (criticalCVE, cve)"
    assert sel({}).describe() == "(every alert)"


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("x", [Problem((), "vigil_selector must be a mapping of field to value")]),
        ({}, [Problem((), "vigil_selector is empty: it would match every alert; name a field")]),
        (
            {"package.name": "x"},
            [
                Problem(
                    ("package.name",),
                    "field 'package.name' is not under finding., location. or artifact.",
                )
            ],
        ),
        (
            {"artifact.": "x"},
            [
                Problem(
                    ("artifact.",),
                    "field 'artifact.' is not under finding., location. or artifact.",
                )
            ],
        ),
        (
            {"artifact.version": 1.0},
            [Problem(("artifact.version",), "artifact.version: 1.0 must be a string; quote it")],
        ),
        (
            {"finding.severity": {"$gte": "high"}},
            [
                Problem(
                    ("finding.severity",),
                    "finding.severity: unsupported operator $gte; "
                    "a value is a string or {$in: [strings]}",
                )
            ],
        ),
        (
            {"finding.severity": {"$in": []}},
            [
                Problem(
                    ("finding.severity", "$in"),
                    "finding.severity: $in needs a non-empty list of strings",
                )
            ],
        ),
        (
            {"finding.severity": {"$in": ["high", 3]}},
            [
                Problem(
                    ("finding.severity", "$in", 1), "finding.severity: 3 must be a string; quote it"
                )
            ],
        ),
        (
            {"location.repo": "a/b"},
            [
                Problem(
                    ("location.repo",),
                    "location.repo is for resolutions only: "
                    "a rule's repositories come from its policy",
                )
            ],
        ),
        (
            {"artifact.name": "bad\x1bname"},
            [Problem(("artifact.name",), "artifact.name: value contains a control character")],
        ),
    ],
)
def test_rule_selector_errors_say_where_and_why(value: Any, expected: list[Problem]) -> None:
    assert check_selector(value, for_rule=True) == expected


def test_a_good_selector_has_no_problems() -> None:
    value = {"finding.alertType": "criticalCVE", "finding.severity": {"$in": ["critical", "high"]}}
    assert check_selector(value, for_rule=True) == []
    assert check_selector({"location.repo": "a/b", "artifact.namespace": ""}, for_rule=False) == []


@pytest.mark.parametrize(
    ("value", "path"),
    [
        ({"finding.cveId": "CVE-1"}, ("finding.cveId",)),
        ({"artifact.type": "npmm"}, ("artifact.type",)),
        ({"finding.severity": {"$in": ["high", "high"]}}, ("finding.severity", "$in", 1)),
    ],
)
def test_doubtful_selectors_are_warnings_not_errors(value: Any, path: tuple[Any, ...]) -> None:
    problems = check_selector(value, for_rule=True)
    assert [(p.path, p.severity) for p in problems] == [(path, "warning")]


@pytest.mark.parametrize(
    ("a", "b", "expected"),
    [
        ({"finding.alertType": "cve"}, {"finding.alertType": "cve", "artifact.name": "x"}, True),
        ({"finding.alertType": "cve", "artifact.name": "x"}, {"finding.alertType": "cve"}, False),
        ({"t": {"$in": ["a", "b"]}}, {"t": "a"}, True),
        ({"t": {"$in": ["a", "b"]}}, {"t": {"$in": ["a", "b"]}, "u": "z"}, True),
        ({"t": {"$in": ["a", "b"]}}, {"t": {"$in": ["a", "c"]}}, False),
        ({"t": "a"}, {"t": {"$in": ["a", "b"]}}, False),
        ({}, {"t": "a"}, True),
        ({"t": {"$gte": "5"}}, {"t": "7"}, False),  # unknown operator: never assumed
        ({"t": {"$gte": "5"}}, {"t": {"$gte": "5"}, "u": "x"}, True),  # but identity is certain
        ({"$or": [{"t": "a"}]}, {"t": "a"}, False),
        ({"t": "a"}, {"$or": [{"t": "a"}]}, False),
    ],
)
def test_covers(a: Any, b: Any, expected: bool) -> None:
    assert covers(sel(a), sel(b)) is expected


def test_shadowing_names_the_earliest_cover() -> None:
    selectors = [
        sel({"t": "a"}),
        sel({"t": {"$in": ["a", "b"]}}),
        sel({"t": "a", "u": "x"}),
        sel({"t": "b"}),
        sel({"u": "x"}),
    ]
    assert find_shadowed(selectors) == [Shadow(2, 0), Shadow(3, 1)]


def test_an_exact_duplicate_is_shadowed_even_when_opaque() -> None:
    assert find_shadowed([sel(["x"]), sel(["x"]), sel({"t": "a"})]) == [Shadow(1, 0)]


FIELD = st.sampled_from(["finding.alertType", "artifact.name", "artifact.type"])
LITERAL = st.sampled_from(["a", "b", "c"])
VALUE = st.one_of(
    LITERAL,
    st.builds(lambda xs: {"$in": xs}, st.lists(LITERAL, min_size=1, max_size=3)),
    st.builds(lambda x: {"$gte": x}, LITERAL),
)
SELECTOR = st.dictionaries(FIELD, VALUE, max_size=3).map(sel)


@settings(max_examples=300, deadline=None)
@given(st.lists(SELECTOR, max_size=12))
def test_the_shadow_index_agrees_with_covers(selectors: list[VigilSelector]) -> None:
    expected = []
    for i, later in enumerate(selectors):
        by = next((j for j in range(i) if covers(selectors[j], later)), None)
        if by is not None:
            expected.append(Shadow(i, by))
    assert find_shadowed(selectors) == expected


@settings(max_examples=300, deadline=None)
@given(SELECTOR, SELECTOR, st.dictionaries(FIELD, LITERAL, min_size=3, max_size=3))
def test_covers_is_sound_on_concrete_alerts(
    a: VigilSelector, b: VigilSelector, alert: dict[str, str]
) -> None:
    """If a covers b, every alert b matches, a matches (checked on literal alerts)."""

    def matches(selector: VigilSelector) -> bool | None:
        for key, value in selector.fields.items():
            if isinstance(value, str):
                ok = alert[key] == value
            elif "$in" in value:
                ok = alert[key] in value["$in"]
            else:
                return None  # unknown operator: no ground truth
            if not ok:
                return False
        return True

    if covers(a, b) and matches(b) is True:
        assert matches(a) is True
