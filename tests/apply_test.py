"""The apply engine against the emulator: batching, force, faults, partial failure, soak."""

from __future__ import annotations

import contextlib
import dataclasses
import datetime as dt
import json
import random
from collections.abc import Callable, Iterator
from pathlib import Path

import httpx
import pytest
from apply_scripted import INTERRUPT, INTERRUPT_AFTER, Scripted
from apply_support import apply_one
from conftest import TEST_ORG, TEST_TOKEN, TRANSPORT_BASE_URL

from reconciler.emulator import Emulator, EmulatorTransport, Faults
from reconciler.engine import flow
from reconciler.engine.audit import AuditLog
from reconciler.engine.provenance import Provenance
from reconciler.errors import ApplyError, RateLimitError, ReadOnlyError
from reconciler.http.retry import RetryPolicy
from reconciler.rules.model import Rule
from reconciler.triage.apply import apply_org, batches
from reconciler.triage.client import TriageClient
from reconciler.triage.plan import TriagePlan, diff
from reconciler.triage.verify import differences, expected_state
from reconciler.vocab.triage.selector import LiveRule, Selector

TODAY = dt.date(2026, 11, 28)
NO_WAIT = RetryPolicy(max_attempts=20, base_delay=0.0, max_delay=0.0, retry_after_cap=0.0)


def make_client(
    emulator: Emulator,
    policy: RetryPolicy = NO_WAIT,
    token: str = TEST_TOKEN,
    transport: httpx.BaseTransport | None = None,
) -> TriageClient:
    return TriageClient(
        TRANSPORT_BASE_URL,
        token,
        transport=transport or EmulatorTransport(emulator),
        retry=policy,
        sleep=lambda _: None,
    )


@pytest.fixture
def client(emulator: Emulator) -> Iterator[TriageClient]:
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


def plan_for(client: TriageClient, desired: list[Rule]) -> tuple[TriagePlan, list[LiveRule]]:
    live = [LiveRule.from_get(r) for r in client.list_rules(TEST_ORG)]
    return diff(TEST_ORG, desired, live, today=TODAY), live


def converge(client: TriageClient, desired: list[Rule]) -> list[str]:
    plan, before = plan_for(client, desired)
    result = apply_org(client, plan)
    assert result.error is None, result.error
    return verify(client, plan, before)


def verify(client: TriageClient, plan: TriagePlan, before: list[LiveRule]) -> list[str]:
    """How the org, listed afresh, still differs from what ``plan`` should have left."""
    return differences(expected_state(plan, before), client.live_rules(TEST_ORG))


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
    emulator: Emulator, client: TriageClient
) -> None:
    seed(emulator, [f"old{i}" for i in range(120)])
    desired = [rule(f"old{i}", state="block") for i in range(110)]  # 110 updates, 10 deletes
    desired += [rule(f"new{i}") for i in range(150)] + [broad("cve")]
    assert converge(client, desired) == []
    calls = emulator.counters()["calls"]
    # 2 update POSTs, 2 create POSTs, 1 broad POST; 10 DELETEs (listings: see paginate_test).
    assert calls["POST"] == 5
    assert calls["DELETE"] == 10


def test_broad_rules_are_sent_with_force(emulator: Emulator, client: TriageClient) -> None:
    assert converge(client, [broad("cve")]) == []
    assert [r["alert_type"] for r in emulator.rules(TEST_ORG)] == ["cve"]


def test_migrated_org_fails_once_without_retry_storm(
    emulator: Emulator, client: TriageClient
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
    emulator: Emulator, client: TriageClient
) -> None:
    emulator.set_faults(Faults(seed=1, rate_ambiguous=1.0))
    plan, before = plan_for(client, [rule("a"), rule("b")])
    result = apply_org(client, plan)
    emulator.set_faults(Faults())
    assert result.error is None
    assert emulator.counters()["calls"]["POST"] == 1
    assert sorted(r["package_name"] for r in emulator.rules(TEST_ORG)) == ["a", "b"]
    assert verify(client, plan, before) == []


# Late commits land well inside the settle time, so that a slow CI runner does not make them late.
SETTLE = 0.1
SOAK_FAULTS = Faults(
    rate_429=0.2,
    rate_500=0.05,
    rate_502=0.05,
    rate_ambiguous=0.05,
    rate_late_commit=0.05,
    late_commit_delay=0.005,
)
# Rules kept, updated, deleted and created (plus 2 broad creates): 4 POSTs (1 update, 2 create
# and 1 broad batch) and 40 DELETEs.
KEEP, UPDATE, DELETE, CREATE = 30, 60, 40, 110
SOAK_CHANGES = UPDATE + CREATE + 2 + DELETE
SOAK_FINAL = KEEP + UPDATE + CREATE + 2


def soak_org(emulator: Emulator) -> tuple[list[Rule], dict[str, str]]:
    """The soak's live rules and files; returns the files and the uuids of the live rules."""
    seed(
        emulator,
        [f"keep{i}" for i in range(KEEP)]
        + [f"upd{i}" for i in range(UPDATE)]
        + [f"del{i}" for i in range(DELETE)],
    )
    kept = {r["package_name"]: r["uuid"] for r in emulator.rules(TEST_ORG)}
    desired = [rule(f"keep{i}") for i in range(KEEP)]
    desired += [rule(f"upd{i}", state="block") for i in range(UPDATE)]
    desired += [rule(f"new{i}") for i in range(CREATE)] + [broad("cve"), broad("malware")]
    return desired, kept


