"""The order in which matching rules are applied to an alert, and which one decides.

**Alert Policies** (documented by Socket): a policy's rules are walked top to bottom and the
first rule that matches decides. socket-triage sends the rules in file order, so the first
matching rule in file order decides.

**Legacy triage** (not documented): Socket's Triage API does not say which of several matching
triage rules wins. socket-triage's *model* is "the most specific rule wins", ranked by

1. more selector fields set;
2. then the version: an exact version before a ``*`` prefix, a longer prefix before a shorter
   one, either before no version;
3. then file order (files in the order read, rules in line order).

It is the tool's model, not Socket's documented behaviour, and ``explain`` says so whenever
the choice matters: when matching rules disagree, and above all when two of them tie on 1 and 2.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Final

from reconciler.api import ALERT_POLICIES, TRIAGE
from reconciler.vocab.triage.selector import specificity

if TYPE_CHECKING:  # only for annotations: importing the selector would pull in the engine
    from reconciler.vocab.triage.selector import Selector

MODEL: Final[dict[str, str]] = {
    TRIAGE: (
        "most specific first (socket-triage's model; Socket documents no precedence for "
        "legacy triage): more selector fields, then exact version over prefix, then file order"
    ),
    ALERT_POLICIES: "file order, first match wins (Socket's documented Alert Policies rule)",
}


def order_key(selector: Selector, position: int, target: str) -> tuple[int, ...]:
    """Where a rule at ``position`` in file order comes in the applied order (smaller first)."""
    if target == ALERT_POLICIES:
        return (position,)
    fields, version, prefix = specificity(selector)
    return (-fields, -version, -prefix, position)


def ranked(selectors: Sequence[Selector], target: str) -> list[int]:
    """The indices of ``selectors`` (in file order) in the order they are applied.

    >>> from reconciler.vocab.triage.selector import Selector
    >>> ranked([Selector(alert_type="cve"), Selector(alert_type="cve", package_name="x")],
    ...        "triage")
    [1, 0]
    """
    return sorted(range(len(selectors)), key=lambda i: order_key(selectors[i], i, target))


@dataclass(frozen=True)
class Reason:
    """Why the deciding rule comes before the next one, and whether that rests on the model."""

    text: str
    model: bool = False  # the legacy precedence model, not Socket's documentation, decides
    tie: bool = False  # equal under the model too: only file order separates them


def why_first(first: Selector, second: Selector | None, target: str, agree: bool) -> Reason:
    """Why ``first`` decides rather than ``second`` (the next rule that could), if any.

    ``agree`` says whether the two would give the same result, in which case the order does
    not matter to the outcome.
    """
    if second is None:
        return Reason("the only rule that decides")
    if target == ALERT_POLICIES:
        return Reason("first match in file order")
    if agree:
        return Reason("the matching rules agree")
    a, b = specificity(first), specificity(second)
    if a[0] != b[0]:
        return Reason(f"more selector fields ({a[0]} against {b[0]})", model=True)
    if a[1] != b[1]:
        kinds = {2: "an exact version", 1: "a version prefix", 0: "no version"}
        return Reason(f"{kinds[a[1]]} before {kinds[b[1]]}", model=True)
    if a[2] != b[2]:
        return Reason("a longer version prefix", model=True)
    return Reason("file order: the rules tie under the model", model=True, tie=True)
