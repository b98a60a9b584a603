"""Explain one alert from rule files, and optionally against the org: what the ``explain``
command and the MCP ``explain`` tool share."""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass, replace

from reconciler.api import ALERT_POLICIES, TARGETS, TRIAGE
from reconciler.engine.orgs import select_orgs
from reconciler.errors import Diagnostic, UsageError
from reconciler.explain.alert import Alert
from reconciler.explain.policies import PolicyExplanation
from reconciler.explain.policy_alert import PolicyAlert
from reconciler.explain.policy_files import files_governing, files_view
from reconciler.explain.policy_live import differences, org_governing, org_view, translated
from reconciler.explain.report import Explanation, compare_live, explain
from reconciler.http.retry import RetryPolicy
from reconciler.policies.client import PoliciesClient
from reconciler.rules import loader
from reconciler.rules.ruleset import OrgRules, RuleSet
from reconciler.triage.listing import list_live
from reconciler.wiring import choose_for, open_client, policies_client


@dataclass(frozen=True)
class Answer:
    explanation: Explanation | PolicyExplanation
    warnings: tuple[Diagnostic, ...]


def one_org(rule_set: RuleSet, org: str | None) -> OrgRules:
    """The org to explain: ``org``, or the only org the files name."""
    if org is not None:
        return select_orgs(rule_set, org)[0]
    if len(rule_set.orgs) == 1:
        return next(iter(rule_set.orgs.values()))
    named = ", ".join(rule_set.orgs) or "none"
    raise UsageError(f"--org is required: the files name {len(rule_set.orgs)} orgs ({named})")


def file_target(rules: OrgRules) -> str | None:
    """The target the files pin with ``target:`` (``OrgRules.target``), or None."""
    return rules.target if rules.target in TARGETS else None


def holds_policies(rules: OrgRules) -> bool:
    """Whether the files hold what only Alert Policies can: policy rules, resolutions,
    ``policies:``."""
    return bool(rules.policy_rules or rules.resolutions or rules.declares_policies)


def offline_target(rules: OrgRules, target: str | None) -> tuple[str, str]:
    """The target without reading the org, and why: ``--target``, the files' ``target:``,
    Alert Policies when the files hold its entries, else legacy triage."""
    if target is not None:
        return target, f"--target {target} on the command line"
    pinned = file_target(rules)
    if pinned is not None:
        return pinned, f"pinned by 'target: {pinned}' at {rules.target_at}"
    if holds_policies(rules):
        return ALERT_POLICIES, "the files hold policy_rules, resolutions or policies"
    return TRIAGE, "the files pin no target"


def explain_alert(
    paths: Sequence[str],
    *,
    org: str | None,
    alert: Alert | PolicyAlert,
    target: str | None,
    live: bool,
    api_url: str,
    retry: RetryPolicy = RetryPolicy(),  # noqa: B008 - frozen
    today: dt.date,
) -> Answer:
    """Load ``paths``, explain ``alert`` for the org, and with ``live`` compare with the org.

    The target is chosen like plan: ``--target``, else the files' ``target:``, else (with
    ``live``) the org's migration status; offline, Alert Policies when the files hold its
    entries, else legacy triage. Raises ``ConfigError`` for invalid files and ``UsageError``
    for an impossible question, both before any API call.
    """
    rule_set = loader.load(paths, today=today)
    rules = one_org(rule_set, org)
    where = alert if isinstance(alert, PolicyAlert) else PolicyAlert(alert)
    if not live:
        chosen, why = offline_target(rules, target)
        if chosen == ALERT_POLICIES:
            found = PolicyExplanation(rules.org, why, where, files_view(rules, where, today))
            return Answer(found, rule_set.warnings)
        return Answer(_triage(rules, where, chosen, today), rule_set.warnings)
    with open_client(api_url, retry=retry) as client:
        policies = policies_client(client)
        choice = choose_for(policies, rules, target)
        if choice.target == ALERT_POLICIES:
            found = explain_live(policies, rules, where, choice.reason, today)
            return Answer(found, rule_set.warnings)
        explanation = _triage(rules, where, TRIAGE, today)
        live_rules = list_live(client, rules.org)
    return Answer(compare_live(explanation, rules, live_rules, today), rule_set.warnings)


def _triage(rules: OrgRules, alert: PolicyAlert, target: str, today: dt.date) -> Explanation:
    """The legacy explanation (triage-style rules only); its target is ``target``."""
    if alert.severity or alert.repo or alert.manifest:
        raise UsageError(
            "--severity, --repo and --manifest are Alert Policies facts; the org is explained "
            f"on legacy triage here: add --target {ALERT_POLICIES}"
        )
    return explain(rules, alert.alert, target=target, today=today)


def explain_live(
    client: PoliciesClient, rules: OrgRules, alert: PolicyAlert, reason: str, today: dt.date
) -> PolicyExplanation:
    """The files' and the org's answers under Alert Policies, and where they differ."""
    governing = org_governing(client, rules.org, alert.slug)
    mine = files_governing(rules, alert.slug)
    if not rules.declares_policies:
        mine = replace(governing, known=False, reason=f"{mine.reason}; --live: {governing.reason}")
    files = files_view(
        rules, alert, today, governing=mine, translations=translated(client, rules, today)
    )
    theirs = org_view(client, rules.org, alert, governing)
    return PolicyExplanation(rules.org, reason, alert, files, theirs, differences(files, theirs))
