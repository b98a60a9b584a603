"""Which repositories a policy scopes: ``repository_ids`` against the org's repositories, the
one-label rule, the default policy's limits, description and baseline checks, deletes, and dry
runs that check all of it and keep nothing."""

from __future__ import annotations

from typing import Any

import httpx
import pytest

from reconciler.emulator import Emulator

POLICIES = "/orgs/acme/alert-policies"


@pytest.fixture
def repos(moved: Emulator) -> dict[str, str]:
    """Slug -> id of repositories api, web, docs (archived), worker of the moved org acme."""
    made = moved.seed_repos("acme", ["api", "web", {"slug": "docs", "archived": True}, "worker"])
    return {row["slug"]: row["id"] for row in made}


def error(response: httpx.Response, status: int) -> dict[str, Any]:
    assert response.status_code == status, response.text
    found: dict[str, Any] = response.json()["error"]
    return found


def scopes(emu: Emulator) -> dict[str | None, list[str]]:
    return {p["name"]: p["repository_ids"] for p in emu.alert_policies("acme")}


def test_repository_ids_are_kept_in_the_order_given(
    api: httpx.Client, repos: dict[str, str]
) -> None:
    ids = [repos["worker"], repos["docs"], repos["api"]]  # an archived one may be scoped too
    created = api.post(POLICIES, json={"name": "backend", "repository_ids": ids})
    assert created.status_code == 201 and created.json()["repository_ids"] == ids
    assert api.get(f"{POLICIES}/{created.json()['id']}").json()["repository_ids"] == ids


@pytest.mark.parametrize("dry_run", [False, True])
def test_an_unknown_repository_id_is_400_naming_it(
    api: httpx.Client, moved: Emulator, repos: dict[str, str], dry_run: bool
) -> None:
    params = {"dry_run": "true"} if dry_run else {}
    body = {"name": "backend", "repository_ids": [repos["api"], "no-such-repo"]}
    refused = error(api.post(POLICIES, json=body, params=params), 400)
    assert "'no-such-repo'" in refused["message"]
    assert refused["details"] == {"field": "repository_ids"}
    policy = api.post(POLICIES, json={"name": "frontend"}).json()
    change = {"repository_ids": ["gone"]}
    refused = error(api.put(f"{POLICIES}/{policy['id']}", json=change, params=params), 400)
    assert "'gone'" in refused["message"]
    assert scopes(moved) == {None: [], "frontend": []}


def test_another_orgs_repository_is_unknown(
    api: httpx.Client, moved: Emulator, repos: dict[str, str]
) -> None:
    (elsewhere,) = moved.seed_repos("globex", ["api"])
    refused = error(
        api.post(POLICIES, json={"name": "p", "repository_ids": [elsewhere["id"]]}), 400
    )
    assert elsewhere["id"] in refused["message"]


def test_a_repository_listed_twice_is_400(api: httpx.Client, repos: dict[str, str]) -> None:
    body = {"name": "p", "repository_ids": [repos["api"], repos["api"]]}
    refused = error(api.post(POLICIES, json=body), 400)
    assert refused["details"] == {"field": "repository_ids"} and "twice" in refused["message"]


@pytest.mark.parametrize("dry_run", [False, True])
def test_a_repository_another_policy_governs_is_409_naming_that_policy(
    api: httpx.Client, moved: Emulator, repos: dict[str, str], dry_run: bool
) -> None:
    params = {"dry_run": "true"} if dry_run else {}
    backend = api.post(POLICIES, json={"name": "backend", "repository_ids": [repos["api"]]}).json()
    body = {"name": "frontend", "repository_ids": [repos["web"], repos["api"]]}
    refused = error(api.post(POLICIES, json=body, params=params), 409)
    assert "'backend'" in refused["message"] and repos["api"] in refused["message"]
    assert refused["details"] == {"field": "repository_ids"}
    frontend = api.post(POLICIES, json={"name": "frontend"}).json()
    move = {"repository_ids": [repos["api"]]}
    refused = error(api.put(f"{POLICIES}/{frontend['id']}", json=move, params=params), 409)
    assert "'backend'" in refused["message"]
    # The policy that holds it may name it again.
    again = api.put(f"{POLICIES}/{backend['id']}", json={"repository_ids": [repos["api"]]})
    assert again.status_code == 200
    assert scopes(moved) == {None: [], "backend": [repos["api"]], "frontend": []}


