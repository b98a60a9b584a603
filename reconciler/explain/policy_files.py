"""The files' side of an Alert Policies explanation: which declared policy governs, its rules.

The governing policy comes from the files' ``policies:`` (``OrgRules.policies``): the declared
policy listing the repository's slug, else the default policy. When the files do not declare
the org's policies, it cannot be known from them: the default policy's rules are used with that
caveat (or, under ``--live``, the policy the org says governs: ``governing``).

A policy's rules are its native ``policy_rules`` and, for the default policy, the triage-style
``rules:`` (Socket's translate endpoint turns them into default-policy rules or resolutions), all
in file order. Offline a triage-style rule's translation is not known, so it is *undecided*;
``policy_live.translated`` gives the translations under ``--live``.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping, Sequence
from typing import Final

from reconciler.errors import Location
from reconciler.explain.match import Outcome, match
from reconciler.explain.policies import FILES, Candidate, Governing, View, make_view
from reconciler.explain.policy_alert import PolicyAlert
from reconciler.rules.model import Rule
from reconciler.rules.ruleset import OrgRules
from reconciler.vocab.policies.matching import Answer, Evaluation
from reconciler.vocab.policies.model import DesiredResolution, DesiredRule
from reconciler.vocab.policies.wire import BASELINE_NONE, DEFAULT_POLICY_ID, STATE_INHERIT

UNTRANSLATED: Final = (
    "a triage-style rule: Socket's translate endpoint makes its selector; use --live"
)
INHERIT: Final = "state inherit has no Alert Policies rule: the baseline decides (Socket's table)"
LEGACY_HINT: Final = {
    Outcome.MATCH: "legacy triage matching: matches",
    Outcome.MISS: "legacy triage matching: does not match",
    Outcome.UNKNOWN: "legacy triage matching: depends on facts not given",
}
# Translations of triage-style rules, by the rule's index in ``OrgRules.rules``: a desired
# rule or resolution, or why Socket cannot translate it.
Translations = Mapping[int, DesiredRule | DesiredResolution | str]


def files_governing(rules: OrgRules, slug: str | None) -> Governing:
    """The policy the files say governs ``slug`` (see the module doc)."""
    if not rules.declares_policies:
        which = f"repository {slug!r}" if slug else "the alert's repository"
        return Governing(
            DEFAULT_POLICY_ID,
            None,
            False,
            f"the files do not declare the org's policies (policies:), so which policy governs "
            f"{which} cannot be known from them; the default policy's rules are shown "
            "(--live reads the org)",
        )
    default = next((p for p in rules.policies if p.is_default), None)
    baseline = (default.baseline or BASELINE_NONE) if default else None
    named = [p for p in rules.policies if not p.is_default]
    if slug is None:
        listing = [p.name for p in named if p.repositories]
        if listing:
            return Governing(
                DEFAULT_POLICY_ID,
                baseline,
                False,
                "no --repo: the default policy governs every repository no policy lists "
                f"({', '.join(repr(n) for n in listing)} list some)",
            )
        return Governing(DEFAULT_POLICY_ID, baseline, True, "no declared policy lists a repository")
    for policy in named:
        if slug in policy.repositories:
            where = _where(policy.repository_locations, policy.repositories.index(slug))
            return Governing(
                policy.name,
                policy.baseline or BASELINE_NONE,
                True,
                f"policy {policy.name!r} lists {slug!r}{where}",
            )
    note = "" if default else "; the files do not declare its baseline"
    return Governing(
        DEFAULT_POLICY_ID, baseline, True, f"no declared policy lists {slug!r}: the default{note}"
    )


def _where(locations: Sequence[Location], index: int) -> str:
    return f" ({locations[index]})" if index < len(locations) else ""


def in_policy(named: str, governing: Governing) -> bool:
    """Whether a file rule's ``policy:`` names the governing policy (by name or live id)."""
    if named == governing.policy:
        return True
    return governing.policy_id is not None and named == governing.policy_id


def files_view(
    rules: OrgRules,
    alert: PolicyAlert,
    today: dt.date,
    *,
    governing: Governing | None = None,
    translations: Translations | str | None = None,
) -> View:
    """The files' answer for ``alert``; ``translations`` (``--live``) for triage-style rules,
    or why there are none (they stay undecided with that reason)."""
    chosen = governing or files_governing(rules, alert.slug)
    placed: list[tuple[tuple[int, int, int], Candidate]] = []
    resolutions: list[tuple[tuple[int, int, int], Candidate]] = []
    other = 0
    for entry in rules.policy_rules:
        if in_policy(entry.policy, chosen):
            placed.append((rules.file_order(entry.location), native_rule(entry, today)))
        else:
            other += 1
    for item in rules.resolutions:
        resolutions.append((rules.file_order(item.location), resolution(item, today)))
    if chosen.policy == DEFAULT_POLICY_ID:
        known = {} if translations is None or isinstance(translations, str) else translations
        why = translations if isinstance(translations, str) else UNTRANSLATED
        for index, rule in enumerate(rules.rules):
            found = _triage(rule, alert, today, known.get(index), why)
            target = resolutions if found.kind == "resolution" else placed
            target.append((rules.file_order(rule.location), found))
    else:
        other += len(rules.rules)
    placed.sort(key=lambda pair: pair[0])
    resolutions.sort(key=lambda pair: pair[0])
    return make_view(
        FILES,
        chosen,
        [c for _, c in placed],
        [c for _, c in resolutions],
        alert.facts(),
        other_rules=other,
    )


def _expired(expires: dt.date | None, today: dt.date) -> str:
    if expires is not None and expires < today:
        return f"expired on {expires.isoformat()}; counts as removed"
    return ""


def native_rule(rule: DesiredRule, today: dt.date, *, kind: str = "policy_rule") -> Candidate:
    return Candidate(
        name=rule.name,
        action=rule.action,
        selector=rule.selector,
        source=str(rule.location) if rule.location else None,
        kind=kind,
        skipped=_expired(rule.expires, today),
    )


def resolution(entry: DesiredResolution, today: dt.date) -> Candidate:
    return Candidate(
        name=entry.reason,
        action=None,
        selector=entry.selector,
        source=str(entry.location) if entry.location else None,
        kind="resolution",
        skipped=_expired(entry.expires, today),
    )


def _triage(
    rule: Rule,
    alert: PolicyAlert,
    today: dt.date,
    translation: DesiredRule | DesiredResolution | str | None,
    untranslated: str = UNTRANSLATED,
) -> Candidate:
    """A triage-style rule: its translation when known, else undecided with a legacy hint."""
    source = str(rule.location) if rule.location else None
    expired = _expired(rule.expires, today)
    hint = LEGACY_HINT[match(rule.selector, alert.alert).outcome]
    label = f"{rule.selector.describe()} (state {rule.state})"
    if isinstance(translation, DesiredRule):
        found = native_rule(translation, today, kind="translated")
        return Candidate(
            found.name, found.action, found.selector, source, "translated", skipped=expired
        )
    if isinstance(translation, DesiredResolution):
        return Candidate(label, None, translation.selector, source, "resolution", skipped=expired)
    if isinstance(translation, str):
        why = f"Socket cannot translate it: {translation}"
        return Candidate(label, None, None, source, "rules", skipped=expired or why, hint=hint)
    if rule.state == STATE_INHERIT:
        return Candidate(label, None, None, source, "rules", skipped=expired or INHERIT)
    fixed = Evaluation(Answer.UNDECIDED, reason=untranslated)
    return Candidate(label, None, None, source, "rules", skipped=expired, fixed=fixed, hint=hint)
