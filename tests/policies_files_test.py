"""``policies:``: every static check at FILE:LINE:COL through ``validate``, nothing sent.

One ``tests/fixtures/policy-objects/bad-*.yaml`` per failure mode, each with its exact message;
then what needs several files (a name or a slug declared in two files, a rule in one file naming
a policy another declares), and how a good declaration loads.
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest
from click.testing import CliRunner

from reconciler.cli import cli
from reconciler.errors import Location
from reconciler.rules import loader
from reconciler.vocab.policies.model import DesiredPolicy

ROOT = Path(__file__).resolve().parent.parent
FIXTURES = "tests/fixtures/policy-objects"
TODAY = dt.date(2026, 6, 1)
BASELINES = "essential, balanced, comprehensive, none"

CASES = {
    "bad-name-long": "4:11: name must be 1-120 characters (it has 121)",
    "bad-name-empty": "4:11: name must be 1-120 characters (it has 0)",
    "bad-name-missing": "4:5: missing required field 'name'",
    "bad-name-number": "4:11: name: expected a string, got the number 2026 (YAML reads 2026 as a "
    "number; quote it to keep it text: '2026')",
    "bad-name-whitespace": "4:11: name: leading or trailing whitespace, which a server may trim; "
    "remove it",
    "bad-name-nfc": "4:11: name: not in Unicode NFC, which a server may normalise it to; write it "
    "as NFC",
    "bad-name-twice": "8:5: policy 'backend' is already declared at "
    f"{FIXTURES}/bad-name-twice.yaml:4:5: names identify policies, so each must be unique in the "
    "org",
    "bad-baseline-missing": "4:5: missing required field 'baseline'",
    "bad-baseline-value": f"5:15: baseline: 'strict' is not one of {BASELINES}",
    "bad-description-long": "6:18: description must be at most 222 characters (it has 223): a "
    "policy's description holds 256 with the provenance trailer the tool adds",
    "bad-description-marker": "6:18: description must not contain [socket-triage]: the tool adds "
    "it",
    "bad-repositories-not-list": "6:19: repositories: expected a list, got 'api'",
    "bad-repositories-number": "6:25: repositories: expected a string, got the number 42 (YAML "
    "reads 42 as a number; quote it to keep it text: '42')",
    "bad-repositories-empty-slug": "6:25: repositories: a slug is empty",
    "bad-repositories-twice": "9:9: repositories: 'api' is listed twice",
    "bad-repositories-default": "6:19: repositories: the default policy governs every repository "
    "no other policy names; list them on a named policy",
    "bad-slug-two-policies": "9:25: repository 'api' is already listed by policy 'backend' at "
    f"{FIXTURES}/bad-slug-two-policies.yaml:6:20: a repository is governed by one policy",
    "bad-rule-policy-undeclared": "8:13: policy 'frontend' is not declared in the org's policies "
    "(declared: 'backend'); name a declared policy or default, or declare it (policy ids may be "
    "used only when no file of the org has policies:)",
    "bad-unknown-field": "6:5: unknown field 'repos'",
    "bad-policies-not-list": "3:11: policies: expected a list, got a mapping",
    "bad-target-triage": "3:1: policies need the alert-policies target, but this file pins "
    "'target: triage'",
}


@pytest.fixture(autouse=True)
def _in_repo(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(ROOT)


def validate(*args: str) -> tuple[int, str]:
    # No --api-url and no token: validate never connects, so nothing can be sent.
    result = CliRunner().invoke(cli, ["validate", *args], env={"NO_COLOR": "1"})
    assert result.exception is None or isinstance(result.exception, SystemExit), result.output
    return result.exit_code, result.stderr


@pytest.mark.parametrize(("name", "message"), sorted(CASES.items()))
def test_each_check_is_one_error_at_its_place(name: str, message: str) -> None:
    path = f"{FIXTURES}/{name}.yaml"
    code, stderr = validate(path)
    line, col, text = message.split(":", 2)
    assert code == 1
    assert stderr == f"{path}:{line}:{col}: error:{text}\n1 error; nothing was sent.\n"


def test_every_fixture_has_its_case() -> None:
    names = {p.stem for p in (ROOT / FIXTURES).glob("bad-*.yaml")}
    assert names == set(CASES)


def test_the_schema_check_agrees_with_jsonschema_on_these_fixtures() -> None:
    from schemacheck import agrees_with_jsonschema

    from reconciler.rules import yamlnodes

    for path in sorted((ROOT / FIXTURES).glob("bad-*.yaml")):
        assert agrees_with_jsonschema(yamlnodes.read(path.read_text()).root), path


def write(directory: Path, name: str, text: str) -> Path:
    path = directory / name
    path.write_text(text)
    return path


def test_a_name_declared_in_two_files_is_an_error_at_the_later(tmp_path: Path) -> None:
    write(tmp_path, "a.yaml", "org: acme\npolicies:\n  - {name: backend, baseline: balanced}\n")
    write(tmp_path, "b.yaml", "org: acme\npolicies:\n  - {name: backend, baseline: essential}\n")
    code, stderr = validate(str(tmp_path))
    assert code == 1
    assert stderr.splitlines()[0] == (
        f"{tmp_path}/b.yaml:3:5: error: policy 'backend' is already declared at "
        f"{tmp_path}/a.yaml:3:5: names identify policies, so each must be unique in the org"
    )


def test_a_slug_two_files_list_is_an_error_naming_the_first(tmp_path: Path) -> None:
    write(
        tmp_path,
        "a.yaml",
        "org: acme\npolicies:\n  - {name: a, baseline: none, repositories: [x]}\n",
    )
    write(
        tmp_path,
        "b.yaml",
        "org: acme\npolicies:\n  - {name: b, baseline: none, repositories: [x]}\n",
    )
    code, stderr = validate(str(tmp_path))
    assert code == 1
    assert stderr.splitlines()[0] == (
        f"{tmp_path}/b.yaml:3:46: error: repository 'x' is already listed by policy 'a' at "
        f"{tmp_path}/a.yaml:3:46: a repository is governed by one policy"
    )


RULE = """\
org: acme
policy_rules:
  - name: block malware
    policy: {policy}
    vigil_selector: {{finding.alertType: malware}}
    action: error
