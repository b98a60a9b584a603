"""GET /orgs/{org}/triage/alerts: fields, pagination, sorting, parameter checks."""

from __future__ import annotations

from typing import Any

import httpx
import pytest

from reconciler.emulator import Emulator
from reconciler.vocab.triage.wire import GET_FIELDS

PATH = "/orgs/acme/triage/alerts"


def seed(emulator: Emulator, count: int) -> list[str]:
    rules = [{"package_name": f"pkg{i}", "state": "ignore", "note": f"n{i}"} for i in range(count)]
    emulator.seed_rules("acme", rules)
    return [r["package_name"] for r in emulator.rules("acme")]


def every_page(client: httpx.Client, **params: Any) -> tuple[list[str], list[Any]]:
    names: list[str] = []
    markers: list[Any] = []
    page: Any = 1
    while page:
        body = client.get(PATH, params={**params, "page": page}).json()
        names += [r["package_name"] for r in body["results"]]
        markers.append(body["nextPage"])
        page = body["nextPage"]
    return names, markers


def test_result_has_every_spec_field_with_any_spelled_per_kind(
    emulator: Emulator, emulator_client: httpx.Client
) -> None:
    emulator_client.post(PATH, json={"alertTriage": [{"packageName": "x", "state": "warn"}]})
    (item,) = emulator_client.get(PATH).json()["results"]
    assert tuple(item) == GET_FIELDS
    assert (item["fix_available"], item["kevs"], item["reachability"]) == ("*", "*", "*")
    assert (item["package_type"], item["alert_key"], item["cvss_score_cmp"]) == (None, None, None)
    assert item["created_at"] == item["updated_at"]
    assert item["created_at"].endswith("Z") and len(item["created_at"]) == 27


@pytest.mark.parametrize(("zero", "last"), [(False, None), (True, 0)])
def test_pagination_visits_every_rule_once_and_ends_with_marker(
    emulator: Emulator, emulator_client: httpx.Client, zero: bool, last: int | None
) -> None:
    emulator.next_page_zero = zero
    expected = seed(emulator, 7)
    names, markers = every_page(emulator_client, per_page=3, direction="asc")
    assert names == expected
    assert markers == [2, 3, last]


def test_empty_org_has_one_empty_last_page(emulator_client: httpx.Client) -> None:
    assert emulator_client.get(PATH).json() == {"results": [], "nextPage": None}


def test_default_page_size_is_30_and_order_created_desc(
    emulator: Emulator, emulator_client: httpx.Client
) -> None:
    expected = seed(emulator, 31)
    body = emulator_client.get(PATH).json()
    assert [r["package_name"] for r in body["results"]] == expected[::-1][:30]
    assert body["nextPage"] == 2


def test_sort_by_updated_at_puts_the_last_write_first(
    emulator: Emulator, emulator_client: httpx.Client
) -> None:
    seed(emulator, 3)
    first = emulator.rules("acme")[0]
    entry = {"uuid": first["uuid"], "packageName": "pkg0", "state": "block"}
    assert emulator_client.post(PATH, json={"alertTriage": [entry]}).status_code == 200
    by_updated = every_page(emulator_client, sort="updated_at", direction="desc")[0]
    by_created = every_page(emulator_client, sort="created_at", direction="asc")[0]
    assert by_updated == ["pkg0", "pkg2", "pkg1"]
    assert by_created == ["pkg0", "pkg1", "pkg2"]


@pytest.mark.parametrize(
    ("params", "param"),
    [
        ({"per_page": "0"}, "per_page"),
        ({"per_page": "101"}, "per_page"),
        ({"per_page": "ten"}, "per_page"),
        ({"page": "0"}, "page"),
        ({"page": "1.5"}, "page"),
        ({"sort": "name"}, "sort"),
        ({"direction": "up"}, "direction"),
        ({"direction": ""}, "direction"),
    ],
)
def test_bad_query_parameter_is_400_naming_it(
    emulator_client: httpx.Client, params: dict[str, str], param: str
) -> None:
    response = emulator_client.get(PATH, params=params)
    assert response.status_code == 400
    assert param in response.json()["error"]["message"]
    assert response.json()["error"]["details"] == {"param": param}


def test_page_past_the_end_is_empty_and_last(
    emulator: Emulator, emulator_client: httpx.Client
) -> None:
    seed(emulator, 2)
    body = emulator_client.get(PATH, params={"page": 5}).json()
    assert body == {"results": [], "nextPage": None}


@pytest.mark.parametrize("page", ["3", "999999999999", str(10**30), "+4"])
def test_any_page_from_1_up_is_accepted_and_past_the_end_is_empty(
    emulator: Emulator, emulator_client: httpx.Client, page: str
) -> None:
    seed(emulator, 2)
    response = emulator_client.get(PATH, params={"page": page, "per_page": 1})
    assert response.status_code == 200
    assert response.json() == {"results": [], "nextPage": None}


def test_reads_of_a_moved_org_come_from_the_frozen_copy(
    emulator: Emulator, emulator_client: httpx.Client
) -> None:
    expected = seed(emulator, 3)
    emulator.set_migration_state("acme", "accepted")
    emulator.seed_rules("acme", [{"package_name": "late", "state": "warn"}])
    names, _ = every_page(emulator_client, per_page=2, direction="asc")
    assert names == expected