def test_a_repository_moves_once_the_policy_it_leaves_lets_go(
    api: httpx.Client, moved: Emulator, repos: dict[str, str]
) -> None:
    backend = api.post(POLICIES, json={"name": "backend", "repository_ids": [repos["api"]]}).json()
    frontend = api.post(POLICIES, json={"name": "frontend"}).json()
    rehearsed = api.put(
        f"{POLICIES}/{backend['id']}", json={"repository_ids": []}, params={"dry_run": "1"}
    )
    assert rehearsed.json()["repository_ids"] == [] and rehearsed.json()["dry_run"] is True
    move = {"repository_ids": [repos["api"]]}
    assert api.put(f"{POLICIES}/{frontend['id']}", json=move).status_code == 409  # kept nothing
    assert api.put(f"{POLICIES}/{backend['id']}", json={"repository_ids": None}).status_code == 200
    assert api.put(f"{POLICIES}/{frontend['id']}", json=move).status_code == 200
    assert scopes(moved) == {None: [], "backend": [], "frontend": [repos["api"]]}


@pytest.mark.parametrize(
    ("method", "body", "field"),
    [
        ("PUT", {"repository_ids": None}, "repository_ids"),
        ("PUT", {"repository_ids": ["any"]}, "repository_ids"),
        ("PUT", {"name": "default"}, "name"),
        ("PUT", {"name": None}, "name"),
        ("DELETE", None, "policy_id"),
    ],
)
@pytest.mark.parametrize("dry_run", [False, True])
def test_the_default_policy_keeps_its_name_scope_and_existence(
    api: httpx.Client,
    moved: Emulator,
    method: str,
    body: Any,
    field: str,
    dry_run: bool,
) -> None:
    params = {"dry_run": "true"} if dry_run else {}
    refused = error(api.request(method, f"{POLICIES}/default", json=body, params=params), 400)
    assert refused["details"] == {"field": field}
    (default,) = moved.alert_policies("acme")
    assert (default["id"], default["name"], default["updated_at"]) == ("default", None, None)


def test_the_default_policy_takes_baseline_and_description(
    api: httpx.Client, moved: Emulator
) -> None:
    body = {"baseline": None, "description": "Everything else"}
    changed = api.put(f"{POLICIES}/default", json=body).json()
    assert (changed["baseline"], changed["description"], changed["name"]) == (
        None,
        "Everything else",
        None,
    )


@pytest.mark.parametrize(
    ("description", "accepted"),
    [
        ("d" * 256, True),
        ("d" * 257, False),
        ("🙂" * 128, True),  # 256 UTF-16 code units
        ("🙂" * 128 + "d", False),  # 129 characters, 257 units
        ("é" * 256, True),  # one unit each
        ("", True),
        (None, True),
    ],
)
def test_description_is_at_most_256_utf16_units(
    api: httpx.Client, moved: Emulator, description: str | None, accepted: bool
) -> None:
    created = api.post(POLICIES, json={"name": "p", "description": description})
    if accepted:
        assert created.status_code == 201 and created.json()["description"] == description
        return
    refused = error(created, 400)
    assert refused["details"] == {"field": "description"} and "UTF-16" in refused["message"]
    refused = error(api.put(f"{POLICIES}/default", json={"description": description}), 400)
    assert len(moved.alert_policies("acme")) == 1


@pytest.mark.parametrize("baseline", ["essential", "balanced", "comprehensive", None])
def test_each_baseline_and_null_are_accepted(
    api: httpx.Client, moved: Emulator, baseline: str | None
) -> None:
    created = api.post(POLICIES, json={"name": "p", "baseline": baseline})
    assert created.status_code == 201 and created.json()["baseline"] == baseline
    updated = api.put(f"{POLICIES}/default", json={"baseline": baseline})
    assert updated.status_code == 200 and updated.json()["baseline"] == baseline


