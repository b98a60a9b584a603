"""Explain one alert from rule files, and optionally against the org: what the ``explain``
command and the MCP ``explain`` tool share."""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass

from reconciler.api import ALERT_POLICIES, TARGETS, TRIAGE
from reconciler.engine.orgs import select_orgs
from reconciler.errors import Diagnostic, UsageError
from reconciler.explain.alert import Alert
from reconciler.explain.report import Explanation, compare_live, explain
from reconciler.http.retry import RetryPolicy
from reconciler.rules import loader
from reconciler.rules.ruleset import OrgRules, RuleSet
from reconciler.triage.listing import list_live
from reconciler.wiring import open_client


@dataclass(frozen=True)
class Answer:
    explanation: Explanation
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


def explain_alert(
    paths: Sequence[str],
    *,
    org: str | None,
    alert: Alert,
    target: str | None,
    live: bool,
    api_url: str,
    retry: RetryPolicy = RetryPolicy(),  # noqa: B008 - frozen
    today: dt.date,
) -> Answer:
    """Load ``paths``, explain ``alert`` for the org, and with ``live`` compare with the org.

    Raises ``ConfigError`` for invalid files and ``UsageError`` for an impossible question,
    both before any API call.
    """
    rule_set = loader.load(paths, today=today)
    rules = one_org(rule_set, org)
    chosen = target or file_target(rules) or TRIAGE
    if live and chosen == ALERT_POLICIES:
        raise UsageError(
            "--live compares with the org's legacy triage rules; for an Alert Policies target, "
            "use plan to compare the files with the org"
        )
    explanation = explain(rules, alert, target=chosen, today=today)
    if live:
        with open_client(api_url, retry=retry) as client:
            live_rules = list_live(client, rules.org)
        explanation = compare_live(explanation, rules, live_rules, today)
    return Answer(explanation, rule_set.warnings)
