"""plan, apply and export end to end through the CLI, on the emulator (in-process and HTTP)."""

from __future__ import annotations

import json
import re
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner, Result
from conftest import TEST_ORG, TEST_TOKEN

from reconciler.cli import cli
from reconciler.emulator import Emulator, Faults, embedded

RULES = """\
org: acme
rules:
  - package_type: npm
    package_name: lodash
    state: ignore
    note: build only
  - package_type: npm
    package_name: left-pad
    state: warn
    note: watch it
  - package_type: npm
    alert_type: criticalCVE
    state: block
    note: no critical CVEs
    broad: true
"""


@pytest.fixture
def rules(tmp_path: Path) -> Path:
    path = tmp_path / "rules" / "acme.yaml"
    path.parent.mkdir()
    path.write_text(RULES)
    return path


@pytest.fixture
def local(tmp_path: Path) -> str:
    return f"local:{tmp_path / 'state.sqlite'}"


def run(*args: str, env: dict[str, str] | None = None) -> Result:
    return CliRunner().invoke(cli, list(args), env={"NO_COLOR": "1", **(env or {})})


def test_plan_apply_plan_converges(rules: Path, local: str) -> None:
    first = run("plan", str(rules), "--api-url", local, "--detailed-exitcode")
    assert first.exit_code == 2, first.output
    assert "Plan: 3 to create, 0 to update, 0 to delete, 0 unchanged." in first.output
    applied = run("apply", str(rules), "--api-url", local, "--yes")
    assert applied.exit_code == 0, applied.output
    assert "Apply complete: 3 created, 0 updated, 0 deleted in" in applied.output
    took = re.search(r"deleted in (\d+\.\d) s, ", applied.output)
    assert took is not None and float(took[1]) < 60  # the seconds this apply took
    # the migration status (which API?), list, list again just before writing (a concurrent
    # writer?), 2 POSTs, verify
    assert applied.output.rstrip().endswith("6 API calls.")
    again = run("plan", str(rules), "--api-url", local, "--detailed-exitcode")
    assert again.exit_code == 0, again.output
    assert "Plan: 0 to create, 0 to update, 0 to delete, 3 unchanged." in again.output


def test_plan_without_detailed_exitcode_exits_0_on_changes(rules: Path, local: str) -> None:
    assert run("plan", str(rules), "--api-url", local).exit_code == 0


@pytest.mark.parametrize("args", [["plan", "--format", "yaml"], ["apply", "--bogus"], ["nope"]])
def test_usage_errors_exit_1_never_2(args: list[str]) -> None:
    assert run(*args).exit_code == 1


def test_json_plan_document(rules: Path, local: str) -> None:
    result = run("plan", str(rules), "--api-url", local, "--format", "json")
    doc = json.loads(result.stdout)
    summary = {"create": 3, "update": 0, "delete": 0, "unchanged": 0, "expired": 0}
    assert doc["orgs"][0]["summary"] == summary
    assert {c["action"] for c in doc["orgs"][0]["changes"]} == {"create"}


def test_markdown_plan(rules: Path, local: str) -> None:
    result = run("plan", str(rules), "--api-url", local, "--format", "markdown")
    assert result.stdout.startswith("<!-- socket-triage-plan -->")
    assert "| acme | 3 | 0 | 0 | 0 |" in result.stdout


def test_apply_refuses_without_yes_off_a_terminal(rules: Path, local: str) -> None:
    result = run("apply", str(rules), "--api-url", local)
    assert result.exit_code == 1
    assert "refusing to apply without --yes" in result.output
    assert embedded(local.removeprefix("local:")).rules(TEST_ORG) == []


def test_invalid_files_send_nothing(tmp_path: Path, local: str) -> None:
    bad = tmp_path / "bad.yaml"
    bad.write_text("org: acme\nrules:\n  - package_name: x\n    state: maybe\n    note: n\n")
    result = run("apply", str(bad), "--api-url", local, "--yes")
    assert result.exit_code == 1
    assert "bad.yaml:4:" in result.output
    assert not Path(local.removeprefix("local:")).exists()


