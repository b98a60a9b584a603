"""How a rule's selector matches an alert, field by field (docs/matching.md says the same).

A rule matches an alert when every selector field it sets matches the alert's fact for that
field; a field the rule leaves as "any" (absent, null, ``""`` or ``"*"``, all normalised to
``None``) matches every alert. Per field:

- text fields (``package_type``, ``package_namespace``, ``package_name``, ``alert_key``,
  ``alert_type``, ``cve_or_ghsa_id``): equal strings, compared exactly as written (case and
  all), as the rule files and Socket's live rules store them;
- ``package_version``: a value ending in ``*`` is a prefix match (``7.*`` matches ``7.0.0`` and
  ``7.23.2``, not ``70.1``; ``4.17*`` matches ``4.17.21`` and ``4.170``); any other value must
  equal the alert's version exactly;
- enum fields (``fix_available``, ``patch_available``, ``reachability``, ``kevs``): the value
  equals the alert's (``available``/``unavailable``, ``reachable``/``unreachable``/``other``,
  ``exist``/``none``);
- ``cvss_score_cmp``: the alert's CVSS score compared with the rule's operator and threshold
  (``>=7.5`` matches 7.5 and 9.8, not 7.4), as exact decimals, so ``==7.5`` equals ``7.50``.

Matching is three-valued: when the rule sets a field and the alert's fact for it is not known,
the field, and so the rule, is ``UNKNOWN``: neither shown to match nor ruled out.

``relation`` compares two selectors by the alerts they match (same, covers, covered, overlaps,
disjoint), which ``check_rule`` uses to find duplicates and shadowing.
"""

from __future__ import annotations

import enum
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from decimal import Decimal
from types import MappingProxyType
from typing import Final

from reconciler.explain.alert import MAX_CVSS, Alert, Fact
from reconciler.vocab.triage.selector import Selector
from reconciler.vocab.triage.wire import CVSS_CMP_RE, SELECTOR_FIELDS, WILDCARD


class Outcome(enum.Enum):
    MATCH = "match"
    MISS = "miss"
    UNKNOWN = "unknown"


@dataclass(frozen=True)
class FieldCheck:
    """One selector field the rule sets, against the alert's fact (``None``: not known)."""

    field: str
    wanted: str
    fact: str | None
    outcome: Outcome


@dataclass(frozen=True)
class Verdict:
    """A rule against an alert: MISS if any field misses, else UNKNOWN if any is unknown."""

    outcome: Outcome
    checks: tuple[FieldCheck, ...]

    @property
    def misses(self) -> tuple[str, ...]:
        return tuple(c.field for c in self.checks if c.outcome is Outcome.MISS)

    @property
    def needs(self) -> tuple[str, ...]:
        """The fields whose facts would decide an UNKNOWN verdict."""
        return tuple(c.field for c in self.checks if c.outcome is Outcome.UNKNOWN)


def _text(wanted: str, fact: Fact) -> bool:
    return wanted == fact


def _version(wanted: str, fact: Fact) -> bool:
    if wanted.endswith(WILDCARD):
        return str(fact).startswith(wanted[:-1])
    return wanted == fact


def _cvss(wanted: str, fact: Fact) -> bool:
    return Decimal(fact) in interval(wanted)


# How each selector field matches; a test checks that every field of ``wire.SELECTOR`` is here.
MATCHERS: Final[Mapping[str, Callable[[str, Fact], bool]]] = MappingProxyType(
    {
        "package_type": _text,
        "package_namespace": _text,
        "package_name": _text,
        "package_version": _version,
        "alert_key": _text,
        "alert_type": _text,
        "cve_or_ghsa_id": _text,
        "fix_available": _text,
        "patch_available": _text,
        "reachability": _text,
        "kevs": _text,
        "cvss_score_cmp": _cvss,
    }
)


def match(selector: Selector, alert: Alert) -> Verdict:
    """Whether ``selector`` matches ``alert``, with the outcome of each field it sets.

    >>> rule = Selector(package_name="lodash", package_version="4.17.*", cvss_score_cmp="<7.0")
    >>> match(rule, Alert(package_name="lodash", package_version="4.17.20")).needs
    ('cvss_score_cmp',)
    >>> match(rule, Alert(package_name="lodash", package_version="4.18.0")).misses
    ('package_version',)
    """
    checks = []
    for name, wanted in zip(SELECTOR_FIELDS, selector, strict=True):
        if wanted is None:
            continue
        fact = alert.fact(name)
        if fact is None:
            outcome = Outcome.UNKNOWN
        else:
            outcome = Outcome.MATCH if MATCHERS[name](wanted, fact) else Outcome.MISS
        checks.append(FieldCheck(name, wanted, None if fact is None else str(fact), outcome))
    found = {check.outcome for check in checks}
    for outcome in (Outcome.MISS, Outcome.UNKNOWN):
        if outcome in found:
            return Verdict(outcome, tuple(checks))
    return Verdict(Outcome.MATCH, tuple(checks))


