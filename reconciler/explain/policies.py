"""One alert under Alert Policies: the governing policy, its matching rules, the decision.

The model (Socket's, contract sections 5 and 7, docs/matching.md): every repository is governed
by one policy (the one listing it, else the default policy); that policy's custom rules are
walked in evaluation order and the **first match decides**; when none matches, the policy's
baseline preset decides. A resolution whose selector matches hides the alert whatever the rules
say (socket-triage's reading of "resolutions hide matching alerts").

A ``View`` is that answer for one side (the files, or the live org); ``policy_files`` and
``policy_live`` build them, and ``PolicyExplanation`` carries both and where they differ.
Undecided rules (an undocumented field or operator, a fact not given, a triage-style rule whose
translation only Socket knows) are never guessed: one that comes before the first match leaves
the decision undecided, naming it.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Final

from reconciler.api import ALERT_POLICIES
from reconciler.explain.policy_alert import PolicyAlert
from reconciler.explain.precedence import MODEL
from reconciler.vocab.policies.matching import Answer, Evaluation, evaluate
from reconciler.vocab.policies.selectors import VigilSelector
from reconciler.vocab.policies.wire import BASELINE_NONE

FILES: Final = "files"
ORG: Final = "org"


@dataclass(frozen=True)
class Governing:
    """The policy that governs the alert's repository; ``baseline`` None when not known."""

    policy: str  # its name; "default" for the default policy
    baseline: str | None  # a preset, BASELINE_NONE, or None (not known)
    known: bool  # False: a caveat applies (``reason`` says which)
    reason: str
    policy_id: str | None = None  # the live id, when read from the org

    def to_dict(self) -> dict[str, Any]:
        return {
            "policy": self.policy,
            "policy_id": self.policy_id,
            "baseline": self.baseline,
            "known": self.known,
            "reason": self.reason,
        }


@dataclass(frozen=True)
class Candidate:
    """A rule or resolution to weigh. ``fixed`` answers without evaluating (a triage-style rule
    not yet translated); ``skipped`` says why it cannot decide (expired, untranslatable)."""

    name: str
    action: str | None
    selector: VigilSelector | None
    source: str | None
    kind: str  # policy_rule, translated, rules, live, resolution
    ident: str | None = None  # live id or uuid
    skipped: str = ""
    fixed: Evaluation | None = None
    hint: str = ""

    def weigh(self, facts: Mapping[str, str]) -> Evaluation:
        if self.fixed is not None:
            return self.fixed
        if self.selector is None:
            return Evaluation(Answer.UNDECIDED, reason="no selector")
        return evaluate(self.selector, facts)

    @property
    def identity(self) -> tuple[str, str, str | None]:
        """What makes a file rule and a live rule the same: name, selector, action."""
        return (self.name, self.selector.text if self.selector else "", self.action)


@dataclass(frozen=True)
class Weighed:
    candidate: Candidate
    evaluation: Evaluation
    position: int  # 1-based, in evaluation order
    decides: bool = False

    @property
    def counts(self) -> bool:
        """Whether it takes part: not skipped."""
        return not self.candidate.skipped

    def to_dict(self) -> dict[str, Any]:
        c = self.candidate
        return {
            "position": self.position,
            "name": c.name,
            "kind": c.kind,
            "action": c.action,
            "selector": c.selector.to_wire() if c.selector else None,
            "label": c.selector.describe() if c.selector else None,
            "source": c.source,
            "id": c.ident,
            "answer": self.evaluation.answer.value,
            "reasons": [] if c.skipped else list(self.evaluation.reasons),
            "skipped": c.skipped or None,
            "hint": c.hint or None,
            "decides": self.decides,
        }


@dataclass(frozen=True)
class Decision:
    """What decides: a resolution hides it, a rule, the baseline, or undecided (and by what)."""

    kind: str  # resolution, rule, baseline, undecided
    action: str | None
    text: str
    rule: Weighed | None = None
    hidden_by: Weighed | None = None
    blockers: tuple[Weighed, ...] = ()  # undecided rules before the first match
    maybe_hidden_by: tuple[Weighed, ...] = ()  # undecided resolutions

    def to_dict(self) -> dict[str, Any]:
        return {
            "kind": self.kind,
            "action": self.action,
            "text": self.text,
            "rule": self.rule.position if self.rule else None,
            "rule_source": self.rule.candidate.source if self.rule else None,
            "hidden_by": self.hidden_by.candidate.source if self.hidden_by else None,
            "blockers": [w.position for w in self.blockers],
            "maybe_hidden_by": [w.candidate.source for w in self.maybe_hidden_by],
        }