@pytest.mark.parametrize("baseline", ["none", "Balanced", "strict", "", 1])
def test_any_other_baseline_is_400(api: httpx.Client, moved: Emulator, baseline: object) -> None:
    for response in (
        api.post(POLICIES, json={"name": "p", "baseline": baseline}),
        api.put(f"{POLICIES}/default", json={"baseline": baseline}),
    ):
        assert error(response, 400)["details"] == {"field": "baseline"}
    assert moved.alert_policies("acme")[0]["baseline"] == "balanced"


def test_a_policy_delete_takes_its_rules_and_label_and_frees_its_repositories(
    api: httpx.Client, moved: Emulator, repos: dict[str, str]
) -> None:
    ids = [repos["api"], repos["worker"]]
    backend = api.post(POLICIES, json={"name": "backend", "repository_ids": ids}).json()
    rule = {"name": "r", "vigil_selector": {"finding.alertType": "cve"}, "action": "warn"}
    assert api.post(f"{POLICIES}/{backend['id']}/rules", json=rule).status_code == 201
    kept = api.post(f"{POLICIES}/default/rules", json=rule).json()
    assert api.delete(f"{POLICIES}/{backend['id']}", params={"dry_run": "true"}).status_code == 200
    assert scopes(moved)["backend"] == ids  # the rehearsal kept everything
    assert len(moved.policy_rules("acme", backend["id"])) == 1
    assert api.delete(f"{POLICIES}/{backend['id']}").status_code == 200
    assert scopes(moved) == {None: []}  # back to the default policy: no label holds them
    assert [r["id"] for r in moved.policy_rules("acme")] == [kept["id"]]
    assert moved.store.read("SELECT count(*) FROM policy_rules")[0][0] == 1
    again = api.post(POLICIES, json={"name": "frontend", "repository_ids": ids})
    assert again.status_code == 201  # no longer governed by anyone
    assert moved.counters()["policies"] == {"created": 2, "updated": 0, "deleted": 1}


def test_a_dry_run_create_checks_everything_and_keeps_nothing(
    api: httpx.Client, moved: Emulator, repos: dict[str, str]
) -> None:
    body = {"name": "backend", "repository_ids": [repos["api"]], "baseline": "essential"}
    rehearsal = api.post(POLICIES, json=body, params={"dry_run": "yes"})
    assert rehearsal.status_code == 200 and rehearsal.json()["repository_ids"] == [repos["api"]]
    assert scopes(moved) == {None: []}
    # Nothing was kept, so the same repository is still free for a real create.
    assert api.post(POLICIES, json={**body, "name": "frontend"}).status_code == 201
    assert moved.counters()["policies"]["created"] == 1


def test_seeding_checks_repositories_as_the_api_does(
    moved: Emulator, repos: dict[str, str]
) -> None:
    with pytest.raises(ValueError, match="no-such"):
        moved.seed_policy("acme", "p", repository_ids=["no-such"])
    moved.seed_policy("acme", "backend", repository_ids=[repos["api"]])
    with pytest.raises(ValueError, match="'backend'"):
        moved.seed_policy("acme", "frontend", repository_ids=[repos["api"]])
    frontend = moved.seed_policy("acme", "frontend")
    with pytest.raises(ValueError, match="'backend'"):
        moved.seed_policy_update("acme", frontend["id"], repository_ids=[repos["api"]])
    with pytest.raises(ValueError, match="default"):
        moved.seed_policy_update("acme", "default", repository_ids=[])
    changed = moved.seed_policy_update("acme", "default", description="rest", baseline=None)
    assert (changed["description"], changed["baseline"]) == ("rest", None)
    assert changed["id"] != "default"
    # A name another policy has is allowed in seeding, so tests can hold an ambiguous pair.
    twin = moved.seed_policy("acme", "backend")
    assert [p["name"] for p in moved.alert_policies("acme")].count("backend") == 2
    assert twin["repository_ids"] == []
