"""The explanation of one alert: the rules that match it, in order, and what they decide.

``explain`` gives the files' answer; ``compare_live`` adds the org's live rules and where the two
disagree. ``Explanation.to_dict`` is the one form that the text renderer, ``--format json`` and
the MCP tool all read.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from reconciler.api import ALERT_POLICIES
from reconciler.explain.alert import Alert
from reconciler.explain.match import Outcome, Verdict, match
from reconciler.explain.precedence import (
    MODEL,
    Reason,
    order_key,
    ranked,
    why_first,
)
from reconciler.rules.model import Rule
from reconciler.rules.ruleset import OrgRules
from reconciler.vocab.policies.wire import STATE_INHERIT, STATE_TO_ACTION
from reconciler.vocab.triage.selector import LiveRule, Selector

NOT_APPLIED_INHERIT = "state inherit has no Alert Policies action; the policy's baseline decides"


@dataclass(frozen=True)
class Entry:
    """One file rule against the alert. ``rank`` is its place in the applied order."""

    rule: Rule
    verdict: Verdict
    rank: int = 0
    expired: bool = False
    skipped: str = ""  # why a matching rule cannot decide ("" when it can)
    decides: bool = False
    would_outrank: bool = False  # an UNKNOWN rule that would come before the decider

    def to_dict(self) -> dict[str, Any]:
        rule, where = self.rule, self.rule.location
        return {
            "rank": self.rank or None,
            "file": where.file if where else None,
            "line": where.line if where else None,
            "column": where.column if where else None,
            "source": str(where) if where else None,
            "selector": rule.selector.to_dict(),
            "label": rule.selector.describe(),
            "state": rule.state,
            "note": rule.note,
            "owner": rule.owner,
            "ticket": rule.ticket,
            "expires": rule.expires.isoformat() if rule.expires else None,
            "expired": self.expired,
            "decides": self.decides,
            "skipped": self.skipped or None,
            "needs": list(self.verdict.needs),
            "would_outrank": self.would_outrank,
        }


@dataclass(frozen=True)
class Decision:
    """What the rules decide: a state (and the Alert Policies action), or nothing."""

    state: str | None
    target: str
    source: Entry | None = None
    reason: Reason | None = None

    def to_dict(self) -> dict[str, Any]:
        action = STATE_TO_ACTION.get(self.state or "") if self.target == ALERT_POLICIES else None
        reason = self.reason
        return {
            "state": self.state,
            "action": action,
            "source": self.source.to_dict()["source"] if self.source else None,
            "reason": reason.text if reason else "no rule matches: the org's policy decides",
            "by_model": bool(reason and reason.model),
            "tie": bool(reason and reason.tie),
        }


@dataclass(frozen=True)
class Disagreement:
    """One way the files and the org differ for this alert."""

    kind: str  # live-only, files-only, expired-live, state, result
    message: str
    source: str | None = None
    uuid: str | None = None

    def to_dict(self) -> dict[str, Any]:
        return {
            "kind": self.kind,
            "message": self.message,
            "source": self.source,
            "uuid": self.uuid,
        }


@dataclass(frozen=True)
class LiveView:
    """The org's live rules that match the alert, in the legacy order, and the differences."""

    matching: tuple[LiveRule, ...]
    undecided: int
    state: str | None
    disagreements: tuple[Disagreement, ...]

    def to_dict(self) -> dict[str, Any]:
        return {
            "matching": [live_rule_dict(r) for r in self.matching],
            "undecided": self.undecided,
            "state": self.state,
            "disagreements": [d.to_dict() for d in self.disagreements],
        }


@dataclass(frozen=True)
class Explanation:
    org: str
    target: str
    alert: Alert
    matching: tuple[Entry, ...]  # in the order applied
    undecided: tuple[Entry, ...]  # UNKNOWN rules, in file order
    decision: Decision
    live: LiveView | None = None

    def to_dict(self) -> dict[str, Any]:
        return {
            "org": self.org,
            "target": self.target,
            "precedence": MODEL[self.target],
            "alert": self.alert.to_dict(),
            "alert_label": self.alert.describe(),
            "matching": [e.to_dict() for e in self.matching],
            "undecided": [e.to_dict() for e in self.undecided],
            "result": self.decision.to_dict(),
            "live": self.live.to_dict() if self.live else None,
        }


def explain(rules: OrgRules, alert: Alert, *, target: str, today: dt.date) -> Explanation:
    """Every rule of ``rules`` that matches ``alert``, in the order applied, and the decision."""
    verdicts = [(rule, match(rule.selector, alert)) for rule in rules.rules]
    found = [i for i, (_, v) in enumerate(verdicts) if v.outcome is Outcome.MATCH]
    order = sorted(found, key=lambda i: order_key(rules.rules[i].selector, i, target))
    skipped = {i: _skipped(rules.rules[i], target, today) for i in order}
    decider = next((i for i in order if not skipped[i]), None)
    entries = tuple(
        Entry(
            *verdicts[i],
            rank=rank,
            expired=rules.rules[i].is_expired(today),
            skipped=skipped[i],
            decides=i == decider,
        )
        for rank, i in enumerate(order, 1)
    )
    undecided = tuple(
        Entry(
            rule,
            verdict,
            expired=rule.is_expired(today),
            would_outrank=not rule.is_expired(today) and _outranks(rules.rules, i, decider, target),
        )
        for i, (rule, verdict) in enumerate(verdicts)
        if verdict.outcome is Outcome.UNKNOWN
    )
    return Explanation(
        org=rules.org,
        target=target,
        alert=alert,
        matching=entries,
        undecided=undecided,
        decision=_decision([e for e in entries if not e.skipped], target),
    )


