"""The loader: rule files -> RuleSet, and every problem as FILE:LINE:COL: message."""

from __future__ import annotations

import datetime as dt
import re
from pathlib import Path

import pytest
import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from schemacheck import agrees_with_jsonschema

from reconciler.errors import ConfigError, Location
from reconciler.rules import loader, ruleschema, yamlnodes
from reconciler.rules.safety import SafetyPolicy
from reconciler.vocab.triage.selector import Selector
from reconciler.vocab.triage.wire import CVSS_CMP_RE

ROOT = Path(__file__).resolve().parent.parent
FIXTURES = "tests/fixtures"
TODAY = dt.date(2026, 11, 28)


def errors_of(paths: list[str], today: dt.date = TODAY) -> list[str]:
    with pytest.raises(ConfigError) as info:
        loader.load(paths, today=today)
    return [str(d) for d in info.value.diagnostics]


def write(tmp_path: Path, name: str, text: str) -> str:
    path = tmp_path / name
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)
    return str(path)


@pytest.fixture(autouse=True)
def _in_repo(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(ROOT)  # fixture paths are relative, as users give them


def test_examples_load_with_no_warnings() -> None:
    ruleset = loader.load(["examples/triage"], today=TODAY)
    assert ruleset.warnings == ()
    assert list(ruleset.orgs) == ["acme"]
    acme = ruleset.orgs["acme"]
    assert (acme.prune, acme.safety) == (True, SafetyPolicy(30.0, 10))
    assert len(acme.rules) == ruleset.rule_count == 15
    assert acme.files == ruleset.files
    assert ruleset.files[0] == "examples/triage/go.yaml"  # sorted walk, relative paths kept
    first = acme.rules[0]
    assert first.location == Location("examples/triage/go.yaml", 7, 5)
    assert first.selector.purl() == "golang/golang.org/x/net@0.*"


BAD = {
    "bad-syntax": "4:10: YAML syntax error: while parsing a flow sequence, "
    "did not find expected ',' or ']'",
    "bad-duplicate-key": "6:5: duplicate key 'state' (first on line 4)",
    "bad-wrong-type": "4:22: package_version: expected a string, got the number 7 "
    "(YAML reads 7 as a number; quote it to keep it text: '7')",
    "bad-yaml-boolean": "5:11: note: expected a string, got the boolean false "
    "(YAML reads no as a boolean; quote it to keep it text: 'no')",
    "bad-rules-not-list": "3:3: rules: expected a list, got a mapping",
    "bad-rule-not-mapping": "3:5: rule: expected a mapping, got 'lodash'",
    "bad-unknown-field": "3:5: unknown field 'packge_name' (did you mean 'package_name'?)",
    "bad-state": "4:12: state: 'ignor' is not one of block, warn, monitor, ignore, inherit "
    "(did you mean 'ignore'?)",
    "bad-reachability": "4:19: reachability: 'maybe' is not one of reachable, unreachable, "
    "other, *",
    "bad-fix-available": "4:20: fix_available: expected a string, got the boolean true "
    "(YAML reads yes as a boolean; quote it to keep it text: 'yes')",
    "bad-patch-available": "4:22: patch_available: 'availble' is not one of available, "
    "unavailable, * (did you mean 'available'?)",
    "bad-kevs": "4:11: kevs: 'exists' is not one of exist, none, * (did you mean 'exist'?)",
    "bad-cvss": "4:21: cvss_score_cmp: '11' is not a comparison: give an operator "
    "(>=, <=, >, <, ==) and a score from 0 to 10, e.g. '>=7.5'",
    "bad-expires": "6:14: expires: '2027-02-30' is not a valid date",
    "bad-expires-format": "6:14: expires: 'next spring' is not a date written YYYY-MM-DD",
    "bad-purl": "3:14: package: 'pkg:/lodash' is not a valid purl: purl is missing the "
    "required type component: 'pkg:/lodash'.",
    "bad-purl-mixed": "3:5: package: give either a purl or package_* fields, not both "
    "(also has package_name)",
    "bad-purl-qualifiers": "3:14: package: 'pkg:npm/lodash@4.17.21?arch=x64' has qualifiers "
    "or a subpath, which rules cannot match",
    "bad-version-star": "4:22: package_version: '4.*.1' has a '*' before the end; '*' is "
    "allowed only as a suffix, e.g. '7.*'",
    "bad-broad": "3:5: broad rule: no alert_key and no package_name, so it applies across "
    "packages; add 'broad: true' to confirm",
    "bad-duplicate-selector": "7:5: same selector as "
    "tests/fixtures/bad-duplicate-selector.yaml:3:5",
    "bad-missing-org": "1:1: missing required field 'org'",
    "bad-missing-state": "3:5: missing required field 'state'",
    "bad-missing-note": "3:5: missing required field 'note'",
    "bad-blank-note": "5:11: note: '   ' is blank; say why",
    "bad-empty": "1:1: empty rule file",
    "bad-not-mapping": "1:1: a rule file must be a mapping with 'org' and 'rules'",
    "bad-org": "1:6: org: 'acme corp' is not an org slug (letters, digits, '.', '_' or '-', "
    "starting with a letter or digit)",
    "bad-non-finite": "3:23: .nan is not a finite number",
    "bad-marker-note": "5:11: note: contains [socket-triage], which socket-triage reserves for "
    "the trailer it appends to every note; reword the note",
    "bad-control-character": "3:19: package_name: contains the control character U+001B; remove it",
    "bad-purl-version-star": "3:14: package: 'pkg:npm/lodash@1*2' has a '*' before the end of "
    "its version; '*' is allowed only as a suffix, e.g. '7.*'",
    "bad-cvss-digits": "4:21: cvss_score_cmp: '>=٧' is not a comparison: give an operator "
    "(>=, <=, >, <, ==) and a score from 0 to 10, e.g. '>=7.5'",
    "bad-unquoted-cmp": "4:22: YAML syntax error: while scanning a block scalar, did not find "
    "expected comment or line break (a value that starts with '>' must be quoted: '>=7')",
    "bad-tab-indent": "5:1: YAML syntax error: tabs are not allowed for indentation; indent "
    "with spaces",
}


@pytest.mark.parametrize(("name", "expected"), sorted(BAD.items()))
def test_each_bad_fixture_gives_its_one_exact_error(name: str, expected: str) -> None:
    path = f"{FIXTURES}/{name}.yaml"
    assert errors_of([path]) == [f"{path}:{expected}"]


def test_every_bad_fixture_is_covered() -> None:
    on_disk = {p.stem for p in (ROOT / FIXTURES).glob("bad-*.yaml")}
    assert on_disk == {*BAD, "bad-many", "bad-defaults-field", "bad-safety"}


@pytest.mark.parametrize(
    ("name", "expected"),
    [
        (
            "bad-defaults-field",
            ["4:3: 'broad' cannot be set in defaults; give it on each rule", "6:5: broad rule"],
        ),
        (
            "bad-safety",
            [
                "3:23: safety.max_change_percent: the number 150 must be at most 100",
                "4:17: safety.min_existing: expected an integer, got 'ten'",
            ],
        ),
        (
            "bad-many",
            ["4:12: state: 'ignor' is not one of", "6:5: unknown field", "9:5: missing required"],
        ),
    ],
)
def test_one_run_reports_every_error_in_line_order(name: str, expected: list[str]) -> None:
    path = f"{FIXTURES}/{name}.yaml"
    found = errors_of([path])
    assert len(found) == len(expected)
    for line, start in zip(found, expected, strict=True):
        assert line.startswith(f"{path}:{start}")


def test_errors_from_several_files_are_sorted_by_file_and_line() -> None:
    paths = [f"{FIXTURES}/bad-state.yaml", f"{FIXTURES}/bad-broad.yaml", "examples/triage"]
    found = errors_of(paths)
    assert [line.split(": ")[0] for line in found] == [
        "tests/fixtures/bad-broad.yaml:3:5",
        "tests/fixtures/bad-state.yaml:4:12",
    ]


@pytest.mark.parametrize(
    "path", sorted(str(p) for d in (FIXTURES, "examples") for p in (ROOT / d).glob("**/*.yaml"))
)
def test_the_schema_check_agrees_with_jsonschema_on_every_file(path: str) -> None:
    doc = yamlnodes.read(Path(path).read_text())
    if isinstance(doc.root, yamlnodes.YMap) and not doc.problems:  # .nan is not JSON
        assert agrees_with_jsonschema(doc.root)


def test_a_final_newline_is_one_control_character_error_not_a_pattern_error(
    tmp_path: Path,
) -> None:
    # The schema's patterns keep Python's "$" (it also matches before a final newline), as
    # jsonschema read them; jsonschema-rs's does not, and the newline already has its message.
    path = write(tmp_path, "r.yaml", 'org: "acme\\n"\nrules: []\n')
    assert errors_of([path]) == [
        f"{path}:1:6: org: contains the control character U+000A; remove it"
    ]


def test_schema_describes_every_field_and_uses_the_wire_cvss_pattern() -> None:
    schema = ruleschema.schema()
    rule = schema["$defs"]["rule"]["properties"]
    for props in (schema["properties"], rule, schema["properties"]["safety"]["properties"]):
        assert all(sub.get("description") for sub in props.values())
    assert rule["cvss_score_cmp"]["pattern"] == r"^\*?$|" + CVSS_CMP_RE.pattern


def test_purl_shorthand_and_defaults_build_the_same_selector(tmp_path: Path) -> None:
    path = write(
        tmp_path,
        "a.yaml",
        "org: acme\ndefaults: {package_type: pypi, package_name: other, owner: team}\nrules:\n"
        "  - {package: 'pkg:npm/%40babel/traverse@7.*', state: ignore, note: n}\n"
        "  - {package_name: own, reachability: '', state: warn, note: n, owner: me}\n",
    )
    purl_rule, own_rule = loader.load([path], today=TODAY).orgs["acme"].rules
    assert purl_rule.selector == Selector("npm", "@babel", "traverse", "7.*")
    assert purl_rule.owner == "team"
    assert own_rule.selector == Selector("pypi", None, "own")
    assert own_rule.owner == "me"


def test_orgs_side_by_side_and_policy_agreement(tmp_path: Path) -> None:
    write(tmp_path, "b/beta.yml", "org: beta\nprune: false\nsafety: {min_existing: 3}\n")
    write(tmp_path, "a/acme.yaml", "org: acme\nrules: []\n")
    write(tmp_path, ".hidden/x.yaml", "not: a rule file\n")
    ruleset = loader.load([str(tmp_path)], today=TODAY)
    assert list(ruleset.orgs) == ["acme", "beta"]
    assert ruleset.orgs["beta"].prune is False
    assert ruleset.orgs["beta"].safety == SafetyPolicy(30.0, 3)


@pytest.mark.parametrize(
    ("first", "second", "message"),
    [
        ("prune: true", "prune: false", "prune for org 'acme' differs from the setting at"),
        ("safety: {min_existing: 1}", "safety: {min_existing: 2}", "safety for org 'acme' differs"),
        (
            "rules: [{package_name: x, state: warn, note: a}]",
            "rules: [{package_name: x, alert_type: '*', state: block, note: b}]",
            "same selector as",
        ),
    ],
)
def test_conflicts_across_files_point_at_both_places(
    tmp_path: Path, first: str, second: str, message: str
) -> None:
    a = write(tmp_path, "a.yaml", f"org: acme\n{first}\n")
    b = write(tmp_path, "b.yaml", f"org: acme\n{second}\n")
    (found,) = errors_of([a, b])
    assert found.startswith(f"{b}:2:")
    assert message in found
    assert f"{a}:2:" in found


def test_missing_paths_and_empty_directories_are_one_line_each(tmp_path: Path) -> None:
    (tmp_path / "empty").mkdir()
    missing = str(tmp_path / "nope.yaml")
    assert errors_of([missing, str(tmp_path / "empty")]) == [
        f"{tmp_path / 'empty'}: no *.yaml or *.yml rule files in directory",
        f"{missing}: no such file or directory",
    ]


def test_a_file_named_twice_is_read_once() -> None:
    path = "examples/triage/npm.yaml"
    assert loader.load([path, "examples/triage"], today=TODAY).files.count(path) == 1


WARN_RULES = """org: acme
rules:
  - {package_name: a, alert_type: highCVE, state: ignore, note: n}
  - {package_name: b, package_type: rubygems, state: ignore, note: n}
  - {package_name: c, state: ignore, note: n, expires: 2026-12-05}
  - {package_name: d, state: ignore, note: n, expires: 2026-11-01}
  - {package_name: e, state: ignore, note: n, expires: 2026-12-13}
"""


def test_warnings_do_not_fail_and_keep_expired_rules(tmp_path: Path) -> None:
    path = write(tmp_path, "w.yaml", WARN_RULES)
    ruleset = loader.load([path], today=TODAY)
    assert [str(w).removeprefix(f"{path}:") for w in ruleset.warnings] == [
        "3:35: warning: alert_type: 'highCVE' is not a known Socket alert type "
        "(did you mean 'cve'?)",
        "4:37: warning: package_type: 'rubygems' is not a known Socket package type "
        "(did you mean 'gem'?)",
        "5:5: warning: rule expires on 2026-12-05 (in 7 days)",
        "6:5: warning: rule expired on 2026-11-01; it counts as removed",
    ]
    rules = ruleset.orgs["acme"].rules
    assert len(rules) == 5
    assert rules[3].is_expired(TODAY)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("org: acme\nrules:\n  - {package_name: x, kevs: none, state: warn, note: n}\n", "none"),
        ("org: acme\nrules:\n  - {package_name: 'on', state: warn, note: n}\n", None),
        (
            "org: acme\nx: &base {package_name: x, state: warn}\n"
            "rules:\n  - {<<: *base, note: n}\n",
            "unknown field 'x'",
        ),
    ],
)
def test_yaml_values_keep_their_text(tmp_path: Path, text: str, expected: str | None) -> None:
    path = write(tmp_path, "y.yaml", text)
    if expected == "none":
        (rule,) = loader.load([path], today=TODAY).orgs["acme"].rules
        assert rule.selector.kevs == "none"
    elif expected is None:
        (rule,) = loader.load([path], today=TODAY).orgs["acme"].rules
        assert rule.selector.package_name == "on"
    else:
        assert errors_of([path]) == [f"{path}:2:1: {expected}"]


