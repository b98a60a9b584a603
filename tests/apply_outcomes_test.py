"""Every change ends applied, not applied or outcome unknown, as the server holds it.

Lost answers (late commits included), retries that fail after a first try committed, Ctrl-C,
a failed final listing, two applies at once, and rules without a uuid: what is sent, what is
reported line by line, and what the audit log says.
"""

from __future__ import annotations

import datetime as dt
import json
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import replace
from pathlib import Path

import pytest
from apply_scripted import INTERRUPT, LOSE, REFUSE, Script, Scripted
from apply_support import InFlight, apply_one
from apply_test import TODAY, make_client, rule, seed
from conftest import TEST_ORG, TEST_TOKEN, TRANSPORT_BASE_URL

from reconciler.emulator import Emulator, EmulatorTransport, Faults
from reconciler.engine import flow
from reconciler.engine.audit import AuditLog
from reconciler.engine.lanes import parallel, run_lanes
from reconciler.engine.outcomes import APPLIED, NOT_APPLIED, UNKNOWN
from reconciler.engine.provenance import Provenance
from reconciler.errors import (
    ApiError,
    ApplyError,
    AuthError,
    BadRequestError,
    OutcomeUnknownError,
    RateLimitError,
    ReadOnlyError,
    ReconcilerError,
    ScopeError,
    ServerError,
    UsageError,
    VerificationError,
)
from reconciler.http.retry import RetryPolicy
from reconciler.rules.model import Rule
from reconciler.triage.apply import ApplyResult, apply_org
from reconciler.triage.audit import AuditTrail, record
from reconciler.triage.changes import Change, Create, Delete, Update
from reconciler.triage.client import TriageClient
from reconciler.triage.plan import TriagePlan, diff
from reconciler.triage.verify import conclude, differences, holds, settle, statuses
from reconciler.vocab.triage.selector import LiveRule

# Three tries, no waiting: a lost answer and two refused connections exhaust a call.
THREE_TRIES = RetryPolicy(max_attempts=3, base_delay=0.0, max_delay=0.0, retry_after_cap=0.0)
SEALED = Provenance(repository="acme/rules")


@pytest.fixture
def ctrl_c_raises() -> Iterator[None]:
    """SIGINT raises KeyboardInterrupt in the main thread, as in the CLI, whatever handler the
    test runner (mutmut's, say) installed."""
    import signal

    previous = signal.signal(signal.SIGINT, signal.default_int_handler)
    try:
        yield
    finally:
        signal.signal(signal.SIGINT, previous)


def planned(client: TriageClient, desired: list[Rule]) -> tuple[TriagePlan, list[LiveRule]]:
    """A plan as the CLI makes it: notes carry our sealed trailer."""
    live = client.live_rules(TEST_ORG)
    return diff(TEST_ORG, desired, live, today=TODAY, trailer=SEALED.trailer), live


def outcome(plan: TriagePlan, result: ApplyResult) -> list[tuple[str, str, str]]:
    return [(c.action, c.selector.describe(), s) for c, s in statuses(plan, result)]


def report_lines(stderr: str) -> list[str]:
    return [line for line in stderr.splitlines() if line.startswith("  ") and ": " in line]


# --- lost answers ---------------------------------------------------------------------------


def test_a_lost_create_that_commits_late_is_waited_for_not_sent_again(
    emulator: Emulator,
) -> None:
    emulator.set_faults(Faults(rate_late_commit=1.0, late_commit_delay=0.05))
    with make_client(emulator) as client:
        plan, before = planned(client, [rule("a"), rule("b")])
        result = apply_org(client, plan)
        assert result.error is None and len(result.unknown) == 2  # never sent again
        conclude(client, plan, before, result, settle_seconds=0.4)
        emulator.set_faults(Faults())
        time.sleep(0.1)  # a second POST's late commit, if one was sent, has landed by now
    assert result.unknown == []  # confirmed by the final listing: no longer unknown
    assert [c.action for c in result.applied] == ["create", "create"]
    assert emulator.counters()["calls"]["POST"] == 1
    assert sorted(r["package_name"] for r in emulator.rules(TEST_ORG)) == ["a", "b"]


