"""``check_rule``: what adding one proposed rule to the files would do, without writing anything.

The rule (YAML text of one rule, or its fields) is validated exactly as ``validate`` would in a
file of its org; compared with every rule of the org (the same selector is a duplicate, which
``validate`` refuses; otherwise which rule decides the alerts both match, and whether the
proposed rule would ever decide: ``explain.precedence``); planned against the org's live rules
(the changes the next ``apply`` would make because of it); and placed (``placement``).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, replace
from typing import Any, Final

import yaml

from reconciler.errors import Diagnostic, Location, ReconcilerError, UsageError
from reconciler.explain.match import Relation, relation
from reconciler.explain.precedence import order_key
from reconciler.mcp.placement import place
from reconciler.rules import rulefile
from reconciler.rules.model import Rule
from reconciler.rules.ruleset import OrgRules
from reconciler.triage.plan import diff
from reconciler.vocab.triage.selector import LiveRule

MAX_RULE_TEXT: Final = 20_000
PROPOSED: Final = "proposed-rule.yaml"
_HEADER_LINES: Final = 2  # "org: ...", "rules:" before the proposed rule

ListLive = Callable[[str], Sequence[LiveRule]]


@dataclass(frozen=True)
class Proposal:
    rule: Rule | None
    diagnostics: tuple[Diagnostic, ...]


def rule_text(rule_yaml: str | None, fields: Mapping[str, Any] | None) -> str:
    """The proposed rule as YAML text, from either form; ``UsageError`` for neither or both."""
    if (rule_yaml is None) == (fields is None):
        raise UsageError("give the proposed rule either as YAML text (rule_yaml) or as fields")
    if fields is not None:
        return yaml.safe_dump(dict(fields), sort_keys=False, allow_unicode=True)
    assert rule_yaml is not None
    if len(rule_yaml) > MAX_RULE_TEXT:
        raise UsageError(f"rule_yaml: longer than {MAX_RULE_TEXT:,} characters")
    text = rule_yaml.strip("\n")
    if text.lstrip().startswith("- "):  # one list item, as it would sit under rules:
        text = text.lstrip()[2:]
    return text + "\n"


def parse_proposal(org: str, text: str, today: dt.date) -> Proposal:
    """Validate the rule as one rule in a file of ``org``; lines are counted in ``text``."""
    lines = text.splitlines() or [""]
    body = "\n".join(["  - " + lines[0], *("    " + line for line in lines[1:])])
    document = f"org: {org}\nrules:\n{body}\n"  # org is a checked slug
    result, found = rulefile.parse(PROPOSED, document, today)
    shifted = tuple(_shift(d) for d in found)
    if any(d.severity == "error" for d in shifted) or len(result.rules) != 1:
        return Proposal(None, shifted)
    return Proposal(replace(result.rules[0], location=Location(PROPOSED, 1, 1)), shifted)


def _shift(diagnostic: Diagnostic) -> Diagnostic:
    """A diagnostic of the wrapped document, at its place in the proposed rule's own text."""
    where = diagnostic.location
    line = max(1, where.line - _HEADER_LINES) if where.line else 0
    column = max(1, where.column - 4) if where.line else 0
    return Diagnostic(Location(PROPOSED, line, column), diagnostic.message, diagnostic.severity)


def check(
    rules: OrgRules,
    proposal: Rule,
    *,
    target: str,
    today: dt.date,
    list_live: ListLive | None,
) -> dict[str, Any]:
    """Duplicates, shadowing, the changes it causes and where it goes, as a JSON-ready dict."""
    placement = place(rules, proposal, today)
    position = _position(rules, placement.file)
    related, duplicates = _related(rules, proposal, position, target, today)
    shadowed = any(r["shadows_proposed"] for r in related)
    changes, changes_error = _changes(rules, proposal, today, list_live)
    return {
        "valid": not duplicates,
        "duplicates": duplicates,
        "related": related,
        "shadowed": shadowed,
        "summary": _summary(duplicates, shadowed, related),
        "changes": changes,
        "changes_error": changes_error,
        "placement": placement.to_dict(),
    }


