"""``socket-triage plan``: list each org's live rules, diff them against the files, render."""

from __future__ import annotations

import json
import os
import sys
from collections.abc import Sequence
from pathlib import Path

from reconciler import loader
from reconciler.client import SocketClient, open_client
from reconciler.commands import print_warnings
from reconciler.errors import UsageError
from reconciler.model import LiveRule, utc_today
from reconciler.plan import OrgPlan, Plan, diff
from reconciler.progress import rules_progress
from reconciler.provenance import Provenance, detect
from reconciler.redact import redact
from reconciler.render import render_json, render_markdown, render_text
from reconciler.retry import RetryPolicy
from reconciler.ruleset import OrgRules, RuleSet


def use_colour() -> bool:
    """Colour only on a terminal, and never with NO_COLOR set (no-color.org)."""
    return sys.stdout.isatty() and not os.environ.get("NO_COLOR")


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


def save_plan(plan: Plan, path: str) -> None:
    """Write the plan as JSON. It holds no secret, and tokens are redacted regardless."""
    target = Path(path)
    tmp = target.with_name(target.name + ".tmp")
    tmp.write_text(redact(json.dumps(plan.to_dict(), indent=2, sort_keys=True)) + "\n")
    tmp.replace(target)


def show(plan: Plan, fmt: str) -> None:
    if fmt == "json":
        render_json(plan, sys.stdout)
    elif fmt == "markdown":
        render_markdown(plan, sys.stdout)
    else:
        render_text(plan, sys.stdout, colour=use_colour())


def run(
    paths: Sequence[str],
    *,
    org: str | None,
    fmt: str,
    out: str | None,
    detailed_exitcode: bool,
    api_url: str,
    retry: RetryPolicy = RetryPolicy(),  # noqa: B008 - frozen
) -> int:
    rule_set = loader.load(paths, today=utc_today())  # invalid files: nothing is sent
    print_warnings(rule_set.warnings)
    orgs = select_orgs(rule_set, org)
    with open_client(api_url, retry=retry) as client:
        plan, _ = make_plan(client, orgs, detect())
    show(plan, fmt)
    if out:
        save_plan(plan, out)
    return 2 if detailed_exitcode and plan.has_changes else 0
