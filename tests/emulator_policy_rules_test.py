"""Policy rules: order by rank, placement on create and move, dry runs, and refusals."""

from __future__ import annotations

import random
from typing import Any

import httpx
import pytest

from reconciler.emulator import Emulator
from reconciler.emulator.policies_rank import RankError, check_key, key_between

RULES = "/orgs/acme/alert-policies/default/rules"


def rule(name: str, **extra: Any) -> dict[str, Any]:
    return {"name": name, "vigil_selector": {"finding.alertType": name}, "action": "warn", **extra}


def nested_or(depth: int) -> dict[str, Any]:
    selector: dict[str, Any] = {"artifact.name": "x"}
    for _ in range(depth):
        selector = {"$or": [selector]}
    return selector


def names(api: httpx.Client) -> list[str]:
    items = api.get(RULES).json()["items"]
    assert [r["rank"] for r in items] == sorted(r["rank"] for r in items)
    return [r["name"] for r in items]


def create(api: httpx.Client, name: str, **placement: Any) -> dict[str, Any]:
    response = api.post(RULES, json=rule(name, **placement))
    assert response.status_code == 201, response.text
    created: dict[str, Any] = response.json()
    return created


def test_create_without_placement_goes_first(api: httpx.Client, moved: Emulator) -> None:
    for name in ("a", "b", "c"):
        create(api, name)
    assert names(api) == ["c", "b", "a"]


def test_every_placement_puts_the_rule_where_it_says(api: httpx.Client, moved: Emulator) -> None:
    a = create(api, "a", position="last")
    c = create(api, "c", position="last")
    create(api, "b", after_rule_id=a["id"])
    create(api, "start", position="first")
    create(api, "b2", before_rule_id=c["id"])
    create(api, "end", rank=key_between(c["rank"], None))
    assert names(api) == ["start", "a", "b", "b2", "c", "end"]


def test_moves_keep_the_id_and_change_only_the_rank(api: httpx.Client, moved: Emulator) -> None:
    made = {n: create(api, n, position="last") for n in ("a", "b", "c", "d")}
    moved_rule = api.put(f"{RULES}/{made['d']['id']}", json={"before_rule_id": made["b"]["id"]})
    assert moved_rule.status_code == 200
    assert (moved_rule.json()["id"], moved_rule.json()["name"]) == (made["d"]["id"], "d")
    assert names(api) == ["a", "d", "b", "c"]
    api.put(f"{RULES}/{made['a']['id']}", json={"position": "last"})
    api.put(f"{RULES}/{made['c']['id']}", json={"after_rule_id": made["d"]["id"]})
    assert names(api) == ["d", "c", "b", "a"]
    kept = api.put(f"{RULES}/{made['b']['id']}", json={"note": "n"}).json()
    assert kept["rank"] == api.get(f"{RULES}/{made['b']['id']}").json()["rank"]
    assert moved.counters()["policy_rules"]["moved"] == 3


def test_many_inserts_between_two_ranks_never_collide(api: httpx.Client, moved: Emulator) -> None:
    low = create(api, "low", position="last")
    create(api, "high", position="last")
    for i in range(60):  # always right after "low": each new key sits between two close ones
        create(api, f"n{i}", after_rule_id=low["id"])
    items = api.get(RULES).json()["items"]
    ranks = [r["rank"] for r in items]
    assert len(set(ranks)) == len(ranks) == 62
    assert [r["name"] for r in items] == ["low", *[f"n{i}" for i in range(59, -1, -1)], "high"]


def test_random_placements_keep_a_total_order_of_valid_keys() -> None:
    rng = random.Random(5)
    keys: list[str] = []
    for _ in range(2000):
        at = rng.randrange(len(keys) + 1)
        low = keys[at - 1] if at else None
        high = keys[at] if at < len(keys) else None
        key = key_between(low, high)
        check_key(key)
        keys.insert(at, key)
    assert keys == sorted(keys) and len(set(keys)) == len(keys)


@pytest.mark.parametrize(
    ("low", "high", "expected"),
    [(None, None, "a0"), ("a0", None, "a1"), (None, "a0", "Zz"), ("a1", "a2", "a1V")],
)
def test_keys_match_the_fractional_indexing_library(
    low: str | None, high: str | None, expected: str
) -> None:
    assert key_between(low, high) == expected


@pytest.mark.parametrize("key", ["", "a", "b0", "a0V0", "a0!", "0a", "A" + "0" * 26])
def test_invalid_keys_are_refused(key: str) -> None:
    with pytest.raises(RankError):
        check_key(key)


