"""diff(desired, existing) -> a Plan of Create / Update / Delete, with octoDNS-style safety.

Identity is the selector key. Desired rules (from the files) and existing rules (from the API)
are joined on it:

- in the files only                -> Create
- live only                        -> Delete, if the org prunes or the rule carries our trailer
- both, state or human note differ -> Update (the uuid is kept)
- several live rules on one key    -> keep the oldest (parsed ``created_at``), Delete the rest
- expired in the files             -> Delete every live rule it matches, even under
                                      ``prune: false``: it was declared, so it is ours to remove
- live rule without a uuid         -> never written (not updated, not deleted, and a desired
                                      rule it matches is not created again); a warning each
"""

from __future__ import annotations

import datetime as dt
import functools
import hashlib
import json
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any, Final, NamedTuple

from reconciler import notes
from reconciler.api import TRIAGE
from reconciler.engine import planfields
from reconciler.engine.targets import TargetChoice
from reconciler.errors import PlanFileError
from reconciler.rules.model import Rule
from reconciler.rules.safety import (
    SafetyPolicy,
    raise_if_unsafe,
    unsafe_reasons,
)
from reconciler.triage.changes import Change, Create, Delete, Update, change_from_dict
from reconciler.vocab.triage.selector import (
    Listing,
    LiveRule,
    Selector,
    group_live,
    selector_order,
)

TARGET: Final = TRIAGE
# A trailer for a rule's note: where it came from, sealed for its org and selector (see
# provenance.Provenance.trailer).
TrailerFn = Callable[[Rule], str | None]


def is_own_duplicate(change: Change) -> bool:
    """A delete of an extra copy of a rule this tool wrote (two applies at once, a late create).

    The copy that is kept holds the same selector, so removing the extra takes no triage away: it
    does not count against the safety threshold, and cleaning up never needs ``--force``.
    """
    existing = change.existing
    return (
        change.action == "delete"
        and change.reason == "duplicate"
        and existing is not None
        and existing.managed
    )


class LeftAlone(NamedTuple):
    """A live rule that ``prune: false`` keeps: not declared in the files, not written by us."""

    uuid: str
    label: str
    state: str

    @classmethod
    def of(cls, rule: LiveRule) -> LeftAlone:
        return cls(rule.uuid, rule.selector.describe(), rule.state)