def test_saved_plan_applies_and_a_stale_one_is_refused(
    rules: Path, local: str, tmp_path: Path
) -> None:
    plan_file = tmp_path / "plan.json"
    assert run("plan", str(rules), "--api-url", local, "--out", str(plan_file)).exit_code == 0
    emulator = embedded(local.removeprefix("local:"))
    emulator.seed_rules(
        TEST_ORG,
        [
            {
                "package_type": "npm",
                "package_name": "lodash",
                "state": "warn",
                "note": "someone else",
            }
        ],
    )
    before = emulator.counters()["calls"]
    stale = run("apply", "--plan", str(plan_file), "--api-url", local, "--yes")
    assert stale.exit_code == 1
    assert (
        f"the live rules of org {TEST_ORG} changed since {plan_file} was made; nothing was "
        "written. Run plan again." in stale.output
    )
    after = embedded(local.removeprefix("local:")).counters()["calls"]
    assert (after.get("POST", 0), after.get("DELETE", 0)) == (
        before.get("POST", 0),
        before.get("DELETE", 0),
    )
    assert run("plan", str(rules), "--api-url", local, "--out", str(plan_file)).exit_code == 0
    fresh = run("apply", "--plan", str(plan_file), "--api-url", local, "--yes")
    assert fresh.exit_code == 0, fresh.output
    assert "2 created, 1 updated, 0 deleted" in fresh.output


def test_unsafe_plan_needs_force(tmp_path: Path, local: str) -> None:
    emulator = embedded(local.removeprefix("local:"))
    emulator.seed_rules(
        TEST_ORG,
        [
            {"package_type": "npm", "package_name": f"p{i}", "state": "warn", "note": "n"}
            for i in range(10)
        ],
    )
    emulator.close()
    files = tmp_path / "few.yaml"
    files.write_text(
        "org: acme\nrules:\n"
        + "".join(
            f"  - {{package_type: npm, package_name: p{i}, state: warn, note: n}}\n"
            for i in range(6)
        )
    )
    plan = run("plan", str(files), "--api-url", local)
    assert plan.exit_code == 0
    assert "UNSAFE: it updates or deletes 4 of 10 live rules" in plan.output
    refused = run("apply", str(files), "--api-url", local, "--yes")
    assert refused.exit_code == 1
    assert "--force" in refused.output
    forced = run("apply", str(files), "--api-url", local, "--yes", "--force")
    assert forced.exit_code == 0, forced.output


def test_export_then_plan_shows_no_changes(tmp_path: Path, local: str) -> None:
    emulator = embedded(local.removeprefix("local:"))
    emulator.seed_rules(
        TEST_ORG,
        [
            {
                "package_type": "npm",
                "package_name": "a",
                "state": "warn",
                "note": "n",
                "reachability": "*",
                "kevs": "*",
                "alert_key": None,
            },
            {"package_type": "pypi", "alert_type": "cve", "state": "block", "note": "broad one"},
            {
                "package_type": "npm",
                "package_name": "b",
                "package_version": "1.*",
                "state": "ignore",
                "note": "keep\n\n[socket-triage] source=x.yaml:3 commit=abc",
                "cvss_score_cmp": ">=7.5",
            },
        ],
    )
    emulator.close()
    out = tmp_path / "exported"
    assert run("export", "--org", TEST_ORG, "--api-url", local, "--out", str(out)).exit_code == 0
    text = (out / "acme.yaml").read_text()
    assert "[socket-triage]" not in text
    assert "broad: true" in text
    assert run("validate", str(out)).exit_code == 0
    result = run("plan", str(out), "--api-url", local, "--detailed-exitcode")
    assert result.exit_code == 0, result.output


WILDCARDS = """\
org: acme
rules:
  - {package_type: npm, package_name: a, kevs: null, reachability: "", state: warn, note: n}
  - {package_type: npm, package_name: b, kevs: "*", fix_available: "*", state: warn, note: n}
  - {package_type: npm, package_name: c, state: warn, note: n}
"""


def test_wildcard_spellings_give_no_diff(tmp_path: Path, local: str) -> None:
    emulator = embedded(local.removeprefix("local:"))
    emulator.seed_rules(
        TEST_ORG,
        [
            {"package_type": "npm", "package_name": "a", "state": "warn", "note": "n"},
            {
                "package_type": "npm",
                "package_name": "b",
                "kevs": "*",
                "reachability": "*",
                "state": "warn",
                "note": "n",
            },
            {
                "package_type": "npm",
                "package_name": "c",
                "alert_key": "",
                "package_namespace": None,
                "state": "warn",
                "note": "n",
            },
        ],
    )
    emulator.close()
    files = tmp_path / "w.yaml"
    files.write_text(WILDCARDS)
    result = run("plan", str(files), "--api-url", local, "--detailed-exitcode")
    assert result.exit_code == 0, result.output


