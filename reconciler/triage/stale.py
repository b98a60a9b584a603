"""Refuse a plan whose org changed since it was made: a saved plan, and right before writing.

The org is listed again and compared with the fingerprint of the listing the plan was made
from. A difference means another writer (a second apply, the dashboard) is at work, and nothing
is written to it.
"""

from __future__ import annotations

from collections.abc import Sequence

from reconciler.errors import StalePlanError
from reconciler.triage.client import TriageClient
from reconciler.triage.listing import list_live
from reconciler.triage.plan import TriagePlan, fingerprint
from reconciler.vocab.triage.selector import LiveRule


def stale_orgs(client: TriageClient, plans: Sequence[TriagePlan]) -> list[str]:
    """The orgs of these saved plans whose live rules changed since (every org listed first)."""
    lives = {o.org: list_live(client, o.org) for o in plans}
    return [o.org for o in plans if fingerprint(lives[o.org]) != o.fingerprint]


def unchanged_live(client: TriageClient, org_plan: TriagePlan) -> list[LiveRule]:
    """List the org right before writing; refuse if it changed since the plan was made.

    There is no lock in the API: two applies at once would both create the same rules. This
    check narrows that window to the moment between this listing and the first write, and the
    check after apply reports any duplicate that still slips through.
    """
    # The plan's listing was one pass; this one, compared whole with it, is the second. When
    # the plan was made in this process, the same bytes on every page say so without decoding.
    listing = org_plan.listing
    if listing is not None and client.unchanged(org_plan.org, listing.pages):
        return list(listing.rules)
    live = list_live(client, org_plan.org, expected=org_plan.existing)
    if fingerprint(live) != org_plan.fingerprint:
        raise StalePlanError(
            f"the live rules of org {org_plan.org} changed since the plan was made (another "
            "apply running at the same time, or an edit in the dashboard?); nothing was "
            "written to it. Run apply again."
        )
    return live
