"""Plan -> batched requests, with recovery from lost answers and a clean stop on Ctrl-C.

Order: updates and creates (one wave: nothing orders them), then deletes, so that a failure
part-way leaves the org with a rule too many rather than a rule too few. Upserts travel in POSTs
of up to 100 entries, broad rules in their own ``force=true`` batches; within each step up to
``concurrency`` requests are in flight,
and the client's shared gate makes them all wait out a 429 together.

Every change is *not applied* until sent, *outcome unknown* while in flight or when its answer
was lost or its retries failed, and *applied* once the server confirmed it (its answer, or a
listing that shows it). A create batch whose answer is lost is never POSTed again in the same
run (the request may commit at any time, and a second POST would create every rule twice):
``verify.conclude`` waits ``settle`` seconds (the request timeout) after the last lost answer,
lists the org once and counts what it finds as applied; a create it does not find keeps its
unknown outcome, and the apply ends non-zero.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from typing import Protocol

from reconciler.engine.lanes import parallel
from reconciler.engine.outcomes import Outcomes, refused
from reconciler.errors import ApplyError, OutcomeUnknownError, ReconcilerError
from reconciler.triage.changes import Change
from reconciler.triage.client import TriageClient
from reconciler.triage.plan import TriagePlan
from reconciler.vocab.triage.selector import LiveRule
from reconciler.vocab.triage.wire import MAX_BATCH

Progress = Callable[[int], None]


class Listener(Protocol):
    """Told of confirmed changes and of every listing made (the audit trail is one)."""

    def applied(self, changes: Sequence[Change]) -> None: ...

    def listed(self, live: Sequence[LiveRule]) -> None: ...


@dataclass
class ApplyResult(Outcomes):
    """What one org's apply did (``engine.outcomes.Outcomes``: how it stopped)."""

    applied: list[Change] = field(default_factory=list)
    unknown: list[Change] = field(default_factory=list)
    listener: Listener | None = field(default=None, repr=False)

    def sending(self, changes: Sequence[Change]) -> None:
        with self.lock:
            self.unknown.extend(changes)

    def done(self, changes: Sequence[Change]) -> None:
        """The server holds ``changes``, each of which was *unknown* until now (sent, or left
        so by the final listing), so the listener hears of each exactly once."""
        with self.lock:  # also keeps a progress bar's redraws from interleaving
            self._forget(changes)
            self.applied.extend(changes)
            if self.listener is not None:
                self.listener.applied(changes)
            if self.progress:
                self.progress(len(changes))

    def not_applied(self, changes: Sequence[Change]) -> None:
        """The server does not hold ``changes`` (a listing, or a refusal, says so)."""
        with self.lock:
            self._forget(changes)

    def failed(self, changes: Sequence[Change], error: BaseException) -> None:
        if refused(error):
            self.not_applied(changes)
            return
        self.uncertain()

    def _forget(self, changes: Sequence[Change]) -> None:
        gone = {id(c) for c in changes}
        self.unknown = [c for c in self.unknown if id(c) not in gone]


def batches(changes: Sequence[Change], size: int = MAX_BATCH) -> Iterator[list[Change]]:
    """Chunks of at most ``size``; broad rules (sent with force=true) in chunks of their own."""
    for broad in (False, True):
        group = [c for c in changes if c.broad is broad]
        for start in range(0, len(group), size):
            yield group[start : start + size]


@dataclass
class _Run:
    """One org's apply in progress: where to send, what was done, how wide to go."""

    client: TriageClient
    plan: TriagePlan
    result: ApplyResult
    concurrency: int

    def _of(self, action: str) -> list[Change]:
        return [c for c in self.plan.changes if c.action == action]

    def _attempt(self, changes: list[Change], write: Callable[[], object]) -> None:
        """Send one request. When its answer was lost the changes stay unknown and the run goes
        on: only a create batch can lose it (updates and deletes are retried until they get an
        answer or fail), and it is never sent again (see the module's docstring)."""
        self.result.sending(changes)
        try:
            write()
        except OutcomeUnknownError:
            self.result.uncertain()
            return
        except BaseException as exc:
            self.result.failed(changes, exc)
            raise
        self.result.done(changes)

    def _post(self, batch: list[Change]) -> None:
        self.client.upsert(self.plan.org, [c.entry() for c in batch], force=batch[0].broad)

    def upserts(self) -> None:
        """POST the updates and creates in batches, in one wave (no order between them
        matters). An update batch is retried freely (it carries uuids) and stops the run when
        its retries fail. A create batch whose answer was lost is never sent again in this
        run: it keeps its unknown outcome, for the final listing to settle."""

        def send(batch: list[Change]) -> None:
            self._attempt(batch, lambda: self._post(batch))

        updates, creates = self._of("update"), self._of("create")
        parallel([*batches(updates), *batches(creates)], send, self.concurrency)

    def deletes(self) -> None:
        def send(change: Change) -> None:
            uuid = change.uuid
            assert uuid  # checked by writable() before anything was sent
            # False (already gone) is done too: the rule is gone, as asked.
            self._attempt([change], lambda: self.client.delete(self.plan.org, uuid))

        parallel(self._of("delete"), send, self.concurrency)


def writable(plan: TriagePlan) -> None:
    """Refuse, before anything is sent, an update or delete of a rule without a uuid.

    Such an update would create a rule (every run) and such a DELETE would address the
    collection; ``diff`` never plans one, so this guards hand-edited or foreign plans.
    """
    blind = [c for c in plan.changes if c.action != "create" and not c.uuid]
    if blind:
        labels = ", ".join(f"{c.action} {c.selector.describe()}" for c in blind)
        raise ApplyError(
            f"refusing the plan of org {plan.org}: {labels}: a rule without a uuid can be neither "
            "updated nor deleted; nothing was written"
        )


def apply_org(
    client: TriageClient,
    plan: TriagePlan,
    *,
    concurrency: int = 8,
    progress: Progress | None = None,
    listener: Listener | None = None,
) -> ApplyResult:
    """Send one org's changes. Never raises for an API failure or Ctrl-C: see the result.

    ``listener`` hears of every confirmed change and of every
    listing made, as they happen.
    """
    writable(plan)
    result = ApplyResult(listener=listener, progress=progress)
    run = _Run(client, plan, result, concurrency)
    try:
        # Upserts before deletes: stopping part-way leaves a rule too many, never too few.
        run.upserts()
        run.deletes()
    except ReconcilerError as exc:
        result.error = exc
    except KeyboardInterrupt:
        result.interrupted = True
    return result