@pytest.mark.parametrize(
    ("setup", "message"),
    [
        ("bad-token", "invalid or missing"),
        ("no-scope", "triage:alerts-list"),
        ("other-org", "not found"),
        ("migrated", "Alert Policies"),
    ],
)
def test_failures_over_http_are_one_line_and_never_show_the_token(
    emulator: Emulator, http_emulator: str, rules: Path, setup: str, message: str
) -> None:
    token = TEST_TOKEN
    if setup == "bad-token":
        token = "sktsec_wrong_token_value"
    elif setup == "no-scope":
        token = "sktsec_update_only"
        emulator.add_token(token, TEST_ORG, scopes=("triage:alerts-update",))
    elif setup == "other-org":
        emulator.add_org("other")
        token = "sktsec_other_org"
        emulator.add_token(token, "other")
    elif setup == "migrated":
        emulator.add_org(TEST_ORG, migrated=True)
    result = run(
        "apply", str(rules), "--api-url", http_emulator, "--yes", env={"SOCKET_API_TOKEN": token}
    )
    assert result.exit_code == 1
    assert message in result.output
    assert token not in result.output
    assert "Traceback" not in result.output
    if setup == "migrated":  # read-only stays read-only: no promise that a rerun converges
        assert "converges" not in result.output
    assert len([line for line in result.stderr.splitlines() if line.startswith("error:")]) == 1


def test_plain_http_to_a_remote_host_is_refused(rules: Path) -> None:
    result = run(
        "plan",
        str(rules),
        "--api-url",
        "http://api.example.com/v0",
        env={"SOCKET_API_TOKEN": TEST_TOKEN},
    )
    assert result.exit_code == 1
    assert "https" in result.output


def test_duplicates_and_note_drift_end_to_end(rules: Path, local: str) -> None:
    emulator = embedded(local.removeprefix("local:"))
    emulator.seed_rules(
        TEST_ORG,
        [
            {
                "package_type": "npm",
                "package_name": "lodash",
                "state": "ignore",
                "note": "build only",
            },
            {"package_type": "npm", "package_name": "lodash", "state": "ignore", "note": "again"},
            {
                "package_type": "npm",
                "package_name": "left-pad",
                "state": "warn",
                "note": "old reason",
            },
        ],
    )
    oldest = emulator.rules(TEST_ORG)[0]["uuid"]
    emulator.close()
    doc = json.loads(run("plan", str(rules), "--api-url", local, "--format", "json").stdout)
    changes = {(c["action"], c["label"], c["reason"]) for c in doc["orgs"][0]["changes"]}
    assert changes == {
        ("delete", "npm/lodash", "duplicate"),
        ("update", "npm/left-pad", ""),
        ("create", "npm/* alert_type=criticalCVE", ""),
    }
    assert run("apply", str(rules), "--api-url", local, "--yes").exit_code == 0
    lodash = [
        r
        for r in embedded(local.removeprefix("local:")).rules(TEST_ORG)
        if r["package_name"] == "lodash"
    ]
    assert [r["uuid"] for r in lodash] == [oldest]


def test_audit_log_and_note_trailer_carry_provenance(
    rules: Path, local: str, tmp_path: Path
) -> None:
    event = tmp_path / "event.json"
    event.write_text(json.dumps({"pull_request": {"number": 42, "head": {"sha": "f" * 40}}}))
    github = {
        "GITHUB_ACTIONS": "true",
        "GITHUB_SHA": "a" * 40,
        "GITHUB_REPOSITORY": "acme/rules",
        "GITHUB_SERVER_URL": "https://github.com",
        "GITHUB_ACTOR": "octocat",
        "GITHUB_REF": "refs/heads/main",
        "GITHUB_EVENT_PATH": str(event),
    }
    log = tmp_path / "audit.jsonl"
    result = run(
        "apply", str(rules), "--api-url", local, "--yes", "--audit-log", str(log), env=github
    )
    assert result.exit_code == 0, result.output
    lines = [json.loads(line) for line in log.read_text().splitlines()]
    assert len(lines) == 3
    live = {r["uuid"]: r for r in embedded(local.removeprefix("local:")).rules(TEST_ORG)}
    for line in lines:
        assert line["org"] == TEST_ORG and line["action"] == "create"
        assert line["uuid"] in live  # creates are matched to their new uuid by the verify listing
        assert line["actor"] == "octocat"
        assert line["repository"] == "acme/rules"
        assert line["source"].startswith(str(rules))
        assert line["after"]["note"] == live[line["uuid"]]["note"].split("\n\n")[0]
        assert line["before"] is None
    note = next(iter(live.values()))["note"]
    assert note.splitlines()[-1].startswith("[socket-triage] source=")
    assert "pr=42" in note and "repo=acme/rules" in note


