"""The fast paths of reading rule files: each must give what the careful path gives."""

from __future__ import annotations

import dataclasses
import datetime as dt
import pickle
from collections.abc import Callable

import pytest
import yaml
from yaml.nodes import MappingNode, ScalarNode, SequenceNode

from reconciler.errors import Location
from reconciler.rules import rulefile, yamlnodes
from reconciler.rules.model import Rule
from reconciler.rules.yamlnodes import pack
from reconciler.vocab.triage.selector import LiveRule, Selector

TODAY = dt.date(2026, 11, 28)
SCALARS = [
    *("", "~", "null", "Null", "NULL", "nope", "npm", "n", "no", "No", "off", "on", "y"),
    *("yes", "true", "True", "tRUE", "false", "0", "07", "0x1f", "0o17", "0b101", "1_000"),
    *("-1", "+1", "1.10", ".5", "-.inf", ".NaN", "1e3", "6.8523015e+5", "190:20:30"),
    *("2027-03-01", "2027-03-01t10:00:00Z", "<<", "=", "pkg-1", "block", ">=7.5", "7.*"),
]


@pytest.mark.parametrize("value", SCALARS)
@pytest.mark.parametrize("implicit", [(True, False), (False, True), (False, False)])
def test_resolving_a_scalar_gives_pyyamls_tag(value: str, implicit: tuple[bool, bool]) -> None:
    careful: Callable[..., str] = yaml.SafeLoader("").resolve  # PyYAML's own, pure Python
    assert yamlnodes._Loader("").resolve(ScalarNode, value, implicit) == careful(
        ScalarNode, value, implicit
    )


def test_resolving_collections_gives_pyyamls_tags() -> None:
    fast = yamlnodes._Loader("")
    careful: Callable[..., str] = yaml.SafeLoader("").resolve
    for kind in (SequenceNode, MappingNode):
        assert fast.resolve(kind, None, (True, False)) == careful(kind, None, (True, False))
    # ``resolve`` looks resolvers up by first character only; one for any character would be
    # missed, and path resolvers would need the descend/ascend calls the fast loader skips.
    assert None not in yaml.SafeLoader.yaml_implicit_resolvers
    assert not yaml.SafeLoader.yaml_path_resolvers


def test_positions_are_found_when_asked() -> None:
    doc = yamlnodes.read("org: acme\nrules:\n  - {state: block,  note: n}\n  - [a,  b]\n")
    rules = doc.root["rules"]
    assert doc.root.fields == {"org": (pack(1, 1), pack(1, 6)), "rules": (pack(2, 1), pack(3, 3))}
    assert rules.item_pos == [pack(3, 5), pack(4, 5)]
    assert rules[0].key_pos("note") == pack(3, 21) and rules[0].value_pos("note") == pack(3, 27)
    assert rules[0].value_pos("absent") == rules[0].pos == pack(3, 5)
    assert rules[1].item_pos == [pack(4, 6), pack(4, 10)]


def test_a_key_written_three_times_says_where_the_one_before_was() -> None:
    doc = yamlnodes.read("a: 1\nb: 2\na: 3\na: 4\n")
    assert [(yamlnodes.unpack(p.pos), p.message) for p in doc.problems] == [
        ((3, 1), "duplicate key 'a' (first on line 1)"),
        ((4, 1), "duplicate key 'a' (first on line 3)"),
    ]
    assert doc.root == {"a": 4, "b": 2} and doc.root.value_pos("a") == pack(4, 4)


def test_every_string_value_is_collected_for_the_control_character_search() -> None:
    text = (
        "base: &b {name: x, note: p}\n"
        "list: [i, 2, *b]\n"
        "merged: {<<: *b, owner: o}\n"
        "note: top\n"
        "when: 2027-03-01\n"
    )
    doc = yamlnodes.read(text, frozenset({"note"}))
    assert sorted(set(doc.names)) == ["2027-03-01", "i", "o", "x"]
    assert sorted(set(doc.prose)) == ["p", "top"]


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ('[a, "b\\e"]', "4:20: item: contains"),
        ('{x: "b\\e"}', "4:20: x: contains"),
        ('&a "b\\e"', "4:16: alert_key: contains"),
    ],
)
def test_a_control_character_anywhere_is_refused_where_it_is(value: str, expected: str) -> None:
    text = f"org: acme\nrules:\n  - package_name: x\n    alert_key: {value}\n"
    _, diagnostics = rulefile.parse("r.yaml", text + "    state: block\n    note: n\n", TODAY)
    found = [str(d) for d in diagnostics if "control character" in d.message]
    assert found == [f"r.yaml:{expected} the control character U+001B; remove it"]


def test_a_tab_is_prose_in_a_note_but_not_in_a_name() -> None:
    text = 'org: acme\nrules:\n  - {package_name: "a\\tb", state: block, note: "x\\ty"}\n'
    _, diagnostics = rulefile.parse("r.yaml", text, TODAY)
    assert [str(d) for d in diagnostics] == [
        "r.yaml:3:20: package_name: contains the control character U+0009; remove it"
    ]


@pytest.mark.parametrize("tag", ["!!int", "!!float", "!!bool"])
def test_an_empty_typed_scalar_is_an_error_not_a_crash(tag: str) -> None:
    text = f"org: acme\nrules:\n  - state: {tag}\n    note: n\n    package_name: x\n"
    _, diagnostics = rulefile.parse("r.yaml", text, TODAY)
    assert [str(d) for d in diagnostics] == [
        "r.yaml:3:12: state: '' is not one of block, warn, monitor, ignore, inherit"
    ]


def test_repeated_text_is_normalised_per_field_and_shared() -> None:
    text = (
        "org: acme\nrules:\n"
        "  - {alert_key: '>= 7', cvss_score_cmp: '>= 7', state: block, note: n}\n"
        "  - {alert_key: k, package_name: '*', alert_type: cve, state: warn, note: n}\n"
        "  - {alert_key: '*', package_name: '>= 7', alert_type: cve, state: warn, note: n,"
        " broad: true}\n"
    )
    result, diagnostics = rulefile.parse("r.yaml", text, TODAY)
    assert not [d for d in diagnostics if d.severity == "error"]
    first, second, third = (rule.selector for rule in result.rules)
    assert (first.alert_key, first.cvss_score_cmp) == (">= 7", ">=7")
    assert (second.package_name, third.alert_key, third.package_name) == (None, None, ">= 7")
    assert second.alert_type is third.alert_type
    assert result.rules[1].state is result.rules[2].state


def test_rules_and_live_rules_hold_no_attribute_dict_and_still_copy() -> None:
    rule = Rule("acme", Selector(package_name="x"), "block", "n", location=Location("f", 1, 2))
    live = LiveRule("u", Selector(package_name="x"), "block", "n", org="acme")
    for value in (rule, live):
        assert not hasattr(value, "__dict__")
        assert pickle.loads(pickle.dumps(value)) == value
    assert dataclasses.replace(rule, note="m").note == "m"
    with pytest.raises(dataclasses.FrozenInstanceError):
        rule.note = "m"  # type: ignore[misc]
