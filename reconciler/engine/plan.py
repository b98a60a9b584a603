"""``Plan``: every org's plan, in org order, whatever its target; the saved form of a run.

Each org plan carries its target and why (``OrgPlan.choice``). A saved plan file is read back
with a reader that knows the providers' plan documents (``reconciler.wiring.read_org``): the
engine knows only that each org has one.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Final

from reconciler import __version__
from reconciler.engine.provider import OrgPlan
from reconciler.errors import PlanFileError, UsageError

PLAN_FORMAT_VERSION: Final = 1

# An org's saved document -> its plan (``where`` names it in an error).
ReadOrg = Callable[[Any, str], OrgPlan]


@dataclass(frozen=True)
class Plan:
    """Every org's plan, in org order, each on its target (``OrgPlan.target``)."""

    orgs: tuple[OrgPlan, ...]

    @property
    def has_changes(self) -> bool:
        return any(o.has_changes for o in self.orgs)

    def raise_if_unsafe(self) -> None:
        """octoDNS's safety check, org by org, before anything is confirmed or written."""
        for org_plan in self.orgs:
            org_plan.raise_if_unsafe()

    def to_dict(self, *, fingerprint: bool = True) -> dict[str, Any]:
        """Each org's document in org order, with its target keys.

        ``fingerprint=False`` leaves out the fingerprints that cost a walk of the live state.
        """
        docs = []
        for org_plan in sorted(self.orgs, key=lambda o: o.org):
            doc = org_plan.to_dict(fingerprint=fingerprint)
            if org_plan.choice is not None:
                doc.update(org_plan.choice.to_dict())
            docs.append(doc)
        return {
            "format_version": PLAN_FORMAT_VERSION,
            "tool": f"socket-triage {__version__}",
            "has_changes": self.has_changes,
            "orgs": docs,
        }

    @classmethod
    def from_dict(cls, data: Any, read_org: ReadOrg) -> Plan:
        """Read a saved plan; any wrong shape is one ``PlanFileError`` saying where."""
        if not isinstance(data, dict) or data.get("format_version") != PLAN_FORMAT_VERSION:
            raise PlanFileError(f"not a socket-triage plan of format version {PLAN_FORMAT_VERSION}")
        orgs = data.get("orgs")
        if not isinstance(orgs, list):
            raise PlanFileError("plan file has no list of orgs")
        plans: list[OrgPlan] = []
        seen: set[str] = set()
        for i, item in enumerate(orgs):
            try:
                org_plan = read_org(item, f"orgs[{i}]")
            except PlanFileError as exc:
                raise PlanFileError(f"malformed org plan: {exc}") from None
            if org_plan.org in seen:
                raise PlanFileError(f"malformed org plan: org {org_plan.org!r} appears twice")
            seen.add(org_plan.org)
            plans.append(org_plan)
        return cls(tuple(plans))


def load_plan_file(path: str, org: str | None, read_org: ReadOrg) -> Plan:
    """The plan saved in ``path`` (only ``org``'s part, if given); one line if it is not one."""
    try:
        data = json.loads(Path(path).read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError, RecursionError) as exc:
        raise PlanFileError(f"{path}: cannot read plan file: {exc}") from None
    try:
        plan = Plan.from_dict(data, read_org)
    except PlanFileError as exc:
        raise PlanFileError(f"{path}: {exc}") from None
    if org is not None:
        plan = Plan(tuple(o for o in plan.orgs if o.org == org))
        if not plan.orgs:
            raise UsageError(f"{path}: the saved plan has no org {org!r}")
    return plan
