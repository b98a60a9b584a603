"""Alert policies: the default policy, labeled policies, dry runs, and their refusals."""

from __future__ import annotations

from typing import Any

import httpx
import pytest

from reconciler.emulator import Emulator

POLICIES = "/orgs/acme/alert-policies"


def test_default_policy_is_always_there_and_first(api: httpx.Client, moved: Emulator) -> None:
    (default,) = api.get(POLICIES).json()["items"]
    assert default["id"] == "default"
    assert (default["name"], default["apply_method"]) == (None, "unlabeled_repos")
    assert (default["baseline"], default["created_at"], default["repository_ids"]) == (
        "balanced",
        None,
        [],
    )
    for name in ("zeta", "alpha"):
        assert api.post(POLICIES, json={"name": name}).status_code == 201
    listed = api.get(POLICIES).json()["items"]
    assert [p["name"] for p in listed] == [None, "zeta", "alpha"]
    assert api.get(f"{POLICIES}/default").json() == default


def test_created_policy_is_labeled_and_readable(api: httpx.Client, moved: Emulator) -> None:
    moved.seed_repos("acme", [{"slug": "one", "id": "r1"}])
    body = {"name": "payments", "description": "d", "repository_ids": ["r1"], "baseline": None}
    created = api.post(POLICIES, json=body)
    assert created.status_code == 201
    policy = created.json()
    assert "dry_run" not in policy
    assert policy["apply_method"] == "labeled_repos"
    assert policy["repo_label_id"] and policy["repository_ids"] == ["r1"]
    assert api.get(f"{POLICIES}/{policy['id']}").json() == policy
    assert moved.counters()["policies"]["created"] == 1


def test_first_customization_gives_the_default_policy_a_uuid_and_default_still_works(
    api: httpx.Client, moved: Emulator
) -> None:
    rule = {"name": "r", "vigil_selector": {"finding.alertType": "cve"}, "action": "warn"}
    api.post(f"{POLICIES}/default/rules", json=rule)
    updated = api.put(f"{POLICIES}/default", json={"baseline": "essential"}).json()
    assert updated["id"] != "default" and updated["created_at"] is not None
    assert api.get(f"{POLICIES}/default").json() == updated
    assert api.get(f"{POLICIES}/{updated['id']}").json() == updated
    (listed,) = api.get(f"{POLICIES}/default/rules").json()["items"]
    assert listed["alert_policy_id"] == updated["id"]


def test_partial_update_changes_only_what_is_given(api: httpx.Client, moved: Emulator) -> None:
    moved.seed_repos("acme", [{"slug": slug, "id": slug} for slug in "abc"])
    body = {"name": "p", "description": "keep", "repository_ids": ["a", "b"]}
    policy = api.post(POLICIES, json=body).json()
    changed = api.put(f"{POLICIES}/{policy['id']}", json={"repository_ids": ["c"]}).json()
    assert (changed["description"], changed["repository_ids"]) == ("keep", ["c"])
    assert changed["updated_at"] > policy["updated_at"]


def test_delete_takes_the_rules_with_it(api: httpx.Client, moved: Emulator) -> None:
    policy = api.post(POLICIES, json={"name": "p"}).json()
    rule = {"name": "r", "vigil_selector": {"finding.alertType": "cve"}, "action": "warn"}
    api.post(f"{POLICIES}/{policy['id']}/rules", json=rule)
    deleted = api.delete(f"{POLICIES}/{policy['id']}")
    assert deleted.status_code == 200 and "result" in deleted.json()
    assert api.get(f"{POLICIES}/{policy['id']}").status_code == 404
    assert api.get(f"{POLICIES}/{policy['id']}/rules").status_code == 404
    assert moved.store.read("SELECT count(*) FROM policy_rules")[0][0] == 0


@pytest.mark.parametrize(
    ("method", "path", "body", "field"),
    [
        ("PUT", "default", {"name": "x"}, "name"),
        ("PUT", "default", {"repository_ids": []}, "repository_ids"),
        ("DELETE", "default", None, "policy_id"),
        ("POST", "", {"description": "no name"}, "name"),
        ("POST", "", {"name": ""}, "name"),
        ("POST", "", {"name": "x" * 121}, "name"),
        ("POST", "", {"name": "x", "description": "d" * 257}, "description"),
        ("POST", "", {"name": "x", "baseline": "strict"}, "baseline"),
        ("POST", "", {"name": "x", "repository_ids": "r1"}, "repository_ids"),
        ("POST", "", {"name": "x", "colour": "red"}, "colour"),
    ],
)
def test_bad_policy_writes_are_400_naming_the_field(
    api: httpx.Client, moved: Emulator, method: str, path: str, body: Any, field: str
) -> None:
    response = api.request(method, f"{POLICIES}/{path}".rstrip("/"), json=body)
    assert response.status_code == 400
    assert response.json()["error"]["details"] == {"field": field}
    assert len(moved.alert_policies("acme")) == 1


def test_duplicate_policy_name_is_409(api: httpx.Client, moved: Emulator) -> None:
    first = api.post(POLICIES, json={"name": "same"}).json()
    assert api.post(POLICIES, json={"name": "same"}).status_code == 409
    other = api.post(POLICIES, json={"name": "other"}).json()
    assert api.put(f"{POLICIES}/{other['id']}", json={"name": "same"}).status_code == 409
    assert api.put(f"{POLICIES}/{first['id']}", json={"name": "same"}).status_code == 200


@pytest.mark.parametrize("flag", ["true", "1", "yes"])
def test_dry_run_answers_what_a_write_would_and_keeps_nothing(
    api: httpx.Client, moved: Emulator, flag: str
) -> None:
    rehearsal = api.post(POLICIES, params={"dry_run": flag}, json={"name": "p"})
    assert rehearsal.status_code == 200
    assert rehearsal.json()["dry_run"] is True and rehearsal.json()["name"] == "p"
    assert len(moved.alert_policies("acme")) == 1
    real = api.post(POLICIES, json={"name": "p"}).json()
    renamed = api.put(f"{POLICIES}/{real['id']}", params={"dry_run": flag}, json={"name": "q"})
    assert renamed.json()["name"] == "q" and renamed.json()["dry_run"] is True
    assert api.delete(f"{POLICIES}/{real['id']}", params={"dry_run": flag}).json() == {
        "dry_run": True
    }
    assert api.get(f"{POLICIES}/{real['id']}").json() == real
    assert moved.counters()["policies"] == {"created": 1, "updated": 0, "deleted": 0}


@pytest.mark.parametrize("flag", ["false", "True", "ture", "", "0", "no"])
def test_any_other_dry_run_value_is_400_and_writes_nothing(
    api: httpx.Client, moved: Emulator, flag: str
) -> None:
    response = api.post(POLICIES, params={"dry_run": flag}, json={"name": "p"})
    assert response.status_code == 400
    assert response.json()["error"]["details"] == {"param": "dry_run"}
    assert len(moved.alert_policies("acme")) == 1


def test_policy_and_rule_reads_need_an_org_wide_token(emulator: Emulator) -> None:
    from reconciler.emulator import EmulatorTransport

    emulator.add_token("sktsec_repo", "acme", ["alert-policy"], repos=["acme/web"])
    with httpx.Client(
        transport=EmulatorTransport(emulator),
        base_url="http://emu/v0",
        headers={"Authorization": "Bearer sktsec_repo"},
    ) as limited:
        for path in (POLICIES, f"{POLICIES}/default/rules", f"{POLICIES}/migration/status"):
            response = limited.get(path)
            assert response.status_code == 403
            assert "org-wide" in response.json()["error"]["message"]