@dataclass(frozen=True)
class View:
    """One side's answer: the files', or the live org's."""

    origin: str  # FILES or ORG
    governing: Governing
    rules: tuple[Weighed, ...]  # every rule of the governing policy, in evaluation order
    resolutions: tuple[Weighed, ...]
    decision: Decision
    other_rules: int = 0  # rules of other policies: not evaluated

    def to_dict(self) -> dict[str, Any]:
        shown = [w for w in self.rules if w.evaluation.answer is not Answer.NOT_MATCHED]
        return {
            "origin": self.origin,
            "governing": self.governing.to_dict(),
            "evaluated": len(self.rules),
            "other_rules": self.other_rules,
            "rules": [w.to_dict() for w in shown],
            "resolutions": [
                w.to_dict()
                for w in self.resolutions
                if w.evaluation.answer is not Answer.NOT_MATCHED
            ],
            "decision": self.decision.to_dict(),
        }


def make_view(
    origin: str,
    governing: Governing,
    rules: Sequence[Candidate],
    resolutions: Sequence[Candidate],
    facts: Mapping[str, str],
    other_rules: int = 0,
) -> View:
    """Weigh every rule (in order) and resolution against ``facts`` and decide."""
    weighed = [Weighed(c, c.weigh(facts), i) for i, c in enumerate(rules, 1)]
    hides = tuple(Weighed(c, c.weigh(facts), i) for i, c in enumerate(resolutions, 1))
    decision = decide(governing, weighed, hides)
    if decision.rule is not None:
        index = decision.rule.position - 1
        weighed[index] = Weighed(
            weighed[index].candidate, weighed[index].evaluation, index + 1, True
        )
        decision = dataclasses.replace(decision, rule=weighed[index])
    return View(origin, governing, tuple(weighed), hides, decision, other_rules)


def decide(
    governing: Governing, rules: Sequence[Weighed], resolutions: Sequence[Weighed]
) -> Decision:
    """First match wins, an undecided rule before it leaves it undecided, else the baseline;
    a matching resolution hides the alert anyway."""
    live = [w for w in rules if w.counts]
    first = next((w for w in live if w.evaluation.answer is Answer.MATCHED), None)
    before = [w for w in live if first is None or w.position < first.position]
    blockers = tuple(w for w in before if w.evaluation.answer is Answer.UNDECIDED)
    counted = [w for w in resolutions if w.counts]
    hidden = next((w for w in counted if w.evaluation.answer is Answer.MATCHED), None)
    maybe = tuple(w for w in counted if w.evaluation.answer is Answer.UNDECIDED)
    if hidden is not None:
        c = hidden.candidate
        name = c.source if c.ident else f"the resolution at {c.source}"
        text = f"hidden by {name}, whatever the rules say"
        rule = None if blockers else first
        return Decision("resolution", None, text, rule, hidden, blockers, maybe)
    if blockers:
        names = ", ".join(_label(w) for w in blockers)
        if first is not None:
            text = (
                f"undecided: rule {_label(first)} ({first.candidate.action}) matches, but "
                f"{names} before it may match"
            )
        else:
            text = f"undecided: no rule matches for certain; {names} may match, else the baseline"
        return Decision("undecided", None, text, None, None, blockers, maybe)
    if first is not None:
        text = f"rule {_label(first)} decides: {first.candidate.action} (first match)"
        return Decision("rule", first.candidate.action, text, first, None, (), maybe)
    return Decision("baseline", None, baseline_text(governing), None, None, (), maybe)


def _label(weighed: Weighed) -> str:
    c = weighed.candidate
    return f"{weighed.position}. {c.name!r} ({c.source or c.ident or 'no source'})"


def baseline_text(governing: Governing) -> str:
    """What decides when no rule matches: the preset, said only as far as it is documented."""
    baseline = governing.baseline
    if baseline is None:
        return (
            f"no rule matches: the baseline preset of policy {governing.policy!r} decides "
            "(the files do not say which preset; --live reads it)"
        )
    if baseline == BASELINE_NONE:
        return (
            f"no rule matches, and policy {governing.policy!r} has the None preset, which has no "
            "rules: Socket documents an alert type without a rule as effectively ignored"
        )
    return (
        f"no rule matches: the {baseline} baseline preset of policy {governing.policy!r} decides "
        "(docs.socket.dev describes the presets)"
    )


@dataclass(frozen=True)
class Difference:
    """One way the files and the org differ for this alert."""

    kind: str  # governing, baseline, rule, resolution, result
    message: str

    def to_dict(self) -> dict[str, str]:
        return {"kind": self.kind, "message": self.message}


@dataclass(frozen=True)
class PolicyExplanation:
    """``explain`` under Alert Policies: the files' view, the org's (``--live``), the
    differences. ``to_dict`` is what the text form, ``--format json`` and MCP all read."""

    org: str
    target_reason: str
    alert: PolicyAlert
    files: View
    org_view: View | None = None
    differences: tuple[Difference, ...] = ()

    def to_dict(self) -> dict[str, Any]:
        return {
            "org": self.org,
            "target": ALERT_POLICIES,
            "target_reason": self.target_reason,
            "precedence": MODEL[ALERT_POLICIES],
            "alert": self.alert.to_dict(),
            "alert_label": self.alert.describe(),
            "facts": self.alert.facts(),
            "files": self.files.to_dict(),
            "live": None if self.org_view is None else self.org_view.to_dict(),
            "differences": None
            if self.org_view is None
            else [d.to_dict() for d in self.differences],
        }
