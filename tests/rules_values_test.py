"""Values in rule files: what is refused, what is warned about, and what a value means."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest

from reconciler.errors import ConfigError, Diagnostic
from reconciler.rules import loader
from reconciler.rules.textcheck import MISSING_NOTE
from reconciler.triage.plan import diff
from reconciler.vocab.triage.selector import LiveRule, Selector

TODAY = dt.date(2026, 11, 28)
RULE = "  - {package_name: lodash, state: ignore, note: n}\n"


def load(tmp_path: Path, text: str) -> tuple[str, list[Diagnostic], list[str]]:
    """(path, warnings, errors) of loading ``text`` as one rule file."""
    path = tmp_path / "r.yaml"
    path.write_text(text, encoding="utf-8")
    try:
        ruleset = loader.load([str(path)], today=TODAY)
    except ConfigError as exc:
        errors = [str(d).removeprefix(f"{path}:") for d in exc.diagnostics if d.severity == "error"]
        return str(path), [], errors
    return str(path), list(ruleset.warnings), []


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("org: acme\nsafety: {max_change_percent: .nan}\n", "2:30: .nan is not a finite number"),
        ("org: acme\nsafety: {max_change_percent: .inf}\n", "2:30: .inf is not a finite number"),
        ("org: acme\nsafety: {min_existing: -.Inf}\n", "2:24: -.Inf is not a finite number"),
        (
            "org: acme\nsafety:\n  max_change_percent: 1.0e+999\n",
            "3:23: 1.0e+999 is not a finite number",
        ),
        ("org: acme\nx: [.NaN]\n", "2:5: .NaN is not a finite number"),
        (
            f"org: acme\nrules:\n{RULE}  - {{package_name: b, state: warn, note: .nan}}\n",
            "4:42: .nan is not a finite number",
        ),
    ],
)
def test_every_non_finite_number_is_refused_once_where_it_is(
    tmp_path: Path, text: str, expected: str
) -> None:
    errors = load(tmp_path, text)[2]
    assert expected in errors
    line_col = expected.split(": ", maxsplit=1)[0]
    assert [e for e in errors if e.startswith(f"{line_col}:")] == [expected]  # one per value


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ('package_name: "lo\\0dash"', "package_name: contains the control character U+0000"),
        ('package_name: "lodash\\a"', "package_name: contains the control character U+0007"),
        ('alert_key: "k\\e[31m"', "alert_key: contains the control character U+001B"),
        ('package_name: "lodash\\t"', "package_name: contains the control character U+0009"),
        (
            "package_name: |\n      lodash\n   ",
            "package_name: contains the control character U+000A",
        ),
        ('owner: "team\\u202e"', "owner: contains the control character U+202E"),
        ('ticket: "SEC-1\\x9b"', "ticket: contains the control character U+009B"),
        ('package: "pkg:npm/lo%00dash"', "package: contains the control character U+0000"),
        ('note: "why\\rnot"', "note: contains the control character U+000D"),
        ('note: "why\\0"', "note: contains the control character U+0000"),
    ],
)
def test_control_characters_are_refused_in_names_and_notes(
    tmp_path: Path, value: str, expected: str
) -> None:
    text = f"org: acme\nrules:\n  - state: ignore\n    alert_type: cve\n    {value}\n"
    if "note:" not in value:
        text += "    note: n\n"
    errors = load(tmp_path, text)[2]
    assert any(e.startswith("5:") and expected in e for e in errors), errors


def test_a_note_may_hold_tabs_and_line_breaks(tmp_path: Path) -> None:
    text = "org: acme\nrules:\n  - package_name: x\n    state: warn\n    note: |\n      a\tb\n"
    assert load(tmp_path, text)[1:] == ([], [])


def test_a_control_character_in_the_org_is_refused(tmp_path: Path) -> None:
    assert (
        "1:6: org: contains the control character U+000A; remove it"
        in load(tmp_path, 'org: "acme\\n"\nrules: []\n')[2]
    )


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("package: 'pkg:npm/lodash@1*2'", "3:15: package: 'pkg:npm/lodash@1*2' has a '*' before"),
        ("package_version: '1*2'", "3:23: package_version: '1*2' has a '*' before the end"),
        ("cvss_score_cmp: '>=٧'", "3:22: cvss_score_cmp: '>=٧' is not a comparison"),
        ("cvss_score_cmp: '>=７'", "3:22: cvss_score_cmp: '>=７' is not a comparison"),
        ("expires: '٢٠٢٧-٠١-٠١'", "3:15: expires: '٢٠٢٧-٠١-٠١' is not a date written YYYY-MM-DD"),
    ],
)
def test_wildcards_and_digits_are_checked_in_every_spelling(
    tmp_path: Path, value: str, expected: str
) -> None:
    text = f"org: acme\nrules:\n  - {{{value}, package_name: x, state: ignore, note: n}}\n"
    if value.startswith("package:"):
        text = text.replace(", package_name: x", "")
    (error,) = load(tmp_path, text)[2]  # one error, from the schema or a check, never both
    assert error.startswith(expected)


def test_the_trailer_marker_is_refused_in_a_note(tmp_path: Path) -> None:
    text = "org: acme\nrules:\n  - {package_name: x, state: ignore, note: 'see [socket-triage]'}\n"
    (error,) = load(tmp_path, text)[2]
    assert error.startswith("3:44: note: contains [socket-triage], which socket-triage reserves")


def test_exports_todo_placeholder_is_a_warning(tmp_path: Path) -> None:
    text = f"org: acme\nrules:\n  - {{package_name: x, state: ignore, note: '{MISSING_NOTE}'}}\n"
    path, warnings, errors = load(tmp_path, text)
    assert errors == []
    assert [str(w) for w in warnings] == [
        f"{path}:3:44: warning: note: still the TODO placeholder from export; say why this rule "
        "exists"
    ]


def test_the_purl_keeps_the_spelling_so_switching_notation_changes_nothing(
    tmp_path: Path,
) -> None:
    text = (
        "org: acme\nrules:\n"
        "  - {package: 'pkg:pypi/PyYAML@6.*', state: ignore, note: n}\n"
        "  - {package: 'pkg:npm/%40Babel/Traverse', state: warn, note: n}\n"
        "  - {package: 'pkg:pypi/Foo_Bar.baz', state: warn, note: n}\n"
    )
    path = tmp_path / "r.yaml"
    path.write_text(text)
    rules = loader.load([str(path)], today=TODAY).orgs["acme"].rules
    assert [r.selector for r in rules] == [
        Selector(package_type="pypi", package_name="PyYAML", package_version="6.*"),
        Selector(package_type="npm", package_namespace="@Babel", package_name="Traverse"),
        Selector(package_type="pypi", package_name="Foo_Bar.baz"),
    ]
    live = [
        LiveRule.from_get({**r.selector.to_snake(), "uuid": f"u{i}", "state": r.state, "note": "n"})
        for i, r in enumerate(rules)
    ]
    assert diff("acme", rules, live, today=TODAY).summary()["unchanged"] == 3


def test_two_spellings_of_one_package_are_a_warning(tmp_path: Path) -> None:
    text = (
        "org: acme\nrules:\n"
        "  - {package: 'pkg:pypi/pyyaml', state: ignore, note: n}\n"
        "  - {package_type: pypi, package_name: PyYAML, state: ignore, note: n}\n"
    )
    path, warnings, _ = load(tmp_path, text)
    assert [str(w) for w in warnings] == [
        f"{path}:4:5: warning: same package as {path}:3:5 once spelt as the purl spec normalises "
        "it (pypi/pyyaml and pypi/PyYAML); socket-triage compares names as written, so these are "
        "two rules"
    ]


def test_schema_and_semantic_errors_of_one_rule_come_in_one_run(tmp_path: Path) -> None:
    text = (
        "org: acme\nrules:\n"
        "  - {package_name: x, state: ignor, note: n, expires: 2027-02-30, alert_type: highCVE}\n"
    )
    path = tmp_path / "r.yaml"
    path.write_text(text)
    with pytest.raises(ConfigError) as info:
        loader.load([str(path)], today=TODAY)
    assert [str(d).removeprefix(f"{path}:") for d in info.value.diagnostics] == [
        "3:30: state: 'ignor' is not one of block, warn, monitor, ignore, inherit "
        "(did you mean 'ignore'?)",
        "3:55: expires: '2027-02-30' is not a valid date",
        "3:79: warning: alert_type: 'highCVE' is not a known Socket alert type "
        "(did you mean 'cve'?)",
    ]


@pytest.mark.parametrize(
    ("line", "expected"),
    [
        ("cvss_score_cmp: >=7", "(a value that starts with '>' must be quoted: '>=7')"),
        ("package_namespace: @babel", "(a value that starts with '@' must be quoted: '@babel')"),
        ("kevs: no", "(YAML reads no as a boolean; quote it to keep it text: 'no')"),
        (
            "package_version: 1.10",
            "(YAML reads 1.10 as a number; quote it to keep it text: '1.10')",
        ),
        ("alert_key: off", "(YAML reads off as a boolean; quote it to keep it text: 'off')"),
    ],
)
def test_yaml_traps_get_a_hint_to_quote(tmp_path: Path, line: str, expected: str) -> None:
    text = f"org: acme\nrules:\n  - package_name: x\n    {line}\n    state: warn\n    note: n\n"
    (error,) = load(tmp_path, text)[2]
    assert error.startswith("4:") and error.endswith(expected), error
