"""Tokens, scopes, orgs, quota, and orgs that moved to Alert Policies."""

from __future__ import annotations

import base64

import httpx
import pytest
from conftest import TEST_TOKEN, TRANSPORT_BASE_URL

from reconciler.emulator import Emulator, EmulatorTransport
from reconciler.emulator.auth import Quota
from reconciler.vocab.triage.wire import SCOPE_LIST, SCOPE_UPDATE

PATH = "/orgs/acme/triage/alerts"
ENTRY = {"alertTriage": [{"alertKey": "k", "state": "ignore"}]}


def client(emulator: Emulator, headers: dict[str, str]) -> httpx.Client:
    return httpx.Client(
        transport=EmulatorTransport(emulator), base_url=TRANSPORT_BASE_URL, headers=headers
    )


def basic(user: str, password: str = "") -> str:
    return "Basic " + base64.b64encode(f"{user}:{password}".encode()).decode()


@pytest.mark.parametrize(
    ("authorization", "status"),
    [
        (f"Bearer {TEST_TOKEN}", 200),
        (basic(TEST_TOKEN), 200),
        (f"bearer {TEST_TOKEN}", 200),
        (None, 401),
        ("Bearer sktsec_wrong", 401),
        ("Bearer ", 401),
        (basic("", TEST_TOKEN), 401),
        ("Basic !!notbase64", 401),
        (f"Token {TEST_TOKEN}", 401),
    ],
)
def test_token_as_bearer_or_basic_user(
    emulator: Emulator, authorization: str | None, status: int
) -> None:
    headers = {"Authorization": authorization} if authorization else {}
    with client(emulator, headers) as api:
        assert api.get(PATH).status_code == status
        assert api.post(PATH, json=ENTRY).status_code == status


@pytest.mark.parametrize("org", ["other", "nowhere"])
def test_org_the_token_does_not_belong_to_is_404(emulator: Emulator, org: str) -> None:
    emulator.add_org("other")
    with client(emulator, {"Authorization": f"Bearer {TEST_TOKEN}"}) as api:
        assert api.get(f"/orgs/{org}/triage/alerts").status_code == 404


@pytest.mark.parametrize(
    ("scopes", "method", "missing"),
    [((SCOPE_UPDATE,), "GET", SCOPE_LIST), ((SCOPE_LIST,), "POST", SCOPE_UPDATE)],
)
def test_missing_scope_is_403_naming_it(
    emulator: Emulator, scopes: tuple[str, ...], method: str, missing: str
) -> None:
    emulator.add_token("sktsec_narrow", "acme", scopes)
    with client(emulator, {"Authorization": "Bearer sktsec_narrow"}) as api:
        response = api.request(method, PATH, json=ENTRY if method == "POST" else None)
    assert response.status_code == 403
    assert missing in response.json()["error"]["message"]


def test_delete_needs_update_scope(emulator: Emulator) -> None:
    emulator.add_token("sktsec_reader", "acme", (SCOPE_LIST,))
    with client(emulator, {"Authorization": "Bearer sktsec_reader"}) as api:
        assert api.delete(f"{PATH}/x").status_code == 403


def test_spent_quota_is_429_with_retry_after_per_token() -> None:
    emulator = Emulator(quota=2)
    emulator.add_token("sktsec_a", "acme")
    emulator.add_token("sktsec_b", "acme")
    with client(emulator, {"Authorization": "Bearer sktsec_a"}) as api:
        assert [api.get(PATH).status_code for _ in range(3)] == [200, 200, 429]
        refused = api.post(PATH, json=ENTRY)
    assert refused.status_code == 429
    assert refused.headers["Retry-After"] == str(Quota.NO_REFILL_RETRY_AFTER)
    assert emulator.rules("acme") == []
    with client(emulator, {"Authorization": "Bearer sktsec_b"}) as api:
        assert api.get(PATH).status_code == 200
    emulator.close()


@pytest.mark.parametrize(("elapsed", "retry_after"), [(0.0, 2), (1.0, 1), (2.0, None)])
def test_quota_refills_and_retry_after_says_when(elapsed: float, retry_after: int | None) -> None:
    now = [0.0]
    quota = Quota(1, refill_per_second=0.5, clock=lambda: now[0])
    assert quota.spend("t") is None
    now[0] = elapsed
    assert quota.spend("t") == retry_after