def test_yaml_merge_keys_work_and_duplicates_after_merge_are_fine(tmp_path: Path) -> None:
    path = write(
        tmp_path,
        "m.yaml",
        "org: acme\ndefaults: &d {package_type: npm}\nrules:\n"
        "  - {<<: *d, package_type: pypi, package_name: x, state: warn, note: n}\n",
    )
    (rule,) = loader.load([path], today=TODAY).orgs["acme"].rules
    assert rule.selector.package_type == "pypi"


@pytest.mark.parametrize(
    ("data", "expected"),
    [
        (b"org: acme\nrules: &r [*r]\n", "2:8: a YAML alias refers to itself"),
        (b"org: acme\xff\n", "1:10: not UTF-8 text"),
        (b"org: acme\n---\norg: beta\n", "2:1: YAML syntax error: expected a single document"),
        (b"org: acme\nrules: !!set {a}\n", "2:8: unsupported YAML tag"),
        (b"org: acme\n[a]: b\n", "2:1: mapping keys must be plain strings"),
        (b"org: acme\x01\n", "1:10: YAML error"),
    ],
)
def test_yaml_traps_are_errors_not_tracebacks(tmp_path: Path, data: bytes, expected: str) -> None:
    path = tmp_path / "t.yaml"
    path.write_bytes(data)
    found = errors_of([str(path)])
    assert any(line.startswith(f"{path}:{expected}") for line in found), found