def test_a_create_that_commits_after_the_wait_is_never_sent_again_and_apply_fails(
    emulator: Emulator, capsys: pytest.CaptureFixture[str]
) -> None:
    """The server holds the create for three times the timeout. Apply must not re-send it
    (that makes a duplicate once the first commits), nor exit 0 while its fate is unknown."""
    timeout = 0.2
    emulator.set_faults(Faults(rate_late_commit=1.0, late_commit_delay=3 * timeout))
    transport = Scripted(emulator, {("POST", 2): lambda: emulator.set_faults(Faults())})
    with make_client(emulator, transport=transport) as client:
        plan, _ = planned(client, [rule("a")])
        with pytest.raises(ApplyError, match="lost their answer") as raised:
            apply_one(client, plan, None, concurrency=1, settle=timeout)
        time.sleep(4 * timeout)  # the held create has committed by now
        again, _ = planned(client, [rule("a")])
    assert str(raised.value) == (
        f"apply of org {TEST_ORG} sent every change, but 1 of them lost their answer and the "
        "org does not show them yet: a request may still commit at the server, so they were "
        f"not sent again. Applied 0 of 1 changes to org {TEST_ORG} (0 created, 0 updated, "
        "0 deleted); 0 not applied; 1 with an unknown outcome. Running apply again converges "
        "(it sees what committed meanwhile)."
    )
    assert "Interrupted" not in capsys.readouterr().err  # no Ctrl-C: nothing says there was
    assert [r["package_name"] for r in emulator.rules(TEST_ORG)] == ["a"]  # no duplicate
    assert again.changes == ()  # the run it advises has nothing left to do


def test_the_final_listing_waits_until_a_lost_create_could_have_committed(
    emulator: Emulator,
) -> None:
    """Ctrl-C right after a create's answer was lost: the outcome is settled after the wait."""
    emulator.set_faults(Faults(rate_late_commit=1.0, late_commit_delay=0.1))
    transport = Scripted(emulator)
    seed(emulator, ["gone"])
    with make_client(emulator, transport=transport) as client:
        plan, before = planned(client, [rule("a")])
        transport.script[("DELETE", 1)] = INTERRUPT  # right after the lost create
        result = apply_org(client, plan)
        assert result.interrupted
        assert outcome(plan, result) == [
            ("create", "npm/a", UNKNOWN),
            ("delete", "npm/gone", UNKNOWN),  # Ctrl-C as it was sent: settled by the listing
        ]
        conclusion = conclude(client, plan, before, result, settle_seconds=0.5)
    assert [s for _, s in conclusion.statuses] == [APPLIED, NOT_APPLIED]
    assert [r["package_name"] for r in emulator.rules(TEST_ORG)] == ["gone", "a"]


@pytest.mark.parametrize(
    ("live", "desired", "method"),
    [
        (["gone"], [], "DELETE"),
        (["changed"], [rule("changed", state="block")], "POST"),
    ],
)
def test_a_write_whose_first_try_committed_is_applied_though_its_retries_failed(
    emulator: Emulator, live: list[str], desired: list[Rule], method: str
) -> None:
    seed(emulator, live)
    transport = Scripted(emulator, {(method, 1): LOSE, (method, 2): REFUSE, (method, 3): REFUSE})
    with make_client(emulator, THREE_TRIES, transport=transport) as client:
        plan, before = planned(client, desired)
        result = apply_org(client, plan)
        assert isinstance(result.error, ServerError)
        assert [s for _, s in statuses(plan, result)] == [UNKNOWN]
        conclusion = conclude(client, plan, before, result)
    assert [s for _, s in conclusion.statuses] == [APPLIED]


def test_a_refused_write_is_not_applied_without_a_listing(emulator: Emulator) -> None:
    seed(emulator, ["gone"])
    emulator.add_org(TEST_ORG, migrated=True)  # DELETE answers 405: certainly not applied
    with make_client(emulator) as client:
        plan, _ = planned(client, [])
        result = apply_org(client, plan)
    assert isinstance(result.error, ReadOnlyError)
    assert outcome(plan, result) == [("delete", "npm/gone", NOT_APPLIED)]


def _listed(uuid: str, name: str, state: str = "ignore", note: str = "why") -> LiveRule:
    return LiveRule(uuid, rule(name).selector, state, note)


_BEFORE = _listed("u-a", "a", "warn", "old")
_SETTLED = [
    # triage/verify.py (holds): a delete holds once its uuid is gone, whatever else is listed
    (Delete(TEST_ORG, _BEFORE, None), [_listed("u-b", "b")], True),
    (Delete(TEST_ORG, _BEFORE, None), [_listed("u-b", "b"), _BEFORE], False),
    # an update holds when its rule has both the new state and the new note
    (Update(TEST_ORG, _BEFORE, rule("a")), [_listed("u-a", "a")], True),
    (Update(TEST_ORG, _BEFORE, rule("a")), [_listed("u-a", "a", note="old")], False),
    (Update(TEST_ORG, _BEFORE, rule("a")), [_listed("u-a", "a", state="warn")], False),
    (Update(TEST_ORG, _BEFORE, rule("a")), [_listed("u-b", "a")], False),
    # a create holds when a rule that was not there before has its selector
    (Create(TEST_ORG, None, rule("a")), [_listed("u-new", "a")], True),
    (Create(TEST_ORG, None, rule("a")), [_listed("u-new", "b")], False),
    (Create(TEST_ORG, None, rule("a")), [_BEFORE], False),
]


@pytest.mark.parametrize(("change", "after", "held"), _SETTLED)
def test_an_unknown_outcome_is_settled_by_what_the_final_listing_holds(
    change: Change, after: list[LiveRule], held: bool
) -> None:
    assert holds(change, {"u-a"}, after) is held


