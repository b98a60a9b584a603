"""The audit record of a legacy triage apply: one line per applied change, exactly once.

A create's line waits for the listing that shows the new rule, because the API's answer does
not name the new uuid: the next re-list, the final check, or at the latest the end of the run
(then with ``uuid: null``).
"""

from __future__ import annotations

import datetime as dt
import threading
from collections.abc import Sequence
from typing import Any

from reconciler.engine.audit import AuditLog, stamp
from reconciler.engine.provenance import Provenance
from reconciler.triage.changes import Change
from reconciler.vocab.triage.selector import LiveRule, Selector, created_order


def record(
    change: Change, provenance: Provenance, *, when: dt.datetime, uuid: str | None
) -> dict[str, Any]:
    """The audit line for one applied change. ``uuid`` is the created rule's, when known."""
    data = change.to_dict()
    after = data["after"]
    return {
        **stamp(provenance, when),
        "org": change.org,
        "action": change.action,
        "uuid": change.uuid or uuid,
        "selector": data["selector"],
        "before": None
        if data["before"] is None
        else {"state": data["before"]["state"], "note": data["before"]["note"]},
        "after": None if after is None else {"state": after["state"], "note": after["note"]},
        "source": after["source"] if after else None,
        "owner": after["owner"] if after else None,
        "ticket": after["ticket"] if after else None,
    }


class AuditTrail:
    """One org's audit lines: written as changes are confirmed, exactly once each.

    Updates and deletes carry their uuid and are written at once. A create is held until a
    listing shows a new rule with its selector (a uuid not in ``before``), so that its line can
    name the rule; ``finish`` writes any create still held.
    """

    def __init__(self, log: AuditLog | None, before: Sequence[LiveRule]) -> None:
        self._log = log
        self._old = {r.uuid for r in before}
        self._lock = threading.Lock()
        self._held: list[Change] = []
        self._new: dict[Selector, str] = {}
        self._written: set[int] = set()

    def applied(self, changes: Sequence[Change]) -> None:
        """These changes are confirmed: the server holds them."""
        with self._lock:
            for change in changes:
                if change.action == "create" and change.selector not in self._new:
                    self._held.append(change)
                else:
                    self._write(change, self._new.get(change.selector))

    def listed(self, live: Sequence[LiveRule]) -> None:
        """A fresh listing: name the rules created so far, and write the creates it shows."""
        with self._lock:
            self._new = {}
            new = [rule for rule in live if rule.uuid and rule.uuid not in self._old]
            for rule in sorted(new, key=created_order, reverse=True):  # the oldest wins
                self._new[rule.selector] = rule.uuid
            held, self._held = self._held, []
            for change in held:
                if change.selector in self._new:
                    self._write(change, self._new[change.selector])
                else:
                    self._held.append(change)

    def finish(self) -> None:
        """Write the creates no listing has shown yet, without their uuid."""
        with self._lock:
            held, self._held = self._held, []
            for change in held:
                self._write(change, None)

    def _write(self, change: Change, uuid: str | None) -> None:
        if id(change) in self._written:  # one line per change, whatever confirms it twice
            return
        self._written.add(id(change))
        if self._log is not None:
            self._log.append(record(change, self._log.provenance, when=self._log.now(), uuid=uuid))
