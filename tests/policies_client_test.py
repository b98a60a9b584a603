"""The Alert Policies client and the sequential apply, against the emulator (in process)."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from typing import Any

import pytest
from conftest import ALL_SCOPES_TOKEN, TEST_ORG, TEST_TOKEN, TRANSPORT_BASE_URL

from reconciler import notes
from reconciler.emulator import Emulator, EmulatorTransport
from reconciler.errors import Location, ReadOnlyError, ScopeError
from reconciler.http.client import HttpClient
from reconciler.http.retry import RetryPolicy
from reconciler.policies.apply import apply_plan
from reconciler.policies.client import PoliciesClient, resolution_body, rule_body
from reconciler.policies.diff import diff
from reconciler.policies.plan import PolicyPlan
from reconciler.vocab.policies.model import DesiredResolution, DesiredRule
from reconciler.vocab.policies.selectors import VigilSelector

FAST = RetryPolicy(max_attempts=2, base_delay=0.0)


def client_for(emulator: Emulator, token: str = ALL_SCOPES_TOKEN) -> PoliciesClient:
    transport = EmulatorTransport(emulator)
    return PoliciesClient(HttpClient(TRANSPORT_BASE_URL, token, transport=transport, retry=FAST))


@pytest.fixture
def client(emulator: Emulator) -> Iterator[PoliciesClient]:
    api = client_for(emulator)
    yield api
    api.http.close()


@pytest.fixture
def moved(emulator: Emulator) -> Emulator:
    emulator.set_migration_state(TEST_ORG, "accepted")
    return emulator


def sel(alert: str) -> dict[str, str]:
    return {"finding.alertType": alert}


def want(name: str, action: str = "error", note: str = "") -> DesiredRule:
    return DesiredRule(
        name, VigilSelector.from_wire(sel(name)), action, note, location=Location("p.yaml", 1, 3)
    )


def trailer(where: Location | None, seal: str) -> str:
    return notes.trailer([("source", f"{where.file}:{where.line}")] if where else [], seal)


def plan_for(
    client: PoliciesClient,
    rules: Sequence[DesiredRule],
    resolutions: Sequence[DesiredResolution] = (),
    prune: bool = True,
) -> PolicyPlan:
    policies = client.list_policies(TEST_ORG)
    return diff(
        TEST_ORG,
        rules=rules,
        resolutions=resolutions,
        policies=policies,
        live_rules={p.id: client.list_rules(TEST_ORG, p.id) for p in policies},
        live_resolutions=client.list_resolutions(TEST_ORG),
        prune=prune,
        trailer=trailer,
    )


def test_an_org_that_never_enrolled_reads_as_not_moved(client: PoliciesClient) -> None:
    status = client.migration_status(TEST_ORG)
    assert (status.state, status.policies_writable, status.legacy_writable) == (None, False, True)


def test_the_default_policy_is_always_there(client: PoliciesClient) -> None:
    (policy,) = client.list_policies(TEST_ORG)
    assert policy.is_default and client.list_rules(TEST_ORG, policy.id) == []


def test_rule_writes_are_gated_until_the_org_moves_but_dry_runs_are_not(
    client: PoliciesClient, emulator: Emulator
) -> None:
    body = rule_body("x", sel("x"), "error", None)
    rehearsed = client.create_rule(TEST_ORG, "default", body, dry_run=True)
    assert rehearsed.name == "x" and emulator.policy_rules(TEST_ORG) == []
    with pytest.raises(ReadOnlyError, match=r"has not moved to Alert Policies yet.*\(409\)"):
        client.create_rule(TEST_ORG, "default", body)


def test_a_token_without_the_scope_is_told_which_scope(emulator: Emulator) -> None:
    api = client_for(emulator, TEST_TOKEN)  # triage scopes only
    with pytest.raises(ScopeError, match="alert-policy:list"):
        api.list_policies(TEST_ORG)


def test_resolutions_page_by_cursor_until_it_is_null(
    client: PoliciesClient, emulator: Emulator
) -> None:
    for i in range(7):
        body = resolution_body(sel(f"a{i}"), "false_positive", None, f"c{i}")
        client.create_resolution(TEST_ORG, body)
    before = client.http.calls["GET"]
    listed = client.list_resolutions(TEST_ORG, per_page=3)
    assert [r.comment for r in listed] == [f"c{i}" for i in range(7)]  # oldest first
    assert client.http.calls["GET"] - before == 3
    assert client.delete_resolution(TEST_ORG, listed[0].uuid) is True
    assert client.delete_resolution(TEST_ORG, listed[0].uuid) is False  # already gone


def test_translate_batches_by_100_and_numbers_entries_as_a_whole(
    client: PoliciesClient,
) -> None:
    entries: list[dict[str, Any]] = [
        {"alertType": f"t{i}", "packageType": "npm", "state": "block"} for i in range(150)
    ]
    entries[120] = {"alertKey": "k", "state": "ignore"}
    before = client.http.calls["POST"]
    done, failed = client.translate(TEST_ORG, entries)
    assert client.http.calls["POST"] - before == 2
    assert sorted([t.index for t in done] + [u.index for u in failed]) == list(range(150))
    assert [u.index for u in failed] == [120]
    assert done[0].body["action"] == "error"  # block -> error


def test_apply_reaches_the_files_and_a_second_plan_is_empty(
    client: PoliciesClient, moved: Emulator
) -> None:
    first = [want("a"), want("b", "warn"), want("c")]
    apply_plan(client, plan_for(client, first))
    assert [r["name"] for r in moved.policy_rules(TEST_ORG)] == ["a", "b", "c"]
    assert not plan_for(client, first).has_changes


def test_a_reordered_file_is_applied_with_moves_only_and_the_fewest_calls(
    client: PoliciesClient, moved: Emulator
) -> None:
    names = [f"r{i}" for i in range(8)]
    apply_plan(client, plan_for(client, [want(n) for n in names]))
    ids = {r["name"]: r["id"] for r in moved.policy_rules(TEST_ORG)}
    reordered = [want(n) for n in ["r7", "r0", "r1", "r2", "r3", "r4", "r6", "r5"]]
    plan = plan_for(client, reordered)
    assert [c.action for c in plan.changes] == ["move", "move"]
    before = client.http.total_calls
    assert apply_plan(client, plan) == 2
    assert client.http.total_calls - before == 2
    after = moved.policy_rules(TEST_ORG)
    assert [r["name"] for r in after] == [r.name for r in reordered]
    assert {r["name"]: r["id"] for r in after} == ids  # moved, not re-created


def test_an_update_that_also_moves_is_one_request(client: PoliciesClient, moved: Emulator) -> None:
    apply_plan(client, plan_for(client, [want("a"), want("b")]))
    plan = plan_for(client, [want("b", "warn", "now a warning"), want("a")])
    assert [c.action for c in plan.rule_changes] == ["move", "update"]
    assert apply_plan(client, plan) == 1
    assert [(r["name"], r["action"]) for r in moved.policy_rules(TEST_ORG)] == [
        ("b", "warn"),
        ("a", "error"),
    ]
    assert not plan_for(client, [want("b", "warn", "now a warning"), want("a")]).has_changes


def test_prune_false_leaves_dashboard_rules_first_and_untouched(
    client: PoliciesClient, moved: Emulator
) -> None:
    moved.seed_policy_rules(
        TEST_ORG, [{"name": "dash", "vigil_selector": sel("d"), "action": "warn"}]
    )
    apply_plan(client, plan_for(client, [want("a"), want("b")], prune=False))
    assert [r["name"] for r in moved.policy_rules(TEST_ORG)] == ["dash", "a", "b"]
    plan = plan_for(client, [want("b")], prune=False)
    assert [(c.action, c.name) for c in plan.rule_changes] == [("delete", "a")]


def test_a_changed_resolution_is_replaced_without_a_gap(
    client: PoliciesClient, emulator: Emulator
) -> None:
    old = DesiredResolution(VigilSelector.from_wire(sel("x")), "false_positive", None, "first")
    apply_plan(client, plan_for(client, [], [old]))
    new = DesiredResolution(old.selector, "tolerable_risk", "accepted by security", "second")
    plan = plan_for(client, [], [new])
    assert [c.action for c in plan.resolution_changes] == ["replace"]
    assert apply_plan(client, plan) == 2
    (live,) = client.list_resolutions(TEST_ORG)
    assert (live.reason, live.reason_text, live.human_comment, live.managed) == (
        "tolerable_risk",
        "accepted by security",
        "second",
        True,
    )
    assert not plan_for(client, [], [new]).has_changes


def test_a_dry_run_of_a_whole_plan_writes_nothing(
    client: PoliciesClient, emulator: Emulator
) -> None:
    # The org has not moved, so real rule writes would be 409: only a rehearsal can pass.
    res = DesiredResolution(VigilSelector.from_wire(sel("x")), "other", None, "")
    plan = plan_for(client, [want("a"), want("b")], [res])
    assert apply_plan(client, plan, dry_run=True) == 3
    assert emulator.policy_rules(TEST_ORG) == [] and emulator.alert_resolutions(TEST_ORG) == []


def test_a_replace_whose_delete_fails_keeps_the_new_resolution_next_time(
    client: PoliciesClient, emulator: Emulator
) -> None:
    old = DesiredResolution(VigilSelector.from_wire(sel("x")), "false_positive", None, "first")
    apply_plan(client, plan_for(client, [], [old]))
    no_delete = "sktsec_test_no_delete_0123456789"
    scopes = ("alert-policy", "alert-resolution:list", "alert-resolution:create")
    emulator.add_token(no_delete, TEST_ORG, scopes)
    new = DesiredResolution(old.selector, "remediated", None, "second")
    with pytest.raises(ScopeError, match="alert-resolution:delete"):
        apply_plan(client_for(emulator, no_delete), plan_for(client, [], [new]))
    assert sorted(r.human_comment for r in client.list_resolutions(TEST_ORG)) == ["first", "second"]
    plan = plan_for(client, [], [new])
    assert [
        (c.action, c.existing and c.existing.human_comment) for c in plan.resolution_changes
    ] == [("delete", "first")]
