"""One file's ``policy_rules:`` and ``resolutions:`` -> Alert Policies' desired values.

The contract's limits live in ``policies.checks`` and ``policies.selectors``: each check returns
``Problem``s whose path starts at the rule's mapping (``("vigil_selector", "artifact.type",
"$in", 2)``). This module walks that path through the YAML nodes to the line and column the
problem is about, so every limit is reported as FILE:LINE:COL before anything is sent. What the
JSON Schema already reported at a position is not said twice.

Checks across rules (a name used twice in one policy, a selector repeated, shadowing) need every
file of the org: ``loader`` runs them (``cross_file_problems``).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Collection, Sequence
from dataclasses import dataclass, field
from typing import Any, Final

from reconciler.errors import Diagnostic, Location
from reconciler.rules.expiry import expiry_warning
from reconciler.rules.yamlnodes import YList, YMap
from reconciler.vocab.policies import checks
from reconciler.vocab.policies.model import DesiredResolution, DesiredRule
from reconciler.vocab.policies.selectors import Path, Problem, VigilSelector
from reconciler.vocab.policies.wire import DEFAULT_POLICY_ID, REASON_DEFAULT

RULES_KEY: Final = "policy_rules"
RESOLUTIONS_KEY: Final = "resolutions"
KEYS: Final = (RULES_KEY, RESOLUTIONS_KEY)

At = Callable[[int], Location]


@dataclass
class PolicyEntries:
    """What one file's Alert Policies sections contribute, and what was wrong with them."""

    rules: list[DesiredRule] = field(default_factory=list)
    resolutions: list[DesiredResolution] = field(default_factory=list)
    diagnostics: list[Diagnostic] = field(default_factory=list)
    # Where each rule that names its policy wrote ``policy:``, by the rule's location: a rule
    # naming a policy the org does not declare is reported there (``policydecl``).
    policy_refs: dict[Location, Location] = field(default_factory=dict)


def read(root: YMap, at: At, today: dt.date, faulted: Collection[int]) -> PolicyEntries:
    """Every policy rule and resolution of one parsed file, with a diagnostic per problem.

    ``faulted`` holds the positions the schema already reported; an entry with any problem
    there is not built (the schema has said why), and no check repeats it.
    """
    found = PolicyEntries()
    if not any(key in root for key in KEYS):
        return found

    rules = root.get(RULES_KEY)
    for raw in rules if isinstance(rules, YList) else ():
        if isinstance(raw, YMap):
            usable, expires = _report(found, raw, checks.check_rule(raw), at, faulted, today)
            if usable:
                rule = _rule(raw, at, expires)
                found.rules.append(rule)
                if "policy" in raw and rule.location is not None:
                    found.policy_refs[rule.location] = at(raw.value_pos("policy"))
    resolutions = root.get(RESOLUTIONS_KEY)
    for raw in resolutions if isinstance(resolutions, YList) else ():
        if isinstance(raw, YMap):
            usable, expires = _report(found, raw, checks.check_resolution(raw), at, faulted, today)
            if usable:
                found.resolutions.append(_resolution(raw, at, expires))
    return found


def _report(
    found: PolicyEntries,
    raw: YMap,
    problems: Sequence[Problem],
    at: At,
    faulted: Collection[int],
    today: dt.date,
) -> tuple[bool, dt.date | None]:
    """Add ``problems`` as diagnostics: (whether the entry can be built, its expiry date)."""
    usable = not any(pos in faulted for pos in _positions(raw))
    for problem in sorted(set(problems)):
        pos = position(raw, problem.path)
        if pos in faulted:
            continue
        found.diagnostics.append(Diagnostic(at(pos), problem.message, problem.severity))
        usable = usable and problem.severity != "error"
    valid, expires = _date(raw, at, found, faulted)
    if not (usable and valid):
        return False, None
    warning = expiry_warning(expires, today)
    if warning is not None:
        found.diagnostics.append(Diagnostic(at(raw.pos), warning, "warning", dated=True))
    return True, expires


def position(node: Any, path: Path) -> int:
    """The packed position ``path`` leads to from ``node``: the deepest step that exists.

    A step that names a mapping key leads to its value; the empty path is the node itself.
    """
    pos: int = getattr(node, "pos", 0)
    for step in path:
        if isinstance(node, YMap) and isinstance(step, str) and step in node:
            pos, node = node.value_pos(step), node[step]
        elif isinstance(node, YList) and isinstance(step, int) and 0 <= step < len(node):
            pos, node = node.item_pos[step], node[step]
        else:
            break
    return pos


