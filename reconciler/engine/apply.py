"""Plan -> batched requests, with recovery from lost answers, then verification.

Order: updates, creates, then deletes, so that a failure part-way leaves the org with a rule
too many rather than a rule too few. Upserts travel in POSTs of up to 100 entries, broad rules in
their own ``force=true`` batches; within each step up to ``concurrency`` requests are in flight,
and the client's shared gate makes them all wait out a 429 together. A create batch whose answer
is lost is never re-POSTed blindly: the org is re-listed, and only the selectors still missing
are sent again.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import TypeVar

from reconciler.engine.changes import Change
from reconciler.engine.plan import OrgPlan, group_live
from reconciler.errors import ApiError, OutcomeUnknownError
from reconciler.http.client import SocketClient
from reconciler.triage.selector import LiveRule, Selector
from reconciler.triage.wire import MAX_BATCH

# How many times lost create batches are resolved by re-listing before giving up.
MAX_RESOLVE_ROUNDS = 5

Progress = Callable[[int], None]
T = TypeVar("T")


@dataclass
class ApplyResult:
    """What one org's apply did. ``error`` is set when it stopped part-way."""

    org: str
    applied: list[Change] = field(default_factory=list)
    unknown: list[Change] = field(default_factory=list)
    error: ApiError | None = None
    lock: threading.Lock = field(default_factory=threading.Lock, repr=False)

    def done(self, changes: Sequence[Change], progress: Progress | None) -> None:
        with self.lock:  # also keeps a progress bar's redraws from interleaving
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


def _parallel(items: Sequence[T], send: Callable[[T], None], concurrency: int) -> None:
    """Call ``send`` on every item, ``concurrency`` at a time; stop at the first ApiError.

    Items not yet started when one fails are never sent, and that first error is raised once
    the requests in flight have finished, so the result says exactly what was applied.
    """
    stop = threading.Event()

    def guarded(item: T) -> None:
        if stop.is_set():
            return
        try:
            send(item)
        except ApiError:
            stop.set()
            raise

    with ThreadPoolExecutor(max_workers=concurrency) as pool:
        futures = [pool.submit(guarded, item) for item in items]
    for future in futures:
        error = future.exception()
        if error is not None:
            raise error


@dataclass
class _Run:
    """One org's apply in progress: where to send, what was done, how wide to go."""

    client: SocketClient
    plan: OrgPlan
    result: ApplyResult
    concurrency: int
    progress: Progress | None

    def _of(self, action: str) -> list[Change]:
        return [c for c in self.plan.changes if c.action == action]

    def _post(self, batch: list[Change]) -> None:
        self.client.upsert(self.plan.org, [c.entry() for c in batch], force=batch[0].broad)

    def updates(self) -> None:
        # Every entry carries a uuid, so the client may retry these POSTs freely.
        def send(batch: list[Change]) -> None:
            self._post(batch)
            self.result.done(batch, self.progress)

        _parallel(list(batches(self._of("update"))), send, self.concurrency)

    def _send_creates(self, pending: list[Change]) -> list[Change]:
        """POST ``pending`` in batches; return the creates whose answer was lost."""
        lost: list[Change] = []

        def send(batch: list[Change]) -> None:
            try:
                self._post(batch)
            except OutcomeUnknownError:
                with self.result.lock:
                    lost.extend(batch)
                    self.result.unknown.extend(batch)
                return
            self.result.done(batch, self.progress)

        _parallel(list(batches(pending)), send, self.concurrency)
        return lost

    def creates(self) -> None:
        pending = self._of("create")
        for _ in range(MAX_RESOLVE_ROUNDS):
            lost = self._send_creates(pending)
            if not lost:
                return
            # Never re-POST blindly: whatever now exists was created by the lost request.
            live = map(LiveRule.from_get, self.client.list_rules(self.plan.org))
            present = {rule.selector for rule in live}
            self.result.unknown = [c for c in self.result.unknown if c.selector not in present]
            self.result.done([c for c in lost if c.selector in present], self.progress)
            pending = [c for c in lost if c.selector not in present]
            if not pending:
                return
        raise OutcomeUnknownError(
            f"{len(pending)} creates still unconfirmed after {MAX_RESOLVE_ROUNDS} rounds"
        )

    def deletes(self) -> None:
        def send(change: Change) -> None:
            assert change.uuid is not None
            self.client.delete(self.plan.org, change.uuid)  # False (already gone) is done too
            self.result.done([change], self.progress)

        _parallel(self._of("delete"), send, self.concurrency)


def apply_org(
    client: SocketClient, plan: OrgPlan, *, concurrency: int = 8, progress: Progress | None = None
) -> ApplyResult:
    """Send one org's changes. Never raises ApiError: a failure is returned in ``error``."""
    result = ApplyResult(plan.org)
    run = _Run(client, plan, result, concurrency, progress)
    try:
        # Upserts before deletes: stopping part-way leaves a rule too many, never too few.
        run.updates()
        run.creates()
        run.deletes()
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
