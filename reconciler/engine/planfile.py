"""Saved plans (``plan --out``): read one back, and refuse it if the org changed since."""

from __future__ import annotations

import json
from pathlib import Path

from reconciler.engine.orgs import list_live
from reconciler.engine.plan import Plan, fingerprint
from reconciler.errors import PlanFileError, StalePlanError, UsageError
from reconciler.http.client import SocketClient
from reconciler.triage.selector import LiveRule


def load_plan_file(path: str, org: str | None) -> Plan:
    try:
        data = json.loads(Path(path).read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
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


def saved_plan(
    client: SocketClient, path: str, org: str | None
) -> tuple[Plan, dict[str, list[LiveRule]]]:
    """The saved plan, refused if any org's live rules changed since it was made."""
    plan = load_plan_file(path, org)
    lives = {o.org: list_live(client, o.org) for o in plan.orgs}
    stale = [o.org for o in plan.orgs if fingerprint(lives[o.org]) != o.fingerprint]
    if stale:
        raise StalePlanError(
            f"the live rules of org {', '.join(stale)} changed since {path} was made; "
            "nothing was written. Run plan again."
        )
    return plan, lives
