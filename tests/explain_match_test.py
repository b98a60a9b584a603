"""How each selector field matches an alert (docs/matching.md), field by field."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import pytest

from reconciler.errors import UsageError
from reconciler.explain.alert import Alert, describe_alert
from reconciler.explain.match import MATCHERS, Outcome, Relation, interval, match, relation
from reconciler.vocab.triage.selector import Selector
from reconciler.vocab.triage.wire import SELECTOR_FIELDS

# (field, rule value, alert fact, expected outcome). Each field has matching and missing cases.
CASES = [
    ("package_type", "npm", "npm", Outcome.MATCH),
    ("package_type", "npm", "pypi", Outcome.MISS),
    ("package_type", "npm", "NPM", Outcome.MISS),  # as written: case counts
    ("package_namespace", "@babel", "@babel", Outcome.MATCH),
    ("package_namespace", "@babel", "@swc", Outcome.MISS),
    ("package_name", "lodash", "lodash", Outcome.MATCH),
    ("package_name", "lodash", "lodash-es", Outcome.MISS),
    ("package_name", "PyYAML", "pyyaml", Outcome.MISS),
    ("package_version", "4.17.20", "4.17.20", Outcome.MATCH),
    ("package_version", "4.17.20", "4.17.21", Outcome.MISS),
    ("package_version", "4.17.20", "4.17.2", Outcome.MISS),
    ("package_version", "7.*", "7.0.0", Outcome.MATCH),
    ("package_version", "7.*", "7.23.2", Outcome.MATCH),
    ("package_version", "7.*", "70.1.0", Outcome.MISS),
    ("package_version", "7.*", "6.9.9", Outcome.MISS),
    ("package_version", "7.*", "7", Outcome.MISS),  # the prefix is "7." exactly
    ("package_version", "4.17*", "4.170.0", Outcome.MATCH),
    ("package_version", "4.17.*", "4.17.21", Outcome.MATCH),
    ("alert_key", "QmAbc123", "QmAbc123", Outcome.MATCH),
    ("alert_key", "QmAbc123", "QmAbc124", Outcome.MISS),
    ("alert_type", "criticalCVE", "criticalCVE", Outcome.MATCH),
    ("alert_type", "criticalCVE", "cve", Outcome.MISS),
    ("cve_or_ghsa_id", "CVE-2023-45133", "CVE-2023-45133", Outcome.MATCH),
    ("cve_or_ghsa_id", "CVE-2023-45133", "GHSA-67hx-6x53-jw92", Outcome.MISS),
    ("fix_available", "available", "available", Outcome.MATCH),
    ("fix_available", "available", "unavailable", Outcome.MISS),
    ("patch_available", "unavailable", "unavailable", Outcome.MATCH),
    ("patch_available", "unavailable", "available", Outcome.MISS),
    ("reachability", "unreachable", "unreachable", Outcome.MATCH),
    ("reachability", "unreachable", "reachable", Outcome.MISS),
    ("reachability", "other", "other", Outcome.MATCH),
    ("kevs", "exist", "exist", Outcome.MATCH),
    ("kevs", "exist", "none", Outcome.MISS),
    ("cvss_score_cmp", ">=7.5", "7.5", Outcome.MATCH),
    ("cvss_score_cmp", ">=7.5", "9.8", Outcome.MATCH),
    ("cvss_score_cmp", ">=7.5", "7.4", Outcome.MISS),
    ("cvss_score_cmp", ">7.5", "7.5", Outcome.MISS),
    ("cvss_score_cmp", ">7.5", "7.6", Outcome.MATCH),
    ("cvss_score_cmp", "<=4", "4.0", Outcome.MATCH),
    ("cvss_score_cmp", "<4", "4", Outcome.MISS),
    ("cvss_score_cmp", "<4", "3.9", Outcome.MATCH),
    ("cvss_score_cmp", "==7.5", "7.50", Outcome.MATCH),
    ("cvss_score_cmp", "==7.5", "7.6", Outcome.MISS),
    ("cvss_score_cmp", ">=10", "10", Outcome.MATCH),
    ("cvss_score_cmp", ">= 7.5", "8", Outcome.MATCH),  # written with a space, normalised
]


def _alert(field: str, fact: str | None) -> Alert:
    if field == "cvss_score_cmp":
        return Alert(cvss_score=None if fact is None else Decimal(fact))
    facts: dict[str, Any] = {field: fact}
    return Alert(**facts)


@pytest.mark.parametrize(("field", "wanted", "fact", "expected"), CASES)
def test_each_field_matches_as_documented(
    field: str, wanted: str, fact: str, expected: Outcome
) -> None:
    verdict = match(Selector.from_snake({field: wanted}), _alert(field, fact))
    assert verdict.outcome is expected
    assert [c.field for c in verdict.checks] == [field]


def test_every_selector_field_has_a_matcher_and_cases() -> None:
    assert list(MATCHERS) == list(SELECTOR_FIELDS)
    assert {case[0] for case in CASES} == set(SELECTOR_FIELDS)
    for name in SELECTOR_FIELDS:
        outcomes = {case[3] for case in CASES if case[0] == name}
        assert outcomes == {Outcome.MATCH, Outcome.MISS}, name


@pytest.mark.parametrize("field", SELECTOR_FIELDS)
@pytest.mark.parametrize("spelling", [None, "", "*"])
def test_any_spelling_matches_every_alert(field: str, spelling: str | None) -> None:
    rule = Selector.from_snake({field: spelling})
    assert match(rule, _alert(field, "7.5" if field == "cvss_score_cmp" else "x")).outcome is (
        Outcome.MATCH
    )
    assert match(rule, Alert()).outcome is Outcome.MATCH  # nothing known, nothing needed


@pytest.mark.parametrize("field", SELECTOR_FIELDS)
def test_a_set_field_the_alert_does_not_state_is_unknown(field: str) -> None:
    wanted = {"cvss_score_cmp": ">=7", "fix_available": "available", "kevs": "exist"}
    value = wanted.get(field, "unreachable" if field == "reachability" else "x")
    verdict = match(Selector.from_snake({field: value}), Alert())
    assert verdict.outcome is Outcome.UNKNOWN
    assert verdict.needs == (field,)


def test_a_miss_outweighs_an_unknown_and_every_field_must_match() -> None:
    rule = Selector(package_name="lodash", alert_type="cve", cvss_score_cmp="<7.0")
    assert match(rule, Alert(package_name="lodash", alert_type="cve")).outcome is Outcome.UNKNOWN
    missing = match(rule, Alert(package_name="left-pad", alert_type="cve"))
    assert missing.outcome is Outcome.MISS
    assert missing.misses == ("package_name",)
    assert missing.needs == ("cvss_score_cmp",)
    full = Alert(package_name="lodash", alert_type="cve", cvss_score=Decimal("6.9"))
    assert match(rule, full).outcome is Outcome.MATCH


@pytest.mark.parametrize(
    ("a", "b", "expected"),
    [
        ({"package_name": "x"}, {"package_name": "x"}, Relation.SAME),
        ({}, {"package_name": "x"}, Relation.COVERS),
        ({"package_name": "x"}, {}, Relation.COVERED),
        ({"package_name": "x"}, {"package_name": "y"}, Relation.DISJOINT),
        ({"package_version": "7.*"}, {"package_version": "7.1.*"}, Relation.COVERS),
        ({"package_version": "7.*"}, {"package_version": "7.1.2"}, Relation.COVERS),
        ({"package_version": "7.1.2"}, {"package_version": "7.*"}, Relation.COVERED),
        ({"package_version": "7.*"}, {"package_version": "70.*"}, Relation.DISJOINT),
        ({"package_version": "1.0"}, {"package_version": "1.0.0"}, Relation.DISJOINT),
        ({"cvss_score_cmp": ">=7"}, {"cvss_score_cmp": ">=9"}, Relation.COVERS),
        ({"cvss_score_cmp": ">=7"}, {"cvss_score_cmp": "==7"}, Relation.COVERS),
        ({"cvss_score_cmp": ">7"}, {"cvss_score_cmp": "==7"}, Relation.DISJOINT),
        ({"cvss_score_cmp": ">=7"}, {"cvss_score_cmp": "<=7"}, Relation.OVERLAPS),
        ({"cvss_score_cmp": ">=7"}, {"cvss_score_cmp": "<7"}, Relation.DISJOINT),
        ({"cvss_score_cmp": ">=10"}, {"cvss_score_cmp": "==10"}, Relation.SAME),
        ({"package_name": "x"}, {"alert_type": "cve"}, Relation.OVERLAPS),
        ({"package_name": "x", "kevs": "exist"}, {"package_name": "x", "kevs": "none"},
         Relation.DISJOINT),
    ],
)  # fmt: skip
def test_relation_between_selectors(
    a: dict[str, str], b: dict[str, str], expected: Relation
) -> None:
    assert relation(Selector.from_snake(a), Selector.from_snake(b)) is expected


def test_cvss_interval_bounds() -> None:
    assert Decimal(0) in interval("<=0") and Decimal("0.1") not in interval("<=0")
    assert Decimal(10) in interval(">9.9") and Decimal("9.9") not in interval(">9.9")


@pytest.mark.parametrize(
    ("arguments", "message"),
    [
        ({"purl": "pkg:npm/lodash@4.*"}, "an alert has one concrete version"),
        ({"purl": "pkg:npm/lodash", "package_name": "x"}, "either as a purl or as package"),
        ({"purl": "npm/lodash"}, "is not a valid purl"),
        ({"alert_type": "*"}, "an alert has a concrete value"),
        ({"reachability": "maybe"}, "choose one of reachable, unreachable, other"),
        ({"cvss": "11"}, "a CVSS score is a number from 0 to 10"),
        ({"cvss": "high"}, "a CVSS score is a number from 0 to 10"),
        ({"package_name": "lodash\x1b[2J"}, "control character"),
    ],
)
def test_bad_alert_descriptions_are_refused(arguments: dict[str, str], message: str) -> None:
    with pytest.raises(UsageError, match=message):
        describe_alert(**arguments)  # type: ignore[arg-type]


def test_purl_and_flags_become_facts() -> None:
    alert = describe_alert(
        purl="pkg:npm/%40babel/traverse@7.23.2",
        fix_available=False,
        patch_available=True,
        kev=True,
        cvss=9.3,
    )
    assert alert.to_dict() == {
        "package_type": "npm",
        "package_namespace": "@babel",
        "package_name": "traverse",
        "package_version": "7.23.2",
        "fix_available": "unavailable",
        "patch_available": "available",
        "kevs": "exist",
        "cvss_score": "9.3",
    }