@dataclass(frozen=True)
class TriagePlan:
    """The changes for one org, sorted so that the same inputs always print the same way.

    ``warnings`` are lines the plan must show but that are not changes, such as a live rule
    without a uuid that no write can touch.
    """

    org: str
    changes: tuple[Change, ...]
    unchanged: int
    existing: int
    # A saved plan's fingerprint, as its file states it; for a plan made here, ``live`` gives it.
    stated_fingerprint: str | None = field(default=None, compare=False)
    prune: bool = True
    safety: SafetyPolicy = field(default_factory=SafetyPolicy)
    warnings: tuple[str, ...] = ()
    unmanaged: tuple[LeftAlone, ...] = ()
    # The reading the plan was made from, when made in this process: apply confirms it by
    # reading the pages again (never saved to a plan file).
    listing: Listing | None = field(default=None, repr=False, compare=False)
    # The live rules the plan was made from, when made in this process.
    live: tuple[LiveRule, ...] = field(default=(), repr=False, compare=False)
    # The target used and why (``engine.targets``); None for a plan made without a status read.
    choice: TargetChoice | None = field(default=None, compare=False)

    @property
    def target(self) -> str:
        return TARGET

    @functools.cached_property
    def fingerprint(self) -> str:
        """A digest of the live state the plan was made against (``fingerprint``).

        Computed when first asked for, by a saved plan or a JSON rendering: a plan applied in
        the process that made it never needs it, and at 100k rules it costs half a second.
        """
        if self.stated_fingerprint is not None:
            return self.stated_fingerprint
        return fingerprint(self.live)

    def count(self, action: str) -> int:
        return sum(1 for c in self.changes if c.action == action)

    @property
    def has_changes(self) -> bool:
        return bool(self.changes)

    def unsafe_reasons(self) -> list[str]:
        """Why this plan is unsafe; empty when it is safe."""
        changed = sum(1 for c in self.changes if c.action != "create" and not is_own_duplicate(c))
        return unsafe_reasons(
            self.safety,
            self.org,
            existing=self.existing,
            deletes=self.count("delete"),
            changed=changed,
        )

    def raise_if_unsafe(self) -> None:
        raise_if_unsafe(self.unsafe_reasons())

    def summary(self) -> dict[str, int]:
        return {
            "create": self.count("create"),
            "update": self.count("update"),
            "delete": self.count("delete"),
            "unchanged": self.unchanged,
        }

    def to_dict(self, *, fingerprint: bool = True) -> dict[str, Any]:
        """The saved form; ``fingerprint=False`` leaves the fingerprint out, for a renderer
        that does not show it (computing it reads every live rule)."""
        doc = {
            "org": self.org,
            "summary": self.summary(),
            "existing": self.existing,
            "prune": self.prune,
            "safety": self.safety.to_dict(),
            "unsafe": self.unsafe_reasons(),
            "warnings": list(self.warnings),
            "unmanaged": [rule._asdict() for rule in self.unmanaged],
            "changes": [c.to_dict() for c in self.changes],
        }
        if fingerprint:
            doc["fingerprint"] = self.fingerprint
        return doc

    @classmethod
    def from_dict(cls, data: Any, where: str = "org plan") -> TriagePlan:
        """Read ``to_dict()`` output back, checking every field (``where`` names it)."""
        data = planfields.mapping(data, where)
        org = planfields.text(data, "org", where)
        raw = planfields.items(data, "changes", where)
        changes = tuple(change_from_dict(c, f"{where}.changes[{i}]") for i, c in enumerate(raw))
        for i, change in enumerate(changes):
            if change.org != org:
                raise PlanFileError(f"{where}.changes[{i}] is for org {change.org!r}, not {org!r}")
        summary = planfields.mapping(data.get("summary"), f"{where}.summary")
        warnings = planfields.items(data, "warnings", where, default=[])
        if not all(isinstance(w, str) for w in warnings):
            raise PlanFileError(f"{where}.warnings must be a list of strings")
        unmanaged = [
            LeftAlone(
                *(
                    planfields.text(planfields.mapping(r, f"{where}.unmanaged"), k, where)
                    for k in LeftAlone._fields
                )
            )
            for r in planfields.items(data, "unmanaged", where, default=[])
        ]
        return cls(
            org=org,
            changes=changes,
            unchanged=planfields.count(summary, "unchanged", f"{where}.summary"),
            existing=planfields.count(data, "existing", where),
            stated_fingerprint=planfields.text(data, "fingerprint", where),
            prune=planfields.flag(data, "prune", where, default=True),
            safety=planfields.safety(data, where),
            warnings=tuple(warnings),
            unmanaged=tuple(unmanaged),
        )


def fingerprint(live: Iterable[LiveRule]) -> str:
    """A digest of the live state a plan was made against, to detect a stale saved plan."""
    # Sorted by uuid alone (stable, so rules without one keep the listing's order): comparing
    # whole rows would compare selectors, whose None and text do not order. A selector is a
    # tuple, which JSON writes as the array it was before.
    rows = sorted(((r.uuid, r.selector, r.state, r.note, r.updated_at) for r in live), key=_uuid)
    digest = hashlib.sha256(json.dumps(rows, separators=(",", ":")).encode())
    return "sha256:" + digest.hexdigest()


def _uuid(row: tuple[str, Selector, str, str, str]) -> str:
    return row[0]


def _same(live: LiveRule, rule: Rule) -> bool:
    return live.state == rule.state and live.human_note == rule.note.strip()


