"""What an API supplies to the engine: a ``Provider`` (octoDNS's ``BaseProvider``) and its plans.

The engine owns the flow once (``engine.flow``): orgs, target, plan, safety, confirm, apply,
settle, verify, audit, report. Each API package (``triage``, ``policies``) supplies what differs
behind these protocols: reading live state and the diff (``plan``), the checks right before the
first write (``before_writing``: a stale plan, a gate, a rehearsal), its writes (``apply``), how
it confirms their outcomes (``conclude``) and how it words a change (``describe``). The engine
never looks inside a plan, a change or a listing beyond what is declared here.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Sequence
from typing import Any, Protocol

from reconciler.engine.audit import AuditLog
from reconciler.engine.outcomes import Conclusion
from reconciler.engine.provenance import Provenance
from reconciler.engine.targets import TargetChoice
from reconciler.errors import ReconcilerError
from reconciler.rules.ruleset import OrgRules

Progress = Callable[[int], None]


class Change(Protocol):
    """One create, update, delete (and on Alert Policies, move or replace) of one org."""

    @property
    def org(self) -> str: ...

    @property
    def action(self) -> str: ...


class OrgPlan(Protocol):
    """One org's plan on its target; sorted so that the same inputs always print the same way."""

    @property
    def org(self) -> str: ...

    @property
    def target(self) -> str: ...

    @property
    def choice(self) -> TargetChoice | None: ...

    @property
    def changes(self) -> Sequence[Change]: ...

    @property
    def has_changes(self) -> bool: ...

    def summary(self) -> dict[str, int]: ...

    def unsafe_reasons(self) -> list[str]: ...

    def raise_if_unsafe(self) -> None: ...

    def to_dict(self, *, fingerprint: bool = True) -> dict[str, Any]: ...


class Result(Protocol):
    """What one org's apply did so far; ``error`` is set when it stopped part-way."""

    error: ReconcilerError | None
    interrupted: bool

    @property
    def unknown(self) -> Sequence[Any]: ...


class Trail(Protocol):
    """The audit record of one org's apply; ``finish`` writes what is still held at the end."""

    def finish(self) -> None: ...


class Provider(Protocol):
    """One API's side of the flow. ``actions`` are the tally's actions, in the order said.

    The engine hands each provider back only what that provider made: the plans of its
    target, the state ``before_writing`` read, the trail and result of its own ``apply``. So
    a provider declares them with its own types (they are ``Any`` here).
    """

    @property
    def target(self) -> str: ...

    @property
    def actions(self) -> tuple[str, ...]: ...

    @property
    def own_advice(self) -> tuple[type[ReconcilerError], ...]:
        """Errors whose message already says what to do: no rerun advice follows them."""
        ...

    def plan(
        self, rules: OrgRules, provenance: Provenance, today: dt.date, choice: TargetChoice | None
    ) -> OrgPlan:
        """The org's live state read and diffed with the files."""
        ...

    def stale(self, plans: Sequence[Any]) -> list[str]:
        """The orgs of these saved plans whose live state changed since (one check for all)."""
        ...

    def before_writing(self, plan: Any, concurrency: int) -> Any:
        """Right before the first write: refuse a stale plan (and any other precondition);
        the live state read then, which ``apply`` and ``conclude`` compare against."""
        ...

    def dry_run(self, plan: Any, concurrency: int) -> str:
        """``apply --dry-run``: rehearse the writes if the API can; the line that says so."""
        ...

    def audit_trail(self, log: AuditLog | None, provenance: Provenance, before: Any) -> Trail:
        """The listener that writes one audit line per confirmed change."""
        ...

    def apply(
        self,
        plan: Any,
        before: Any,
        trail: Any,
        *,
        concurrency: int,
        settle: float,
        progress: Progress | None,
    ) -> Result:
        """Send the plan; never raises for an API failure or Ctrl-C (see the result)."""
        ...

    def conclude(self, plan: Any, before: Any, result: Any, settle: float) -> Conclusion[Any, Any]:
        """Settle unknown outcomes from a final listing and check the org against the plan."""
        ...

    def statuses(self, plan: Any, result: Any) -> tuple[tuple[Any, str], ...]:
        """Each change with its outcome as ``result`` knows it, in plan order."""
        ...

    def describe(self, change: Any) -> str:
        """A change as the report words it: ``create rule ...``."""
        ...
