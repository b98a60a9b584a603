"""POST and DELETE /orgs/{org}/triage/alerts: create, replace, delete, and every refusal."""

from __future__ import annotations

from typing import Any

import httpx
import pytest

from reconciler.emulator import Emulator

PATH = "/orgs/acme/triage/alerts"
GOOD = {"packageType": "npm", "packageName": "lodash", "state": "ignore", "note": "ok"}


def post(client: httpx.Client, *entries: Any, force: bool = False) -> httpx.Response:
    params = {"force": "true"} if force else {}
    return client.post(PATH, params=params, json={"alertTriage": list(entries)})


def test_create_then_replace_resets_omitted_fields_and_bumps_updated_at(
    emulator: Emulator, emulator_client: httpx.Client
) -> None:
    created = post(emulator_client, {**GOOD, "kevs": "exist", "cvssScoreCmp": ">=7.5"})
    assert created.status_code == 200
    assert isinstance(created.json()["result"], str)
    (rule,) = emulator.rules("acme")
    assert (rule["kevs"], rule["cvss_score_cmp"], rule["state"]) == ("exist", ">=7.5", "ignore")
    replaced = post(emulator_client, {"uuid": rule["uuid"], "alertKey": "k1", "state": "block"})
    assert replaced.status_code == 200
    (after,) = emulator.rules("acme")
    assert (after["uuid"], after["created_at"]) == (rule["uuid"], rule["created_at"])
    assert after["updated_at"] > rule["updated_at"]
    assert (after["package_name"], after["kevs"], after["note"]) == (None, "*", "")
    assert (after["alert_key"], after["state"]) == ("k1", "block")


def test_entry_without_state_is_400_and_fails_the_batch(
    emulator: Emulator, emulator_client: httpx.Client
) -> None:
    response = post(emulator_client, GOOD, {"alertKey": "k"})
    assert response.status_code == 400
    assert response.json()["error"]["details"] == {"index": 1, "field": "state"}
    assert "state is required" in response.json()["error"]["message"]
    assert emulator.rules("acme") == []


def test_batch_of_100_creates_100(emulator: Emulator, emulator_client: httpx.Client) -> None:
    entries = [{**GOOD, "packageVersion": f"1.0.{i}"} for i in range(100)]
    assert post(emulator_client, *entries).status_code == 200
    assert len(emulator.rules("acme")) == 100


@pytest.mark.parametrize(
    ("entry", "field", "words"),
    [
        ({**GOOD, "colour": "red"}, "colour", "unknown property"),
        ({**GOOD, "package_name": "x"}, "package_name", "unknown property"),
        ({**GOOD, "state": "mute"}, "state", "must be one of"),
        ({**GOOD, "fixAvailable": None}, "fixAvailable", "must be one of"),
        ({**GOOD, "kevs": "some"}, "kevs", "must be one of"),
        ({**GOOD, "cvssScoreCmp": "7.5"}, "cvssScoreCmp", "operator"),
        ({**GOOD, "cvssScoreCmp": ">=11"}, "cvssScoreCmp", "operator"),
        ({**GOOD, "packageName": 3}, "packageName", "string or null"),
        ({**GOOD, "note": None}, "note", "must be a string"),
    ],
)
def test_bad_entry_is_400_naming_index_and_field_and_changes_nothing(
    emulator: Emulator, emulator_client: httpx.Client, entry: Any, field: str, words: str
) -> None:
    response = post(emulator_client, GOOD, entry)
    assert response.status_code == 400
    error = response.json()["error"]
    assert words in error["message"] and "alertTriage[1]" in error["message"]
    assert error["details"] == {"index": 1, "field": field}
    assert emulator.rules("acme") == []


@pytest.mark.parametrize(
    ("body", "words"),
    [
        (b"{not json", "not valid JSON"),
        (b"", "not valid JSON"),
        (b"[]", "JSON object"),
        (b'{"alertTriage": []}', "1 to 100 entries, not 0"),
        (b'{"alertTriage": {}}', "must be an array"),
        (b'{"alertTriage": [{"alertKey": "k"}], "dryRun": true}', "Unknown property"),
        (b'{"alertTriage": ["k"]}', "must be an object"),
    ],
)
def test_bad_body_is_400(emulator_client: httpx.Client, body: bytes, words: str) -> None:
    response = emulator_client.post(PATH, content=body)
    assert response.status_code == 400
    assert words in response.json()["error"]["message"]


def test_more_than_100_entries_is_400(emulator: Emulator, emulator_client: httpx.Client) -> None:
    response = post(emulator_client, *[GOOD] * 101)
    assert response.status_code == 400
    assert "not 101" in response.json()["error"]["message"]
    assert emulator.rules("acme") == []


def test_unknown_uuid_is_404_and_rolls_back_the_whole_batch(
    emulator: Emulator, emulator_client: httpx.Client
) -> None:
    response = post(emulator_client, GOOD, {**GOOD, "uuid": "no-such-uuid"})
    assert response.status_code == 404
    assert response.json()["error"]["details"] == {"index": 1, "field": "uuid"}
    assert emulator.rules("acme") == []


def test_uuid_of_another_org_is_unknown(emulator: Emulator, emulator_client: httpx.Client) -> None:
    emulator.seed_rules("other", [{"alert_key": "k"}])
    other_uuid = emulator.rules("other")[0]["uuid"]
    assert post(emulator_client, {**GOOD, "uuid": other_uuid}).status_code == 404
    assert emulator_client.delete(f"{PATH}/{other_uuid}").status_code == 404


@pytest.mark.parametrize(
    "entry",
    [
        {"state": "ignore"},
        {"packageName": None, "alertKey": "", "alertType": "cve", "state": "ignore"},
        {"packageName": "*", "packageType": "npm", "state": "ignore"},
    ],
)
def test_broad_entry_needs_force(
    emulator: Emulator, emulator_client: httpx.Client, entry: dict[str, Any]
) -> None:
    refused = post(emulator_client, GOOD, entry)
    assert refused.status_code == 400
    assert "force" in refused.json()["error"]["message"]
    assert emulator.rules("acme") == []
    assert post(emulator_client, GOOD, entry, force=True).status_code == 200
    assert len(emulator.rules("acme")) == 2


def test_force_must_be_true_or_false(emulator_client: httpx.Client) -> None:
    response = emulator_client.post(PATH, params={"force": "yes"}, json={"alertTriage": [GOOD]})
    assert response.status_code == 400
    assert "force" in response.json()["error"]["message"]


def test_delete_removes_and_second_delete_is_404(
    emulator: Emulator, emulator_client: httpx.Client
) -> None:
    post(emulator_client, GOOD)
    uuid = emulator.rules("acme")[0]["uuid"]
    assert emulator_client.delete(f"{PATH}/{uuid}").status_code == 200
    assert emulator.rules("acme") == []
    second = emulator_client.delete(f"{PATH}/{uuid}")
    assert second.status_code == 404
    assert uuid in second.json()["error"]["message"]


@pytest.mark.parametrize(("method", "path"), [("PUT", PATH), ("GET", f"{PATH}/x")])
def test_method_the_path_lacks_is_405(
    emulator_client: httpx.Client, method: str, path: str
) -> None:
    assert emulator_client.request(method, path).status_code == 405