def test_migrated_org_is_read_only_but_still_lists(
    emulator: Emulator, emulator_client: httpx.Client
) -> None:
    emulator.seed_rules("acme", [{"alert_key": "k", "state": "ignore"}])
    uuid = emulator.rules("acme")[0]["uuid"]
    emulator.add_org("acme", migrated=True)
    posted = emulator_client.post(PATH, json=ENTRY)
    deleted = emulator_client.delete(f"{PATH}/{uuid}")
    assert (posted.status_code, deleted.status_code) == (409, 405)
    assert "Alert Policies" in posted.json()["error"]["message"]
    assert "read-only" in deleted.json()["error"]["message"]
    listed = emulator_client.get(PATH)
    assert listed.status_code == 200
    assert [r["uuid"] for r in listed.json()["results"]] == [uuid]


def test_embedded_style_emulator_needs_no_token_and_creates_orgs() -> None:
    emulator = Emulator(require_auth=False, auto_create_orgs=True)
    with client(emulator, {}) as api:
        assert api.post("/orgs/new/triage/alerts", json=ENTRY).status_code == 200
    assert len(emulator.rules("new")) == 1
    emulator.close()


POLICY_OPERATIONS = [
    ("GET", "/orgs/acme/alert-policies", "alert-policy:list"),
    ("POST", "/orgs/acme/alert-policies", "alert-policy:create"),
    ("GET", "/orgs/acme/alert-policies/default", "alert-policy:read"),
    ("PUT", "/orgs/acme/alert-policies/default", "alert-policy:update"),
    ("DELETE", "/orgs/acme/alert-policies/p", "alert-policy:delete"),
    ("GET", "/orgs/acme/alert-policies/default/rules", "alert-policy:list"),
    ("POST", "/orgs/acme/alert-policies/default/rules", "alert-policy:create"),
    ("GET", "/orgs/acme/alert-policies/default/rules/r", "alert-policy:read"),
    ("PUT", "/orgs/acme/alert-policies/default/rules/r", "alert-policy:update"),
    ("DELETE", "/orgs/acme/alert-policies/default/rules/r", "alert-policy:delete"),
    ("GET", "/orgs/acme/alert-policies/migration/status", "alert-policy:list"),
    ("GET", "/orgs/acme/alerts/resolutions", "alert-resolution:list"),
    ("POST", "/orgs/acme/alerts/resolutions", "alert-resolution:create"),
    ("GET", "/orgs/acme/alerts/resolutions/u", "alert-resolution:read"),
    ("DELETE", "/orgs/acme/alerts/resolutions/u", "alert-resolution:delete"),
]


@pytest.mark.parametrize(("method", "path", "scope"), POLICY_OPERATIONS)
def test_every_alert_policies_endpoint_names_its_missing_scope(
    emulator: Emulator, method: str, path: str, scope: str
) -> None:
    others = {s for _, _, s in POLICY_OPERATIONS} - {scope}
    emulator.add_token("sktsec_all_but_one", "acme", [*others, SCOPE_LIST, SCOPE_UPDATE])
    with client(emulator, {"Authorization": "Bearer sktsec_all_but_one"}) as api:
        response = api.request(method, path, json={})
    assert response.status_code == 403
    assert response.json()["error"]["message"].endswith(f"required scope {scope}")


@pytest.mark.parametrize(("method", "path", "scope"), POLICY_OPERATIONS)
def test_the_umbrella_scope_grants_every_sub_scope(
    emulator: Emulator, method: str, path: str, scope: str
) -> None:
    emulator.add_token("sktsec_umbrella", "acme", [scope.partition(":")[0]])
    with client(emulator, {"Authorization": "Bearer sktsec_umbrella"}) as api:
        assert api.request(method, path, json={}).status_code != 403


def test_alert_policies_calls_spend_quota_too() -> None:
    emulator = Emulator(quota=3)
    emulator.add_token("sktsec_q", "acme", ["alert-policy", "alert-resolution"])
    with client(emulator, {"Authorization": "Bearer sktsec_q"}) as api:
        statuses = [
            api.get("/orgs/acme/alert-policies").status_code,
            api.get("/orgs/acme/alert-policies/migration/status").status_code,
            api.get("/orgs/acme/alerts/resolutions").status_code,
        ]
        refused = api.post("/orgs/acme/alerts/resolutions", json={})
    assert statuses == [200, 200, 200]
    assert refused.status_code == 429 and refused.headers["Retry-After"].isdigit()
    emulator.close()
