"""Which API each org is planned on: the migration status, the files' pin, --target, and a
status the token may not read (403), against the emulator."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest
from click.testing import CliRunner, Result
from conftest import ALL_SCOPES_TOKEN, TEST_ORG, TEST_TOKEN, TRANSPORT_BASE_URL

from reconciler.api import ALERT_POLICIES, TRIAGE
from reconciler.cli import cli
from reconciler.emulator import Emulator, EmulatorTransport
from reconciler.errors import AuthError, Location
from reconciler.http.client import HttpClient
from reconciler.http.retry import RetryPolicy
from reconciler.policies.client import PoliciesClient
from reconciler.vocab.policies.model import MigrationStatus
from reconciler.wiring import choose_target, read_status

FAST = RetryPolicy(max_attempts=1, base_delay=0.0)
PIN = Location("acme.yaml", 2, 9)


def client_for(emulator: Emulator, token: str) -> PoliciesClient:
    return PoliciesClient(
        HttpClient(TRANSPORT_BASE_URL, token, transport=EmulatorTransport(emulator), retry=FAST)
    )


@pytest.fixture
def policies(emulator: Emulator) -> Iterator[PoliciesClient]:
    client = client_for(emulator, ALL_SCOPES_TOKEN)
    yield client
    client.http.close()


@pytest.mark.parametrize(
    ("state", "target", "reason"),
    [
        (None, TRIAGE, "the org is not enrolled in the migration to Alert Policies"),
        ("pending", TRIAGE, "the org still evaluates legacy triage (migration state pending)"),
        (
            "previewing",
            TRIAGE,
            "the org still evaluates legacy triage (migration state previewing)",
        ),
        (
            "accepted",
            ALERT_POLICIES,
            "the org has moved to Alert Policies (migration state accepted)",
        ),
        (
            "auto_finalized",
            ALERT_POLICIES,
            "the org has moved to Alert Policies (migration state auto_finalized)",
        ),
        (
            "rolled_back",
            TRIAGE,
            "the org still evaluates legacy triage (migration state rolled_back)",
        ),
    ],
)
def test_the_status_chooses_per_state(
    emulator: Emulator, policies: PoliciesClient, state: str | None, target: str, reason: str
) -> None:
    emulator.set_migration_state(TEST_ORG, state)
    status, unavailable = read_status(policies, TEST_ORG)
    assert unavailable is None
    choice = choose_target(status, unavailable)
    assert (choice.target, choice.reason) == (target, reason)
    assert choice.status == status


def test_neither_flag_reads_as_not_moved(emulator: Emulator, policies: PoliciesClient) -> None:
    emulator.set_migration_state(
        TEST_ORG, "pending", alert_policies_enabled=False, legacy_evaluation_enabled=False
    )
    choice = choose_target(*read_status(policies, TEST_ORG))
    assert choice.target == TRIAGE
    assert choice.reason == (
        "the org evaluates neither legacy triage nor Alert Policies (migration state pending); "
        "using triage"
    )


MOVED = MigrationStatus("accepted", alert_policies_enabled=True, legacy_evaluation_enabled=False)
PENDING = MigrationStatus("pending")


def test_a_pin_beats_the_status_and_says_what_apply_will_meet() -> None:
    choice = choose_target(PENDING, None, pin=(ALERT_POLICIES, PIN))
    assert choice.target == ALERT_POLICIES
    assert choice.reason == (
        "pinned by 'target: alert-policies' at acme.yaml:2:9; the org has not moved yet, so "
        "apply's policy rule writes are refused (409)"
    )
    stale = choose_target(MOVED, None, pin=(TRIAGE, PIN))
    assert stale.reason == (
        "pinned by 'target: triage' at acme.yaml:2:9; the org no longer evaluates legacy "
        "triage, so apply's writes are refused"
    )
    agreeing = choose_target(MOVED, None, pin=(ALERT_POLICIES, PIN))
    assert agreeing.reason == "pinned by 'target: alert-policies' at acme.yaml:2:9"


def test_the_command_line_beats_the_pin_and_calls_itself_a_preview() -> None:
    choice = choose_target(PENDING, None, pin=(TRIAGE, PIN), override=ALERT_POLICIES)
    assert choice.target == ALERT_POLICIES
    assert choice.reason.startswith(
        "--target alert-policies on the command line (a preview: without it, triage, as the "
        "org still evaluates legacy triage (migration state pending))"
    )


def test_a_token_without_policy_scopes_falls_back_to_triage(emulator: Emulator) -> None:
    client = client_for(emulator, TEST_TOKEN)  # triage scopes only: the status answers 403
    status, unavailable = read_status(client, TEST_ORG)
    choice = choose_target(status, unavailable)
    assert (status, choice.target) == (None, TRIAGE)
    assert choice.reason.startswith("migration status unavailable (the token lacks the ")
    assert "alert-policy:list" in choice.reason and "(403)" in choice.reason
    assert choice.reason.endswith("; using legacy triage")


def test_other_failures_of_the_status_call_are_not_swallowed(emulator: Emulator) -> None:
    client = client_for(emulator, "sktsec_not_a_known_token_123")
    with pytest.raises(AuthError):
        read_status(client, TEST_ORG)


# --- through the CLI -------------------------------------------------------------------------

RULES = """\
org: acme
rules:
  - package_type: npm
    package_name: lodash
    state: ignore
    note: build only