"""


def test_one_file_declaring_makes_the_whole_org_declare(tmp_path: Path) -> None:
    """The rules' file has no ``policies:``; the org's other file does: a policy id no longer
    names a policy, and an empty declaration counts."""
    write(tmp_path, "a.yaml", "org: acme\npolicies: []\n")
    write(tmp_path, "b.yaml", RULE.format(policy="2b0e5c1e-0000-4000-8000-000000000001"))
    code, stderr = validate(str(tmp_path))
    assert code == 1
    assert stderr.startswith(
        f"{tmp_path}/b.yaml:4:13: error: policy '2b0e5c1e-0000-4000-8000-000000000001' is not "
        "declared in the org's policies (declared: none but default);"
    )


def test_without_a_declaration_a_rule_may_name_any_policy(tmp_path: Path) -> None:
    write(tmp_path, "b.yaml", RULE.format(policy="2b0e5c1e-0000-4000-8000-000000000001"))
    org = loader.load([str(tmp_path)], today=TODAY).orgs["acme"]
    assert (org.declares_policies, org.policies) == (False, ())


def test_an_expired_rule_names_no_policy(tmp_path: Path) -> None:
    text = "org: acme\npolicies: []\n" + RULE.format(policy="gone").split("\n", 1)[1]
    write(tmp_path, "a.yaml", text + "    expires: '2026-01-01'\n")
    assert validate(str(tmp_path))[0] == 0


def test_other_orgs_do_not_share_a_declaration(tmp_path: Path) -> None:
    write(tmp_path, "a.yaml", "org: other\npolicies:\n  - {name: backend, baseline: none}\n")
    write(tmp_path, "b.yaml", RULE.format(policy="backend"))
    loaded = loader.load([str(tmp_path)], today=TODAY)
    assert loaded.orgs["acme"].declares_policies is False
    assert loaded.orgs["other"].declares_policies is True


GOOD = """\
org: acme
target: alert-policies
policies:
  - name: default
    baseline: balanced
    description: Every repository no policy below names
  - name: backend
    description: |-
      Services that ship to customers.
      Owned by the platform team.
    baseline: comprehensive
    repositories: [api, worker]
  - name: sandbox
    baseline: none
policy_rules:
  - name: block malware
    policy: backend
    vigil_selector: {finding.alertType: malware}
    action: error
"""


def test_a_good_declaration_loads_with_its_places(tmp_path: Path) -> None:
    path = write(tmp_path, "acme.yaml", GOOD)
    code, stderr = validate("--strict", str(path))
    assert (code, stderr) == (0, "")
    org = loader.load([str(path)], today=TODAY).orgs["acme"]
    assert org.declares_policies is True
    at = str(path)
    assert org.policies == (
        DesiredPolicy(
            "default", "balanced", "Every repository no policy below names", (), Location(at, 4, 5)
        ),
        DesiredPolicy(
            "backend",
            "comprehensive",
            "Services that ship to customers.\nOwned by the platform team.",
            ("api", "worker"),
            Location(at, 7, 5),
            (Location(at, 12, 20), Location(at, 12, 25)),
        ),
        DesiredPolicy("sandbox", None, "", (), Location(at, 13, 5)),
    )
    assert org.policy_rules[0].policy == "backend"


def test_every_problem_of_a_file_is_reported_at_once(tmp_path: Path) -> None:
    path = write(
        tmp_path,
        "acme.yaml",
        "org: acme\npolicies:\n"
        "  - {name: ' x', baseline: balanced}\n"
        "  - {name: default, baseline: hard, repositories: [a]}\n",
    )
    code, stderr = validate(str(path))
    assert code == 1
    assert stderr.splitlines() == [
        f"{path}:3:12: error: name: leading or trailing whitespace, which a server may trim; "
        "remove it",
        f"{path}:4:31: error: baseline: 'hard' is not one of {BASELINES}",
        f"{path}:4:51: error: repositories: the default policy governs every repository no other "
        "policy names; list them on a named policy",
        "3 errors; nothing was sent.",
    ]


def test_the_example_declares_policies_and_validates_strictly() -> None:
    path = "examples/alert-policies/acme.yaml"
    assert validate("--strict", path) == (0, "")
    org = loader.load([path], today=TODAY).orgs["acme"]
    assert [(p.name, p.baseline) for p in org.policies] == [
        ("default", "balanced"),
        ("backend", "comprehensive"),
        ("sandbox", None),
    ]
    from reconciler.triage.export import SCHEMA_URL  # this release's schema, as in the others

    assert (ROOT / path).read_text().startswith(f"# yaml-language-server: $schema={SCHEMA_URL}\n")


def test_a_policy_with_a_problem_still_counts_as_declared(tmp_path: Path) -> None:
    path = write(
        tmp_path,
        "acme.yaml",
        "org: acme\npolicies:\n  - {name: b, baseline: x}\n  - [not, a, policy]\n"
        + RULE.format(policy="b").split("\n", 1)[1],
    )
    code, stderr = validate(str(path))
    assert code == 1
    assert stderr.splitlines() == [
        f"{path}:3:25: error: baseline: 'x' is not one of {BASELINES}",
        f"{path}:4:5: error: policy: expected a mapping, got a list",
        "2 errors; nothing was sent.",
    ]