# --- the report, line by line ---------------------------------------------------------------


def test_the_report_says_applied_unknown_and_not_applied_line_by_line(
    emulator: Emulator, capsys: pytest.CaptureFixture[str]
) -> None:
    """The update lands; the create's answer is lost and no listing can settle it (the API is
    unreachable for listings from then on); the delete is refused (the org moved meanwhile)."""
    seed(emulator, ["upd", "gone"])
    transport = Scripted(emulator)
    transport.script[("POST", 2)] = (LOSE, transport.refuse_from_now("GET"))
    transport.script[("DELETE", 1)] = lambda: emulator.add_org(TEST_ORG, migrated=True)
    with make_client(emulator, THREE_TRIES, transport=transport) as client:
        plan, _ = planned(client, [rule("upd", state="block"), rule("new")])
        with pytest.raises(ApplyError) as raised:
            apply_one(client, plan, None, concurrency=1, settle=0.0)
    assert report_lines(capsys.readouterr().err) == [
        "  not applied: delete npm/gone",
        "  outcome unknown: create npm/new",
        "  applied: update npm/upd",
    ]
    assert str(raised.value).endswith(
        "Applied 1 of 3 changes to org acme (0 created, 1 updated, 0 deleted); 1 not applied; "
        "1 with an unknown outcome. Running apply again will fail the same way until the "
        "cause is fixed."
    )
    assert "gone" in {r["package_name"] for r in emulator.rules(TEST_ORG)}  # refused


