"""The apply engine against the emulator: batching, force, faults, partial failure, soak."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator

import pytest
from conftest import TEST_ORG, TEST_TOKEN, TRANSPORT_BASE_URL

from reconciler.emulator import Emulator, EmulatorTransport, Faults
from reconciler.engine.apply import apply_org, batches, verify
from reconciler.engine.plan import OrgPlan, diff
from reconciler.errors import RateLimitError, ReadOnlyError
from reconciler.http.client import SocketClient
from reconciler.http.retry import RetryPolicy
from reconciler.rules.model import Rule
from reconciler.triage.selector import LiveRule, Selector

TODAY = dt.date(2026, 11, 28)
NO_WAIT = RetryPolicy(max_attempts=20, base_delay=0.0, max_delay=0.0, retry_after_cap=0.0)


def make_client(
    emulator: Emulator, policy: RetryPolicy = NO_WAIT, token: str = TEST_TOKEN
) -> SocketClient:
    return SocketClient(
        TRANSPORT_BASE_URL,
        token,
        transport=EmulatorTransport(emulator),
        retry=policy,
        sleep=lambda _: None,
    )


@pytest.fixture
def client(emulator: Emulator) -> Iterator[SocketClient]:
    with make_client(emulator) as c:
        yield c


def rule(name: str, state: str = "ignore", note: str = "why", **fields: str) -> Rule:
    return Rule(
        TEST_ORG,
        Selector.from_snake({"package_type": "npm", "package_name": name, **fields}),
        state,
        note,
    )


def broad(alert_type: str) -> Rule:
    return Rule(
        TEST_ORG,
        Selector(package_type="npm", alert_type=alert_type),
        "warn",
        "org-wide",
        broad=True,
    )


def seed(emulator: Emulator, names: list[str], state: str = "ignore") -> None:
    emulator.seed_rules(
        TEST_ORG,
        [{"package_type": "npm", "package_name": n, "state": state, "note": "why"} for n in names],
    )


def plan_for(client: SocketClient, desired: list[Rule]) -> tuple[OrgPlan, list[LiveRule]]:
    live = [LiveRule.from_get(r) for r in client.list_rules(TEST_ORG)]
    return diff(TEST_ORG, desired, live, today=TODAY), live


def converge(client: SocketClient, desired: list[Rule]) -> list[str]:
    plan, before = plan_for(client, desired)
    result = apply_org(client, plan)
    assert result.error is None, result.error
    return verify(client, plan, before)[0]


def test_batches_are_at_most_100_and_broad_ones_apart() -> None:
    plan = diff(
        TEST_ORG,
        [rule(f"p{i}") for i in range(250)] + [broad("cve"), broad("malware")],
        [],
        today=TODAY,
    )
    sizes = [(len(b), b[0].broad) for b in batches(plan.changes)]
    assert sizes == [(100, False), (100, False), (50, False), (2, True)]


def test_apply_batches_creates_updates_and_deletes(
    emulator: Emulator, client: SocketClient
) -> None:
    seed(emulator, [f"old{i}" for i in range(120)])
    desired = [rule(f"old{i}", state="block") for i in range(110)]  # 110 updates, 10 deletes
    desired += [rule(f"new{i}") for i in range(150)] + [broad("cve")]
    assert converge(client, desired) == []
    calls = emulator.counters()["calls"]
    # 2 update POSTs, 2 create POSTs, 1 broad POST; 10 DELETEs; 2 listings of 2-3 pages each.
    assert calls["POST"] == 5
    assert calls["DELETE"] == 10
    assert calls["GET"] == 2 + 3


def test_broad_rules_are_sent_with_force(emulator: Emulator, client: SocketClient) -> None:
    assert converge(client, [broad("cve")]) == []
    assert [r["alert_type"] for r in emulator.rules(TEST_ORG)] == ["cve"]


def test_migrated_org_fails_once_without_retry_storm(
    emulator: Emulator, client: SocketClient
) -> None:
    emulator.add_org(TEST_ORG, migrated=True)
    plan, _ = plan_for(client, [rule("x")])
    result = apply_org(client, plan)
    assert isinstance(result.error, ReadOnlyError)
    assert "Alert Policies" in str(result.error)
    assert emulator.counters()["calls"]["POST"] == 1


def test_partial_failure_reports_and_a_second_apply_converges(emulator: Emulator) -> None:
    limited = Emulator(quota=6)  # per token: 1 listing + 5 writes, then 429 for an hour
    limited.add_org(TEST_ORG)
    limited.add_token(TEST_TOKEN, TEST_ORG)
    limited.add_token("sktsec_second_token", TEST_ORG)
    limited.seed_rules(
        TEST_ORG,
        [
            {"package_type": "npm", "package_name": f"gone{i}", "state": "warn", "note": "n"}
            for i in range(5)
        ],
    )
    desired = [rule("a", state="block"), broad("cve")]
    with make_client(limited, RetryPolicy(max_attempts=2, base_delay=0, retry_after_cap=0)) as c:
        plan, _ = plan_for(c, desired)
        result = apply_org(c, plan)
    assert isinstance(result.error, RateLimitError)
    assert [c.action for c in result.applied] == ["create", "create", "delete", "delete", "delete"]
    assert len(limited.rules(TEST_ORG)) == 5 + 2 - 3
    with make_client(limited, token="sktsec_second_token") as again:
        assert converge(again, desired) == []
    assert sorted(r["state"] for r in limited.rules(TEST_ORG)) == ["block", "warn"]
    limited.close()


def test_a_lost_create_is_resolved_by_relisting_not_reposted(
    emulator: Emulator, client: SocketClient
) -> None:
    emulator.set_faults(Faults(seed=1, rate_ambiguous=1.0))
    plan, before = plan_for(client, [rule("a"), rule("b")])
    result = apply_org(client, plan)
    emulator.set_faults(Faults())
    assert result.error is None
    assert emulator.counters()["calls"]["POST"] == 1
    assert sorted(r["package_name"] for r in emulator.rules(TEST_ORG)) == ["a", "b"]
    assert verify(client, plan, before)[0] == []


@pytest.mark.parametrize("seed_value", range(20))
def test_fault_soak_ends_with_the_org_equal_to_the_files(
    emulator: Emulator, client: SocketClient, seed_value: int
) -> None:
    seed(
        emulator,
        [f"keep{i}" for i in range(100)]
        + [f"upd{i}" for i in range(100)]
        + [f"del{i}" for i in range(60)],
    )
    kept = {r["package_name"]: r["uuid"] for r in emulator.rules(TEST_ORG)}
    desired = [rule(f"keep{i}") for i in range(100)] + [
        rule(f"upd{i}", state="block") for i in range(100)
    ]
    desired += [rule(f"new{i}") for i in range(140)] + [broad("cve"), broad("malware")]
    emulator.set_faults(
        Faults(seed=seed_value, rate_429=0.2, rate_500=0.05, rate_502=0.05, rate_ambiguous=0.05)
    )
    plan, before = plan_for(client, desired)
    assert len(plan.changes) == 100 + 142 + 60
    result = apply_org(client, plan)
    assert result.error is None, result.error
    faults = emulator.counters()["faults"]
    assert faults["429"] > 0 and faults["500"] + faults["502"] > 0
    emulator.set_faults(Faults())
    assert verify(client, plan, before)[0] == []
    final = emulator.rules(TEST_ORG)
    names = [r["package_name"] or r["alert_type"] for r in final]
    assert len(names) == len(set(names)) == 342  # no duplicates, nothing lost
    assert all(
        kept[r["package_name"]] == r["uuid"]
        for r in final
        if (r["package_name"] or "").startswith(("keep", "upd"))
    )
    assert plan_for(client, desired)[0].changes == ()