def diff(
    org: str,
    desired: Sequence[Rule],
    live: Sequence[LiveRule],
    *,
    today: dt.date,
    prune: bool = True,
    safety: SafetyPolicy | None = None,
    trailer: TrailerFn | None = None,
) -> TriagePlan:
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
        return notes.compose(rule.note, trailer(rule) if trailer else None)

    # A rule without a uuid can be neither updated nor deleted: it only ever gets a warning.
    groups = group_live(r for r in live if r.uuid)
    blind = group_live(r for r in live if not r.uuid)
    changes, unchanged = _upserts(org, wanted, groups, blind, api_note)
    changes += _deletes(org, groups, wanted, expired, prune)
    changes.sort(key=Change.sort_key)
    return TriagePlan(
        org=org,
        changes=tuple(changes),
        unchanged=unchanged,
        existing=len(live),
        live=tuple(live),
        prune=prune,
        safety=safety or SafetyPolicy(),
        warnings=_blind_warnings(blind, wanted, expired, set(groups), prune),
        unmanaged=_left_alone(groups, wanted, expired, prune),
    )


def _upserts(
    org: str,
    wanted: dict[Selector, Rule],
    groups: dict[Selector, list[LiveRule]],
    blind: dict[Selector, list[LiveRule]],
    api_note: Callable[[Rule], str],
) -> tuple[list[Change], int]:
    """Creates, updates and duplicate deletes for the rules in the files; and how many match."""
    changes: list[Change] = []
    unchanged = 0
    for key, rule in wanted.items():
        found = groups.get(key)
        if found:
            keeper, *extras = found
            if _same(keeper, rule):
                unchanged += 1
            else:
                changes.append(Update(org, keeper, rule, api_note(rule)))
            changes.extend(Delete(org, extra, None, reason="duplicate") for extra in extras)
        elif key in blind:
            # Creating another rule beside it would happen again on every run, never converging.
            unchanged += _same(blind[key][0], rule)
        else:
            changes.append(Create(org, None, rule, api_note(rule)))
    return changes, unchanged


def _deletes(
    org: str,
    groups: dict[Selector, list[LiveRule]],
    wanted: dict[Selector, Rule],
    expired: set[Selector],
    prune: bool,
) -> list[Change]:
    """Deletes of the live rules the files do not want."""
    changes: list[Change] = []
    for key, found in groups.items():
        if key in expired and key not in wanted:
            # Declared, then expired: ours to remove whoever wrote it, even with prune: false, so
            # that a security exception never outlives its date silently.
            changes.extend(Delete(org, stale, None, reason="expired") for stale in found)
        elif key not in wanted:
            ours = (rule for rule in found if prune or rule.managed)
            changes.extend(Delete(org, stale, None, reason="not in files") for stale in ours)
    return changes


def _left_alone(
    groups: dict[Selector, list[LiveRule]],
    wanted: dict[Selector, Rule],
    expired: set[Selector],
    prune: bool,
) -> tuple[LeftAlone, ...]:
    """The live rules ``_deletes`` keeps under ``prune: false``, so the plan can show them."""
    if prune:
        return ()
    kept = (
        rule
        for key, found in groups.items()
        if key not in wanted and key not in expired
        for rule in found
        if not rule.managed
    )
    return tuple(sorted(map(LeftAlone.of, kept), key=lambda r: (r.label, r.uuid)))


def _blind_warnings(
    blind: dict[Selector, list[LiveRule]],
    wanted: dict[Selector, Rule],
    expired: set[Selector],
    managed_keys: set[Selector],
    prune: bool,
) -> tuple[str, ...]:
    """One line per live rule without a uuid: what the plan would have done, and cannot."""
    lines: list[str] = []
    for key in sorted(blind, key=selector_order):
        for rule in blind[key]:
            if key in wanted and key in managed_keys:
                why = "another rule with this selector is kept instead; delete this one by hand"
            elif key in wanted:
                matches = _same(rule, wanted[key])
                why = "it matches the files" if matches else "the files want another state or note"
            elif key in expired:
                why = "its rule in the files expired; delete it by hand"
            elif prune or rule.managed:
                why = "the files do not declare it; delete it by hand"
            else:
                why = "the files do not declare it (kept: prune is off)"
            lines.append(
                f"live rule {key.describe()} (state {rule.state}) has no uuid, so socket-triage "
                f"can neither update nor delete it: {why}"
            )
    return tuple(lines)
