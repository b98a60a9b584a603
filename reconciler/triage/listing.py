"""An org's live triage rules, read with a progress bar on a terminal, and one org's plan."""

from __future__ import annotations

import datetime as dt
from dataclasses import replace

from reconciler.engine.progress import rules_progress
from reconciler.engine.provenance import Provenance
from reconciler.rules.ruleset import OrgRules
from reconciler.triage.client import TriageClient
from reconciler.triage.plan import TriagePlan, diff
from reconciler.vocab.triage.selector import LiveRule


def list_live(
    client: TriageClient, org: str, *, expected: int | None = None, confirm: bool = True
) -> list[LiveRule]:
    """Every live rule of ``org``, with a progress bar on a terminal.

    Consistent as a whole unless ``confirm=False`` (see ``TriageClient.list_rules``); with
    ``expected``, exactly the pages that many rules need are read. A confirmed listing is one
    pass and the same pages read again as bytes (``TriageClient.unchanged``), not decoded twice;
    pages that differ fall back to passes until two agree.
    """
    with rules_progress(f"Listing {org}") as on_page:
        if confirm and expected is None:
            listing = client.listing(org, on_page)
            if len(listing.pages) == 1 or client.unchanged(org, listing.pages):
                return list(listing.rules)
        return client.live_rules(org, on_page=on_page, expected=expected, confirm=confirm)


def plan_org(
    client: TriageClient, rules: OrgRules, provenance: Provenance, today: dt.date
) -> TriagePlan:
    """One org's plan, carrying the live rules and the reading it was made against.

    The listing is one pass: a plan writes nothing, and apply reads the org again before its
    first write and refuses if the two readings differ, which is the second pass that makes a
    listing trustworthy (a dashboard delete while pages are read shifts a rule off a page).
    The plan carries the reading (``TriagePlan.listing``) for that comparison.
    """
    with rules_progress(f"Listing {rules.org}") as on_page:
        listing = client.listing(rules.org, on_page)
    org_plan = diff(
        rules.org,
        rules.rules,
        listing.rules,
        today=today,
        prune=rules.prune,
        safety=rules.safety,
        trailer=provenance.trailer,
    )
    return replace(org_plan, listing=listing)