def test_dry_run_create_move_and_delete_store_nothing(api: httpx.Client, moved: Emulator) -> None:
    a = create(api, "a")
    before = api.get(RULES).json()
    rehearsed = api.post(RULES, params={"dry_run": "1"}, json=rule("b", position="last"))
    assert rehearsed.status_code == 200 and rehearsed.json()["dry_run"] is True
    assert rehearsed.json()["rank"] > a["rank"]
    move = api.put(f"{RULES}/{a['id']}", params={"dry_run": "yes"}, json={"name": "renamed"})
    assert move.json()["name"] == "renamed"
    assert api.delete(f"{RULES}/{a['id']}", params={"dry_run": "true"}).json() == {"dry_run": True}
    assert api.get(RULES).json() == before
    assert moved.counters()["policy_rules"] == {
        "created": 1,
        "updated": 0,
        "moved": 0,
        "deleted": 0,
    }


def test_get_and_delete_a_rule(api: httpx.Client, moved: Emulator) -> None:
    a = create(api, "a")
    assert api.get(f"{RULES}/{a['id']}").json() == a
    assert api.delete(f"{RULES}/{a['id']}").json() == {"result": f"Deleted rule {a['id']}"}
    assert api.get(f"{RULES}/{a['id']}").status_code == 404
    assert api.delete(f"{RULES}/{a['id']}").status_code == 404


def test_a_rule_of_another_policy_is_404(api: httpx.Client, moved: Emulator) -> None:
    a = create(api, "a")
    other = api.post("/orgs/acme/alert-policies", json={"name": "p"}).json()
    assert api.get(f"/orgs/acme/alert-policies/{other['id']}/rules/{a['id']}").status_code == 404
    assert api.get("/orgs/acme/alert-policies/nope/rules").status_code == 404


@pytest.mark.parametrize(
    ("body", "status", "field"),
    [
        ({"vigil_selector": {"finding.alertType": "x"}, "action": "warn"}, 400, "name"),
        (rule("x", action="block"), 400, "action"),
        (rule("x" * 129), 400, "name"),
        (rule("x", note="n" * 257), 400, "note"),
        (rule("x", vigil_selector={"severity": "high"}), 400, "vigil_selector"),
        (rule("x", vigil_selector={}), 400, "vigil_selector"),
        (rule("x", vigil_selector={"location.repo": "acme/web"}), 400, "vigil_selector"),
        (rule("x", vigil_selector={"artifact.type": "nmp"}), 400, "vigil_selector"),
        (rule("x", vigil_selector={"artifact.name": {"$regex": "a"}}), 400, "vigil_selector"),
        (rule("x", vigil_selector={"artifact.name": {"$in": []}}), 400, "vigil_selector"),
        (rule("x", vigil_selector={"artifact.name": 3}), 400, "vigil_selector"),
        (rule("x", position="first", rank="a5"), 400, "rank"),
        (rule("x", position="middle"), 400, "position"),
        (rule("x", rank="a0V0"), 400, "rank"),
        (rule("x", after_rule_id="nope"), 400, "after_rule_id"),
        (rule("x", colour="red"), 400, "colour"),
        (rule("x", vigil_selector=nested_or(9)), 400, "vigil_selector"),
    ],
)
def test_bad_rule_bodies_are_refused_naming_the_field(
    api: httpx.Client, moved: Emulator, body: dict[str, Any], status: int, field: str
) -> None:
    response = api.post(RULES, json=body)
    assert response.status_code == status, response.text
    assert response.json()["error"]["details"] == {"field": field}
    assert moved.policy_rules("acme") == []


def test_selector_forms_that_are_documented_are_accepted(
    api: httpx.Client, moved: Emulator
) -> None:
    selector = {
        "finding.alertType": {"$in": ["criticalCVE", "cve"]},
        "artifact.type": "npm",
        "$or": [{"artifact.name": "a"}, {"location.manifest": "package.json"}, nested_or(7)],
    }
    created = api.post(RULES, json=rule("x", vigil_selector=selector))
    assert created.status_code == 201
    assert created.json()["vigil_selector"] == selector


def test_explicit_rank_already_taken_is_409(api: httpx.Client, moved: Emulator) -> None:
    a = create(api, "a")
    taken = api.post(RULES, json=rule("b", rank=a["rank"]))
    assert taken.status_code == 409
    assert taken.json()["error"]["details"] == {"field": "rank"}


def test_moving_a_rule_next_to_itself_is_400(api: httpx.Client, moved: Emulator) -> None:
    a = create(api, "a")
    assert api.put(f"{RULES}/{a['id']}", json={"after_rule_id": a["id"]}).status_code == 400


def test_seeded_rules_append_in_order(api: httpx.Client, moved: Emulator) -> None:
    create(api, "api-first")
    moved.seed_policy_rules("acme", [rule("s1"), rule("s2")])
    assert names(api) == ["api-first", "s1", "s2"]
    with pytest.raises(ValueError, match="action"):
        moved.seed_policy_rules("acme", [rule("bad", action="block")])
