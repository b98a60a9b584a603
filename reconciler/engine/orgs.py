"""Orchestration every command shares: connect, pick the orgs, list live rules, plan each one.

``open_client`` is where the layers meet: the triage API client over the HTTP layer, with the
embedded emulator as the transport for ``--api-url local:PATH`` (the HTTP layer knows no
emulator; it is imported only when such a URL is used).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import replace
from typing import TYPE_CHECKING

from reconciler.api import ALERT_POLICIES, DEFAULT_CONCURRENCY
from reconciler.engine.plan import OrgPlan, Plan, diff
from reconciler.engine.progress import rules_progress
from reconciler.engine.provenance import Provenance
from reconciler.engine.targets import choose_for, policies_client
from reconciler.errors import UsageError
from reconciler.gcpause import paused_gc
from reconciler.http.retry import RetryPolicy
from reconciler.rules.model import utc_today
from reconciler.rules.ruleset import OrgRules, RuleSet
from reconciler.triage import client as triage
from reconciler.triage.client import TriageClient
from reconciler.triage.selector import LiveRule

if TYPE_CHECKING:
    import httpx


def open_client(
    api_url: str,
    *,
    retry: RetryPolicy = RetryPolicy(),  # noqa: B008 - frozen
    concurrency: int = DEFAULT_CONCURRENCY,
    env: Mapping[str, str] | None = None,
) -> TriageClient:
    """The triage client for ``--api-url``; ``concurrency`` sizes its pool and paging.

    One client serves every org of a run: each call carries its org's token
    (``SOCKET_API_TOKEN_<ORG>``, else the generic variables), and one pacer keeps the whole run
    under the rate limit. ``env`` defaults to ``os.environ`` (where both are read from).
    """
    return triage.open_client(
        api_url, local=embedded_transport, env=env, retry=retry, concurrency=concurrency
    )


def embedded_transport(path: str) -> httpx.BaseTransport:
    """An in-process transport to an emulator keeping its state in the SQLite file ``path``.

    Closing the transport closes the database.
    """
    from reconciler.emulator import EmulatorTransport, embedded
    from reconciler.http.transport import ClosingTransport

    emulator = embedded(path)
    return ClosingTransport(EmulatorTransport(emulator), emulator.close)


def select_orgs(rule_set: RuleSet, org: str | None) -> list[OrgRules]:
    """Every org in the files, or just ``org``, which must be named in them."""
    if org is None:
        return list(rule_set.orgs.values())
    if org not in rule_set.orgs:
        named = ", ".join(rule_set.orgs) or "none"
        raise UsageError(f"org {org!r} is not named in any rule file (the files name: {named})")
    return [rule_set.orgs[org]]


def list_live(
    client: TriageClient, org: str, *, expected: int | None = None, confirm: bool = True
) -> list[LiveRule]:
    """Every live rule of ``org``, with a progress bar on a terminal.

    Consistent as a whole unless ``confirm=False`` (see ``TriageClient.list_rules``); with
    ``expected``, exactly the pages that many rules need are read. A confirmed listing is one
    pass and the same pages read again as bytes (``TriageClient.unchanged``), not decoded twice;
    pages that differ fall back to passes until two agree.
    """
    with paused_gc(), rules_progress(f"Listing {org}") as on_page:
        if confirm and expected is None:
            listing = client.listing(org, on_page)
            if len(listing.pages) == 1 or client.unchanged(org, listing.pages):
                return list(listing.rules)
        return client.live_rules(org, on_page=on_page, expected=expected, confirm=confirm)


def plan_org(
    client: TriageClient, rules: OrgRules, provenance: Provenance
) -> tuple[OrgPlan, list[LiveRule]]:
    """One org's plan and the live rules it was made against.

    The listing is one pass: a plan writes nothing, and apply reads the org again before its
    first write and refuses if the two readings differ, which is the second pass that makes a
    listing trustworthy (a dashboard delete while pages are read shifts a rule off a page).
    The plan carries the reading (``OrgPlan.listing``) for that comparison.
    """
    with paused_gc(), rules_progress(f"Listing {rules.org}") as on_page:
        listing = client.listing(rules.org, on_page)
    live = list(listing.rules)
    with paused_gc():
        org_plan = diff(
            rules.org,
            rules.rules,
            live,
            today=utc_today(),
            prune=rules.prune,
            safety=rules.safety,
            trailer=provenance.trailer,
        )
    return replace(org_plan, listing=listing), live


def make_plan(
    client: TriageClient,
    orgs: Sequence[OrgRules],
    provenance: Provenance,
    *,
    target: str | None = None,
) -> tuple[Plan, dict[str, list[LiveRule]]]:
    """Each org's plan on its target (``engine.targets``; ``target`` is ``--target``), and the
    live triage rules of the orgs planned on legacy triage."""
    plans, policy_plans, lives, choices = [], [], {}, {}
    policies = policies_client(client)
    for rules in orgs:
        choices[rules.org] = choice = choose_for(policies, rules, target)
        if choice.target == ALERT_POLICIES:
            from reconciler.engine.policyorgs import plan_policies_org

            policy_plans.append(plan_policies_org(policies, rules, provenance, utc_today())[0])
        else:
            org_plan, lives[rules.org] = plan_org(client, rules, provenance)
            plans.append(org_plan)
    return Plan(tuple(plans), tuple(policy_plans), choices), lives
