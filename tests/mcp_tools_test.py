"""The MCP tools as functions (no SDK needed): confinement, bounds, and what each returns."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import pytest

from reconciler.emulator import embedded
from reconciler.errors import UsageError
from reconciler.mcp.bounds import finish
from reconciler.mcp.confine import confine
from reconciler.mcp.tools import Tools
from reconciler.rules import loader

NPM = """\
org: acme
defaults:
  package_type: npm
  owner: web@acme.dev
rules:
  - package_name: lodash
    package_version: "4.17.*"
    alert_type: cve
    state: ignore
    note: build only
  - package_name: left-pad
    state: monitor
    note: watch it
"""
ORG_WIDE = """\
org: acme
rules:
    - alert_type: malware
      state: block
      note: never
      broad: true
"""
PYPI = """\
org: acme
rules:
  - package_type: pypi
    package_name: requests
    alert_type: networkAccess
    state: ignore
    note: an HTTP client
"""


@pytest.fixture
def root(tmp_path: Path) -> Path:
    rules = tmp_path / "rules"
    rules.mkdir()
    (rules / "npm.yaml").write_text(NPM)
    (rules / "org-wide.yaml").write_text(ORG_WIDE)
    (rules / "python.yaml").write_text(PYPI)
    return tmp_path


@pytest.fixture
def state(tmp_path: Path) -> Path:
    return tmp_path / "state.sqlite"


@pytest.fixture
def tools(root: Path, state: Path) -> Tools:
    return Tools(api_url=f"local:{state}", root=root)


def _seed(state: Path, rules: list[dict[str, Any]]) -> None:
    emulator = embedded(str(state))
    emulator.seed_rules("acme", rules)
    emulator.close()


# --- confinement -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("path", "message"),
    [
        ("/etc/passwd", "outside the server's working directory"),
        ("../", "outside the server's working directory"),
        ("rules/../../x.yaml", "outside the server's working directory"),
        (".env", "not a rule file"),
        ("notes.txt", "not a rule file"),
        ("bad\x00.yaml", "NUL"),
    ],
)
def test_paths_outside_the_root_or_not_rule_files_are_refused(
    root: Path, path: str, message: str
) -> None:
    (root / ".env").write_text("SOCKET_API_TOKEN=sktsec_secret\n")
    (root / "notes.txt").write_text("hello\n")
    with pytest.raises(UsageError, match=message):
        confine([path], root)


def test_a_link_inside_the_root_to_files_outside_is_refused(root: Path, tmp_path: Path) -> None:
    outside = tmp_path.parent / f"{tmp_path.name}-outside"
    outside.mkdir()
    (outside / "stolen.yaml").write_text("org: acme\nrules: []\n")
    os.symlink(outside, root / "rules" / "linked")
    with pytest.raises(UsageError, match="links outside the server's working directory"):
        confine(["rules"], root)


def test_confined_paths_inside_the_root_are_kept(root: Path) -> None:
    assert confine(["rules"], root) == [str(root / "rules")]
    assert confine([], root) == [str(root)]


def test_the_validate_tool_refuses_etc_passwd(tools: Tools) -> None:
    with pytest.raises(UsageError, match="outside"):
        tools.validate(["/etc/passwd"])


# --- bounds and redaction ----------------------------------------------------------------------


def test_large_results_are_shortened_with_a_note() -> None:
    big = {"rules": [{"label": f"npm/pkg-{i}", "note": "x" * 40} for i in range(5_000)]}
    small = finish(big)
    import json

    assert len(json.dumps(small)) <= 50_000
    assert 0 < len(small["rules"]) < 5_000
    (note,) = small["truncated"]
    assert note["path"] == "rules" and note["total"] == 5_000
    assert finish({"rules": [1, 2]}) == {"rules": [1, 2]}


def test_tokens_are_redacted_in_results() -> None:
    assert finish({"error": "bad token sktsec_live_abcdef123"}) == {"error": "bad token sktsec_***"}


# --- validate, plan, explain, list_live_rules ------------------------------------------------


def test_validate_reports_ok_and_errors(tools: Tools, root: Path) -> None:
    found = tools.validate(["rules"])
    assert found["ok"] and found["rules"] == 4 and found["orgs"] == ["acme"]
    (root / "rules" / "broken.yaml").write_text("org: acme\nrules:\n  - state: nope\n")
    found = tools.validate(["rules"])
    assert not found["ok"]
    first = found["errors"][0]
    assert first["file"].endswith("broken.yaml") and first["line"] == 3
    assert set(first) == {"file", "line", "column", "severity", "message", "text"}


def test_plan_is_the_json_plan(tools: Tools) -> None:
    found = tools.plan(["rules"], "acme")
    (org,) = found["orgs"]
    assert org["org"] == "acme"
    assert org["summary"]["create"] == 4


def test_explain_with_live(tools: Tools, state: Path) -> None:
    _seed(state, [{"package_type": "npm", "package_name": "lodash", "state": "warn", "note": "x"}])
    alert = {"purl": "pkg:npm/lodash@4.17.21", "alert_type": "cve"}
    found = tools.explain(["rules"], org="acme", alert=alert, target=None, live=True)
    assert found["result"]["state"] == "ignore"
    kinds = sorted(d["kind"] for d in found["live"]["disagreements"])
    assert kinds == ["files-only", "live-only", "result"]


def test_list_live_rules_filters_and_pages(tools: Tools, state: Path) -> None:
    _seed(
        state,
        [
            {"package_type": "npm", "package_name": f"p{i}", "state": "ignore", "note": f"n{i}"}
            for i in range(7)
        ]
        + [{"package_type": "pypi", "package_name": "q", "state": "warn", "note": "find me"}],
    )
    page = tools.list_live_rules(
        "acme", filters={"package_type": "npm"}, managed=None, limit=3, offset=3
    )
    assert (page["total"], page["matched"], page["next_offset"]) == (8, 7, 6)
    assert [r["label"] for r in page["rules"]] == ["npm/p3", "npm/p4", "npm/p5"]
    found = tools.list_live_rules(
        "acme", filters={"contains": "FIND", "state": "warn"}, managed=False, limit=50, offset=0
    )
    assert [r["label"] for r in found["rules"]] == ["pypi/q"]
    assert found["next_offset"] is None
    with pytest.raises(UsageError, match="limit"):
        tools.list_live_rules("acme", filters={}, managed=None, limit=0, offset=0)
    with pytest.raises(UsageError, match="not an org slug"):
        tools.list_live_rules("../etc", filters={}, managed=None, limit=1, offset=0)


# --- check_rule --------------------------------------------------------------------------------


def _check(tools: Tools, rule_yaml: str, **options: Any) -> dict[str, Any]:
    return tools.check_rule(
        ["rules"],
        org=options.get("org", "acme"),
        rule_yaml=rule_yaml,
        fields=None,
        target=options.get("target"),
        live=options.get("live", True),
    )


def test_check_rule_places_a_rule_in_the_file_of_its_package_type(tools: Tools, root: Path) -> None:
    found = _check(tools, "package: pkg:npm/lodash@4.17.21\nalert_type: cve\nstate: warn\n"
                   "note: patched\n")  # fmt: skip
    assert found["valid"] and not found["shadowed"]
    placement = found["placement"]
    assert placement["file"] == str(root / "rules" / "npm.yaml")
    assert placement["verified"] and placement["inherits"] == {"owner": "web@acme.dev"}
    assert placement["yaml"] == (
        "  - package_name: lodash\n    package_version: 4.17.21\n    alert_type: cve\n"
        "    state: warn\n    note: patched\n"
    )
    # Appended as told, the files hold exactly the proposed rule, and still validate.
    npm = root / "rules" / "npm.yaml"
    npm.write_text(npm.read_text() + placement["yaml"])
    assert loader.load([str(root / "rules")]).rule_count == 5
    (change,) = found["changes"]
    assert (change["action"], change["effect"], change["label"]) == (
        "create",
        "added",
        "npm/lodash@4.17.21 alert_type=cve",
    )
    (related,) = [r for r in found["related"] if r["relation"] == "covered"]
    assert related["effect"] == "the proposed rule would decide its alerts instead of this one"


def test_check_rule_writes_any_over_a_default_it_does_not_want(tools: Tools, root: Path) -> None:
    found = _check(tools, "package_name: lodash\nalert_type: cve\nstate: warn\nnote: any type\n")
    assert found["placement"]["file"] == str(root / "rules" / "org-wide.yaml")
    assert found["placement"]["verified"]
    assert found["placement"]["yaml"].startswith("    - package_name: lodash\n")  # 4 spaces


def test_check_rule_finds_duplicates(tools: Tools) -> None:
    found = _check(tools, "package_type: npm\npackage_name: left-pad\nstate: warn\nnote: again\n")
    assert not found["valid"]
    assert found["duplicates"][0].startswith("same selector as ")
    assert "npm.yaml:11:5" in found["duplicates"][0]


NARROW = (
    "package_type: npm\npackage_name: lodash\npackage_version: 4.17.3\nalert_type: cve\n"
    "reachability: unreachable\nstate: warn\nnote: x\n"
)


def test_check_rule_shadowed_in_file_order(tools: Tools) -> None:
    found = _check(tools, NARROW, target="alert-policies")
    assert found["valid"] and found["shadowed"]
    assert found["summary"].startswith("valid, but shadowed")
    (by,) = [r for r in found["related"] if r["shadows_proposed"]]
    assert by["source"].endswith("npm.yaml:6:5") and by["relation"] == "covered"


def test_check_rule_not_shadowed_under_the_most_specific_model(tools: Tools) -> None:
    found = _check(tools, NARROW, target="triage")
    assert found["valid"] and not found["shadowed"]
    (by,) = found["related"]
    assert by["proposed_first"] and by["relation"] == "covered"


def test_check_rule_reports_validation_errors_in_the_rules_own_lines(tools: Tools) -> None:
    found = _check(tools, "package_name: lodash\nstate: maybe\nnote: x\n")
    assert found["valid"] is False
    (error,) = [d for d in found["diagnostics"] if d["severity"] == "error"]
    assert (error["file"], error["line"]) == ("proposed-rule.yaml", 2)
    assert "state" in error["message"]


def test_check_rule_updates_a_dashboard_rule_with_the_same_selector(
    tools: Tools, state: Path
) -> None:
    _seed(state, [{"package_type": "npm", "package_name": "esbuild", "state": "warn",
                   "note": "dashboard", "uuid": "dash-9"}])  # fmt: skip
    found = _check(tools, "package_type: npm\npackage_name: esbuild\nstate: ignore\nnote: ok\n")
    by_effect = {(c["action"], c["effect"]) for c in found["changes"]}
    assert ("update", "added") in by_effect  # the live rule is adopted, not duplicated
    assert ("delete", "no longer") in by_effect  # prune would have deleted it


def test_check_rule_from_fields_for_a_new_org(tools: Tools) -> None:
    found = tools.check_rule(
        ["rules"],
        org="newco",
        rule_yaml=None,
        fields={"package_type": "npm", "package_name": "x", "state": "ignore", "note": "n"},
        target=None,
        live=False,
    )
    assert found["placement"]["new_file"] and found["placement"]["file"] == "./newco.yaml"
    assert found["changes"] is None and "live=false" in found["changes_error"]
    with pytest.raises(UsageError, match="either as YAML"):
        tools.check_rule(["rules"], org=None, rule_yaml=None, fields=None, target=None, live=False)
