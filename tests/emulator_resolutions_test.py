"""Alert resolutions: create, cursor paging, read, delete, repo-restricted tokens."""

from __future__ import annotations

from typing import Any

import httpx
import pytest
from conftest import TRANSPORT_BASE_URL

from reconciler.emulator import Emulator, EmulatorTransport

PATH = "/orgs/acme/alerts/resolutions"


def resolution(name: str, **extra: Any) -> dict[str, Any]:
    return {"reason": "false_positive", "vigil_selector": {"artifact.name": name}, **extra}


def every_page(api: httpx.Client, **params: Any) -> tuple[list[str], int]:
    seen: list[str] = []
    pages = 0
    cursor = None
    while True:
        query = {**params, **({"startAfterCursor": cursor} if cursor else {})}
        body = api.get(PATH, params=query).json()
        pages += 1
        seen += [item["artifact_name"] for item in body["items"]]
        cursor = body["endCursor"]
        if cursor is None:
            return seen, pages


def test_create_answers_the_row_with_anchors(api: httpx.Client, emulator: Emulator) -> None:
    selector = {
        "artifact.type": "npm",
        "artifact.name": "lodash",
        "artifact.version": "4.17.21",
        "location.repo": {"$in": ["acme/a", "acme/b"]},
        "finding.alertType": "cve",
    }
    body = {"reason": "other", "vigil_selector": selector, "reason_text": "why", "comment": "c"}
    created = api.post(PATH, json=body)
    assert created.status_code == 201  # allowed before the move: resolutions are not gated
    row = created.json()
    assert (row["artifact_type"], row["artifact_name"], row["artifact_version"]) == (
        "npm",
        "lodash",
        "4.17.21",
    )
    assert (row["alert_type"], row["repo"], row["repo_label"]) == ("cve", None, None)
    assert row["vigil_selector"] == selector and "dry_run" not in row
    assert api.get(f"{PATH}/{row['uuid']}").json() == row


@pytest.mark.parametrize(("count", "per_page", "pages"), [(0, 30, 1), (7, 3, 3), (6, 3, 2)])
def test_cursor_paging_visits_each_once_in_order(
    api: httpx.Client, emulator: Emulator, count: int, per_page: int, pages: int
) -> None:
    emulator.seed_resolutions("acme", [resolution(f"r{i}") for i in range(count)])
    names, seen_pages = every_page(api, per_page=per_page, direction="asc")
    assert names == [f"r{i}" for i in range(count)]
    assert seen_pages == pages
    newest_first, _ = every_page(api, per_page=per_page)
    assert newest_first == names[::-1]


def test_lazy_end_cursor_ends_with_an_empty_page(api: httpx.Client, emulator: Emulator) -> None:
    emulator.lazy_end_cursor = True
    emulator.seed_resolutions("acme", [resolution(f"r{i}") for i in range(6)])
    names, pages = every_page(api, per_page=3, direction="asc")
    assert names == [f"r{i}" for i in range(6)]
    assert pages == 3  # the last one empty, and only its null cursor ends the listing


def test_a_delete_between_pages_skips_nothing_else(api: httpx.Client, emulator: Emulator) -> None:
    made = emulator.seed_resolutions("acme", [resolution(f"r{i}") for i in range(6)])
    first = api.get(PATH, params={"per_page": 3, "direction": "asc"}).json()
    api.delete(f"{PATH}/{made[1]['uuid']}")
    rest = api.get(
        PATH, params={"per_page": 3, "direction": "asc", "startAfterCursor": first["endCursor"]}
    ).json()
    assert [i["artifact_name"] for i in rest["items"]] == ["r3", "r4", "r5"]


@pytest.mark.parametrize(
    ("params", "param"),
    [
        ({"startAfterCursor": "not-a-cursor"}, "startAfterCursor"),
        ({"per_page": "101"}, "per_page"),
        ({"direction": "up"}, "direction"),
    ],
)
def test_bad_list_parameters_are_400(api: httpx.Client, params: dict[str, str], param: str) -> None:
    response = api.get(PATH, params=params)
    assert response.status_code == 400
    assert response.json()["error"]["details"] == {"param": param}


def test_dry_run_create_keeps_nothing(api: httpx.Client, emulator: Emulator) -> None:
    rehearsal = api.post(PATH, params={"dry_run": "true"}, json=resolution("x"))
    assert rehearsal.status_code == 200 and rehearsal.json()["dry_run"] is True
    assert emulator.alert_resolutions("acme") == []
    assert api.post(PATH, params={"dry_run": "maybe"}, json=resolution("x")).status_code == 400


def test_delete_then_404(api: httpx.Client, emulator: Emulator) -> None:
    (made,) = emulator.seed_resolutions("acme", [resolution("x")])
    assert api.delete(f"{PATH}/{made['uuid']}").json() == {"result": "ok"}
    assert api.get(f"{PATH}/{made['uuid']}").status_code == 404
    assert api.delete(f"{PATH}/{made['uuid']}").status_code == 404
    assert emulator.counters()["resolutions"] == {"created": 0, "deleted": 1}


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"vigil_selector": {"artifact.name": "x"}}, "reason"),
        ({"reason": "other"}, "vigil_selector"),
        (resolution("x", reason="wontfix"), "reason"),
        (resolution("x", reason_text=""), "reason_text"),
        (resolution("x", comment="c" * 1025), "comment"),
        (resolution("x", vigil_selector={"name": "x"}), "vigil_selector"),
        (resolution("x", uuid="u"), "uuid"),
    ],
)
def test_bad_bodies_are_400(
    api: httpx.Client, emulator: Emulator, body: dict[str, Any], field: str
) -> None:
    response = api.post(PATH, json=body)
    assert response.status_code == 400
    assert response.json()["error"]["details"] == {"field": field}
    assert emulator.alert_resolutions("acme") == []


def test_resolutions_cannot_be_updated(api: httpx.Client, emulator: Emulator) -> None:
    (made,) = emulator.seed_resolutions("acme", [resolution("x")])
    refused = api.put(f"{PATH}/{made['uuid']}", json=resolution("y"))
    assert refused.status_code == 405
    assert refused.headers["Allow"] == "GET, DELETE"


def test_repo_restricted_token_sees_and_writes_only_its_repos(emulator: Emulator) -> None:
    emulator.add_token("sktsec_web", "acme", ["alert-resolution"], repos=["acme/web"])
    org_wide, web, other = emulator.seed_resolutions(
        "acme",
        [
            resolution("org-wide"),
            resolution("web", vigil_selector={"location.repo": "acme/web"}),
            resolution("api", vigil_selector={"location.repo": "acme/api"}),
        ],
    )
    with httpx.Client(
        transport=EmulatorTransport(emulator),
        base_url=TRANSPORT_BASE_URL,
        headers={"Authorization": "Bearer sktsec_web"},
    ) as limited:
        listed = limited.get(PATH, params={"direction": "asc"}).json()["items"]
        assert [i["uuid"] for i in listed] == [org_wide["uuid"], web["uuid"]]
        assert limited.get(f"{PATH}/{other['uuid']}").status_code == 403
        assert limited.delete(f"{PATH}/{other['uuid']}").status_code == 403
        anchored = {"reason": "other", "vigil_selector": {"location.repo": "acme/web"}}
        assert limited.post(PATH, json=anchored).status_code == 201
        assert limited.post(PATH, json=resolution("everywhere")).status_code == 403
    assert len(emulator.alert_resolutions("acme")) == 4
