"""diff(desired, existing) -> a Plan of Create / Update / Delete, with octoDNS-style safety.

Identity is the selector key. Desired rules (from the files) and existing rules (from the API)
are joined on it:

- in the files only                -> Create
- live only                        -> Delete, if the org prunes or the rule carries our trailer
- both, state or human note differ -> Update (the uuid is kept)
- several live rules on one key    -> keep the oldest, Delete the rest
- expired rules in the files count as absent
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

from reconciler.engine import notes
from reconciler.engine.changes import Change, Create, Delete, Update, change_from_dict
from reconciler.engine.safety import (
    DEFAULT_MAX_CHANGE_PERCENT,
    DEFAULT_MIN_EXISTING,
    SafetyPolicy,
)
from reconciler.errors import Location, PlanFileError, UnsafePlanError
from reconciler.rules.model import Rule
from reconciler.triage.selector import LiveRule, Selector

PLAN_FORMAT_VERSION = 1

# A trailer for a rule's note, given where the rule came from (see provenance.Provenance).
TrailerFn = Callable[[Location | None], str | None]


@dataclass(frozen=True)
class OrgPlan:
    """The changes for one org, sorted so that the same inputs always print the same way."""

    org: str
    changes: tuple[Change, ...]
    unchanged: int
    existing: int
    fingerprint: str
    prune: bool = True
    safety: SafetyPolicy = field(default_factory=SafetyPolicy)

    def count(self, action: str) -> int:
        return sum(1 for c in self.changes if c.action == action)

    @property
    def has_changes(self) -> bool:
        return bool(self.changes)

    def unsafe_reasons(self) -> list[str]:
        """Why this plan is unsafe; empty when it is safe."""
        reasons: list[str] = []
        deletes, updates = self.count("delete"), self.count("update")
        if self.existing and deletes >= self.existing:
            reasons.append(f"it deletes every live rule of org {self.org} ({self.existing})")
        changed = deletes + updates
        if self.existing >= self.safety.min_existing:
            percent = 100.0 * changed / self.existing
            if percent > self.safety.max_change_percent:
                reasons.append(
                    f"it updates or deletes {changed} of {self.existing} live rules of org "
                    f"{self.org} ({percent:.0f}% > {self.safety.max_change_percent:g}%)"
                )
        return reasons

    def raise_if_unsafe(self) -> None:
        reasons = self.unsafe_reasons()
        if reasons:
            raise UnsafePlanError(
                f"refusing an unsafe plan: {'; '.join(reasons)}. Use --force to apply it anyway."
            )

    def summary(self) -> dict[str, int]:
        return {
            "create": self.count("create"),
            "update": self.count("update"),
            "delete": self.count("delete"),
            "unchanged": self.unchanged,
        }

    def to_dict(self) -> dict[str, Any]:
        return {
            "org": self.org,
            "summary": self.summary(),
            "existing": self.existing,
            "prune": self.prune,
            "safety": {
                "max_change_percent": self.safety.max_change_percent,
                "min_existing": self.safety.min_existing,
            },
            "unsafe": self.unsafe_reasons(),
            "fingerprint": self.fingerprint,
            "changes": [c.to_dict() for c in self.changes],
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> OrgPlan:
        try:
            safety = data.get("safety") or {}
            return cls(
                org=str(data["org"]),
                changes=tuple(change_from_dict(c) for c in data["changes"]),
                unchanged=int(data["summary"]["unchanged"]),
                existing=int(data["existing"]),
                fingerprint=str(data["fingerprint"]),
                prune=bool(data.get("prune", True)),
                safety=SafetyPolicy(
                    float(safety.get("max_change_percent", DEFAULT_MAX_CHANGE_PERCENT)),
                    int(safety.get("min_existing", DEFAULT_MIN_EXISTING)),
                ),
            )
        except (KeyError, TypeError, ValueError) as exc:
            raise PlanFileError(f"malformed org plan in plan file: {exc!r}") from None


@dataclass(frozen=True)
class Plan:
    """Every org's plan, in org order."""

    orgs: tuple[OrgPlan, ...]

    @property
    def has_changes(self) -> bool:
        return any(o.has_changes for o in self.orgs)

    def to_dict(self) -> dict[str, Any]:
        from reconciler import __version__

        return {
            "format_version": PLAN_FORMAT_VERSION,
            "tool": f"socket-triage {__version__}",
            "has_changes": self.has_changes,
            "orgs": [o.to_dict() for o in self.orgs],
        }

    @classmethod
    def from_dict(cls, data: Any) -> Plan:
        if not isinstance(data, dict) or data.get("format_version") != PLAN_FORMAT_VERSION:
            raise PlanFileError(f"not a socket-triage plan of format version {PLAN_FORMAT_VERSION}")
        orgs = data.get("orgs")
        if not isinstance(orgs, list):
            raise PlanFileError("plan file has no list of orgs")
        return cls(tuple(OrgPlan.from_dict(o) for o in orgs))