@dataclass(frozen=True)
class Interval:
    """The CVSS scores a ``cvss_score_cmp`` admits, within 0 to 10."""

    low: Decimal
    high: Decimal
    low_open: bool = False
    high_open: bool = False

    def __contains__(self, score: object) -> bool:
        if not isinstance(score, Decimal):
            return False
        above = score > self.low or (score == self.low and not self.low_open)
        below = score < self.high or (score == self.high and not self.high_open)
        return above and below

    def contains(self, other: Interval) -> bool:
        low = self.low < other.low or (
            self.low == other.low and (not self.low_open or other.low_open)
        )
        high = self.high > other.high or (
            self.high == other.high and (not self.high_open or other.high_open)
        )
        return low and high

    def meets(self, other: Interval) -> bool:
        low = max(self, other, key=lambda i: (i.low, i.low_open))
        high = min(self, other, key=lambda i: (i.high, not i.high_open))
        return low.low < high.high or (
            low.low == high.high and not low.low_open and not high.high_open
        )


def interval(cmp: str) -> Interval:
    """The scores a normalised comparison admits.

    >>> Decimal("7.5") in interval(">=7.5"), Decimal("7.4") in interval(">=7.5")
    (True, False)
    """
    found = CVSS_CMP_RE.match(cmp)
    if found is None:  # the loader and the API refuse anything else
        raise ValueError(f"not a CVSS comparison: {cmp!r}")
    op, number = found.group(1), Decimal(found.group(2))
    zero = Decimal(0)
    return {
        ">=": Interval(number, MAX_CVSS),
        ">": Interval(number, MAX_CVSS, low_open=True),
        "<=": Interval(zero, number),
        "<": Interval(zero, number, high_open=True),
        "==": Interval(number, number),
    }[op]


class Relation(enum.Enum):
    """How the alerts two selectors match compare (``a`` to ``b``)."""

    SAME = "same"  # exactly the same alerts
    COVERS = "covers"  # every alert b matches, a matches too (and more)
    COVERED = "covered"  # the reverse
    OVERLAPS = "overlaps"  # some alerts match both, neither covers the other
    DISJOINT = "disjoint"  # no alert matches both


def relation(a: Selector, b: Selector) -> Relation:
    """How selector ``a`` relates to selector ``b``, judged field by field.

    >>> relation(Selector(package_name="lodash"), Selector(package_name="lodash",
    ...          package_version="4.*"))
    <Relation.COVERS: 'covers'>
    >>> relation(Selector(package_version="4.*"), Selector(package_version="5.*"))
    <Relation.DISJOINT: 'disjoint'>
    """
    found = {_field_relation(name, x, y) for name, x, y in zip(SELECTOR_FIELDS, a, b, strict=True)}
    if Relation.DISJOINT in found:
        return Relation.DISJOINT
    found.discard(Relation.SAME)
    if not found:
        return Relation.SAME
    if len(found) == 1:
        return found.pop()
    return Relation.OVERLAPS


def _field_relation(name: str, a: str | None, b: str | None) -> Relation:
    if a is None or b is None:
        return {(True, True): Relation.SAME, (True, False): Relation.COVERS}.get(
            (a is None, b is None), Relation.COVERED
        )
    if name == "cvss_score_cmp":
        return _interval_relation(interval(a), interval(b))
    if name == "package_version":
        return _version_relation(a, b)
    return Relation.SAME if a == b else Relation.DISJOINT


def _version_relation(a: str, b: str) -> Relation:
    a_prefix, b_prefix = a.endswith(WILDCARD), b.endswith(WILDCARD)
    if a == b:
        return Relation.SAME
    if a_prefix and b.startswith(a[:-1]):
        return Relation.COVERS
    if b_prefix and a.startswith(b[:-1]):
        return Relation.COVERED
    return Relation.DISJOINT


def _interval_relation(a: Interval, b: Interval) -> Relation:
    if a == b:
        return Relation.SAME
    if a.contains(b):
        return Relation.COVERS
    if b.contains(a):
        return Relation.COVERED
    return Relation.OVERLAPS if a.meets(b) else Relation.DISJOINT
