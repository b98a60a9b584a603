"""The audit record of a policies apply: one JSON line per change, as the server confirms it.

The lines go to the same ``engine.audit.AuditLog`` file as legacy triage's, appended and
flushed one by one, with the same fields (``time``, ``org``, ``action``, ``uuid``,
``selector``, ``before``, ``after``, ``source``, ``owner``, ``ticket``, ``commit``, ``pr``,
``actor``, ``repository``), plus what only this target has: ``target``, ``kind``
(``policy_rule`` or ``resolution``), ``policy``, ``name``, ``rule_id``, the ``rank`` the server
gave a created or moved rule, and ``from`` / ``to`` (1-based positions) and ``placement``.

Unlike a legacy triage create, a policies create is answered with the new rule or resolution,
so every line names its id at once (or, after a lost answer, the id the listing found).

A policy write has a line of its own (``kind`` ``policy``): its ``action``, the policy's
``name`` and ``policy_id`` (for a create, the id the server gave it), ``sent`` (exactly the
body sent: every field for a create, the changed ones for an update, none for a delete),
``before`` / ``after`` (baseline, human description and repository ids, as held and as wanted),
the repositories ``added`` and ``removed``, the ``rules_deleted`` with a policy delete, and
``outcome`` (``applied``: a line is written once the server confirms the write). A rule line of
a policy the plan created names that policy's id, not the plan's placeholder.

A replace is one line once both its halves hold. When only its create half holds (the delete
failed, or the run stopped between the two), the line written at the end of the run is that
half's: a resolution ``create`` naming the new uuid, with ``replaces``, the old one's uuid, which
the next apply deletes (its own line). So the log names every change the server holds, whichever
half failed.
"""

from __future__ import annotations

import datetime as dt
import threading
from collections.abc import Callable
from typing import Any

from reconciler.engine.audit import AuditLog, stamp
from reconciler.engine.outcomes import APPLIED
from reconciler.engine.provenance import Provenance
from reconciler.policies.changes import PolicyObjectChange, ResolutionChange, RuleChange, halves
from reconciler.policies.outcomes import Item
from reconciler.policies.plan import TARGET
from reconciler.policies.requests import PolicyChange
from reconciler.vocab.policies.model import LivePolicy, LiveResolution

Clock = Callable[[], dt.datetime]


def _now() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


def _rule_sides(data: dict[str, Any]) -> tuple[dict[str, Any] | None, dict[str, Any] | None]:
    before, after = data["before"], data["after"]
    return (
        None if before is None else {"action": before["action"], "note": before["note"]},
        None if after is None else {"action": after["action"], "note": after["note"]},
    )


def _resolution_sides(
    data: dict[str, Any],
) -> tuple[dict[str, Any] | None, dict[str, Any] | None]:
    before, after = data["before"], data["after"]
    keys = ("reason", "reason_text", "comment")
    return (
        None if before is None else {"uuid": data["uuid"], **{k: before[k] for k in keys}},
        None if after is None else {k: after[k] for k in keys},
    )


def policy_record(
    change: PolicyObjectChange, item: Item | None, provenance: Provenance, *, when: dt.datetime
) -> dict[str, Any]:
    """The audit line for one applied policy write; ``item``: the policy as the server answered
    (None for a delete)."""
    data = change.to_dict()
    before, after = data["before"], data["after"]
    written = item.id if isinstance(item, LivePolicy) else None
    return {
        **stamp(provenance, when),
        "target": TARGET,
        "kind": data["kind"],
        "org": change.org,
        "action": change.action,
        "uuid": written or data["uuid"],
        "policy_id": written or data["uuid"],
        "name": change.name,
        "sent": data["body"],
        "before": None
        if before is None
        else {k: before[k] for k in ("baseline", "description", "repository_ids")},
        "after": None if after is None else _policy_after(item, after),
        "added": data["added"],
        "removed": data["removed"],
        "rules_deleted": data["takes_rules"],
        "source": after["source"] if after else None,
        "outcome": APPLIED,
    }


def _policy_after(item: Item | None, after: dict[str, Any]) -> dict[str, Any]:
    """The policy as the files want it, with the repository ids the server holds for it."""
    wanted = {"baseline": after["baseline"], "description": after["description"]}
    if isinstance(item, LivePolicy):
        wanted["repository_ids"] = list(item.repository_ids)
    return wanted


def record(
    change: PolicyChange, item: Item | None, provenance: Provenance, *, when: dt.datetime
) -> dict[str, Any]:
    """The audit line for one applied change; ``item`` is what it wrote (None: a delete)."""
    if isinstance(change, PolicyObjectChange):
        return policy_record(change, item, provenance, when=when)
    data = change.to_dict()
    rule = isinstance(change, RuleChange)
    before, after = _rule_sides(data) if rule else _resolution_sides(data)
    # A rule keeps its id through every change; a resolution's create or replace makes a new one.
    written = getattr(item, "id", None) if rule else getattr(item, "uuid", None)
    uuid = (data["uuid"] if rule else None) or written or data["uuid"]
    line: dict[str, Any] = {
        **stamp(provenance, when),
        "target": TARGET,
        "kind": data["kind"],
        "org": change.org,
        "action": change.action,
        "uuid": uuid,
        "selector": data["selector"],
        "before": before,
        "after": after,
        "source": data["after"]["source"] if data["after"] else None,
        "owner": change.new.owner if change.new else None,  # from the files; never sent
        "ticket": change.new.ticket if change.new else None,
    }
    if rule:
        line.update(
            policy=getattr(item, "policy_id", None) or data["policy"],
            name=data["name"],
            rule_id=uuid,
            rank=getattr(item, "rank", None) or None,
            placement=data["placement"],
            **{"from": data["from"], "to": data["to"]},
        )
    return line


class PolicyAuditTrail:
    """A ``outcomes.Listener`` that writes one line per confirmed change (none without a log)."""

    def __init__(self, log: AuditLog | None, provenance: Provenance, clock: Clock = _now) -> None:
        self._log = log
        self._provenance = provenance
        self._clock = clock
        self._lock = threading.Lock()
        # Replaces whose create half holds and whose delete half is not confirmed (yet).
        self._halves: dict[int, tuple[ResolutionChange, LiveResolution]] = {}

    def applied(self, change: PolicyChange, item: Item | None) -> None:
        with self._lock:
            self._halves.pop(id(change), None)
        if self._log is not None:
            self._log.append(record(change, item, self._provenance, when=self._clock()))

    def half_done(self, change: ResolutionChange, item: LiveResolution) -> None:
        """Hold the create half of a replace: its line is written by ``finish`` unless the
        delete half is confirmed first (then the replace's one line says both)."""
        with self._lock:
            self._halves[id(change)] = (change, item)

    def finish(self) -> None:
        """Write the line of each replace done by half: its create half, and what it replaces."""
        with self._lock:
            held, self._halves = list(self._halves.values()), {}
        if self._log is None:
            return
        for change, item in held:
            line = record(halves(change)[0], item, self._provenance, when=self._clock())
            line["replaces"] = change.uuid
            self._log.append(line)
