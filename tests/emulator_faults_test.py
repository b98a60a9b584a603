"""Fault injection, counters, reset and the /_emulator control endpoints."""

from __future__ import annotations

import time

import httpx
import pytest
from conftest import TEST_TOKEN

from reconciler.emulator import Emulator, Faults

PATH = "/orgs/acme/triage/alerts"
ENTRY = {"alertTriage": [{"alertKey": "k", "state": "ignore"}]}


def control_url(base_url: str, name: str) -> str:
    return base_url.removesuffix("/v0") + f"/_emulator/{name}"


def test_ambiguous_write_via_transport_is_committed_then_unanswered(
    emulator: Emulator, emulator_client: httpx.Client
) -> None:
    emulator.set_faults(Faults(rate_ambiguous=1.0))
    with pytest.raises(httpx.RemoteProtocolError, match="without sending a response"):
        emulator_client.post(PATH, json=ENTRY)
    assert [r["alert_key"] for r in emulator.rules("acme")] == ["k"]
    assert emulator_client.get(PATH).status_code == 200  # reads are never ambiguous
    assert emulator.counters()["faults"]["ambiguous"] == 1


def test_ambiguous_write_over_http_drops_the_connection(
    emulator: Emulator, http_emulator: str
) -> None:
    emulator.seed_rules("acme", [{"alert_key": "gone"}])
    uuid = emulator.rules("acme")[0]["uuid"]
    emulator.set_faults(Faults(rate_ambiguous=1.0))
    with httpx.Client(base_url=http_emulator, auth=(TEST_TOKEN, "")) as api:
        with pytest.raises((httpx.RemoteProtocolError, httpx.ReadError)):
            api.post(PATH, json=ENTRY)
        with pytest.raises((httpx.RemoteProtocolError, httpx.ReadError)):
            api.delete(f"{PATH}/{uuid}")
        assert [r["alert_key"] for r in api.get(PATH).json()["results"]] == ["k"]


@pytest.mark.parametrize(
    ("kind", "status"), [("rate_429", 429), ("rate_500", 500), ("rate_502", 502)]
)
def test_injected_error_happens_before_any_change(
    emulator: Emulator, emulator_client: httpx.Client, kind: str, status: int
) -> None:
    emulator.set_faults(Faults(**{kind: 1.0}, retry_after=1))  # type: ignore[arg-type]
    response = emulator_client.post(PATH, json=ENTRY)
    assert response.status_code == status
    assert emulator.rules("acme") == []
    assert emulator.counters()["faults"][str(status)] == 1
    if status == 429:
        assert response.headers["Retry-After"] == "1"


def outcomes(emulator: Emulator, client: httpx.Client, seed: int) -> list[int | str]:
    emulator.reset()
    emulator.set_faults(
        Faults(seed=seed, rate_429=0.2, rate_500=0.1, rate_502=0.1, rate_ambiguous=0.3)
    )
    seen: list[int | str] = []
    for _ in range(40):
        try:
            seen.append(client.post(PATH, json=ENTRY).status_code)
        except httpx.RemoteProtocolError:
            seen.append("dropped")
    return seen


def test_faults_are_reproducible_for_a_seed(
    emulator: Emulator, emulator_client: httpx.Client
) -> None:
    first = outcomes(emulator, emulator_client, seed=7)
    assert outcomes(emulator, emulator_client, seed=7) == first
    assert outcomes(emulator, emulator_client, seed=8) != first
    assert {429, 500, 502, 200, "dropped"} <= set(first)


def test_counters_count_and_reset_wipes(emulator: Emulator, emulator_client: httpx.Client) -> None:
    entries = [{"alertKey": "a", "state": "warn"}, {"alertKey": "b", "state": "warn"}]
    emulator_client.post(PATH, json={"alertTriage": entries})
    uuid = emulator.rules("acme")[0]["uuid"]
    update = {"uuid": uuid, "alertKey": "a2", "state": "warn"}
    emulator_client.post(PATH, json={"alertTriage": [update]})
    emulator_client.delete(f"{PATH}/{uuid}")
    emulator_client.get(PATH)
    counters = emulator.counters()
    assert counters["calls"] == {"GET": 1, "POST": 2, "PUT": 0, "DELETE": 1}
    assert counters["entries"] == {"created": 2, "updated": 1, "deleted": 1}
    assert counters["internal_errors"] == 0
    emulator.reset()
    assert emulator.rules("acme") == []
    assert emulator.counters()["calls"] == {"GET": 0, "POST": 0, "PUT": 0, "DELETE": 0}
    assert emulator_client.get(PATH).status_code == 200  # orgs and tokens survive a reset