def fingerprint(live: Iterable[LiveRule]) -> str:
    """A digest of the live state a plan was made against, to detect a stale saved plan."""
    rows = sorted((r.uuid, list(r.selector), r.state, r.note, r.updated_at) for r in live)
    digest = hashlib.sha256(json.dumps(rows, separators=(",", ":")).encode())
    return "sha256:" + digest.hexdigest()


def _oldest_first(rules: Iterable[LiveRule]) -> list[LiveRule]:
    return sorted(rules, key=lambda r: (r.created_at, r.uuid))


def group_live(live: Iterable[LiveRule]) -> dict[Selector, list[LiveRule]]:
    """Live rules by selector, oldest first within each selector."""
    groups: dict[Selector, list[LiveRule]] = {}
    for rule in live:
        groups.setdefault(rule.selector, []).append(rule)
    return {key: _oldest_first(rules) for key, rules in groups.items()}


def diff(
    org: str,
    desired: Sequence[Rule],
    live: Sequence[LiveRule],
    *,
    today: dt.date,
    prune: bool = True,
    safety: SafetyPolicy | None = None,
    trailer: TrailerFn | None = None,
) -> OrgPlan:
    """Compare the files' rules for ``org`` with its live rules.

    >>> plan = diff("acme", [], [], today=dt.date(2026, 1, 1))
    >>> plan.summary()
    {'create': 0, 'update': 0, 'delete': 0, 'unchanged': 0}
    """
    wanted: dict[Selector, Rule] = {}
    expired: set[Selector] = set()
    for rule in desired:
        if rule.is_expired(today):
            expired.add(rule.selector)
        else:
            wanted[rule.selector] = rule

    def api_note(rule: Rule) -> str:
        return notes.compose(rule.note, trailer(rule.location) if trailer else None)

    changes: list[Change] = []
    unchanged = 0
    groups = group_live(live)
    for key, rule in wanted.items():
        found = groups.get(key)
        if not found:
            changes.append(Create(org, None, rule, api_note(rule)))
            continue
        keeper, *extras = found
        if keeper.state != rule.state or keeper.human_note != rule.note.strip():
            changes.append(Update(org, keeper, rule, api_note(rule)))
        else:
            unchanged += 1
        changes.extend(Delete(org, extra, None, reason="duplicate") for extra in extras)
    for key, found in groups.items():
        if key in wanted:
            continue
        reason = "expired" if key in expired else "not in files"
        changes.extend(
            Delete(org, stale, None, reason=reason) for stale in found if prune or stale.managed
        )
    changes.sort(key=Change.sort_key)
    return OrgPlan(
        org=org,
        changes=tuple(changes),
        unchanged=unchanged,
        existing=len(live),
        fingerprint=fingerprint(live),
        prune=prune,
        safety=safety or SafetyPolicy(),
    )