def _position(rules: OrgRules, file: str | None) -> int:
    """The proposed rule's place in file order (positions are doubled to leave gaps)."""
    last = [i for i, r in enumerate(rules.rules) if r.location and r.location.file == file]
    return 2 * (last[-1] if last else len(rules.rules)) + 1


def _related(
    rules: OrgRules, proposal: Rule, position: int, target: str, today: dt.date
) -> tuple[list[dict[str, Any]], list[str]]:
    mine = order_key(proposal.selector, position, target)
    related: list[dict[str, Any]] = []
    duplicates: list[str] = []
    for index, rule in enumerate(rules.rules):
        where = str(rule.location) if rule.location else rule.selector.describe()
        if rule.selector == proposal.selector:
            duplicates.append(f"same selector as {where}; validate refuses a second one")
            continue
        how = relation(proposal.selector, rule.selector)
        if how is Relation.DISJOINT or rule.is_expired(today):
            continue
        first = mine < order_key(rule.selector, 2 * index, target)
        related.append(_effect(rule, where, how, first, proposal.state))
    return related, duplicates


_EFFECTS: Final = {
    (Relation.SAME, True): "the proposed rule would decide every alert both match",
    (Relation.SAME, False): "this rule matches the same alerts and comes first",
    (Relation.COVERED, True): "the proposed rule would decide its alerts instead of this one",
    (Relation.COVERED, False): "this rule covers the proposed one and comes first",
    (Relation.COVERS, True): "the proposed rule covers this one and comes first: it would "
    "never decide again",
    (Relation.COVERS, False): "this narrower rule keeps deciding its own alerts",
    (Relation.OVERLAPS, True): "the proposed rule would decide the alerts both match",
    (Relation.OVERLAPS, False): "this rule keeps deciding the alerts both match",
}


def _effect(rule: Rule, where: str, how: Relation, first: bool, state: str) -> dict[str, Any]:
    shadows = not first and how in (Relation.SAME, Relation.COVERED)
    effect = _EFFECTS[how, first]
    if shadows:
        effect += ": the proposed rule would never decide"
    elif first and how is Relation.COVERED and rule.state == state:
        effect += f" (both say {state}: the proposed rule changes nothing)"
    return {
        "source": where,
        "relation": how.value,
        "state": rule.state,
        "label": rule.selector.describe(),
        "proposed_first": first,
        "shadows_proposed": shadows,
        "effect": effect,
    }


def _summary(duplicates: list[str], shadowed: bool, related: list[dict[str, Any]]) -> str:
    if duplicates:
        return "not valid: " + "; ".join(duplicates)
    if shadowed:
        return "valid, but shadowed: another rule decides every alert it matches"
    if related:
        return f"valid; it relates to {len(related)} existing rule(s), see related"
    return "valid; no existing rule matches any of the same alerts"


def _changes(
    rules: OrgRules, proposal: Rule, today: dt.date, list_live: ListLive | None
) -> tuple[list[dict[str, Any]] | None, str | None]:
    """The changes the next apply makes because of the proposal: plan(files + it) - plan(files)."""
    if list_live is None:
        return None, "not checked against the org (live=false)"
    try:
        live = list(list_live(rules.org))
    except ReconcilerError as exc:
        return None, f"could not list the org's live rules: {exc}"

    def plan(desired: Sequence[Rule]) -> dict[tuple[str, ...], dict[str, Any]]:
        made = diff(rules.org, desired, live, today=today, prune=rules.prune)
        return {_key(c.to_dict()): c.to_dict() for c in made.changes}

    before, after = plan(rules.rules), plan([*rules.rules, proposal])
    added = [{**after[k], "effect": "added"} for k in sorted(after.keys() - before.keys())]
    dropped = [{**before[k], "effect": "no longer"} for k in sorted(before.keys() - after.keys())]
    return added + dropped, None


def _key(change: dict[str, Any]) -> tuple[str, ...]:
    after = change["after"] or {}
    return (change["action"], change["label"], change["uuid"] or "", after.get("state") or "")
