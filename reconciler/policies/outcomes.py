"""What one org's policies apply did, change by change: applied, not applied, outcome unknown.

A change is *not applied* until sent, *outcome unknown* from the moment its request leaves until
the server confirms it (its answer, or a listing that shows it), and *applied* after. A refusal
(a 4xx other than 429) changed nothing, so it puts the change back to *not applied*; any other
failure (5xx, a lost answer) leaves it unknown, and records when, so that a listing made to find
out can first wait for a late commit.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Protocol

from reconciler.engine.outcomes import APPLIED, UNKNOWN, Outcomes, refused, statuses
from reconciler.policies.changes import PolicyObjectChange, ResolutionChange, halves
from reconciler.policies.plan import PolicyPlan
from reconciler.policies.requests import PolicyChange
from reconciler.vocab.policies.model import LivePolicy, LiveResolution, LiveRule

Item = LivePolicy | LiveRule | LiveResolution


class Listener(Protocol):
    """Told of each change once, as the server confirms it (the audit trail is one).

    ``item`` is the policy, rule or resolution the change wrote, as the server or a listing
    showed it; None for a delete. ``half_done`` is told of a replace whose create half the
    server holds (``item``, the new resolution) before its delete half is confirmed, if it
    ever is.
    """

    def applied(self, change: PolicyChange, item: Item | None) -> None: ...

    def half_done(self, change: ResolutionChange, item: LiveResolution) -> None: ...


@dataclass
class PolicyResult(Outcomes):
    """The outcome of every change so far (``engine.outcomes.Outcomes``: how it stopped)."""

    org: str
    listener: Listener | None = field(default=None, repr=False)
    applied: list[PolicyChange] = field(default_factory=list)
    _unknown: dict[int, PolicyChange] = field(default_factory=dict, repr=False)  # by id(), in order
    requests: int = 0  # requests sent, retries aside
    _done: set[int] = field(default_factory=set, repr=False)
    # Replaces whose create half the server holds but whose delete half is not confirmed.
    _halves: dict[int, LiveResolution] = field(default_factory=dict, repr=False)
    # Policy deletes sent in two requests: id(delete) -> the update that first gives up the
    # repositories other policies take (``requests.releases``).
    releases: dict[int, PolicyObjectChange] = field(default_factory=dict, repr=False)

    def sending(self, changes: Sequence[PolicyChange]) -> None:
        """One request for ``changes`` leaves (a move and the update riding on it share one)."""
        with self.lock:
            self.requests += 1
            for change in changes:
                if id(change) not in self._done:
                    self._unknown.setdefault(id(change), change)

    @property
    def unknown(self) -> list[PolicyChange]:
        """The changes whose outcome is unknown now, in the order they were sent."""
        with self.lock:
            return list(self._unknown.values())

    def done(self, change: PolicyChange, item: Item | None = None) -> None:
        """The server holds ``change``; the listener hears of it exactly once."""
        with self.lock:
            if id(change) in self._done:
                return
            self._done.add(id(change))
            self._unknown.pop(id(change), None)
            self._halves.pop(id(change), None)
            self.applied.append(change)
            if self.listener is not None:
                self.listener.applied(change, item)
            if self.progress is not None:
                self.progress(1)

    def half_done(self, change: ResolutionChange, item: LiveResolution) -> None:
        """The server holds the new resolution of the replace ``change`` (its create half)."""
        with self.lock:
            if id(change) in self._done or id(change) in self._halves:
                return
            self._halves[id(change)] = item
            if self.listener is not None:
                self.listener.half_done(change, item)

    def not_applied(self, change: PolicyChange) -> None:
        """The server does not hold ``change`` (a refusal, or a listing, says so)."""
        with self.lock:
            self._unknown.pop(id(change), None)

    def failed(self, change: PolicyChange, error: BaseException) -> None:
        if refused(error):
            self.not_applied(change)
            return
        self.uncertain()

    def statuses(self, plan: PolicyPlan) -> tuple[tuple[PolicyChange, str], ...]:
        """Each change of ``plan`` with its outcome, in plan order. A replace done by half is
        its two halves: the create applied, the delete not applied (or outcome unknown)."""
        with self.lock:
            unknown = set(self._unknown)
            done = set(self._done)
            halved = set(self._halves)
        found: list[tuple[PolicyChange, str]] = []
        for change, status in statuses(plan.changes, done, unknown):
            if isinstance(change, ResolutionChange) and id(change) in halved:
                create, delete = halves(change)
                found += [(create, APPLIED), (delete, status)]
                continue
            release = self.releases.get(id(change))
            sent = release is not None and (id(release) in done or id(release) in unknown)
            if release is not None and sent and status != APPLIED:
                # The update was sent on its own and its delete does not hold: say both.
                found.append((release, APPLIED if id(release) in done else UNKNOWN))
            found.append((change, status))
        return tuple(found)