def test_alias_bombs_are_refused(tmp_path: Path) -> None:
    lines = ["org: acme", "a0: &a0 [x, x, x, x, x, x, x, x, x, x]"]
    lines += [f"a{i}: &a{i} [{', '.join([f'*a{i - 1}'] * 10)}]" for i in range(1, 9)]
    path = write(tmp_path, "bomb.yaml", "\n".join(lines) + "\n")
    found = errors_of([path])
    assert any(re.search(r"expands too far through aliases", line) for line in found)


# --- No input ever produces a traceback -------------------------------------------------------


EXAMPLE_TEXTS = [p.read_text() for p in sorted((ROOT / "examples/triage").glob("*.yaml"))]
YAML_BITS = [*":-[]{}&*!|>'\"#%@,?\n \t", "<<: *a", "&a ", "!!set ", "\n  - ", "yes", "~"]
FUZZ = settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])


def load_outcome(directory: Path, data: bytes) -> str:
    path = directory / "fuzz.yaml"
    path.write_bytes(data)
    try:
        loader.load([str(path)], today=TODAY)
    except ConfigError as exc:
        assert exc.diagnostics, "a ConfigError always says why"
        return "error"
    return "ok"


@st.composite
def mutated_examples(draw: st.DrawFn) -> str:
    text = draw(st.sampled_from(EXAMPLE_TEXTS))
    for _ in range(draw(st.integers(1, 4))):
        at = draw(st.integers(0, len(text)))
        cut = draw(st.integers(0, 12))
        bit = draw(st.sampled_from(["", *YAML_BITS]))
        text = text[:at] + bit + text[at + cut :]
    return text