def test_a_create_confirmed_by_the_relist_is_reported_applied_and_audited_once(
    emulator: Emulator, capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    """The create's answer is lost (it committed); then the org moves to Alert Policies, so the
    delete is refused: no promise that a rerun converges."""
    seed(emulator, ["gone"])

    def migrate() -> None:
        emulator.add_org(TEST_ORG, migrated=True)

    script: Script = {("POST", 1): LOSE, ("DELETE", 1): migrate}
    log_path = tmp_path / "audit.jsonl"
    log = AuditLog.open(str(log_path), SEALED)
    with make_client(emulator, transport=Scripted(emulator, script)) as client:
        plan, _ = planned(client, [rule("new")])
        with pytest.raises(ApplyError) as raised:
            apply_one(client, plan, log, concurrency=1, settle=0.0)
    log.close()
    assert report_lines(capsys.readouterr().err) == [
        "  not applied: delete npm/gone",
        "  applied: create npm/new",
    ]
    assert "Alert Policies" in str(raised.value)
    assert "converges" not in str(raised.value)
    lines = [json.loads(line) for line in log_path.read_text().splitlines()]
    new_uuid = next(r["uuid"] for r in emulator.rules(TEST_ORG) if r["package_name"] == "new")
    assert [(line["action"], line["uuid"]) for line in lines] == [("create", new_uuid)]


@pytest.mark.parametrize(
    ("error", "converges"),
    [
        (ServerError("502 again"), True),
        (RateLimitError("429 again", 429), True),
        (OutcomeUnknownError("lost"), True),
        (None, True),  # Ctrl-C
        (ScopeError("missing scope triage:alerts-update", 403), False),
        (AuthError("bad token", 401), False),
        (BadRequestError("alertTriage[0].state", 400), False),
        (ReadOnlyError("moved to Alert Policies", 409), False),
        (ApiError("page 2 is not JSON", 200), False),
    ],
)
def test_a_rerun_is_promised_to_converge_only_when_it_can(
    error: ReconcilerError | None, converges: bool
) -> None:
    assert ("converges" in flow.advice(error)) is converges


# --- the audit log --------------------------------------------------------------------------


def test_each_audit_line_is_on_disk_as_soon_as_its_change_is_confirmed(
    emulator: Emulator, tmp_path: Path
) -> None:
    seed(emulator, [f"old{i}" for i in range(6)])
    log_path = tmp_path / "audit.jsonl"
    log = AuditLog.open(str(log_path), SEALED)
    on_disk: list[int] = []

    def progress(count: int) -> None:
        on_disk.append(len(log_path.read_text().splitlines()))

    with make_client(emulator) as client:
        plan, before = planned(client, [rule(f"old{i}", state="block") for i in range(3)])
        trail = AuditTrail(log, before)
        result = apply_org(client, plan, concurrency=1, progress=progress, listener=trail)
    log.close()
    assert result.error is None
    assert on_disk == [3, 4, 5, 6]  # the update batch of 3, then each delete


def test_a_failed_final_listing_still_reports_and_audits_every_applied_change(
    emulator: Emulator, capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    seed(emulator, ["gone1", "gone2", "kept"])
    transport = Scripted(emulator)
    log_path = tmp_path / "audit.jsonl"
    log = AuditLog.open(str(log_path), SEALED)
    with make_client(emulator, THREE_TRIES, transport=transport) as client:
        plan, _ = planned(client, [rule("kept"), rule("new")])
        transport.script[("DELETE", 2)] = transport.refuse_from_now("GET")
        with pytest.raises(ApplyError, match="the listing to check them failed"):
            apply_one(client, plan, log, concurrency=1, settle=0.0)
    log.close()
    assert report_lines(capsys.readouterr().err) == [
        "  applied: delete npm/gone1",
        "  applied: delete npm/gone2",
        "  applied: create npm/new",
    ]
    lines = [json.loads(line) for line in log_path.read_text().splitlines()]
    assert sorted((line["action"], line["uuid"] is None) for line in lines) == [
        ("create", True),  # no listing named the new rule
        ("delete", False),
        ("delete", False),
    ]


def _write(log: AuditLog, change: Change) -> None:
    """One change's line, as ``AuditTrail`` writes it (no created rule named)."""
    log.append(record(change, log.provenance, when=log.now(), uuid=None))


# triage/audit.py (record) and engine/audit.py (stamp, _now): every field of a line, from the
# change and the origin.
def test_an_audit_line_holds_the_change_its_sides_and_the_origin(tmp_path: Path) -> None:
    origin = Provenance(commit="0123abcdef", pr=7, repository="acme/rules", actor="octocat")
    before = _listed("u-a", "a", "warn", "old")
    after = replace(rule("a", "block", "new"), owner="team-a", ticket="SEC-1")
    log = AuditLog.open(str(tmp_path / "audit.jsonl"), origin)  # the real clock
    _write(log, Update(TEST_ORG, before, after))
    _write(log, Delete(TEST_ORG, before, None))
    log.close()
    lines = [json.loads(line) for line in (tmp_path / "audit.jsonl").read_text().splitlines()]
    for line in lines:
        written = dt.datetime.fromisoformat(line.pop("time"))
        assert written.tzinfo == dt.UTC and written.microsecond == 0
        assert abs(dt.datetime.now(dt.UTC) - written) < dt.timedelta(minutes=5)
    same: dict[str, object] = {
        "org": TEST_ORG,
        "uuid": "u-a",
        "selector": {"package_type": "npm", "package_name": "a"},
    }
    same |= {"commit": "0123abcdef", "pr": 7, "actor": "octocat", "repository": "acme/rules"}
    assert lines == [
        {
            **same,
            "action": "update",
            "before": {"state": "warn", "note": "old"},
            "after": {"state": "block", "note": "new"},
            **{"source": None, "owner": "team-a", "ticket": "SEC-1"},
        },
        {
            **same,
            "action": "delete",
            "before": {"state": "warn", "note": "old"},
            "after": None,
            **{"source": None, "owner": None, "ticket": None},
        },
    ]


# triage/verify.py (settle): what the final listing does not hold is not applied, but for a
# create, which a request still queued at the server may yet commit: that one stays unknown.
def test_the_final_listing_settles_each_unknown_outcome_but_a_create_not_seen_yet() -> None:
    held, lost = Delete(TEST_ORG, _BEFORE, None), Update(TEST_ORG, _BEFORE, rule("a"))
    pending = Create(TEST_ORG, None, rule("b"))
    plan = TriagePlan(TEST_ORG, (held, lost, pending), unchanged=0, existing=1)
    result = ApplyResult()
    result.sending([held, lost, pending])
    settle(result, [_BEFORE], [])
    assert sorted(outcome(plan, result)) == [
        ("create", "npm/b", UNKNOWN),
        ("delete", "npm/a", APPLIED),
        ("update", "npm/a", NOT_APPLIED),
    ]


# triage/verify.py (differences): one line per difference, ordered by selector.
def test_the_differences_after_apply_are_in_selector_order() -> None:
    expected = {rule("b").selector: ("ignore", "why")}
    assert differences(expected, [_listed("u-a", "a")]) == [
        "unexpected rule npm/a [u-a]",
        "missing rule npm/b",
    ]
    expected = {rule("a").selector: ("ignore", "why"), rule("b").selector: ("ignore", "why")}
    twice = [_listed("u-a", "a", note="old"), _listed("u-a2", "a"), _listed("u-b", "b", "warn")]
    assert differences(expected, twice) == [
        "2 live rules for npm/a: another writer (a second apply?) made the same change at the "
        "same time, or a lost create committed late",
        "rule npm/a has a different note than expected",
        "rule npm/b has state warn, expected ignore",
    ]


# engine/audit.py (AuditLog): parents made, keys sorted, lines counted; a path it cannot open
# is one line naming it.
def test_the_audit_log_makes_its_directory_sorts_keys_and_counts_lines(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    log = AuditLog.open(str(tmp_path / "logs" / "audit.jsonl"), SEALED)
    _write(log, Delete(TEST_ORG, _BEFORE, None))
    _write(log, Delete(TEST_ORG, _listed("u-b", "b"), None))
    assert log.lines == 2 and log.path == str(tmp_path / "logs" / "audit.jsonl")
    log.close()
    for text in (tmp_path / "logs" / "audit.jsonl").read_text().splitlines():
        assert list(json.loads(text)) == sorted(json.loads(text))
    monkeypatch.chdir(tmp_path)
    AuditLog.open("here.jsonl", SEALED).close()  # no directory part: the working directory
    assert sorted(p.name for p in tmp_path.iterdir()) == ["here.jsonl", "logs"]
    with pytest.raises(UsageError) as refused:
        AuditLog.open(str(tmp_path / "logs"), SEALED)
    assert (
        str(refused.value)
        == f"--audit-log {tmp_path / 'logs'}: cannot append to it: Is a directory"
    )


# engine/audit.py (append, close): a disk that refuses the log is one line naming the file,
# said once; what the operator then reads in place of the log is the report.
@pytest.mark.skipif(not Path("/dev/full").exists(), reason="needs Linux's /dev/full")
def test_a_full_disk_is_one_line_naming_the_audit_log_said_once() -> None:
    log = AuditLog.open("/dev/full", SEALED)
    with pytest.raises(ApplyError) as raised:
        _write(log, Delete(TEST_ORG, _BEFORE, None))
    assert str(raised.value) == (
        "cannot append to the audit log /dev/full: No space left on device; the changes "
        "applied from then on are in the report below, not in the log"
    )
    _write(log, Delete(TEST_ORG, _listed("u-b", "b"), None))  # nothing more: said once
    log.close()  # the apply already said so
    assert log.lines == 0
    untouched = AuditLog.open("/dev/full", SEALED)  # nothing written: only fsync fails
    with pytest.raises(ApplyError) as closing:
        untouched.close()
    assert str(closing.value) == "cannot write the audit log /dev/full: Invalid argument"
    untouched.close()  # closed already: nothing to say twice


# triage/audit.py (AuditTrail): one line per change, a create's naming the oldest new rule.
def test_the_audit_trail_writes_each_change_once_and_a_create_with_the_oldest_rule(
    tmp_path: Path,
) -> None:
    log = AuditLog.open(str(tmp_path / "audit.jsonl"), SEALED)
    trail = AuditTrail(log, [_BEFORE])
    update = Update(TEST_ORG, _BEFORE, rule("a"))
    create, never = Create(TEST_ORG, None, rule("b")), Create(TEST_ORG, None, rule("c"))
    trail.applied([update, create, never])
    trail.applied([update])  # confirmed again: still one line
    older = replace(_listed("u-old", "b"), created_at="2026-01-01T00:00:00Z")
    newer = replace(_listed("u-new", "b"), created_at="2026-01-02T00:00:00Z")
    trail.listed([_BEFORE, newer, older])  # two copies of b: the oldest is the create's
    trail.listed([_BEFORE])  # c is still held
    trail.finish()
    log.close()
    lines = [json.loads(line) for line in (tmp_path / "audit.jsonl").read_text().splitlines()]
    assert [(line["action"], line["uuid"]) for line in lines] == [
        ("update", "u-a"),
        ("create", "u-old"),
        ("create", None),
    ]


# engine/lanes.py (run_lanes): at most ``concurrency`` lanes at once, in worker threads; one
# lane, or one at a time, in the calling thread (so that Ctrl-C reaches the request itself).
@pytest.mark.parametrize(
    ("lanes", "concurrency", "at_once", "main"),
    [(1, 8, 1, True), (3, 1, 1, True), (2, 2, 2, False), (5, 2, 2, False)],
)
def test_lanes_run_at_most_concurrency_at_once(
    lanes: int, concurrency: int, at_once: int, main: bool
) -> None:
    lock, running, most, threads = threading.Lock(), [0], [0], set()

    def lane(stop: Callable[[], bool]) -> None:
        with lock:
            running[0] += 1
            most[0] = max(most[0], running[0])
            threads.add(threading.current_thread() is threading.main_thread())
        time.sleep(0.1)  # long enough for the other workers to start theirs
        with lock:
            running[0] -= 1

    run_lanes([lane] * lanes, concurrency)
    assert most[0] == at_once and threads == {main}


def test_ctrl_c_while_a_worker_starts_still_waits_for_every_write_in_flight(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """SIGINT can land inside ``pool.submit`` just after it started a worker and before the
    pool recorded it: that worker's write must still finish before apply reports."""
    started, finished, lock = [], [], threading.Lock()
    real_start = threading.Thread.start
    calls = [0]

    def start_then_interrupted(thread: threading.Thread) -> None:
        real_start(thread)
        calls[0] += 1
        if calls[0] == 2:  # the second worker runs, and the signal arrives right then
            raise KeyboardInterrupt

    def send(item: int) -> None:
        with lock:
            started.append(item)
        time.sleep(0.3)  # a request in flight
        with lock:
            finished.append(item)

    monkeypatch.setattr(threading.Thread, "start", start_then_interrupted)
    with pytest.raises(KeyboardInterrupt):
        parallel(list(range(4)), send, 4)
    with lock:
        assert sorted(started) == sorted(finished) and started  # nothing left in flight


# --- verification and concurrent writers ----------------------------------------------------


def test_two_applies_at_once_are_caught_and_the_clean_up_needs_no_force(
    emulator: Emulator, capsys: pytest.CaptureFixture[str]
) -> None:
    seed(emulator, [f"old{i}" for i in range(10)])
    desired = [rule(f"old{i}") for i in range(10)] + [rule(f"new{i}") for i in range(10)]
    both_checked = threading.Barrier(2, timeout=10)  # both pass the check before either writes
    failures: list[ReconcilerError] = []

    def one_apply() -> None:
        def wait_for_the_other() -> None:
            both_checked.wait()

        transport = Scripted(emulator, {("POST", 1): wait_for_the_other})
        with make_client(emulator, transport=transport) as client:
            plan, _ = planned(client, desired)
            try:
                apply_one(client, plan, None, concurrency=1, settle=0.0)
            except ReconcilerError as exc:
                failures.append(exc)

    threads = [threading.Thread(target=one_apply) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert failures and all(isinstance(f, VerificationError) for f in failures)
    assert "another writer (a second apply?)" in capsys.readouterr().err
    assert len(emulator.rules(TEST_ORG)) == 30
    with make_client(emulator) as client:
        cleanup, _ = planned(client, desired)
        # 10 deletes of 30 live rules is over 30%, but deleting copies of our own rules is safe.
        assert [c.reason for c in cleanup.changes] == ["duplicate"] * 10
        assert cleanup.unsafe_reasons() == []
        apply_one(client, cleanup, None, concurrency=4, settle=0.0)
    assert sorted(r["package_name"] for r in emulator.rules(TEST_ORG)) == sorted(
        [f"old{i}" for i in range(10)] + [f"new{i}" for i in range(10)]
    )


def test_a_change_made_after_the_plan_stops_the_apply_before_any_write(
    emulator: Emulator,
) -> None:
    seed(emulator, ["gone"])
    with make_client(emulator) as client:
        plan, _ = planned(client, [rule("new")])
        seed(emulator, ["meanwhile"])  # another apply, or the dashboard
        with pytest.raises(ReconcilerError, match="changed since the plan was made"):
            apply_one(client, plan, None, concurrency=1, settle=0.0)
    calls = emulator.counters()["calls"]
    assert (calls["POST"], calls["DELETE"]) == (0, 0)


# --- rules without a uuid -------------------------------------------------------------------


def test_rules_without_a_uuid_are_never_written_and_the_plan_says_so(
    emulator: Emulator,
) -> None:
    seed(emulator, ["ghost", "phantom", "kept"])
    transport = Scripted(emulator, blank_uuids={"ghost", "phantom"})
    desired = [rule("ghost", state="block"), rule("kept"), rule("fresh")]
    with make_client(emulator, transport=transport) as client:
        plan, _ = planned(client, desired)
        assert [(c.action, c.selector.package_name) for c in plan.changes] == [("create", "fresh")]
        warnings = plan.to_dict()["warnings"]
        assert [w.split(" (")[0] for w in warnings] == [
            "live rule npm/ghost",
            "live rule npm/phantom",
        ]
        assert all(
            "has no uuid, so socket-triage can neither update nor delete it" in w for w in warnings
        )
        apply_one(client, plan, None, concurrency=4, settle=0.0)
        again, _ = planned(client, desired)
    assert again.changes == ()  # converges: the ghost is not "created" again on every run
    assert again.warnings == plan.warnings
    assert transport.sent("DELETE") == []
    entries = [e for r in transport.sent("POST") for e in json.loads(r.content)["alertTriage"]]
    assert [(e.get("uuid"), e["packageName"]) for e in entries] == [(None, "fresh")]


@pytest.mark.parametrize("action", [Update, Delete])
def test_the_engine_refuses_to_write_a_rule_without_a_uuid(
    emulator: Emulator, action: type[Update] | type[Delete]
) -> None:
    """However the plan was made (a hand-edited plan file): nothing is sent."""
    ghost = LiveRule("", rule("ghost").selector, "warn", "why")
    new = rule("ghost", state="block") if action is Update else None
    change = action(TEST_ORG, ghost, new, "block it" if new else None)
    plan = TriagePlan(TEST_ORG, (change,), unchanged=0, existing=1, stated_fingerprint="sha256:x")
    with make_client(emulator) as client, pytest.raises(ApplyError, match="without a uuid"):
        apply_org(client, plan)
    calls = emulator.counters()["calls"]
    assert (calls["POST"], calls["DELETE"]) == (0, 0)


def test_a_refused_plan_names_every_rule_without_a_uuid(emulator: Emulator) -> None:
    """The operator reads which changes of the hand-edited plan file to fix, all at once."""
    ghost = LiveRule("", rule("ghost").selector, "warn", "why")
    phantom = LiveRule("", rule("phantom").selector, "warn", "why")
    changes = (
        Update(TEST_ORG, ghost, rule("ghost", state="block"), "block it"),
        Delete(TEST_ORG, phantom, None),
    )
    plan = TriagePlan(TEST_ORG, changes, unchanged=0, existing=2, stated_fingerprint="sha256:x")
    with make_client(emulator) as client, pytest.raises(ApplyError) as raised:
        apply_org(client, plan)
    assert str(raised.value) == (
        f"refusing the plan of org {TEST_ORG}: update npm/ghost, delete npm/phantom: a rule "
        "without a uuid can be neither updated nor deleted; nothing was written"
    )


# --- how wide the apply goes ----------------------------------------------------------------


@pytest.mark.parametrize("concurrency", [1, 2])
def test_no_more_writes_are_in_flight_than_the_concurrency_asked(
    emulator: Emulator, concurrency: int
) -> None:
    """``--concurrency`` bounds the upserts' wave and the deletes' (the API's rate limit)."""
    seed(emulator, ["upd", "gone1", "gone2", "gone3", "gone4"])
    transport = InFlight(emulator, lambda r: r.method != "GET")
    with make_client(emulator, transport=transport) as client:
        plan, _ = planned(client, [rule("upd", state="block"), rule("new")])
        result = apply_org(client, plan, concurrency=concurrency)
    assert result.error is None and len(result.applied) == 6  # an update, a create: two POSTs
    assert transport.most == concurrency


# triage/verify.py (conclude): an apply that stopped part-way is not checked against the plan.
def test_an_apply_stopped_by_a_refusal_reports_no_differences_only_outcomes(
    emulator: Emulator,
) -> None:
    """The delete is refused (the org moved): the rule it left is the refusal's doing, which the
    report already says, not a difference after apply."""
    seed(emulator, ["gone"])
    with make_client(emulator) as client:
        plan, before = planned(client, [])
        emulator.add_org(TEST_ORG, migrated=True)
        result = apply_org(client, plan)
        assert isinstance(result.error, ReadOnlyError) and not result.interrupted
        conclusion = conclude(client, plan, before, result)
    assert [s for _, s in conclusion.statuses] == [NOT_APPLIED]
    assert conclusion.after is not None and conclusion.problems == ()


# engine/lanes.py (_in_threads): Ctrl-C in the main thread lets the requests in flight finish
# before apply returns, so that their outcome is known, and sends nothing more.
@pytest.mark.usefixtures("ctrl_c_raises")
def test_ctrl_c_lets_the_writes_in_flight_finish_before_apply_returns(
    emulator: Emulator,
) -> None:
    import signal

    from reconciler.http import waits

    seed(emulator, ["d1", "d2", "d3", "d4", "d5"])
    main = threading.main_thread().ident
    assert main is not None and threading.get_ident() == main

    def ctrl_c_then_linger() -> None:
        time.sleep(0.1)  # every item is queued by now: the main thread waits on them
        signal.pthread_kill(main, signal.SIGINT)  # as the terminal sends it, to the main thread
        time.sleep(0.3)  # still in flight while the main thread handles it

    linger: Script = {("DELETE", 1): lambda: time.sleep(0.4), ("DELETE", 2): ctrl_c_then_linger}
    transport = Scripted(emulator, linger)
    try:
        with make_client(emulator, transport=transport) as client:
            plan, _ = planned(client, [])
            result = apply_org(client, plan, concurrency=2)
            states = [s for _, s in statuses(plan, result)]  # as apply_org returned
    finally:
        waits.resume()
    assert result.interrupted
    assert states == [APPLIED, APPLIED] + [NOT_APPLIED] * 3  # the two in flight finished
    assert len(transport.sent("DELETE")) == 2  # and nothing more was sent


# engine/outcomes.py (refused): only a refusal (4xx but 429) or a request never sent is
# certainly not applied; a 5xx or a 429 after a try that committed is settled by the listing.
@pytest.mark.parametrize("last", [Faults(rate_500=1.0), Faults(rate_429=1.0)])
def test_a_delete_that_committed_before_its_retries_failed_is_reported_applied(
    emulator: Emulator, last: Faults
) -> None:
    seed(emulator, ["gone"])
    script: Script = {
        ("DELETE", 1): lambda: emulator.set_faults(Faults(rate_500_after_commit=1.0)),
        ("DELETE", 2): lambda: emulator.set_faults(last),
    }
    transport = Scripted(emulator, script)
    no_waiting = replace(THREE_TRIES, max_wait=0.0)
    with make_client(emulator, no_waiting, transport=transport) as client:
        plan, before = planned(client, [])
        result = apply_org(client, plan)
        assert isinstance(result.error, (ServerError, RateLimitError))
        assert [s for _, s in statuses(plan, result)] == [UNKNOWN]
        emulator.set_faults(Faults())
        conclusion = conclude(client, plan, before, result)
    assert [s for _, s in conclusion.statuses] == [APPLIED]
    assert emulator.rules(TEST_ORG) == []


@pytest.mark.usefixtures("ctrl_c_raises")
def test_a_write_still_waiting_out_a_429_when_ctrl_c_comes_is_not_applied(
    emulator: Emulator,
) -> None:
    """It was never sent: the report says so without waiting for a listing."""
    import signal

    from reconciler.http import waits

    seed(emulator, ["gone"])
    main = threading.main_thread().ident
    assert main is not None
    patient = RetryPolicy(max_attempts=3, retry_after_cap=900.0, max_wait=900.0)
    client = TriageClient(
        TRANSPORT_BASE_URL, TEST_TOKEN, transport=EmulatorTransport(emulator), retry=patient
    )
    ctrl_c = threading.Timer(0.3, signal.pthread_kill, (main, signal.SIGINT))
    try:
        with client:
            plan, _ = planned(client, [])
            emulator.set_faults(Faults(rate_429=1.0, retry_after=900))
            started = time.monotonic()
            ctrl_c.start()
            result = apply_org(client, plan)
    finally:
        ctrl_c.cancel()
        waits.resume()
        emulator.set_faults(Faults())
    assert result.interrupted and time.monotonic() - started < 10
    assert outcome(plan, result) == [("delete", "npm/gone", NOT_APPLIED)]


# engine/flow.py (finish): after Ctrl-C, the changes whose outcome is unknown are checked once
# (said first); a second Ctrl-C during that check stops at once, leaving them unknown.
@pytest.mark.parametrize("again", [False, True])
def test_ctrl_c_checks_the_unknown_outcomes_and_ctrl_c_again_skips_it(
    emulator: Emulator, capsys: pytest.CaptureFixture[str], again: bool
) -> None:
    emulator.set_faults(Faults(rate_late_commit=1.0, late_commit_delay=0.1))
    seed(emulator, ["gone"])
    transport = Scripted(emulator)

    def ctrl_c() -> None:
        if again:  # the next GET is the final listing's
            transport.script[("GET", transport.seen["GET"] + 1)] = INTERRUPT
        raise KeyboardInterrupt

    with make_client(emulator, transport=transport) as client:
        plan, _ = planned(client, [rule("a")])
        transport.script[("DELETE", 1)] = ctrl_c  # right after the lost create
        with pytest.raises(KeyboardInterrupt):
            apply_one(client, plan, None, concurrency=1, settle=0.5)
    err = capsys.readouterr().err
    assert (
        "Interrupted: checking 2 changes whose outcome is unknown (Ctrl-C again to stop at "
        "once)..." in err
    )
    settled = ["  applied: create npm/a", "  not applied: delete npm/gone"]
    unsettled = ["  outcome unknown: create npm/a", "  outcome unknown: delete npm/gone"]
    assert report_lines(err) == (unsettled if again else settled)


# engine/flow.py (apply_org): an audit log that fails when the trail is finished (a create no
# listing named) stops the report with that failure, not with the listing's.
@pytest.mark.skipif(not Path("/dev/full").exists(), reason="needs Linux's /dev/full")
def test_an_audit_log_that_fails_at_the_end_is_the_reason_apply_gives(emulator: Emulator) -> None:
    transport = Scripted(emulator)
    log = AuditLog.open("/dev/full", SEALED)
    with make_client(emulator, THREE_TRIES, transport=transport) as client:
        plan, _ = planned(client, [rule("a")])
        transport.script[("POST", 1)] = transport.refuse_from_now("GET")
        with pytest.raises(ApplyError) as raised:
            apply_one(client, plan, log, concurrency=1, settle=0.0)
    assert str(raised.value).startswith(
        f"apply of org {TEST_ORG} stopped: cannot append to the audit log /dev/full: No space "
        f"left on device; the changes applied from then on are in the report below, not in the "
        f"log. Applied 1 of 1 changes to org {TEST_ORG}"
    )


# engine/flow.py (reported): a stop that a rerun gets past (the server failing) says so.
def test_an_apply_stopped_by_server_errors_advises_running_it_again(emulator: Emulator) -> None:
    seed(emulator, ["gone"])
    transport = Scripted(emulator)
    transport.refusing.add("DELETE")  # the server cannot be reached for writes
    with make_client(emulator, THREE_TRIES, transport=transport) as client:
        plan, _ = planned(client, [])
        with pytest.raises(ApplyError) as raised:
            apply_one(client, plan, None, concurrency=1, settle=0.0)
    assert str(raised.value).startswith(f"apply of org {TEST_ORG} stopped: DELETE failed after")
    assert str(raised.value).endswith("; 1 not applied. Running apply again converges.")
