"""``socket-triage explain`` end to end: text, JSON, --live against the emulator, bad input."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner, Result

from reconciler.cli import cli
from reconciler.emulator import embedded
from reconciler.explain import text as explain_text

RULES = """\
org: acme
rules:
  - alert_type: cve
    state: block
    note: no high CVEs
    owner: security@acme.dev
    broad: true
  - package: pkg:npm/lodash@4.17.*
    alert_type: cve
    state: ignore
    note: build only
    owner: web@acme.dev
    ticket: WEB-1
    expires: 2099-01-01
  - package: pkg:npm/lodash@4.17.20
    alert_type: cve
    state: warn
    note: expired exception
    expires: 2020-01-01
  - package: pkg:npm/left-pad
    state: monitor
    note: watch it
"""
ALERT = ["--purl", "pkg:npm/lodash@4.17.20", "--alert-type", "cve"]


@pytest.fixture
def rules(tmp_path: Path) -> Path:
    path = tmp_path / "rules" / "acme.yaml"
    path.parent.mkdir()
    path.write_text(RULES)
    return path


def run(*args: str) -> Result:
    return CliRunner().invoke(cli, list(args), env={"NO_COLOR": "1"})


def _json(result: Result) -> dict[str, Any]:
    assert result.exit_code == 0, result.output
    data: dict[str, Any] = json.loads(result.stdout)
    return data


def test_text_lists_matching_rules_in_order_with_source_owner_and_expiry(rules: Path) -> None:
    result = run("explain", str(rules), *ALERT)
    assert result.exit_code == 0, result.output
    out = result.stdout
    assert f"1. {rules}:15:5  warn  npm/lodash@4.17.20 alert_type=cve" in out
    assert "(expired on 2020-01-01; counts as removed; does not decide)" in out
    assert f"2. {rules}:8:5  ignore  npm/lodash@4.17.* alert_type=cve  <- decides" in out
    assert "owner web@acme.dev, ticket WEB-1, expires 2099-01-01" in out
    assert f"3. {rules}:3:5  block  */* alert_type=cve" in out
    assert "EXPIRED 2020-01-01" in out
    assert "left-pad" not in out
    assert f"Result: ignore, from {rules}:8:5: more selector fields (4 against 1)" in out
    assert "socket-triage's precedence model (docs/matching.md)" in out


def test_json_has_the_same_answer(rules: Path) -> None:
    data = _json(run("explain", str(rules), *ALERT, "--format", "json"))
    assert [e["line"] for e in data["matching"]] == [15, 8, 3]
    assert [e["decides"] for e in data["matching"]] == [False, True, False]
    assert data["result"]["state"] == "ignore"
    assert data["alert"]["package_version"] == "4.17.20"
    assert data["live"] is None


def test_facts_not_given_leave_rules_undecided(rules: Path) -> None:
    result = run("explain", str(rules), "--purl", "pkg:npm/lodash@4.17.20")
    assert result.exit_code == 0, result.output
    assert "No rule in the files matches this alert." in result.stdout
    assert "needs --alert-type" in result.stdout
    assert "Result: no rule decides; the org's security policy applies." in result.stdout


def test_target_alert_policies_leaves_triage_style_rules_to_socket_translate(
    rules: Path,
) -> None:
    # Deliberately changed with issue 21: under Alert Policies a triage-style rule becomes
    # whatever Socket's translate endpoint makes of it, so offline it is undecided (in file
    # order, with what legacy matching says as a hint), never matched with triage semantics.
    data = _json(
        run("explain", str(rules), *ALERT, "--target", "alert-policies", "--format", "json")
    )
    shown = data["files"]["rules"]
    assert [e["source"].rsplit(":", 2)[1] for e in shown] == ["3", "8", "15", "20"]
    assert [e["answer"] for e in shown[:2]] == ["undecided", "undecided"]
    assert "use --live" in shown[0]["reasons"][0]
    assert shown[0]["hint"] == "legacy triage matching: matches"
    assert shown[2]["skipped"].startswith("expired on 2020-01-01")
    assert data["files"]["decision"]["kind"] == "undecided"


def test_live_reports_disagreements_planted_in_the_emulator(rules: Path, tmp_path: Path) -> None:
    state = tmp_path / "state.sqlite"
    emulator = embedded(str(state))
    emulator.seed_rules(
        "acme",
        [
            # the files' deciding rule, live with another state
            {"package_type": "npm", "package_name": "lodash", "package_version": "4.17.*",
             "alert_type": "cve", "state": "warn", "note": "changed in the dashboard"},
            # a dashboard rule no file declares, matching this alert
            {"package_type": "npm", "package_name": "lodash", "alert_type": "cve",
             "reachability": "*", "state": "ignore", "note": "clicked", "uuid": "dash-1"},
            # the expired exception, still live
            {"package_type": "npm", "package_name": "lodash", "package_version": "4.17.20",
             "alert_type": "cve", "state": "warn", "note": "old", "uuid": "old-1"},
            # does not match this alert at all
            {"package_type": "npm", "package_name": "left-pad", "state": "monitor", "note": "x"},
        ],
    )  # fmt: skip
    emulator.close()
    result = run("explain", str(rules), *ALERT, "--live", "--api-url", f"local:{state}")
    assert result.exit_code == 0, result.output
    out = result.stdout
    assert "Live in acme: 3 live rules match this alert; the org decides warn." in out
    assert "live-only: live rule dash-1 (ignore, npm/lodash alert_type=cve) is in no file" in out
    assert "expired-live: live rule old-1 (warn, npm/lodash@4.17.20 alert_type=cve) is " in out
    assert "state: live rule" in out and f"{rules}:8:5 says ignore" in out
    assert f"files-only: {rules}:3:5 (block) is not live" in out
    assert "result: the files decide ignore, the org decides warn" in out
    data = _json(
        run("explain", str(rules), *ALERT, "--live", "--api-url", f"local:{state}", "--format",
            "json")
    )  # fmt: skip
    kinds = sorted(d["kind"] for d in data["live"]["disagreements"])
    assert kinds == ["expired-live", "files-only", "live-only", "result", "state"]


def test_live_agreement_is_said(rules: Path, tmp_path: Path) -> None:
    state = f"local:{tmp_path / 'state.sqlite'}"
    applied = run("apply", str(rules), "--api-url", state, "--yes")
    assert applied.exit_code == 0, applied.output
    result = run("explain", str(rules), *ALERT, "--live", "--api-url", state)
    assert result.exit_code == 0, result.output
    assert "the org decides ignore" in result.stdout
    assert "The files and the org agree for this alert." in result.stdout


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--purl", "pkg:npm/lodash@4.*"], "an alert has one concrete version"),
        (["--purl", "pkg:npm/lodash", "--package-name", "x"], "either as a purl or as package"),
        (["--org", "other", "--alert-type", "cve"], "org 'other' is not named in any rule file"),
        (["--org", "../x"], "--org '../x': not an org slug"),
        (["--cvss", "11"], "11.0 is not in the range"),
        (["--repo", " ", "--target", "alert-policies"], "--repo is empty"),
        (["--severity", "high"], "--severity, --repo and --manifest are Alert Policies facts"),
    ],
)
def test_bad_input_is_one_line_and_exit_1(rules: Path, args: list[str], message: str) -> None:
    result = run("explain", str(rules), *args)
    assert result.exit_code == 1, result.output
    assert message in result.output
    assert "Traceback" not in result.output


def test_invalid_files_fail_before_any_call(tmp_path: Path) -> None:
    bad = tmp_path / "bad.yaml"
    bad.write_text("org: acme\nrules:\n  - package_name: x\n    state: nope\n    note: n\n")
    result = run("explain", str(bad), *ALERT, "--live", "--api-url", "http://127.0.0.1:9/v0")
    assert result.exit_code == 1
    assert f"{bad}:4:12:" in result.output
    assert "nothing was sent" in result.output


def test_server_text_is_escaped_for_the_terminal(rules: Path, tmp_path: Path) -> None:
    state = tmp_path / "state.sqlite"
    emulator = embedded(str(state))
    emulator.seed_rules(
        "acme",
        [{"package_type": "npm", "package_name": "lodash", "alert_type": "cve",
          "state": "ignore", "note": "x", "uuid": "evil\x1b[2Juuid"}],
    )  # fmt: skip
    emulator.close()
    result = run("explain", str(rules), *ALERT, "--live", "--api-url", f"local:{state}")
    assert result.exit_code == 0, result.output
    assert "\x1b" not in result.stdout
    assert "evil\\x1b[2Juuid" in result.stdout


@pytest.mark.parametrize(
    ("matching", "undecided", "head", "more"),
    [
        (1, 1, "1 live rule matches", "(1 more live rule depends on facts not given)"),
        (2, 3, "2 live rules match", "(3 more live rules depend on facts not given)"),
    ],
)
def test_live_counts_agree_with_their_verbs(
    matching: int, undecided: int, head: str, more: str
) -> None:
    rule = {"uuid": "u", "state": "warn", "label": "npm/a"}
    live = {"matching": [rule] * matching, "state": "warn", "undecided": undecided}
    lines = list(explain_text._live("acme", {**live, "disagreements": []}))
    assert lines[0] == f"Live in acme: {head} this alert; the org decides warn."
    assert lines[matching + 1] == f"  {more}"
