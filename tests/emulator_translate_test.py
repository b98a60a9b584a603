"""POST /alert-policies/migration/translate: the state -> action table and untranslatable codes."""

from __future__ import annotations

from typing import Any

import httpx
import pytest
from conftest import TRANSPORT_BASE_URL

from reconciler.emulator import Emulator, EmulatorTransport

PATH = "/orgs/acme/alert-policies/migration/translate"
PACKAGE = {"packageType": "npm", "packageName": "lodash"}


def translate(api: httpx.Client, *entries: dict[str, Any]) -> dict[str, Any]:
    response = api.post(PATH, json={"alertTriage": list(entries)})
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    return body


@pytest.mark.parametrize(
    ("state", "action"),
    [("block", "error"), ("warn", "warn"), ("monitor", "monitor"), ("ignore", "ignore")],
)
def test_state_becomes_the_documented_action(api: httpx.Client, state: str, action: str) -> None:
    entry = {**PACKAGE, "alertType": "cve", "state": state, "note": "why"}
    (translation,) = translate(api, entry)["translations"]
    assert translation == {
        "index": 0,
        "target": "alert_policy_rule",
        "method": "POST",
        "path": "/orgs/acme/alert-policies/default/rules",
        "body": {
            "name": "cve in npm/lodash",
            "action": action,
            "note": "why",
            "vigil_selector": {
                "artifact.type": "npm",
                "artifact.name": "lodash",
                "finding.alertType": "cve",
            },
        },
    }


@pytest.mark.parametrize(
    ("entry", "code"),
    [
        ({**PACKAGE, "state": "inherit"}, "inherit_not_translatable"),
        ({"alertKey": "k", "state": "ignore"}, "alert_key_not_translatable"),
        ({"state": "block"}, "matches_all_alerts"),
        ({"packageName": "*", "packageType": None, "state": "warn"}, "matches_all_alerts"),
        ({**PACKAGE, "state": "warn", "cveOrGhsaId": "CVE-1"}, "filter_not_translatable"),
        ({**PACKAGE, "state": "warn", "cvssScoreCmp": ">=7"}, "filter_not_translatable"),
        ({**PACKAGE, "state": "warn", "reachability": "reachable"}, "filter_not_translatable"),
        ({**PACKAGE, "state": "warn", "kevs": "exist"}, "filter_not_translatable"),
        ({**PACKAGE, "state": "warn", "fixAvailable": "available"}, "filter_not_translatable"),
        ({**PACKAGE, "state": "warn", "packageVersion": "7.*"}, "filter_not_translatable"),
        ({"packageType": "swift", "packageName": "x", "state": "warn"}, "filter_not_translatable"),
        ({**PACKAGE, "state": "warn", "note": "n" * 257}, "note_too_long"),
    ],
)
def test_untranslatable_entries_carry_their_code_and_a_reason(
    api: httpx.Client, entry: dict[str, Any], code: str
) -> None:
    body = translate(api, entry)
    assert body["translations"] == []
    (refused,) = body["untranslatable"]
    assert (refused["index"], refused["code"]) == (0, code)
    assert refused["reason"]


def test_ignore_of_one_exact_version_becomes_a_resolution(api: httpx.Client) -> None:
    entry = {**PACKAGE, "packageVersion": "4.17.21", "state": "ignore", "note": "n" * 300}
    (translation,) = translate(api, entry)["translations"]
    assert translation["target"] == "alert_resolution"
    assert translation["path"] == "/orgs/acme/alerts/resolutions"
    assert translation["body"]["reason"] == "other"
    assert translation["body"]["comment"] == "n" * 300  # a resolution comment holds 1024
    assert translation["body"]["vigil_selector"]["artifact.version"] == "4.17.21"


def test_every_entry_lands_in_one_list_by_index(api: httpx.Client, emulator: Emulator) -> None:
    entries = [
        {**PACKAGE, "state": "block"},
        {"alertKey": "k", "state": "ignore"},
        {**PACKAGE, "alertType": "malware", "state": "warn"},
        {"state": "inherit"},
    ]
    body = translate(api, *entries)
    assert [t["index"] for t in body["translations"]] == [0, 2]
    assert [u["index"] for u in body["untranslatable"]] == [1, 3]
    assert emulator.policy_rules("acme") == [] and emulator.rules("acme") == []


def test_a_translated_rule_body_is_accepted_by_the_rule_endpoint(
    api: httpx.Client, moved: Emulator
) -> None:
    (translation,) = translate(api, {**PACKAGE, "alertType": "cve", "state": "block"})[
        "translations"
    ]
    created = api.post(translation["path"], json=translation["body"])
    assert created.status_code == 201


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"alertTriage": [{**PACKAGE, "state": "block"}, {**PACKAGE}]}, "state"),
        ({"alertTriage": [{**PACKAGE, "state": "block", "uuid": "nope"}]}, "uuid"),
        ({"alertTriage": [{**PACKAGE, "state": "mute"}]}, "state"),
    ],
)
def test_one_malformed_entry_fails_the_whole_request(
    api: httpx.Client, body: dict[str, Any], field: str
) -> None:
    response = api.post(PATH, json=body)
    assert response.status_code == 400
    assert response.json()["error"]["details"]["field"] == field


@pytest.mark.parametrize("count", [0, 101])
def test_batch_must_hold_1_to_100(api: httpx.Client, count: int) -> None:
    entries = [{**PACKAGE, "state": "warn"}] * count
    assert api.post(PATH, json={"alertTriage": entries}).status_code == 400


@pytest.mark.parametrize(
    ("scopes", "status"),
    [
        (["triage:alerts-update"], 200),
        (["alert-policy:read"], 200),
        (["alert-resolution:create"], 200),
        (["triage:alerts-list", "alert-policy:list"], 403),
    ],
)
def test_any_one_of_three_scopes_admits_translate(
    emulator: Emulator, scopes: list[str], status: int
) -> None:
    emulator.add_token("sktsec_narrow", "acme", scopes)
    with httpx.Client(
        transport=EmulatorTransport(emulator),
        base_url=TRANSPORT_BASE_URL,
        headers={"Authorization": "Bearer sktsec_narrow"},
    ) as narrow:
        response = narrow.post(PATH, json={"alertTriage": [{**PACKAGE, "state": "warn"}]})
    assert response.status_code == status
    if status == 403:
        assert "alert-policy:read" in response.json()["error"]["message"]