@FUZZ
@given(data=st.binary(max_size=300) | st.text(max_size=300).map(str.encode))
def test_random_bytes_are_an_error_or_a_ruleset(
    tmp_path_factory: pytest.TempPathFactory, data: bytes
) -> None:
    assert load_outcome(tmp_path_factory.mktemp("fuzz"), data) in ("ok", "error")


@FUZZ
@given(text=mutated_examples())
def test_mutated_examples_are_an_error_or_a_ruleset(
    tmp_path_factory: pytest.TempPathFactory, text: str
) -> None:
    assert load_outcome(tmp_path_factory.mktemp("fuzz"), text.encode()) in ("ok", "error")


FIELD_NAMES = [*ruleschema.rule_fields(), "packge_name", "extra"]
SAMPLE_TEXTS = ["ignore", "ignor", "none", "*", "", ">=7.5", "11", "7.*", "4.*.1", "2027-02-30"]
SAMPLE_TEXTS += ["pkg:npm/x", "2027-06-30", "pkg:/x", "npm", "highCVE", "available", "   "]
SCALARS = (
    st.sampled_from(SAMPLE_TEXTS)
    | st.none()
    | st.booleans()
    | st.integers(-3, 12)
    | st.floats(allow_nan=False)
)
VALUES = (
    SCALARS
    | st.lists(SCALARS, max_size=2)
    | st.dictionaries(st.sampled_from(FIELD_NAMES), SCALARS, max_size=2)
)
RULES = st.lists(st.dictionaries(st.sampled_from(FIELD_NAMES), VALUES, max_size=8), max_size=4)


@FUZZ
@given(rules=RULES, org=st.sampled_from(["acme", "a b", 7]))
def test_the_schema_check_agrees_with_jsonschema_on_random_rules(
    rules: list[dict[str, object]], org: object
) -> None:
    text = yaml.safe_dump({"org": org, "rules": rules})
    assert agrees_with_jsonschema(yamlnodes.read(text).root)