def test_export_gives_a_rule_without_note_a_todo_placeholder(local: str) -> None:
    emulator = embedded(local.removeprefix("local:"))
    emulator.seed_rules(
        TEST_ORG, [{"package_type": "npm", "package_name": "a", "state": "warn", "note": ""}]
    )
    emulator.close()
    result = run("export", "--org", TEST_ORG, "--api-url", local)
    assert result.exit_code == 0
    assert "note: 'TODO: say why this rule exists (it had no note in Socket)'" in result.stdout
    assert "1 rule had no note" in result.stdout
    assert "warning: some live rules have no note" in result.stderr


def good_plan(rules: Path, local: str, tmp_path: Path) -> dict[str, Any]:
    plan_file = tmp_path / "good.json"
    assert run("plan", str(rules), "--api-url", local, "--out", str(plan_file)).exit_code == 0
    doc: dict[str, Any] = json.loads(plan_file.read_text())
    return doc


ORG_PLAN = "malformed org plan: orgs[0]"
CHANGE = f"{ORG_PLAN}.changes[0]"


@pytest.mark.parametrize(
    ("edit", "message"),
    [
        (lambda d: "not json", "cannot read plan file"),
        (lambda d: {}, "not a socket-triage plan"),
        (lambda d: {"format_version": 1, "orgs": [{"org": "acme"}]}, f"{ORG_PLAN}.changes is"),
        (lambda d: {**d, "orgs": [1]}, f"{ORG_PLAN} must be an object, not a number"),
        (lambda d: {**d, "orgs": "acme"}, "plan file has no list of orgs"),
        (lambda d: {**d, "orgs": [{**d["orgs"][0], "org": None}]}, f"{ORG_PLAN}.org must be"),
        (lambda d: {**d, "orgs": [{**d["orgs"][0], "safety": "bad"}]}, f"{ORG_PLAN}.safety must"),
        (
            lambda d: {**d, "orgs": [{**d["orgs"][0], "safety": {"max_change_percent": "NaN"}}]},
            f"{ORG_PLAN}.safety.max_change_percent must be a number",
        ),
        (lambda d: {**d, "orgs": [{**d["orgs"][0], "changes": [1]}]}, f"{CHANGE} must be an"),
        (lambda d: {**d, "orgs": [{**d["orgs"][0], "changes": ["x"]}]}, f"{CHANGE} must be an"),
        (lambda d: {**d, "orgs": [{**d["orgs"][0], "existing": True}]}, "existing must be"),
        (lambda d: {**d, "orgs": [d["orgs"][0], d["orgs"][0]]}, "appears twice"),
        (
            lambda d: {
                **d,
                "orgs": [
                    {**d["orgs"][0], "changes": [{**d["orgs"][0]["changes"][0], "action": "drop"}]}
                ],
            },
            f"{CHANGE}.action must be create, update or delete",
        ),
        (
            lambda d: {
                **d,
                "orgs": [
                    {**d["orgs"][0], "changes": [{**d["orgs"][0]["changes"][0], "after": "x"}]}
                ],
            },
            f"{CHANGE}.after must be an object",
        ),
        (
            lambda d: {
                **d,
                "orgs": [
                    {
                        **d["orgs"][0],
                        "changes": [
                            {
                                **d["orgs"][0]["changes"][0],
                                "action": "delete",
                                "after": None,
                                "before": {"state": "warn", "note": "n"},
                                "uuid": "",
                            }
                        ],
                    }
                ],
            },
            f"{CHANGE}.uuid must be a non-empty string",
        ),
    ],
)
def test_a_bad_plan_file_is_one_line_naming_the_file(
    tmp_path: Path,
    local: str,
    rules: Path,
    edit: Callable[[dict[str, Any]], Any],
    message: str,
) -> None:
    plan_file = tmp_path / "plan.json"
    doc = edit(good_plan(rules, local, tmp_path))
    plan_file.write_text(doc if isinstance(doc, str) else json.dumps(doc))
    result = run("apply", "--plan", str(plan_file), "--api-url", local, "--yes")
    assert result.exit_code == 1, result.output
    assert result.stderr.startswith(f"error: {plan_file}: ")
    assert message in result.stderr
    assert len(result.stderr.splitlines()) == 1


