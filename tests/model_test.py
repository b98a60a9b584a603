from __future__ import annotations

import pytest

from reconciler.rules.model import Rule
from reconciler.vocab.triage.selector import LiveRule, Selector, normalise, post_to_snake
from reconciler.vocab.triage.wire import CAMEL_TO_SNAKE, SELECTOR_FIELDS, SNAKE_TO_CAMEL


@pytest.mark.parametrize("any_value", [None, "", "*", "  ", " * "])
@pytest.mark.parametrize("field", SELECTOR_FIELDS)
def test_every_spelling_of_any_normalises_to_none(field: str, any_value: str | None) -> None:
    assert normalise(field, any_value) is None


def test_selectors_differing_only_in_any_spelling_are_equal() -> None:
    a = Selector.from_snake({"package_name": "lodash", "kevs": "*", "alert_key": ""})
    b = Selector.from_snake({"package_name": "lodash", "kevs": None, "reachability": "*"})
    assert a == b
    assert hash(a) == hash(b)


def test_cvss_whitespace_is_not_identity() -> None:
    assert normalise("cvss_score_cmp", ">= 7.5") == normalise("cvss_score_cmp", ">=7.5")


@pytest.mark.parametrize(
    ("fields", "broad"),
    [
        ({}, True),
        ({"package_type": "npm"}, True),
        ({"package_name": "x"}, False),
        ({"alert_key": "k"}, False),
    ],
)
def test_broad_means_no_alert_key_and_no_package_name(fields: dict[str, str], broad: bool) -> None:
    assert Selector.from_snake(fields).is_broad is broad


def test_post_form_is_camel_case_with_enum_wildcards_as_star() -> None:
    rule = Rule("acme", Selector(package_type="npm", package_name="lodash"), "ignore", "why")
    entry = rule.to_post("why\n\n[socket-triage] x", uuid="u-1")
    assert entry["uuid"] == "u-1"
    assert entry["packageType"] == "npm"
    assert entry["packageNamespace"] is None
    assert entry["fixAvailable"] == "*"
    assert entry["kevs"] == "*"
    assert set(entry) == set(SNAKE_TO_CAMEL.values())


def test_post_then_get_round_trip_keeps_the_selector() -> None:
    selector = Selector(
        "pypi",
        None,
        "requests",
        "2.*",
        None,
        "criticalCVE",
        "CVE-2023-1",
        "available",
        None,
        "unreachable",
        "none",
        ">=7.5",
    )
    rule = Rule("acme", selector, "warn", "reason")
    as_get = post_to_snake(rule.to_post("reason"))
    live = LiveRule.from_get({**as_get, "uuid": "u", "created_at": "t"})
    assert live.selector == selector
    assert live.state == "warn"
    assert live.human_note == "reason"


def test_get_then_post_round_trip() -> None:
    get: dict[str, str | None] = dict.fromkeys(SELECTOR_FIELDS)
    get.update(package_type="npm", package_name="x", reachability="reachable", fix_available="*")
    live = LiveRule.from_get({**get, "uuid": "u", "state": "block", "note": "n"})
    rule = Rule("acme", live.selector, live.state, live.note)
    post = rule.to_post(live.note)
    assert {CAMEL_TO_SNAKE[k]: v for k, v in post.items() if k in CAMEL_TO_SNAKE} == {
        **dict(live.selector.to_snake().items()),
        "state": "block",
        "note": "n",
    }


def test_describe_names_package_and_set_fields() -> None:
    selector = Selector(
        package_type="npm",
        package_namespace="@babel",
        package_name="traverse",
        package_version="7.*",
        alert_type="criticalCVE",
    )
    assert selector.describe() == "npm/@babel/traverse@7.* alert_type=criticalCVE"
