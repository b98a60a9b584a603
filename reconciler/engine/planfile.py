"""Saved plans (``plan --out``): read one back, and refuse a plan whose org changed since.

The same check runs right before each org's first write, saved plan or not: the org is listed
again and compared with the fingerprint of the listing the plan was made from. A difference
means another writer (a second apply, the dashboard) is at work, and nothing is written to it.
"""

from __future__ import annotations

import json
from pathlib import Path

from reconciler.engine.orgs import list_live
from reconciler.engine.plan import OrgPlan, Plan, fingerprint
from reconciler.errors import PlanFileError, StalePlanError, UsageError
from reconciler.triage.client import TriageClient
from reconciler.triage.selector import LiveRule


def load_plan_file(path: str, org: str | None) -> Plan:
    """The plan saved in ``path`` (only ``org``'s part, if given); one line if it is not one."""
    try:
        data = json.loads(Path(path).read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError, RecursionError) as exc:
        raise PlanFileError(f"{path}: cannot read plan file: {exc}") from None
    try:
        plan = Plan.from_dict(data)
    except PlanFileError as exc:
        raise PlanFileError(f"{path}: {exc}") from None
    if org is not None:
        plan = Plan(tuple(o for o in plan.orgs if o.org == org))
        if not plan.orgs:
            raise UsageError(f"{path}: the saved plan has no org {org!r}")
    return plan


def check_saved_plan(client: TriageClient, plan: Plan, path: str) -> None:
    """Refuse the saved ``plan`` (from ``path``) if any org's live rules changed since."""
    lives = {o.org: list_live(client, o.org) for o in plan.orgs}
    stale = [o.org for o in plan.orgs if fingerprint(lives[o.org]) != o.fingerprint]
    if stale:
        raise StalePlanError(
            f"the live rules of org {', '.join(stale)} changed since {path} was made; "
            "nothing was written. Run plan again."
        )


def unchanged_live(client: TriageClient, org_plan: OrgPlan) -> list[LiveRule]:
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
