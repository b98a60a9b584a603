"""Orchestration every command shares: pick the orgs, list their live rules, plan each one."""

from __future__ import annotations

from collections.abc import Sequence

from reconciler.engine.plan import OrgPlan, Plan, diff
from reconciler.engine.progress import rules_progress
from reconciler.engine.provenance import Provenance
from reconciler.errors import UsageError
from reconciler.http.client import SocketClient
from reconciler.rules.model import utc_today
from reconciler.rules.ruleset import OrgRules, RuleSet
from reconciler.triage.selector import LiveRule


def select_orgs(rule_set: RuleSet, org: str | None) -> list[OrgRules]:
    """Every org in the files, or just ``org``, which must be named in them."""
    if org is None:
        return list(rule_set.orgs.values())
    if org not in rule_set.orgs:
        named = ", ".join(rule_set.orgs) or "none"
        raise UsageError(f"org {org!r} is not named in any rule file (the files name: {named})")
    return [rule_set.orgs[org]]


def list_live(client: SocketClient, org: str) -> list[LiveRule]:
    """Every live rule of ``org``, with a progress bar on a terminal."""
    with rules_progress(f"Listing {org}") as on_page:
        return [LiveRule.from_get(item) for item in client.list_rules(org, on_page=on_page)]


def plan_org(
    client: SocketClient, rules: OrgRules, provenance: Provenance
) -> tuple[OrgPlan, list[LiveRule]]:
    """One org's plan and the live rules it was made against."""
    live = list_live(client, rules.org)
    org_plan = diff(
        rules.org,
        rules.rules,
        live,
        today=utc_today(),
        prune=rules.prune,
        safety=rules.safety,
        trailer=provenance.trailer,
    )
    return org_plan, live


def make_plan(
    client: SocketClient, orgs: Sequence[OrgRules], provenance: Provenance
) -> tuple[Plan, dict[str, list[LiveRule]]]:
    plans, lives = [], {}
    for rules in orgs:
        org_plan, lives[rules.org] = plan_org(client, rules, provenance)
        plans.append(org_plan)
    return Plan(tuple(plans)), lives
