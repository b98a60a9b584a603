"""The audit record: one JSON line per applied change, the decision history CI keeps.

The log is opened (so checked) before the first write, and each line is appended and flushed as
its change is confirmed, so an apply that is stopped part-way still leaves a line for every
change the server holds. A create's line waits for the listing that shows the new rule, because
the API's answer does not name the new uuid: the next re-list, the final check, or at the latest
the end of the run (then with ``uuid: null``). ``close`` fsyncs the file.
"""

from __future__ import annotations

import datetime as dt
import json
import os
import threading
from collections.abc import Callable, Mapping, Sequence
from typing import Any, TextIO

from reconciler.engine.changes import Change
from reconciler.engine.plan import created_order
from reconciler.engine.provenance import Provenance
from reconciler.errors import ApplyError, UsageError
from reconciler.redact import redact
from reconciler.triage.selector import LiveRule, Selector

Clock = Callable[[], dt.datetime]


def _now() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


def record(
    change: Change, provenance: Provenance, *, when: dt.datetime, uuid: str | None
) -> dict[str, Any]:
    """The audit line for one applied change. ``uuid`` is the created rule's, when known."""
    data = change.to_dict()
    after = data["after"]
    prov = provenance.to_dict()
    return {
        "time": when.isoformat(timespec="seconds"),
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
        "commit": prov.get("commit"),
        "pr": prov.get("pr"),
        "actor": prov.get("actor"),
        "repository": prov.get("repository"),
    }


class AuditLog:
    """An append-only JSON-lines file. ``open`` it before the first write: it checks the path."""

    def __init__(self, path: str, handle: TextIO, provenance: Provenance, clock: Clock) -> None:
        self.path = path
        self._handle = handle
        self._provenance = provenance
        self._clock = clock
        self._lock = threading.Lock()
        self.lines = 0

    @classmethod
    def open(cls, path: str, provenance: Provenance, clock: Clock = _now) -> AuditLog:
        """Open ``path`` for appending (parents created), or fail with one line, nothing sent."""
        try:
            os.makedirs(os.path.dirname(path) or ".", exist_ok=True)
            handle = open(path, "a", encoding="utf-8")  # noqa: SIM115 - closed by close()
        except OSError as exc:
            reason = exc.strerror or str(exc)
            raise UsageError(f"--audit-log {path}: cannot append to it: {reason}") from None
        return cls(path, handle, provenance, clock)

    def write(self, change: Change, uuid: str | None) -> None:
        """Append one line and flush it, so it survives whatever happens next."""
        self.append(record(change, self._provenance, when=self._clock(), uuid=uuid))

    def append(self, line: Mapping[str, Any]) -> None:
        """Append one line already built (another target's record, ``policies.audit``)."""
        text = redact(json.dumps(line, sort_keys=True)) + "\n"
        with self._lock:
            try:
                self._handle.write(text)
                self._handle.flush()
            except OSError as exc:
                raise ApplyError(
                    f"cannot append to the audit log {self.path}: {exc.strerror or exc}"
                ) from None
            self.lines += 1

    def close(self) -> None:
        with self._lock:
            if self._handle.closed:
                return
            try:
                self._handle.flush()
                os.fsync(self._handle.fileno())
            finally:
                self._handle.close()


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
            self._log.write(change, uuid)
