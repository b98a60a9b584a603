"""Seeded fault injection and the emulator's counters.

Every decision comes from one ``random.Random(seed)``, so a single-threaded run that sends the
same requests in the same order meets the same faults. Requests are drawn for in arrival order;
under concurrency the order (and so which request fails) depends on scheduling.
"""

from __future__ import annotations

import random
import threading
from collections import Counter
from dataclasses import asdict, dataclass, fields
from typing import Any

# The kinds of fault, as counted under ``counters()["faults"]``.
FAULT_429 = "429"
FAULT_500 = "500"
FAULT_502 = "502"
FAULT_AMBIGUOUS = "ambiguous"
FAULT_LATE_COMMIT = "late_commit"
FAULT_500_AFTER_COMMIT = "500_after_commit"
FAULT_KINDS = (
    FAULT_429,
    FAULT_500,
    FAULT_502,
    FAULT_AMBIGUOUS,
    FAULT_LATE_COMMIT,
    FAULT_500_AFTER_COMMIT,
)


@dataclass(frozen=True)
class Faults:
    """What to break and how often. Rates are probabilities per ``/v0`` request (0 to 1).

    ``rate_ambiguous`` applies to successful writes only: the change is committed and then no
    answer is sent. ``retry_after`` is the Retry-After (seconds) sent with an injected 429.
    ``rate_late_commit`` applies to POSTs: no answer is sent (the client sees a lost answer at
    once) and the batch commits ``late_commit_delay`` seconds later, as a request still queued in
    a server after the client gave up. It is drawn only when non-zero, so seeded runs without it
    meet the same faults as before it existed. ``rate_500_after_commit`` (also drawn only when
    non-zero) applies to successful writes: the change is committed and the answer is a 500.
    """

    seed: int = 0
    latency: float = 0.0
    rate_429: float = 0.0
    retry_after: int = 0
    rate_500: float = 0.0
    rate_502: float = 0.0
    rate_ambiguous: float = 0.0
    rate_late_commit: float = 0.0
    late_commit_delay: float = 0.0
    rate_500_after_commit: float = 0.0

    def __post_init__(self) -> None:
        rates = ("rate_429", "rate_500", "rate_502", "rate_ambiguous", "rate_late_commit")
        for name in (*rates, "rate_500_after_commit"):
            rate = getattr(self, name)
            if not 0.0 <= rate <= 1.0:
                raise ValueError(f"{name} must be between 0 and 1, not {rate!r}")
        if self.latency < 0 or self.retry_after < 0:
            raise ValueError("latency and retry_after must not be negative")
        if not 0.0 <= self.late_commit_delay <= 3600.0:
            raise ValueError("late_commit_delay must be between 0 and 3600 seconds")

    @classmethod
    def from_mapping(cls, data: dict[str, Any]) -> Faults:
        """Build from JSON-ish data; unknown keys or wrong types raise ``ValueError``."""
        known = {f.name: f.type for f in fields(cls)}
        unknown = sorted(set(data) - set(known))
        if unknown:
            raise ValueError(f"unknown fault setting(s): {', '.join(unknown)}")
        values: dict[str, Any] = {}
        for name, value in data.items():
            if isinstance(value, bool) or not isinstance(value, int | float):
                raise ValueError(f"fault setting {name} must be a number")
            values[name] = int(value) if name in ("seed", "retry_after") else float(value)
        return cls(**values)

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


class FaultInjector:
    """Draws faults from a seeded generator; thread-safe."""

    def __init__(self, faults: Faults) -> None:
        self._lock = threading.Lock()
        self._faults = faults
        self._rng = random.Random(faults.seed)

    @property
    def config(self) -> Faults:
        return self._faults

    def configure(self, faults: Faults) -> None:
        """Replace the settings and restart the generator from the new seed."""
        with self._lock:
            self._faults = faults
            self._rng = random.Random(faults.seed)

    def before(self) -> str | None:
        """The fault to answer with instead of handling the request, or ``None``.

        One draw per request whatever the rates, so the sequence depends only on the seed and the
        number of requests, not on which rates are zero.
        """
        with self._lock:
            draw = self._rng.random()
            f = self._faults
        for kind, rate in (
            (FAULT_429, f.rate_429),
            (FAULT_500, f.rate_500),
            (FAULT_502, f.rate_502),
        ):
            if draw < rate:
                return kind
            draw -= rate
        return None

    def drop_after_write(self) -> bool:
        """Whether to drop the answer to a write that succeeded (an ambiguous failure)."""
        with self._lock:
            return self._rng.random() < self._faults.rate_ambiguous

    def fail_after_commit(self) -> bool:
        """Whether to answer a committed write with a 500 (drawn only at a non-zero rate)."""
        with self._lock:
            rate = self._faults.rate_500_after_commit
            return rate > 0 and self._rng.random() < rate

    def commit_late(self) -> bool:
        """Whether to commit a POST late and never answer it (drawn only at a non-zero rate)."""
        with self._lock:
            rate = self._faults.rate_late_commit
            return rate > 0 and self._rng.random() < rate


# What each kind of stored thing counts, as reported under ``counters()[kind]``.
CHANGE_KINDS: dict[str, tuple[str, ...]] = {
    "entries": ("created", "updated", "deleted"),  # legacy triage rules
    "policies": ("created", "updated", "deleted"),
    "policy_rules": ("created", "updated", "moved", "deleted"),
    "resolutions": ("created", "deleted"),
}
METHODS = ("GET", "POST", "PUT", "DELETE")


class Counters:
    """Thread-safe tallies of calls, changes per kind of thing, and injected faults."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._calls: Counter[str] = Counter()
        self._changes: dict[str, Counter[str]] = {kind: Counter() for kind in CHANGE_KINDS}
        self._faults: Counter[str] = Counter()
        self._errors = 0

    def call(self, method: str) -> None:
        with self._lock:
            self._calls[method] += 1

    def changed(self, kind: str, **counts: int) -> None:
        """Count real (not rehearsed) changes, e.g. ``changed("entries", created=2)``."""
        unknown = set(counts) - set(CHANGE_KINDS[kind])
        assert not unknown, f"{kind} has no counter {unknown}"
        with self._lock:
            self._changes[kind].update(counts)

    def fault(self, kind: str) -> None:
        with self._lock:
            self._faults[kind] += 1

    def error(self) -> None:
        """An unexpected exception inside the emulator (a bug, answered with a 500)."""
        with self._lock:
            self._errors += 1

    def reset(self) -> None:
        with self._lock:
            self._calls.clear()
            for counter in self._changes.values():
                counter.clear()
            self._faults.clear()
            self._errors = 0

    def snapshot(self) -> dict[str, Any]:
        """Every key is always present, so callers can compare against zero."""
        with self._lock:
            found: dict[str, Any] = {"calls": {m: self._calls[m] for m in METHODS}}
            for kind, names in CHANGE_KINDS.items():
                found[kind] = {name: self._changes[kind][name] for name in names}
            found["faults"] = {k: self._faults[k] for k in FAULT_KINDS}
            found["internal_errors"] = self._errors
            return found
