"""Issue 20 on the Alert Policies target, through the CLI against the emulator over HTTP: a
saved plan is stale when a policy's name, id or a rule's rank changed; expired entries are
deleted under ``prune: false`` whoever made them; our own duplicates need no ``--force``;
ambiguous or doubly-spelled policies and NaN thresholds are one line and exit 1, not a crash."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner, Result
from conftest import ALL_SCOPES_TOKEN, TEST_ORG

from reconciler import notes
from reconciler.cli import cli
from reconciler.emulator import Emulator
from reconciler.emulator.policies_rank import key_between
from reconciler.vocab.policies.model import rule_seal_parts
from reconciler.vocab.policies.selectors import VigilSelector

PAST = "2020-01-01"


def run(url: str, *args: str, **env: str) -> Result:
    environment = {"NO_COLOR": "1", "SOCKET_API_TOKEN": ALL_SCOPES_TOKEN, **env}
    return CliRunner().invoke(cli, [*args, "--api-url", url], env=environment)


def rule_yaml(
    name: str, policy: str = "default", *, expires: str | None = None, alert: str = ""
) -> str:
    text = (
        f"  - name: {name}\n    policy: {policy}\n"
        f"    vigil_selector: {{finding.alertType: {alert or name}}}\n    action: error\n"
    )
    return text + (f"    expires: {expires}\n" if expires else "")


def write(path: Path, rules: str = "", resolutions: str = "", *, prune: bool = True) -> Path:
    head = f"org: {TEST_ORG}\ntarget: alert-policies\nprune: {str(prune).lower()}\n"
    path.write_text(
        head
        + (f"policy_rules:\n{rules}" if rules else "")
        + (f"resolutions:\n{resolutions}" if resolutions else "")
    )
    return path


def rename_policy(emulator: Emulator, policy_id: str, name: str) -> None:
    """As an edit in the dashboard would (the emulator refuses a taken name over the API)."""
    with emulator.policies.store.transaction() as conn:
        conn.execute("UPDATE alert_policies SET name = ? WHERE id = ?", (name, policy_id))


def sealed(name: str) -> tuple[str, ...]:
    return rule_seal_parts(name, VigilSelector.from_wire({"finding.alertType": name}))


def rule_names(emulator: Emulator, policy: str = "default") -> list[str]:
    return [r["name"] for r in emulator.policy_rules(TEST_ORG, policy)]


@pytest.fixture
def moved(emulator: Emulator) -> Emulator:
    emulator.set_migration_state(TEST_ORG, "accepted")
    return emulator


# --- 2. a stale saved plan -------------------------------------------------------------------


def test_a_saved_plan_is_stale_once_two_policies_swap_names(
    moved: Emulator, http_emulator: str, tmp_path: Path
) -> None:
    prod = moved.seed_policy(TEST_ORG, "prod")["id"]
    sandbox = moved.seed_policy(TEST_ORG, "sandbox")["id"]
    files = write(tmp_path / "p.yaml", rule_yaml("loose", "sandbox"))
    saved = tmp_path / "plan.json"
    assert run(http_emulator, "plan", str(files), "--out", str(saved)).exit_code == 0
    rename_policy(moved, prod, "swap")
    rename_policy(moved, sandbox, "prod")
    rename_policy(moved, prod, "sandbox")
    applied = run(http_emulator, "apply", "--plan", str(saved), "--yes")
    assert applied.exit_code == 1, applied.output
    assert "changed since the plan was made" in applied.stderr
    assert rule_names(moved, sandbox) == [] and rule_names(moved, prod) == []


def test_a_saved_plan_is_stale_once_a_rank_changed(
    moved: Emulator, http_emulator: str, tmp_path: Path
) -> None:
    moved.seed_policy_rules(
        TEST_ORG, [{"name": "a", "action": "warn", "vigil_selector": {"finding.alertType": "a"}}]
    )
    files = write(tmp_path / "p.yaml", rule_yaml("a") + rule_yaml("b"))
    saved = tmp_path / "plan.json"
    assert run(http_emulator, "plan", str(files), "--out", str(saved)).exit_code == 0
    (rule,) = moved.policy_rules(TEST_ORG)
    with moved.policies.store.transaction() as conn:  # the same order, another rank
        rank = key_between(None, rule["rank"])
        conn.execute("UPDATE policy_rules SET rank = ? WHERE id = ?", (rank, rule["id"]))
    applied = run(http_emulator, "apply", "--plan", str(saved), "--yes")
    assert applied.exit_code == 1 and "changed since the plan was made" in applied.stderr


# --- 3. expired exceptions under prune: false ------------------------------------------------


def test_expired_entries_adopted_from_the_dashboard_are_deleted_under_prune_false(
    moved: Emulator, http_emulator: str, tmp_path: Path
) -> None:
    moved.seed_policy_rules(
        TEST_ORG,
        [
            {"name": n, "action": "ignore", "vigil_selector": {"finding.alertType": n}}
            for n in ("old", "theirs")
        ],
    )
    selector = {"artifact.type": "npm", "artifact.name": "left-pad"}
    moved.seed_resolutions(TEST_ORG, [{"reason": "other", "vigil_selector": selector}])
    resolution = (
        "  - vigil_selector: {artifact.type: npm, artifact.name: left-pad}\n"
        f"    reason: other\n    expires: {PAST}\n"
    )
    files = write(tmp_path / "p.yaml", rule_yaml("old", expires=PAST), resolution, prune=False)
    planned = run(http_emulator, "plan", str(files), "--detailed-exitcode")
    assert planned.exit_code == 4, planned.output
    applied = run(http_emulator, "apply", str(files), "--yes")
    assert applied.exit_code == 0, applied.output
    assert "Apply complete: 0 created, 0 updated, 2 deleted" in applied.stdout
    assert rule_names(moved) == ["theirs"]  # not in the files, not ours: prune: false keeps it
    assert moved.alert_resolutions(TEST_ORG) == []


# --- 5. our own duplicates -------------------------------------------------------------------


def test_deleting_our_own_duplicates_needs_no_force(
    moved: Emulator, http_emulator: str, tmp_path: Path
) -> None:
    names = [f"r{i}" for i in range(6)]
    files = write(tmp_path / "p.yaml", "".join(rule_yaml(n) for n in names))
    assert run(http_emulator, "apply", str(files), "--yes").exit_code == 0
    # A second apply at the same time created each rule again: sealed, so ours.
    moved.seed_policy_rules(
        TEST_ORG,
        [
            {
                "name": n,
                "action": "error",
                "vigil_selector": {"finding.alertType": n},
                "note": notes.trailer((), notes.seal(TEST_ORG, sealed(n))),
            }
            for n in names
        ],
    )
    applied = run(http_emulator, "apply", str(files), "--yes")
    assert applied.exit_code == 0, applied.output
    assert "Apply complete: 0 created, 0 updated, 6 deleted" in applied.stdout
    assert rule_names(moved) == names


# --- 11. exit 1 with a message, not exit 3 ----------------------------------------------------


def test_one_name_under_a_policy_name_and_its_id_is_refused(
    moved: Emulator, http_emulator: str, tmp_path: Path
) -> None:
    prod = moved.seed_policy(TEST_ORG, "prod")["id"]
    rules = rule_yaml("same", "prod") + rule_yaml("same", prod, alert="b")
    files = write(tmp_path / "p.yaml", rules)
    assert CliRunner().invoke(cli, ["validate", str(files)]).exit_code == 0  # offline: no ids
    planned = run(http_emulator, "plan", str(files))
    assert planned.exit_code == 1, planned.output
    assert f"rule name 'same' is used twice in policy {prod}" in planned.stderr
    assert "Traceback" not in planned.output


def test_a_default_rule_named_by_the_default_policy_id_too_is_refused(
    moved: Emulator, http_emulator: str, tmp_path: Path
) -> None:
    default = "5d1c6a52-2f4e-4a57-9a39-3c1d1b1e0d11"  # customized once: no longer "default"
    moved.alert_policies(TEST_ORG)
    with moved.policies.store.transaction() as conn:
        conn.execute("UPDATE alert_policies SET id = ? WHERE is_default", (default,))
    files = write(tmp_path / "p.yaml", rule_yaml("same") + rule_yaml("same", default, alert="b"))
    planned = run(http_emulator, "plan", str(files))
    assert planned.exit_code == 1 and "is used twice in policy" in planned.stderr


@pytest.mark.parametrize("how", ["option", "env"])
def test_a_nan_timeout_is_refused(http_emulator: str, tmp_path: Path, how: str) -> None:
    files = write(tmp_path / "p.yaml", rule_yaml("a"))
    if how == "option":
        result = run(http_emulator, "plan", str(files), "--timeout", "nan")
    else:
        result = run(http_emulator, "plan", str(files), SOCKET_TRIAGE_TIMEOUT="nan")
    assert result.exit_code == 1
    assert "Invalid value for '--timeout': 'nan' is not a finite number." in result.output


def saved_plan(http_emulator: str, files: Path, path: Path) -> dict[str, Any]:
    assert run(http_emulator, "plan", str(files), "--out", str(path)).exit_code == 0
    data: dict[str, Any] = json.loads(path.read_text())
    return data


def test_a_saved_policies_plan_with_a_nan_threshold_is_refused(
    moved: Emulator, http_emulator: str, tmp_path: Path
) -> None:
    moved.seed_policy_rules(
        TEST_ORG,
        [
            {"name": f"r{i}", "action": "warn", "vigil_selector": {"finding.alertType": f"r{i}"}}
            for i in range(20)
        ],
    )
    files = write(tmp_path / "p.yaml", rule_yaml("r0") + rule_yaml("r1"))
    saved = tmp_path / "plan.json"
    data = saved_plan(http_emulator, files, saved)
    data["orgs"][0]["safety"]["max_change_percent"] = float("nan")
    saved.write_text(json.dumps(data))  # json writes NaN, and reads it back
    applied = run(http_emulator, "apply", "--plan", str(saved), "--yes")
    assert applied.exit_code == 1, applied.output
    assert "safety.max_change_percent must be a finite number >= 0, not nan" in applied.stderr
    assert len(rule_names(moved)) == 20


# --- 12. ambiguity refused -------------------------------------------------------------------


def test_two_live_policies_of_one_name_are_refused_not_guessed(
    moved: Emulator, http_emulator: str, tmp_path: Path
) -> None:
    older = moved.seed_policy(TEST_ORG, "prod")["id"]
    newer = moved.seed_policy(TEST_ORG, "other")["id"]
    rename_policy(moved, newer, "prod")
    files = write(tmp_path / "p.yaml", rule_yaml("a", "prod"))
    for command in (["plan"], ["apply", "--yes"]):
        result = run(http_emulator, *command, str(files))
        assert result.exit_code == 1, result.output
        assert (
            f"policy 'prod' is ambiguous: 2 policies of the org have that name (ids {older}, "
            f"{newer})"
        ) in result.stderr
    assert rule_names(moved, older) == [] and rule_names(moved, newer) == []


def test_a_live_selector_nested_600_deep_is_one_line_and_exit_1(
    moved: Emulator, http_emulator: str, tmp_path: Path
) -> None:
    (rule,) = moved.seed_policy_rules(
        TEST_ORG, [{"name": "deep", "action": "warn", "vigil_selector": {"finding.alertType": "x"}}]
    )
    deep: object = "x"
    for level in range(600):
        deep = {"$or": [deep]} if level % 2 else {"finding.alertType": deep}
    with moved.policies.store.transaction() as conn:  # the API would refuse it; a server need not
        conn.execute(
            "UPDATE policy_rules SET vigil_selector = ? WHERE id = ?",
            (json.dumps(deep), rule["id"]),
        )
    result = run(http_emulator, "plan", str(write(tmp_path / "p.yaml", rule_yaml("a"))))
    assert result.exit_code == 1, result.output
    assert "the server sent a policy rule with a vigil_selector nested more than 64" in (
        result.stderr
    )


def test_an_audit_log_that_cannot_be_written_names_the_file_and_keeps_the_report(
    moved: Emulator, http_emulator: str, tmp_path: Path
) -> None:
    files = write(tmp_path / "p.yaml", rule_yaml("a") + rule_yaml("b"))
    result = run(http_emulator, "apply", str(files), "--yes", "--audit-log", "/dev/full")
    assert result.exit_code == 1, result.output
    assert "cannot append to the audit log /dev/full: No space left on device" in result.stderr
    assert "Applied 1 of 2 changes to org acme" in result.stderr
    assert "  applied: create rule 'a' of policy default" in result.stderr


def test_on_triage_too_an_audit_log_that_cannot_be_written_is_exit_1_with_the_report(
    emulator: Emulator, http_emulator: str, tmp_path: Path
) -> None:
    files = tmp_path / "t.yaml"
    files.write_text(
        f"org: {TEST_ORG}\nrules:\n"
        "  - package: pkg:npm/left-pad\n    alert_type: malware\n    state: block\n    note: a\n"
        "  - package: pkg:npm/right-pad\n    alert_type: malware\n    state: block\n    note: b\n"
    )
    result = run(http_emulator, "apply", str(files), "--yes", "--audit-log", "/dev/full")
    assert result.exit_code == 1, result.output
    assert "cannot append to the audit log /dev/full: No space left on device" in result.stderr
    assert "Applied 2 of 2 changes to org acme" in result.stderr