"""


def run(*args: str, env: dict[str, str] | None = None) -> Result:
    return CliRunner().invoke(cli, list(args), env={"NO_COLOR": "1", **(env or {})})


@pytest.fixture
def files(tmp_path: Path) -> Path:
    path = tmp_path / "acme.yaml"
    path.write_text(RULES)
    return path


def local_in(tmp_path: Path, state: str | None) -> str:
    db = tmp_path / "state.db"
    emulator = Emulator(str(db))
    emulator.add_org(TEST_ORG)
    emulator.set_migration_state(TEST_ORG, state)
    emulator.close()
    return f"local:{db}"


def test_plan_prints_the_target_reason_and_migration(files: Path, tmp_path: Path) -> None:
    local = local_in(tmp_path, "pending")
    text = run("plan", str(files), "--api-url", local)
    assert text.exit_code == 0, text.output
    lines = text.stdout.splitlines()
    assert lines[1] == (
        "  target: triage (the org still evaluates legacy triage (migration state pending))"
    )
    assert lines[2].startswith("  migration: state pending, deadline ")
    assert ", window ends " in lines[2]
    doc = json.loads(run("plan", str(files), "--api-url", local, "--format", "json").stdout)
    (org,) = doc["orgs"]
    assert (org["target"], org["migration"]["state"]) == ("triage", "pending")
    assert org["target_reason"].startswith("the org still evaluates legacy triage")
    assert org["migration"]["deadline_at"] == org["migration"]["window_end_at"]
    markdown = run("plan", str(files), "--api-url", local, "--format", "markdown").stdout
    assert "- `acme` `target: triage (the org still evaluates legacy triage" in markdown
    assert "- `acme` `migration: state pending, deadline " in markdown


def test_a_not_enrolled_org_shows_no_migration_line(files: Path, tmp_path: Path) -> None:
    result = run("plan", str(files), "--api-url", local_in(tmp_path, None))
    assert "  target: triage (the org is not enrolled" in result.stdout
    assert "migration:" not in result.stdout


def test_a_moved_org_is_planned_on_alert_policies(files: Path, tmp_path: Path) -> None:
    result = run("plan", str(files), "--api-url", local_in(tmp_path, "accepted"))
    assert result.exit_code == 0, result.output
    assert "  target: alert-policies (the org has moved to Alert Policies" in result.stdout
    assert "  + rule any alert in npm/lodash: artifact.name=lodash artifact.type=npm" in (
        result.stdout
    )


def test_triage_users_without_policy_scopes_keep_working(
    files: Path, emulator: Emulator, http_emulator: str
) -> None:
    # Over loopback HTTP with a token that holds only the triage scopes: the status is a 403.
    env = {"SOCKET_API_TOKEN": TEST_TOKEN}
    result = run("plan", str(files), "--api-url", http_emulator, "--detailed-exitcode", env=env)
    assert result.exit_code == 2, result.output
    assert "  target: triage (migration status unavailable (the token lacks the " in result.stdout
    assert "Plan: 1 to create, 0 to update, 0 to delete, 0 unchanged." in result.stdout
    applied = run("apply", str(files), "--api-url", http_emulator, "--yes", env=env)
    assert applied.exit_code == 0, applied.output
    assert len(emulator.rules(TEST_ORG)) == 1


def test_native_entries_on_the_triage_target_stop_the_plan(tmp_path: Path) -> None:
    path = tmp_path / "acme.yaml"
    path.write_text(
        "org: acme\npolicy_rules:\n  - name: x\n    vigil_selector: {finding.alertType: cve}\n"
        "    action: warn\n"
    )
    result = run("plan", str(path), "--api-url", local_in(tmp_path, "pending"))
    assert result.exit_code == 1
    assert result.stderr.startswith(
        f"{path}:3:5: error: org 'acme' is planned on legacy triage (the org still evaluates "
        "legacy triage (migration state pending)), which cannot hold policy_rules or "
        "resolutions: pin 'target: alert-policies' in the files, or preview with --target "
        "alert-policies"
    )