def _skipped(rule: Rule, target: str, today: dt.date) -> str:
    """Why a matching rule cannot decide, or ``""``."""
    if rule.is_expired(today):
        return f"expired on {rule.expires}; counts as removed"
    if _never_applied(rule, target):
        return NOT_APPLIED_INHERIT
    return ""


def _decision(candidates: list[Entry], target: str) -> Decision:
    """The first candidate decides; the reason names the nearest rule that would disagree."""
    if not candidates:
        return Decision(None, target)
    decider, *others = candidates
    rival = next((e for e in others if e.rule.state != decider.rule.state), None)
    second = rival or (others[0] if others else None)
    reason = why_first(
        decider.rule.selector,
        second.rule.selector if second else None,
        target,
        agree=rival is None,
    )
    return Decision(decider.rule.state, target, decider, reason)


def _outranks(rules: Sequence[Rule], index: int, decider: int | None, target: str) -> bool:
    """Whether the rule at ``index``, if it matched, would decide instead of ``decider``."""
    if decider is None:
        return not _never_applied(rules[index], target)
    if rules[index].state == rules[decider].state or _never_applied(rules[index], target):
        return False  # it would not change the result
    mine = order_key(rules[index].selector, index, target)
    return mine < order_key(rules[decider].selector, decider, target)


def _never_applied(rule: Rule, target: str) -> bool:
    """An Alert Policies target has no rule for ``state: inherit``: the baseline decides."""
    return target == ALERT_POLICIES and rule.state == STATE_INHERIT


def compare_live(
    explanation: Explanation, rules: OrgRules, live: Sequence[LiveRule], today: dt.date
) -> Explanation:
    """``explanation`` with the org's live rules that match the alert and the differences."""
    alert = explanation.alert
    verdicts = [(r, match(r.selector, alert).outcome) for r in live]
    found = [r for r, outcome in verdicts if outcome is Outcome.MATCH]
    order = ranked([r.selector for r in found], explanation.target)
    matching = tuple(found[i] for i in order)
    state = matching[0].state if matching else None
    declared = {rule.selector: rule for rule in rules.rules}
    problems = _disagreements(explanation, matching, declared, today)
    if state != explanation.decision.state:
        files = explanation.decision.state or "no rule"
        problems.append(
            Disagreement("result", f"the files decide {files}, the org decides {state or 'none'}")
        )
    view = LiveView(
        matching=matching,
        undecided=sum(outcome is Outcome.UNKNOWN for _, outcome in verdicts),
        state=state,
        disagreements=tuple(problems),
    )
    return Explanation(
        explanation.org,
        explanation.target,
        alert,
        explanation.matching,
        explanation.undecided,
        explanation.decision,
        view,
    )


def _disagreements(
    explanation: Explanation,
    matching: Sequence[LiveRule],
    declared: dict[Selector, Rule],
    today: dt.date,
) -> list[Disagreement]:
    problems: list[Disagreement] = []
    live_keys = {r.selector for r in matching}
    for rule in matching:
        label = f"live rule {rule.uuid or '(no uuid)'} ({rule.state}, {rule.selector.describe()})"
        mine = declared.get(rule.selector)
        where = str(mine.location) if mine and mine.location else None
        if mine is None:
            problems.append(Disagreement("live-only", f"{label} is in no file", None, rule.uuid))
        elif mine.is_expired(today):
            text = f"{label} is still live; {where} expired on {mine.expires}"
            problems.append(Disagreement("expired-live", text, where, rule.uuid))
        elif mine.state != rule.state:
            text = f"{label}: {where} says {mine.state}"
            problems.append(Disagreement("state", text, where, rule.uuid))
    for entry in explanation.matching:
        if not entry.expired and entry.rule.selector not in live_keys:
            where = str(entry.rule.location) if entry.rule.location else None
            text = f"{where} ({entry.rule.state}) is not live: apply has not run since it changed"
            problems.append(Disagreement("files-only", text, where))
    return problems


def live_rule_dict(rule: LiveRule) -> dict[str, Any]:
    """A live rule as explain and the MCP tools show it (the note without our trailer)."""
    return {
        "uuid": rule.uuid or None,
        "selector": rule.selector.to_dict(),
        "label": rule.selector.describe(),
        "state": rule.state,
        "note": rule.human_note,
        "managed": rule.managed,
        "updated_at": rule.updated_at or None,
    }