def held_changes(emulator: Emulator) -> set[tuple[str, str]]:
    """The soak's changes the server holds now, as (action, label): what the audit must say."""
    rules = emulator.rules(TEST_ORG)
    names = {r["package_name"] or f"*:{r['alert_type']}" for r in rules}
    held = {("create", f"npm/new{i}") for i in range(CREATE) if f"new{i}" in names}
    held |= {("create", f"npm/* alert_type={t}") for t in ("cve", "malware") if f"*:{t}" in names}
    blocked = {r["package_name"] for r in rules if r["state"] == "block"}
    held |= {("update", f"npm/upd{i}") for i in range(UPDATE) if f"upd{i}" in blocked}
    return held | {("delete", f"npm/del{i}") for i in range(DELETE) if f"del{i}" not in names}


def audited(log: Path) -> list[tuple[str, str]]:
    lines = [json.loads(line) for line in log.read_text().splitlines()]
    return [(line["action"], Selector.from_snake(line["selector"]).describe()) for line in lines]


def interrupting(after: int) -> Callable[[TriagePlan], contextlib.AbstractContextManager[object]]:
    """An ``apply_progress`` whose callback raises Ctrl-C once ``after`` changes are applied."""

    @contextlib.contextmanager
    def progress(org_plan: TriagePlan) -> Iterator[Callable[[int], None]]:
        done = 0

        def update(count: int) -> None:
            nonlocal done
            done += count
            if done >= after:
                raise KeyboardInterrupt

        yield update

    return progress


def soak_apply(client: TriageClient, desired: list[Rule], log: AuditLog, *, interrupt: bool) -> str:
    """One apply as the command makes it: ``"interrupted"``, ``"unknown"`` when it ended with a
    lost create it could not confirm (never sent twice in one run: the next run settles it),
    or ``"done"``."""
    plan, _ = plan_for(client, desired)
    try:
        apply_one(client, plan, log, concurrency=8, settle=SETTLE)
    except KeyboardInterrupt:
        assert interrupt, "interrupted although no interrupt was scripted"
        return "interrupted"
    except ApplyError as exc:
        assert "lost their answer" in str(exc), exc
        return "unknown"
    return "done"


@pytest.mark.parametrize("seed_value", range(24))
def test_fault_soak_ends_with_the_org_equal_to_the_files(
    emulator: Emulator, seed_value: int, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Faults of every kind, late commits, and Ctrl-C at a random point: then a second run.

    After the first run the audit log names exactly the changes the server holds; after the
    second the org equals the files, with no duplicate, nothing lost and no kept rule replaced.
    """
    desired, kept = soak_org(emulator)
    rng = random.Random(seed_value)
    transport = Scripted(emulator)
    mode = seed_value % 3  # 0: no interrupt, 1: Ctrl-C in a request, 2: from the progress bar
    if mode == 1:
        when = rng.choice([("POST", 1 + rng.randrange(4)), ("DELETE", 1 + rng.randrange(DELETE))])
        transport.script[when] = rng.choice([INTERRUPT, INTERRUPT_AFTER])
    elif mode == 2:
        after = 1 + rng.randrange(SOAK_CHANGES - 1)
        monkeypatch.setattr(flow, "apply_progress", interrupting(after))
    emulator.set_faults(dataclasses.replace(SOAK_FAULTS, seed=seed_value))
    log_path = tmp_path / "audit.jsonl"
    log = AuditLog.open(str(log_path), Provenance())
    with make_client(emulator, transport=transport) as client:
        ended = soak_apply(client, desired, log, interrupt=mode != 0)
        # The progress bar counts only changes confirmed while sending: with a create confirmed
        # by the final listing instead, the apply may end before the count that interrupts it.
        assert (ended == "interrupted") is (mode != 0) or mode == 2
        assert sorted(audited(log_path)) == sorted(held_changes(emulator))
        monkeypatch.undo()
        for _ in range(8):  # a rerun may meet a lost create of its own
            if ended != "done":
                ended = soak_apply(client, desired, log, interrupt=False)
        assert ended == "done"
    log.close()
    faults = emulator.counters()["faults"]
    emulator.set_faults(Faults())
    assert faults["429"] > 0 and faults["500"] + faults["502"] > 0
    final = emulator.rules(TEST_ORG)
    names = [r["package_name"] or r["alert_type"] for r in final]
    assert len(names) == len(set(names)) == SOAK_FINAL  # no duplicates, nothing lost
    assert all(
        kept[r["package_name"]] == r["uuid"]
        for r in final
        if (r["package_name"] or "").startswith(("keep", "upd"))
    )
    lines = audited(log_path)
    assert len(lines) == len(set(lines)) == SOAK_CHANGES  # one line per change, across both runs
    with make_client(emulator) as client:
        assert plan_for(client, desired)[0].changes == ()