def test_control_endpoints_over_http(emulator: Emulator, http_emulator: str) -> None:
    with httpx.Client() as raw:
        faults = raw.post(control_url(http_emulator, "faults"), json={"seed": 3, "rate_500": 1})
        assert faults.json()["rate_500"] == 1.0
        # Control calls are never faulted, counted or charged.
        assert raw.get(control_url(http_emulator, "counters")).json()["calls"]["GET"] == 0
        assert (
            raw.post(control_url(http_emulator, "faults"), json={"rate_5xx": 1}).status_code == 400
        )
        raw.post(control_url(http_emulator, "faults"), json={})
        org = {"slug": "beta", "migrated": True, "token": "sktsec_beta"}
        assert raw.post(control_url(http_emulator, "orgs"), json=org).status_code == 200
        raw.post(control_url(http_emulator, "next-page-zero"), json={"enabled": True})
        with httpx.Client(base_url=http_emulator, auth=("sktsec_beta", "")) as beta:
            assert beta.get("/orgs/beta/triage/alerts").json() == {"results": [], "nextPage": 0}
            assert beta.post("/orgs/beta/triage/alerts", json=ENTRY).status_code == 409
        emulator.seed_rules("acme", [{"alert_key": "k"}])
        listed = raw.get(control_url(http_emulator, "orgs/acme/rules")).json()
        assert [r["alert_key"] for r in listed] == ["k"]
        assert raw.post(control_url(http_emulator, "reset")).status_code == 200
    assert emulator.rules("acme") == []


def test_latency_setting_is_applied_per_request(
    emulator: Emulator, emulator_client: httpx.Client, monkeypatch: pytest.MonkeyPatch
) -> None:
    slept: list[float] = []
    monkeypatch.setattr("reconciler.emulator.core.time.sleep", slept.append)
    emulator.set_faults(Faults(latency=0.25))
    emulator_client.get(PATH)
    emulator_client.post(PATH, json=ENTRY)
    assert slept == [0.25, 0.25]


@pytest.mark.parametrize("bad", [{"rate_500": 2}, {"latency": -1}, {"seed": "x"}, {"nope": 1}])
def test_fault_settings_are_checked(bad: dict[str, object]) -> None:
    with pytest.raises(ValueError):
        Faults.from_mapping(bad)


RULES = "/orgs/acme/alert-policies/default/rules"
RULE = {"name": "r", "vigil_selector": {"finding.alertType": "cve"}, "action": "error"}


def test_an_ambiguous_rule_create_is_committed_but_a_dry_run_never_drops(
    moved: Emulator, api: httpx.Client
) -> None:
    moved.set_faults(Faults(rate_ambiguous=1.0))
    assert api.post(RULES, params={"dry_run": "true"}, json=RULE).status_code == 200
    with pytest.raises(httpx.RemoteProtocolError):
        api.post(RULES, json=RULE)
    assert [r["name"] for r in moved.policy_rules("acme")] == ["r"]
    assert moved.counters()["faults"]["ambiguous"] == 1


def test_a_late_rule_create_lands_after_the_client_gave_up(
    moved: Emulator, api: httpx.Client
) -> None:
    moved.set_faults(Faults(rate_late_commit=1.0, late_commit_delay=0.05))
    with pytest.raises(httpx.RemoteProtocolError):
        api.post(RULES, json=RULE)
    assert moved.policy_rules("acme") == []
    bad = api.post(RULES, json={**RULE, "action": "block"})
    assert bad.status_code == 400  # a refused write is refused at once, never committed later
    deadline = time.monotonic() + 5
    while not moved.policy_rules("acme") and time.monotonic() < deadline:
        time.sleep(0.01)
    assert [r["name"] for r in moved.policy_rules("acme")] == ["r"]
    assert moved.counters()["faults"]["late_commit"] == 1


@pytest.mark.parametrize(
    ("kind", "code"), [("rate_500", "internal"), ("rate_502", "temporarily_unavailable")]
)
def test_injected_5xx_carry_a_request_id_and_a_code(
    api: httpx.Client, emulator: Emulator, kind: str, code: str
) -> None:
    emulator.set_faults(Faults(**{kind: 1.0}))  # type: ignore[arg-type]
    response = api.get("/orgs/acme/alert-policies")
    details = response.json()["error"]["details"]
    assert (details["code"], details["retryable"]) == (code, True)
    assert details["requestId"] == response.headers["X-Request-Id"]


def test_reset_wipes_every_family_but_keeps_orgs_and_state(
    moved: Emulator, api: httpx.Client
) -> None:
    api.post(RULES, json=RULE)
    api.post(
        "/orgs/acme/alerts/resolutions",
        json={"reason": "other", "vigil_selector": {"artifact.name": "x"}},
    )
    moved.reset()
    assert moved.policy_rules("acme") == [] and moved.alert_resolutions("acme") == []
    assert moved.migration_status("acme")["state"] == "accepted"
    assert api.get("/orgs/acme/alert-policies").json()["items"][0]["id"] == "default"