def test_a_saved_plan_is_refused_off_a_terminal_without_yes(
    rules: Path, local: str, tmp_path: Path
) -> None:
    plan_file = tmp_path / "plan.json"
    assert run("plan", str(rules), "--api-url", local, "--out", str(plan_file)).exit_code == 0
    result = run("apply", "--plan", str(plan_file), "--api-url", local)
    assert result.exit_code == 1
    assert "refusing to apply without --yes" in result.stderr
    assert embedded(local.removeprefix("local:")).rules(TEST_ORG) == []


def test_paths_given_with_a_saved_plan_are_a_usage_error(
    rules: Path, local: str, tmp_path: Path
) -> None:
    plan_file = tmp_path / "plan.json"
    assert run("plan", str(rules), "--api-url", local, "--out", str(plan_file)).exit_code == 0
    result = run("apply", str(rules), "--plan", str(plan_file), "--api-url", local, "--yes")
    assert result.exit_code == 1
    assert "give no PATHS with it" in result.stderr
    assert embedded(local.removeprefix("local:")).rules(TEST_ORG) == []


@pytest.mark.parametrize("where", ["file/audit.jsonl", "dir"])
def test_an_audit_log_that_cannot_be_written_is_refused_before_any_write(
    rules: Path, local: str, tmp_path: Path, where: str
) -> None:
    (tmp_path / "file").write_text("a regular file")
    (tmp_path / "dir").mkdir()
    log = tmp_path / where
    result = run("apply", str(rules), "--api-url", local, "--yes", "--audit-log", str(log))
    assert result.exit_code == 1
    assert "--audit-log" in result.stderr and str(log) in result.stderr
    assert embedded(local.removeprefix("local:")).rules(TEST_ORG) == []


def test_a_verification_failure_exits_1_with_remains_lines(
    emulator: Emulator, http_emulator: str, rules: Path
) -> None:
    """Someone adds a rule in the dashboard while apply runs: the check after apply says so."""
    emulator.set_faults(Faults(latency=0.2))

    def intrude() -> None:  # as soon as both create POSTs are in, before the check lists
        deadline = time.monotonic() + 30
        while emulator.counters()["calls"]["POST"] < 2 and time.monotonic() < deadline:
            time.sleep(0.01)
        emulator.seed_rules(
            TEST_ORG,
            [{"package_type": "npm", "package_name": "intruder", "state": "warn", "note": "x"}],
        )

    thread = threading.Thread(target=intrude)
    thread.start()
    result = run(
        "apply",
        str(rules),
        "--api-url",
        http_emulator,
        "--yes",
        env={"SOCKET_API_TOKEN": TEST_TOKEN},
    )
    thread.join()
    assert result.exit_code == 1, result.output
    remains = [line for line in result.stderr.splitlines() if line.startswith("  remains: ")]
    assert len(remains) == 1
    assert remains[0].startswith("  remains: unexpected rule npm/intruder [")
    assert "error: org acme still differs from the plan in 1 ways after apply" in result.stderr
    assert "  applied: create npm/lodash" in result.stderr.splitlines()


def test_a_write_refused_for_a_missing_scope_promises_no_convergence(
    emulator: Emulator, http_emulator: str, rules: Path
) -> None:
    emulator.add_token("sktsec_list_only", TEST_ORG, scopes=("triage:alerts-list",))
    result = run(
        "apply",
        str(rules),
        "--api-url",
        http_emulator,
        "--yes",
        env={"SOCKET_API_TOKEN": "sktsec_list_only"},
    )
    assert result.exit_code == 1
    assert "triage:alerts-update" in result.stderr
    assert "  not applied: create npm/lodash" in result.stderr.splitlines()
    assert "converges" not in result.stderr
