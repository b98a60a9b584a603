"""The audit log: one JSON line per applied change, the decision history CI keeps.

The log is opened (so checked) before the first write, and each line is appended and flushed as
its change is confirmed, so an apply that is stopped part-way still leaves a line for every
change the server holds. Each provider words its own lines (``triage.audit``,
``policies.audit``) with the same common fields. ``close`` fsyncs the file.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import json
import os
import threading
from collections.abc import Callable, Mapping
from typing import Any, TextIO

from reconciler.engine.provenance import Provenance
from reconciler.errors import ApplyError, UsageError
from reconciler.redact import redact

Clock = Callable[[], dt.datetime]


def _now() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


def stamp(provenance: Provenance, when: dt.datetime) -> dict[str, Any]:
    """The fields every audit line has whatever its target: when, and where the run came from."""
    prov = provenance.to_dict()
    return {
        "time": when.isoformat(timespec="seconds"),
        **{key: prov.get(key) for key in ("commit", "pr", "actor", "repository")},
    }


class AuditLog:
    """An append-only JSON-lines file. ``open`` it before the first write: it checks the path."""

    def __init__(self, path: str, handle: TextIO, provenance: Provenance, clock: Clock) -> None:
        self.path = path
        self._handle = handle
        self.provenance = provenance
        self._clock = clock
        self._lock = threading.Lock()
        self.lines = 0
        # The first write that failed (a full disk): the apply stops for it, and no line follows.
        self.failure: ApplyError | None = None

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

    def now(self) -> dt.datetime:
        """The time an audit line is stamped with (the log's clock)."""
        return self._clock()

    def append(self, line: Mapping[str, Any]) -> None:
        """Append one line (a provider's record) and flush it, so it survives what comes next.

        The first write that fails raises ``ApplyError`` naming the file, which stops the
        apply; the appends after it do nothing, as the report that follows lists every change.
        """
        text = redact(json.dumps(line, sort_keys=True)) + "\n"
        with self._lock:
            if self.failure is not None:
                return
            try:
                self._handle.write(text)
                self._handle.flush()
            except OSError as exc:
                self.failure = ApplyError(
                    f"cannot append to the audit log {self.path}: {exc.strerror or exc}; the "
                    "changes applied from then on are in the report below, not in the log"
                )
                raise self.failure from None
            self.lines += 1

    def close(self) -> None:
        """Flush and fsync the file; ``ApplyError`` naming it if that fails (once)."""
        with self._lock:
            if self._handle.closed:
                return
            try:
                self._handle.flush()
                os.fsync(self._handle.fileno())
            except OSError as exc:
                if self.failure is None:  # else the apply already said so
                    reason = exc.strerror or exc
                    raise ApplyError(f"cannot write the audit log {self.path}: {reason}") from None
            finally:
                with contextlib.suppress(OSError):  # what a full disk still holds is lost
                    self._handle.close()