def _positions(node: Any) -> list[int]:
    """Every position inside ``node``: its own, its keys' and its values', recursively."""
    found: list[int] = []
    stack = [node]
    while stack:
        item = stack.pop()
        if isinstance(item, YMap):
            found.append(item.pos)
            for key, value in item.items():
                found.extend(item.fields.get(key, ()))
                stack.append(value)
        elif isinstance(item, YList):
            found.append(item.pos)
            found.extend(item.item_pos)
            stack.extend(item)
    return found


def _date(
    raw: YMap, at: At, found: PolicyEntries, faulted: Collection[int]
) -> tuple[bool, dt.date | None]:
    """(valid?, the ``expires`` date or None when absent); a date that does not exist is
    reported here, any other bad value by the schema."""
    text = raw.get("expires")
    if text is None:
        return True, None
    if not isinstance(text, str):
        return False, None
    try:
        return True, dt.date.fromisoformat(text)
    except ValueError:
        pos = raw.value_pos("expires")
        if pos not in faulted:
            found.diagnostics.append(Diagnostic(at(pos), f"expires: {text!r} is not a valid date"))
        return False, None


def _text(raw: YMap, key: str) -> str | None:
    value = raw.get(key)
    return value.strip() or None if isinstance(value, str) else None


def _rule(raw: YMap, at: At, expires: dt.date | None) -> DesiredRule:
    action, _ = checks.action_for(raw.get("action"), raw.get("state"))
    assert action is not None  # checked: the rule had no error
    return DesiredRule(
        name=str(raw["name"]).strip(),
        selector=VigilSelector.from_wire(raw["vigil_selector"]),
        action=action,
        note=_text(raw, "note") or "",
        policy=_text(raw, "policy") or DEFAULT_POLICY_ID,
        location=at(raw.pos),
        expires=expires,
        owner=_text(raw, "owner"),
        ticket=_text(raw, "ticket"),
    )


def _resolution(raw: YMap, at: At, expires: dt.date | None) -> DesiredResolution:
    return DesiredResolution(
        selector=VigilSelector.from_wire(raw["vigil_selector"]),
        reason=str(raw.get("reason") or REASON_DEFAULT),
        reason_text=_text(raw, "reason_text"),
        comment=_text(raw, "comment") or "",
        location=at(raw.pos),
        expires=expires,
        owner=_text(raw, "owner"),
        ticket=_text(raw, "ticket"),
    )


# --- across the files of one org ------------------------------------------------------------------


def cross_file_problems(
    rules: Sequence[DesiredRule], resolutions: Sequence[DesiredResolution], today: dt.date
) -> list[Diagnostic]:
    """Names used twice in a policy and repeated resolution selectors (errors), and rules that
    can never match because an earlier rule covers them (warnings), naming both places.

    ``rules`` are in file order (files as read, rules in line order). Expired entries count as
    removed, so they neither shadow nor collide.
    """
    if not rules and not resolutions:
        return []

    live_rules = [r for r in rules if not r.is_expired(today)]
    found: list[Diagnostic] = []
    for later, first in checks.duplicate_names(live_rules):
        message = (
            f"name {later.name!r} is already used in policy {later.policy} by the rule at "
            f"{_where(first.location)}: names identify rules, so each must be unique per policy"
        )
        found.append(Diagnostic(_loc(later.location), message))
    seen: dict[VigilSelector, DesiredResolution] = {}
    for res in resolutions:
        if res.is_expired(today):
            continue
        first_res = seen.setdefault(res.selector, res)
        if first_res is not res:
            message = f"same vigil_selector as the resolution at {_where(first_res.location)}"
            found.append(Diagnostic(_loc(res.location), message))
    for shadowed, by in checks.shadowed_rules(live_rules):
        found.append(Diagnostic(_loc(shadowed.location), shadow_warning(shadowed, by), "warning"))
    return found


def shadow_warning(shadowed: DesiredRule, by: DesiredRule) -> str:
    """Why ``shadowed`` can never match: ``by`` comes first and covers it (names both places)."""
    return (
        f"rule {shadowed.name!r} can never match: rule {by.name!r} at {_where(by.location)} "
        "comes first and its selector covers this one (the first matching rule decides)"
    )


_NOWHERE: Final = Location("<unknown>", 0, 0)


def _loc(location: Location | None) -> Location:
    return location or _NOWHERE


def _where(location: Location | None) -> str:
    return str(location) if location else "an unknown place"
