"""Migration status, every state, and the gates each state opens or closes."""

from __future__ import annotations

from typing import Any

import httpx
import pytest

from reconciler.emulator import Emulator
from reconciler.emulator.policies_migration import STATES

STATUS = "/orgs/acme/alert-policies/migration/status"
TRIAGE = "/orgs/acme/triage/alerts"
RULES = "/orgs/acme/alert-policies/default/rules"
RULE = {"name": "r", "vigil_selector": {"finding.alertType": "cve"}, "action": "error"}
ENTRY = {"alertTriage": [{"alertKey": "k", "state": "ignore"}]}
MOVED = ("accepted", "auto_finalized")


def control(api: httpx.Client, name: str, body: Any = None) -> httpx.Response:
    return api.post(f"http://emulator.test/_emulator/{name}", json=body or {})


def test_an_org_not_reached_reads_as_documented(api: httpx.Client) -> None:
    assert api.get(STATUS).json() == {
        "state": None,
        "finalized_at": None,
        "deadline_at": None,
        "window_end_at": None,
        "deadline_admin_paused_at": None,
        "alert_policies_enabled": False,
        "legacy_evaluation_enabled": True,
    }


@pytest.mark.parametrize("state", list(STATES))
def test_every_state_is_settable_through_the_control_endpoint(
    api: httpx.Client, state: str | None
) -> None:
    set_to = control(api, "orgs/acme/migration", {"state": state})
    assert set_to.status_code == 200
    status = api.get(STATUS).json()
    assert status == set_to.json()
    assert status["state"] == state
    moved = state in MOVED
    assert status["alert_policies_enabled"] is moved
    assert status["legacy_evaluation_enabled"] is not moved
    assert (status["window_end_at"] is not None) is (state is not None)
    assert status["deadline_at"] == status["window_end_at"]
    assert (status["finalized_at"] is not None) is moved


def test_overrides_set_fields_an_unusual_org_has(api: httpx.Client, emulator: Emulator) -> None:
    # An org that started on Rules & Policies: never enrolled, policies on, legacy off.
    status = emulator.set_migration_state(
        "acme", None, alert_policies_enabled=True, legacy_evaluation_enabled=False
    )
    assert api.get(STATUS).json() == status
    assert api.post(RULES, json=RULE).status_code == 201
    paused = control(
        api,
        "orgs/acme/migration",
        {"state": "pending", "deadline_admin_paused_at": "2026-06-20T00:00:00.000Z"},
    )
    assert paused.json()["deadline_admin_paused_at"] == "2026-06-20T00:00:00.000Z"


@pytest.mark.parametrize(
    "body",
    [{"state": "finalized"}, {"state": "accepted", "colour": 1}, {"alert_policies_enabled": "y"}],
)
def test_bad_migration_settings_are_400(api: httpx.Client, body: dict[str, Any]) -> None:
    assert control(api, "orgs/acme/migration", body).status_code == 400
    assert api.get(STATUS).json()["state"] is None


@pytest.mark.parametrize("state", list(STATES))
def test_policy_writes_are_409_until_the_org_has_moved_but_dry_runs_pass(
    api: httpx.Client, emulator: Emulator, state: str | None
) -> None:
    emulator.set_migration_state("acme", state)
    real = api.post(RULES, json=RULE)
    assert real.status_code == (201 if state in MOVED else 409)
    if real.status_code == 409:
        assert "Migration is pending" in real.json()["error"]["message"]
        assert real.json()["error"]["details"] == {"state": state}
    assert api.post(RULES, params={"dry_run": "true"}, json=RULE).status_code == 200
    assert api.post("/orgs/acme/alert-policies", json={"name": "p"}).status_code == (
        201 if state in MOVED else 409
    )
    assert len(emulator.policy_rules("acme")) == (1 if state in MOVED else 0)


@pytest.mark.parametrize("state", list(STATES))
def test_legacy_writes_are_refused_once_the_org_has_moved(
    api: httpx.Client, emulator: Emulator, state: str | None
) -> None:
    emulator.seed_rules("acme", [{"alert_key": "old", "state": "warn"}])
    uuid = emulator.rules("acme")[0]["uuid"]
    emulator.set_migration_state("acme", state)
    posted = api.post(TRIAGE, json=ENTRY)
    deleted = api.delete(f"{TRIAGE}/{uuid}")
    if state in MOVED:
        assert (posted.status_code, deleted.status_code) == (409, 405)
        assert [r["alert_key"] for r in emulator.rules("acme")] == ["old"]
    else:
        assert (posted.status_code, deleted.status_code) == (200, 200)


@pytest.mark.parametrize("state", list(STATES))
def test_resolution_writes_are_never_gated(
    api: httpx.Client, emulator: Emulator, state: str | None
) -> None:
    emulator.set_migration_state("acme", state)
    body = {"reason": "other", "vigil_selector": {"artifact.name": "x"}}
    assert api.post("/orgs/acme/alerts/resolutions", json=body).status_code == 201


def test_legacy_delete_can_answer_409_as_the_live_spec_lists(
    api: httpx.Client, moved: Emulator
) -> None:
    assert control(api, "legacy-delete-status", {"status": 409}).status_code == 200
    assert api.delete(f"{TRIAGE}/any").status_code == 409
    assert control(api, "legacy-delete-status", {"status": 410}).status_code == 400


def test_legacy_reads_are_frozen_after_the_move_and_thaw_on_rollback(
    api: httpx.Client, emulator: Emulator
) -> None:
    emulator.seed_rules("acme", [{"alert_key": "before", "state": "warn"}])
    emulator.set_migration_state("acme", "accepted")
    emulator.seed_rules("acme", [{"alert_key": "after", "state": "warn"}])  # a back door

    def listed() -> list[str]:
        return [r["alert_key"] for r in api.get(TRIAGE).json()["results"]]

    assert listed() == ["before"]
    emulator.set_migration_state("acme", "auto_finalized")  # still moved: same frozen copy
    assert listed() == ["before"]
    emulator.set_migration_state("acme", "rolled_back")
    assert sorted(listed()) == ["after", "before"]


def test_migrated_flag_of_add_org_is_the_accepted_state(emulator: Emulator) -> None:
    emulator.add_org("acme", migrated=True)
    assert emulator.migration_status("acme")["state"] == "accepted"
    emulator.add_org("acme")  # None: leaves the state alone
    assert emulator.migration_status("acme")["state"] == "accepted"
    emulator.add_org("acme", migrated=False)
    assert emulator.migration_status("acme")["legacy_evaluation_enabled"] is True
