"""Alert Policies entries in rule files: every contract limit at FILE:LINE:COL, before any call.

One ``tests/fixtures/policies/bad-*.yaml`` per failure mode, each with its exact message; then
what needs several files (a name used twice, conflicting ``target:`` pins, shadowing).
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest
from click.testing import CliRunner

from reconciler.api import TARGETS
from reconciler.cli import cli
from reconciler.errors import ConfigError
from reconciler.rules import loader
from reconciler.vocab.policies.selectors import VigilSelector

ROOT = Path(__file__).resolve().parent.parent
FIXTURES = "tests/fixtures/policies"
TODAY = dt.date(2026, 6, 1)
TRAILER_NOTE = ": a rule's note holds 256 with the provenance trailer the tool adds"
TRAILER_COMMENT = ": a comment holds 1024 with the provenance trailer the tool adds"

CASES = {
    "bad-name-long": "3:11: name must be 1-128 characters (it has 129)",
    "bad-name-empty": "3:11: name must be 1-128 characters (it has 0)",
    "bad-name-missing": "3:5: missing required field 'name'",
    "bad-selector-namespace": "5:18: field 'alertType' is not under finding., location. or "
    "artifact.",
    "bad-selector-repo": "5:22: location.repo is for resolutions only: a rule's repositories "
    "come from its policy",
    "bad-selector-empty": "4:21: vigil_selector is empty: it would match every alert; name a field",
    "bad-selector-in-empty": "5:31: finding.severity: $in needs a non-empty list of strings",
    "bad-selector-number": "6:43: artifact.version: 4.18 must be a string; quote it",
    "bad-selector-operator": "5:25: finding.severity: unsupported operator $gte; a value is a "
    "string or {$in: [strings]}",
    "bad-action": "5:13: action: 'block' is not one of error, warn, monitor, ignore",
    "bad-action-missing": "3:5: a policy rule needs an action (error, warn, monitor, ignore)",
    "bad-action-and-state": "6:12: give either action or state, not both",
    "bad-state-inherit": "5:12: state inherit has no action: the baseline decides; remove the "
    "rule instead",
    "bad-note-long": f"6:11: note must be at most 222 characters (it has 223){TRAILER_NOTE}",
    # Lengths count UTF-16 code units, as a JavaScript server may: an emoji is two.
    "bad-note-emoji": "6:11: note must be at most 222 characters (it has 444 UTF-16 code units, "
    f"as the server may count them; 222 as written){TRAILER_NOTE}",
    "bad-name-emoji": "3:11: name must be 1-128 characters (it has 130 UTF-16 code units, as the "
    "server may count them; 65 as written)",
    "bad-comment-emoji": "4:14: comment must be at most 990 characters (it has 992 UTF-16 code "
    f"units, as the server may count them; 496 as written){TRAILER_COMMENT}",
    # Names are identities: a spelling a server might trim or normalise is refused.
    "bad-name-whitespace": "3:11: name: leading or trailing whitespace, which a server may trim; "
    "remove it",
    "bad-name-nfc": "3:11: name: not in Unicode NFC, which a server may normalise it to; write it "
    "as NFC",
    "bad-policy-whitespace": "6:13: policy: leading or trailing whitespace, which a server may "
    "trim; remove it",
    "bad-selector-whitespace": "3:37: artifact.name: leading or trailing whitespace, which a "
    "server may trim; remove it",
    "bad-note-marker": "6:11: note must not contain [socket-triage]: the tool adds it",
    "bad-policy-expires": "6:14: expires: '2027-02-30' is not a valid date",
    "bad-reason": "4:13: reason: 'wontfix' is not one of false_positive, remediated, "
    "tolerable_risk, other",
    "bad-reason-text-long": "5:18: reason_text must be at most 256 characters (it has 257)",
    "bad-comment-long": f"4:14: comment must be at most 990 characters (it has 991)"
    f"{TRAILER_COMMENT}",
    "bad-resolution-selector-missing": "3:5: missing required field 'vigil_selector'",
    "bad-duplicate-name": "6:5: name 'block malware' is already used in policy default by the "
    f"rule at {FIXTURES}/bad-duplicate-name.yaml:3:5: names identify rules, so each must be "
    "unique per policy",
    "bad-duplicate-resolution": "4:5: same vigil_selector as the resolution at "
    f"{FIXTURES}/bad-duplicate-resolution.yaml:3:5",
    "bad-target-triage": "3:1: policy_rules need the alert-policies target, but this file pins "
    "'target: triage'",
    "bad-target-value": "2:9: target: 'policies' is not one of triage, alert-policies (did you "
    "mean 'alert-policies'?)",
}


@pytest.fixture(autouse=True)
def _in_repo(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(ROOT)


def errors(*paths: str) -> list[str]:
    with pytest.raises(ConfigError) as caught:
        loader.load(list(paths), today=TODAY)
    return [str(d) for d in caught.value.diagnostics if d.severity == "error"]


@pytest.mark.parametrize(("name", "message"), sorted(CASES.items()))
def test_each_limit_is_one_error_at_its_place(name: str, message: str) -> None:
    path = f"{FIXTURES}/{name}.yaml"
    assert errors(path) == [f"{path}:{message}"]


def test_every_fixture_has_its_case() -> None:
    names = {p.stem for p in (ROOT / FIXTURES).glob("bad-*.yaml")}
    assert names == set(CASES)


def test_validate_reports_them_without_a_call_and_exits_1() -> None:
    # No --api-url and no token: validate never connects.
    result = CliRunner().invoke(cli, ["validate", f"{FIXTURES}/bad-selector-repo.yaml"])
    assert result.exit_code == 1
    assert result.stderr.startswith(f"{FIXTURES}/bad-selector-repo.yaml:5:22: error: location.repo")


GOOD = """\
org: acme
target: alert-policies
policy_rules:
  - name: lodash in tests
    vigil_selector:
      artifact.type: npm
      artifact.name: lodash
      finding.alertType: {$in: [cve, mediumCVE]}
    action: ignore
    note: |
      Only used by the test runner.
      Reviewed by security.
    owner: web-team
    ticket: SEC-1
    expires: "2027-01-01"
  - name: payments policy
    policy: payments
    vigil_selector: {finding.severity: critical}
    state: block
