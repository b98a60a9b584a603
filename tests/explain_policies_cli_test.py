"""``socket-triage explain`` under Alert Policies, end to end: files, and --live on the emulator."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner, Result

from reconciler.cli import cli
from reconciler.emulator import Emulator, embedded

POLICIES = """\
org: acme
target: alert-policies
policies:
  - name: default
    baseline: balanced
  - name: backend
    baseline: comprehensive
    repositories: [api, worker]
policy_rules:
  - name: block malware
    vigil_selector: {finding.alertType: malware}
    action: error
  - name: backend criticals
    policy: backend
    vigil_selector: {finding.severity: {$in: [critical, high]}}
    action: warn
  - name: backend malware
    policy: backend
    vigil_selector: {finding.alertType: malware}
    action: error
resolutions:
  - vigil_selector: {artifact.name: lodash, location.repo: acme/api}
    reason: false_positive
    comment: not in the shipped bundle
"""
MALWARE = ["--purl", "pkg:npm/lodash@1.0.0", "--alert-type", "malware"]


def run(*args: str) -> Result:
    return CliRunner().invoke(cli, list(args), env={"NO_COLOR": "1"})


def _json(result: Result) -> dict[str, Any]:
    assert result.exit_code == 0, result.output
    data: dict[str, Any] = json.loads(result.stdout)
    return data


def _file(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "rules" / "acme.yaml"
    path.parent.mkdir(exist_ok=True)
    path.write_text(text)
    return path


def test_the_issue_example_policy_rules_decide_without_a_target_pin(tmp_path: Path) -> None:
    rules = _file(
        tmp_path,
        "org: acme\npolicy_rules:\n  - name: block malware\n"
        "    vigil_selector: {finding.alertType: malware}\n    action: error\n",
    )
    result = run("explain", str(rules), *MALWARE)
    assert result.exit_code == 0, result.output
    assert "No rule in the files matches" not in result.stdout
    assert f"1. {rules}:3:5  error  'block malware'  finding.alertType=malware  <- decides" in (
        result.stdout
    )
    assert "the files hold policy_rules, resolutions or policies" in result.stdout
    assert "which policy governs the alert's repository cannot be known" in result.stdout
    data = _json(run("explain", str(rules), *MALWARE, "--format", "json"))
    assert data["files"]["governing"]["known"] is False
    assert (data["files"]["decision"]["kind"], data["files"]["decision"]["action"]) == (
        "rule",
        "error",
    )


def test_the_declared_policy_listing_the_repository_governs(tmp_path: Path) -> None:
    rules = _file(tmp_path, POLICIES)
    data = _json(run("explain", str(rules), *MALWARE, "--repo", "api", "--format", "json"))
    files = data["files"]
    assert files["governing"]["policy"] == "backend"
    assert files["governing"]["baseline"] == "comprehensive"
    assert f"{rules}:8:20" in files["governing"]["reason"]
    # the severity is not given: the earlier rule is undecided, so the first match cannot decide
    assert [(r["name"], r["answer"]) for r in files["rules"]] == [
        ("backend criticals", "undecided"),
        ("backend malware", "matched"),
    ]
    assert files["decision"]["kind"] == "undecided"
    assert files["decision"]["blockers"] == [1]
    assert "--severity" in files["rules"][0]["reasons"][0]
    assert files["other_rules"] == 1  # 'block malware' is the default policy's


def test_severity_decides_and_the_resolution_needs_the_full_repository_name(
    tmp_path: Path,
) -> None:
    rules = _file(tmp_path, POLICIES)
    result = run("explain", str(rules), *MALWARE, "--repo", "api", "--severity", "low")
    assert result.exit_code == 0, result.output
    assert f"2. {rules}:17:5  error  'backend malware'" in result.stdout
    assert "<- decides" in result.stdout
    assert "undecided: the alert does not supply location.repo (--repo OWNER/NAME)" in (
        result.stdout
    )
    assert "Result: rule 2. 'backend malware'" in result.stdout
    hidden = run("explain", str(rules), *MALWARE, "--repo", "acme/api", "--severity", "low")
    assert f"Result: hidden by the resolution at {rules}:22:5" in hidden.stdout


def test_a_repository_no_policy_lists_gets_the_default_and_its_baseline(tmp_path: Path) -> None:
    rules = _file(tmp_path, POLICIES)
    result = run("explain", str(rules), "--purl", "pkg:npm/x@1.0.0", "--alert-type", "cve",
                 "--repo", "web")  # fmt: skip
    assert result.exit_code == 0, result.output
    assert "policy 'default' governs, baseline balanced: no declared policy lists 'web'" in (
        result.stdout
    )
    assert "the balanced baseline preset of policy 'default' decides" in result.stdout
    assert "2 rules of other policies not evaluated" in result.stdout


def test_an_undocumented_field_is_undecided_with_the_reason(tmp_path: Path) -> None:
    rules = _file(
        tmp_path,
        "org: acme\ntarget: alert-policies\npolicy_rules:\n  - name: old packages\n"
        "    vigil_selector: {artifact.publishedAt: '2019', finding.alertType: malware}\n"
        "    action: warn\n  - name: block malware\n"
        "    vigil_selector: {finding.alertType: malware}\n    action: error\n",
    )
    data = _json(run("explain", str(rules), *MALWARE, "--format", "json"))
    first = data["files"]["rules"][0]
    assert first["answer"] == "undecided"
    assert first["reasons"] == ["artifact.publishedAt is not a documented field"]
    assert data["files"]["decision"]["kind"] == "undecided"
    # a known miss elsewhere decides "not matched" whatever the unknown field would say
    other = _json(run("explain", str(rules), "--purl", "pkg:npm/lodash@1.0.0",
                      "--alert-type", "cve", "--format", "json"))  # fmt: skip
    assert other["files"]["rules"] == []
    assert other["files"]["decision"]["kind"] == "baseline"


def test_triage_style_rules_are_undecided_offline(tmp_path: Path) -> None:
    rules = _file(
        tmp_path,
        "org: acme\ntarget: alert-policies\nrules:\n  - package: pkg:npm/lodash\n"
        "    alert_type: malware\n    state: ignore\n    note: known\n",
    )
    result = run("explain", str(rules), *MALWARE)
    assert result.exit_code == 0, result.output
    assert "translate endpoint makes its selector; use --live" in result.stdout
    assert "legacy triage matching: matches" in result.stdout


# --- --live -------------------------------------------------------------------------------------


@pytest.fixture
def org(tmp_path: Path) -> str:
    """An org on Alert Policies: backend governs api, with rules and a resolution that differ
    from the files."""
    state = tmp_path / "state.sqlite"
    emulator = embedded(str(state))
    emulator.add_org("acme")
    emulator.set_migration_state("acme", "accepted")
    repos = emulator.seed_repos("acme", ["api", "web"])
    backend = emulator.seed_policy(
        "acme", "backend", baseline="essential", repository_ids=[repos[0]["id"]]
    )
    emulator.seed_policy_rules(
        "acme",
        [
            {"name": "dashboard ignore", "vigil_selector": {"artifact.name": "lodash"},
             "action": "ignore", "note": "clicked"},
            {"name": "backend malware", "vigil_selector": {"finding.alertType": "malware"},
             "action": "error", "note": "n"},
        ],
        policy=backend["id"],
    )  # fmt: skip
    emulator.close()
    return f"local:{state}"


def test_live_reads_the_org_and_says_where_it_differs(tmp_path: Path, org: str) -> None:
    rules = _file(tmp_path, POLICIES)
    data = _json(
        run("explain", str(rules), *MALWARE, "--repo", "acme/api", "--severity", "low",
            "--live", "--api-url", org, "--format", "json")
    )  # fmt: skip
    assert data["target_reason"].startswith("pinned by 'target: alert-policies'")
    live = data["live"]
    assert live["governing"]["policy"] == "backend"
    assert live["governing"]["baseline"] == "essential"
    assert live["rules"][0]["name"] == "dashboard ignore" and live["rules"][0]["decides"]
    assert live["decision"]["action"] == "ignore"
    kinds = {d["kind"]: d["message"] for d in data["differences"]}
    assert "the files comprehensive, the org essential" in kinds["baseline"]
    assert "'dashboard ignore'" in kinds["rule"]
    assert "missing resolution" in kinds["resolution"]
    assert "result" in kinds


def test_live_text_and_the_governing_policy_of_another_repository(tmp_path: Path, org: str) -> None:
    rules = _file(tmp_path, POLICIES.replace("repositories: [api, worker]", "repositories: [web]"))
    result = run("explain", str(rules), *MALWARE, "--repo", "api", "--severity", "low",
                 "--live", "--api-url", org)  # fmt: skip
    assert result.exit_code == 0, result.output
    assert "Live in the org: policy 'backend' governs, baseline essential" in result.stdout
    assert "governing: governing policy: the files 'default', the org 'backend'" in result.stdout


def test_live_without_declared_policies_uses_the_org_governing_policy(
    tmp_path: Path, org: str
) -> None:
    rules = _file(
        tmp_path,
        "org: acme\npolicy_rules:\n  - name: backend malware\n    policy: backend\n"
        "    vigil_selector: {finding.alertType: malware}\n    action: error\n",
    )
    data = _json(
        run("explain", str(rules), *MALWARE, "--repo", "api", "--live", "--api-url", org,
            "--format", "json")
    )  # fmt: skip
    files = data["files"]
    assert files["governing"]["policy"] == "backend" and not files["governing"]["known"]
    assert "--live: policy 'backend' lists 'api'" in files["governing"]["reason"]
    assert files["decision"]["rule_source"] == f"{rules}:3:5"
    assert [d["kind"] for d in data["differences"]] == ["rule", "result"]


def test_live_translates_triage_style_rules_through_socket(tmp_path: Path, org: str) -> None:
    rules = _file(
        tmp_path,
        "org: acme\ntarget: alert-policies\nrules:\n  - alert_type: malware\n"
        "    state: warn\n    note: watch malware\n    broad: true\n",
    )
    data = _json(
        run("explain", str(rules), *MALWARE, "--repo", "web", "--live", "--api-url", org,
            "--format", "json")
    )  # fmt: skip
    first = data["files"]["rules"][0]
    assert (first["kind"], first["answer"], first["action"]) == ("translated", "matched", "warn")
    assert first["selector"] == {"finding.alertType": "malware"}
    assert data["files"]["decision"]["kind"] == "rule"
    assert data["live"]["governing"]["policy"] == "default"


READER = "sktsec_policy_reader_0123456789abcdef"


def test_live_with_a_token_that_may_not_translate_leaves_triage_rules_undecided(
    tmp_path: Path, emulator: Emulator, http_emulator: str
) -> None:
    # Reads only: no alert-policy:read, so Socket's translate answers 403; nothing is guessed.
    emulator.add_token(READER, "acme", ("alert-policy:list", "alert-resolution:list", "repo:list"))
    emulator.set_migration_state("acme", "accepted")
    rules = _file(
        tmp_path,
        "org: acme\ntarget: alert-policies\nrules:\n  - alert_type: malware\n"
        "    state: warn\n    note: watch malware\n    broad: true\n",
    )
    result = CliRunner().invoke(
        cli,
        ["explain", str(rules), *MALWARE, "--live", "--api-url", http_emulator,
         "--format", "json"],
        env={"NO_COLOR": "1", "SOCKET_API_TOKEN": READER},
    )  # fmt: skip
    data = _json(result)
    (rule,) = data["files"]["rules"]
    assert rule["answer"] == "undecided"
    assert "translate endpoint refused this token" in rule["reasons"][0]
    assert data["live"]["decision"]["kind"] == "baseline"
    assert READER not in result.output
