"""The org's side of an Alert Policies explanation (``--live``), and where it differs.

Read through the production client: the policies, the repository listing (only when a named
policy governs some repository and ``--repo`` is given), the governing policy's rules in
evaluation order, and the resolutions. The files' triage-style rules are translated by
Socket's translate endpoint, as plan does (``policies.translate``).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from typing import Final

from reconciler.errors import ApiError
from reconciler.explain.policies import (
    ORG,
    Candidate,
    Difference,
    Governing,
    View,
    make_view,
)
from reconciler.explain.policy_alert import PolicyAlert
from reconciler.explain.policy_files import Translations
from reconciler.policies.client import PoliciesClient
from reconciler.policies.translate import translate_rules
from reconciler.rules.ruleset import OrgRules
from reconciler.vocab.policies.model import (
    DesiredResolution,
    DesiredRule,
    LivePolicy,
    LiveRepository,
    LiveResolution,
    LiveRule,
)
from reconciler.vocab.policies.wire import BASELINE_NONE, DEFAULT_POLICY_ID

UNAVAILABLE: Final = (403, 404)  # the token may not list repositories, or the server has no list


def translated(client: PoliciesClient, rules: OrgRules, today: dt.date) -> Translations | str:
    """Socket's translation of each live (unexpired) triage-style rule, by its index; or why
    the token may not translate (the rules then stay undecided: nothing is guessed)."""
    wanted = [i for i, rule in enumerate(rules.rules) if not rule.is_expired(today)]
    try:
        outcomes = translate_rules(
            client, rules.org, [rules.rules[i].to_post(rules.rules[i].note) for i in wanted]
        )
    except ApiError as exc:
        if exc.status not in UNAVAILABLE:
            raise
        return f"a triage-style rule, and Socket's translate endpoint refused this token ({exc})"
    found: dict[int, DesiredRule | DesiredResolution | str] = {}
    for index, outcome in zip(wanted, outcomes, strict=True):
        refused = outcome.refused
        why = f"{refused.code}: {refused.reason}" if refused else "no answer"
        found[index] = outcome.desired or why
    return found


def _policy_name(policy: LivePolicy) -> str:
    return DEFAULT_POLICY_ID if policy.is_default or policy.name is None else policy.name


def _governing(policy: LivePolicy, known: bool, reason: str) -> Governing:
    return Governing(
        _policy_name(policy), policy.baseline or BASELINE_NONE, known, reason, policy.id
    )


def org_governing(client: PoliciesClient, org: str, slug: str | None) -> Governing:
    """The live policy that governs ``slug``: the named policy holding its id, else the
    default policy."""
    policies = client.list_policies(org)
    default = next((p for p in policies if p.is_default), None) or LivePolicy(
        DEFAULT_POLICY_ID, None
    )
    named = [p for p in policies if not p.is_default and p.repository_ids]
    if not named:
        return _governing(default, True, "no policy of the org lists a repository")
    if slug is None:
        return _governing(
            default, False, "no --repo: the default policy governs every repository no policy lists"
        )
    try:
        repos = client.list_repositories(org)
    except ApiError as exc:
        if exc.status not in UNAVAILABLE:
            raise
        return _governing(
            default, False, f"the repository listing is unavailable ({exc}): assuming the default"
        )
    return _holder(default, named, repos, slug)


def _holder(
    default: LivePolicy, named: Sequence[LivePolicy], repos: Sequence[LiveRepository], slug: str
) -> Governing:
    ids = {r.id for r in repos if r.slug == slug}
    if not ids:
        return _governing(
            default, True, f"the org lists no repository {slug!r}: the default policy would"
        )
    holders = [p for p in named if ids & set(p.repository_ids)]
    if len(holders) > 1:
        names = ", ".join(repr(_policy_name(p)) for p in holders)
        return _governing(
            holders[0], False, f"{slug!r} is in {names}: Socket does not say which governs"
        )
    if holders:
        return _governing(holders[0], True, f"policy {_policy_name(holders[0])!r} lists {slug!r}")
    return _governing(default, True, f"no policy of the org lists {slug!r}: the default")


def live_rule(rule: LiveRule) -> Candidate:
    return Candidate(
        rule.name, rule.action, rule.selector, f"live rule {rule.id or '(no id)'}", "live", rule.id
    )


def live_resolution(item: LiveResolution) -> Candidate:
    return Candidate(
        item.reason,
        None,
        item.selector,
        f"live resolution {item.uuid or '(no uuid)'}",
        "resolution",
        item.uuid,
    )


def org_view(client: PoliciesClient, org: str, alert: PolicyAlert, governing: Governing) -> View:
    """The org's answer for ``alert`` under ``governing`` (``org_governing``)."""
    policy_id = governing.policy_id or DEFAULT_POLICY_ID
    rules = [live_rule(r) for r in client.list_rules(org, policy_id)]
    resolutions = [live_resolution(r) for r in client.list_resolutions(org)]
    return make_view(ORG, governing, rules, resolutions, alert.facts())


def differences(files: View, org: View) -> tuple[Difference, ...]:
    """Where the files and the org differ for this alert."""
    found: list[Difference] = []
    mine, theirs = files.governing, org.governing
    if mine.policy != theirs.policy:
        said = repr(mine.policy) if mine.known else "cannot say (no policies: declared)"
        found.append(
            Difference(
                "governing", f"governing policy: the files {said}, the org {theirs.policy!r}"
            )
        )
    elif mine.baseline is not None and mine.baseline != theirs.baseline:
        found.append(
            Difference(
                "baseline",
                f"baseline of {mine.policy!r}: the files {mine.baseline}, "
                f"the org {theirs.baseline}",
            )
        )
    found += _rule_difference(files, org)
    found += _resolution_differences(files, org)
    if (files.decision.kind, files.decision.action) != (org.decision.kind, org.decision.action):
        found.append(
            Difference("result", f"the files: {files.decision.text}; the org: {org.decision.text}")
        )
    return tuple(found)


def _rule_difference(files: View, org: View) -> list[Difference]:
    a, b = files.decision.rule, org.decision.rule
    if a is None and b is None:
        return []
    if a is not None and b is not None and a.candidate.identity == b.candidate.identity:
        return []
    mine, theirs = _decider(files), _decider(org)
    return [Difference("rule", f"deciding rule: the files {mine}, the org {theirs}")]


def _decider(view: View) -> str:
    rule = view.decision.rule
    if rule is not None:
        return f"{rule.candidate.name!r} ({rule.candidate.action}, {rule.candidate.source})"
    return "cannot say (undecided)" if view.decision.blockers else "none"


def _resolution_differences(files: View, org: View) -> list[Difference]:
    def hiding(view: View) -> dict[str, Candidate]:
        return {
            w.candidate.selector.text: w.candidate
            for w in view.resolutions
            if w.counts and w.evaluation.answer.value == "matched" and w.candidate.selector
        }

    mine, theirs = hiding(files), hiding(org)
    found = [
        Difference("resolution", f"missing resolution: {c.source} hides this alert, not live")
        for key, c in mine.items()
        if key not in theirs
    ]
    found += [
        Difference("resolution", f"{c.source} hides this alert; no file declares it")
        for key, c in theirs.items()
        if key not in mine
    ]
    return found