resolutions:
  - vigil_selector: {location.repo: acme/docs, artifact.name: marked}
    reason: false_positive
    reason_text: docs site only
    comment: not shipped
"""


def test_a_good_file_loads_into_desired_values(tmp_path: Path) -> None:
    (tmp_path / "acme.yaml").write_text(GOOD)
    org = loader.load([str(tmp_path)], today=TODAY).orgs["acme"]
    assert org.target == "alert-policies"
    first, second = org.policy_rules
    assert (first.name, first.action, first.owner, first.ticket, str(first.expires)) == (
        "lodash in tests",
        "ignore",
        "web-team",
        "SEC-1",
        "2027-01-01",
    )
    assert first.note == "Only used by the test runner.\nReviewed by security."
    assert first.selector == VigilSelector.from_wire(
        {
            "artifact.name": "lodash",
            "artifact.type": "npm",
            "finding.alertType": {"$in": ["mediumCVE", "cve"]},
        }
    )
    assert (second.policy, second.action) == ("payments", "error")  # state: block, mapped
    (res,) = org.resolutions
    assert (res.reason, res.reason_text, res.comment) == (
        "false_positive",
        "docs site only",
        "not shipped",
    )
    assert str(res.location).endswith("acme.yaml:21:5")


def test_shadowed_rules_warn_naming_both_places(tmp_path: Path) -> None:
    (tmp_path / "a.yaml").write_text(
        "org: acme\npolicy_rules:\n"
        "  - name: all cves\n    vigil_selector: {finding.alertType: {$in: [cve, criticalCVE]}}\n"
        "    action: warn\n"
    )
    (tmp_path / "b.yaml").write_text(
        "org: acme\npolicy_rules:\n"
        "  - name: lodash cve\n"
        "    vigil_selector: {finding.alertType: cve, artifact.name: lodash}\n"
        "    action: ignore\n"
    )
    loaded = loader.load([str(tmp_path)], today=TODAY)
    assert [str(w) for w in loaded.warnings] == [
        f"{tmp_path}/b.yaml:3:5: warning: rule 'lodash cve' can never match: rule 'all cves' at "
        f"{tmp_path}/a.yaml:3:5 comes first and its selector covers this one (the first "
        "matching rule decides)"
    ]


def test_the_narrow_rule_first_is_no_shadow(tmp_path: Path) -> None:
    (tmp_path / "a.yaml").write_text(
        "org: acme\npolicy_rules:\n"
        "  - name: lodash cve\n"
        "    vigil_selector: {finding.alertType: cve, artifact.name: lodash}\n"
        "    action: ignore\n"
        "  - name: all cves\n    vigil_selector: {finding.alertType: cve}\n    action: warn\n"
    )
    assert loader.load([str(tmp_path)], today=TODAY).warnings == ()


def test_conflicting_target_pins_name_both_places(tmp_path: Path) -> None:
    (tmp_path / "a.yaml").write_text("org: acme\ntarget: alert-policies\n")
    (tmp_path / "b.yaml").write_text("org: acme\ntarget: triage\n")
    assert errors(str(tmp_path)) == [
        f"{tmp_path}/b.yaml:2:9: target for org 'acme' differs from the setting at "
        f"{tmp_path}/a.yaml:2:9; set it once"
    ]


def test_expired_policy_rules_neither_collide_nor_shadow(tmp_path: Path) -> None:
    (tmp_path / "a.yaml").write_text(
        "org: acme\npolicy_rules:\n"
        "  - name: x\n    vigil_selector: {finding.alertType: cve}\n    action: warn\n"
        "    expires: '2026-01-01'\n"
        "  - name: x\n    vigil_selector: {finding.alertType: cve, artifact.name: y}\n"
        "    action: warn\n"
    )
    loaded = loader.load([str(tmp_path)], today=TODAY)
    assert [w.message for w in loaded.warnings] == [
        "rule expired on 2026-01-01; it counts as removed"
    ]


def test_the_schema_names_the_targets_the_code_uses() -> None:
    from reconciler.rules.ruleschema import schema

    assert tuple(schema()["properties"]["target"]["enum"]) == TARGETS


def test_the_schema_states_the_limits_the_checks_use() -> None:
    from reconciler.rules.ruleschema import schema
    from reconciler.vocab.policies.checks import HUMAN_COMMENT_MAX, HUMAN_NOTE_MAX

    defs = schema()["$defs"]
    assert (
        f"At most {HUMAN_NOTE_MAX} characters"
        in defs["policy_rule"]["properties"]["note"]["description"]
    )
    assert (
        f"at most {HUMAN_COMMENT_MAX} characters"
        in defs["resolution"]["properties"]["comment"]["description"]
    )


def test_the_schema_check_agrees_with_jsonschema_on_policy_fixtures() -> None:
    from schemacheck import agrees_with_jsonschema

    from reconciler.rules import yamlnodes

    for path in sorted((ROOT / FIXTURES).glob("bad-*.yaml")):
        assert agrees_with_jsonschema(yamlnodes.read(path.read_text()).root), path
