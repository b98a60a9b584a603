"""Plan -> batched requests, with recovery from lost answers, then verification.

Order: updates, creates, then deletes, so that a failure part-way leaves the org with a rule
too many rather than a rule too few. Upserts travel in POSTs of up to 100 entries, broad rules in
their own ``force=true`` batches. A create batch whose answer is lost is never re-POSTed
blindly: the org is re-listed, and only the selectors still missing are sent again.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field

from reconciler.changes import Change
from reconciler.client import SocketClient
from reconciler.errors import ApiError, OutcomeUnknownError
from reconciler.model import LiveRule, Selector
from reconciler.plan import OrgPlan, group_live
from reconciler.wire import MAX_BATCH

# How many times lost create batches are resolved by re-listing before giving up.
MAX_RESOLVE_ROUNDS = 5

Progress = Callable[[int], None]


@dataclass
class ApplyResult:
    """What one org's apply did. ``error`` is set when it stopped part-way."""

    org: str
    applied: list[Change] = field(default_factory=list)
    unknown: list[Change] = field(default_factory=list)
    error: ApiError | None = None
    lock: threading.Lock = field(default_factory=threading.Lock, repr=False)

    def done(self, changes: Sequence[Change], progress: Progress | None) -> None:
        with self.lock:
            self.applied.extend(changes)
        if progress:
            progress(len(changes))

    def count(self, action: str) -> int:
        return sum(1 for c in self.applied if c.action == action)


def batches(changes: Sequence[Change], size: int = MAX_BATCH) -> Iterator[list[Change]]:
    """Chunks of at most ``size``; broad rules (sent with force=true) in chunks of their own."""
    for broad in (False, True):
        group = [c for c in changes if c.broad is broad]
        for start in range(0, len(group), size):
            yield group[start : start + size]


def _post(client: SocketClient, org: str, batch: list[Change]) -> None:
    client.upsert(org, [c.entry() for c in batch], force=batch[0].broad)


def _updates(
    client: SocketClient, plan: OrgPlan, result: ApplyResult, progress: Progress | None
) -> None:
    # Every entry carries a uuid, so the client may retry these POSTs freely.
    for batch in batches([c for c in plan.changes if c.action == "update"]):
        _post(client, plan.org, batch)
        result.done(batch, progress)


def _creates(
    client: SocketClient, plan: OrgPlan, result: ApplyResult, progress: Progress | None
) -> None:
    pending = [c for c in plan.changes if c.action == "create"]
    for _ in range(MAX_RESOLVE_ROUNDS):
        lost: list[Change] = []
        for batch in batches(pending):
            try:
                _post(client, plan.org, batch)
            except OutcomeUnknownError:
                lost.extend(batch)
                result.unknown.extend(batch)
                continue
            result.done(batch, progress)
        if not lost:
            return
        present = {r.selector for r in map(LiveRule.from_get, client.list_rules(plan.org))}
        landed = [c for c in lost if c.selector in present]
        result.unknown = [c for c in result.unknown if c.selector not in present]
        result.done(landed, progress)
        pending = [c for c in lost if c.selector not in present]
        if not pending:
            return
    raise OutcomeUnknownError(
        f"{len(pending)} creates still unconfirmed after {MAX_RESOLVE_ROUNDS} rounds"
    )


def _deletes(
    client: SocketClient,
    plan: OrgPlan,
    result: ApplyResult,
    progress: Progress | None,
    concurrency: int,
) -> None:
    stop = threading.Event()

    def delete_one(change: Change) -> None:
        if stop.is_set():
            return
        assert change.uuid is not None
        try:
            client.delete(plan.org, change.uuid)  # False (already gone) counts as done
        except ApiError:
            stop.set()
            raise
        result.done([change], progress)

    deletes = [c for c in plan.changes if c.action == "delete"]
    with ThreadPoolExecutor(max_workers=concurrency) as pool:
        futures = [pool.submit(delete_one, c) for c in deletes]
    errors = [f.exception() for f in futures if f.exception() is not None]
    if errors:
        first = errors[0]
        raise first if isinstance(first, ApiError) else ApiError(str(first))


def apply_org(
    client: SocketClient, plan: OrgPlan, *, concurrency: int = 8, progress: Progress | None = None
) -> ApplyResult:
    """Send one org's changes. Never raises ApiError: a failure is returned in ``error``."""
    result = ApplyResult(plan.org)
    try:
        _updates(client, plan, result, progress)
        _creates(client, plan, result, progress)
        _deletes(client, plan, result, progress, concurrency)
    except ApiError as exc:
        result.error = exc
    return result


def verify(
    client: SocketClient, plan: OrgPlan, before: Sequence[LiveRule]
) -> tuple[list[str], list[LiveRule]]:
    """Re-list the org after ``plan``; return what still differs, and the fresh listing."""
    after = [LiveRule.from_get(item) for item in client.list_rules(plan.org)]
    return differences(expected_state(plan, before), after), after


def expected_state(plan: OrgPlan, before: Sequence[LiveRule]) -> dict[Selector, tuple[str, str]]:
    """What the org should hold after ``plan``: selector -> (state, human note)."""
    deleted = {c.uuid for c in plan.changes if c.action == "delete"}
    expected = {
        key: (rules[0].state, rules[0].human_note)
        for key, rules in group_live(r for r in before if r.uuid not in deleted).items()
    }
    for change in plan.changes:
        if change.new is not None:
            expected[change.selector] = (change.new.state, change.new.note.strip())
    return expected


def differences(expected: dict[Selector, tuple[str, str]], live: Sequence[LiveRule]) -> list[str]:
    """Every way ``live`` differs from ``expected``, one line each, in a stable order."""
    problems: list[str] = []
    groups = group_live(live)
    for key in sorted(set(expected) | set(groups), key=lambda s: tuple(v or "" for v in s)):
        label = key.describe()
        found = groups.get(key, [])
        if key not in expected:
            problems.extend(f"unexpected rule {label} [{r.uuid}]" for r in found)
        elif not found:
            problems.append(f"missing rule {label}")
        else:
            if len(found) > 1:
                problems.append(f"{len(found)} live rules for {label}")
            state, note = expected[key]
            if found[0].state != state:
                problems.append(f"rule {label} has state {found[0].state}, expected {state}")
            elif found[0].human_note != note:
                problems.append(f"rule {label} has a different note than expected")
    return problems
