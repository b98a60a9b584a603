"""An org's live Alert Policies state, read at one moment: policies, rules in order, resolutions.

Apply reads it twice. Right before the first write, to refuse a plan whose org changed since it
was made (the fingerprint covers rule order, so a reorder in the dashboard makes a plan stale),
and after the last write, to settle outcomes and verify. The first read also says which rules and
resolutions existed before, so that a rule found after a lost create is known to be new.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass

from reconciler.errors import StalePlanError
from reconciler.policies.client import PoliciesClient
from reconciler.policies.diff import fingerprint
from reconciler.policies.plan import PolicyPlan
from reconciler.vocab.policies.model import LivePolicy, LiveRepository, LiveResolution, LiveRule


@dataclass(frozen=True)
class Snapshot:
    """``rules`` is keyed by policy id, each in evaluation order; resolutions oldest first.

    ``repositories`` is the org's repository listing, read only for an org whose files declare
    policies (None otherwise): what each slug in the files means.
    """

    org: str
    policies: tuple[LivePolicy, ...]
    rules: Mapping[str, tuple[LiveRule, ...]]
    resolutions: tuple[LiveResolution, ...]
    repositories: tuple[LiveRepository, ...] | None = None

    @property
    def fingerprint(self) -> str:
        return fingerprint(self.policies, self.rules, self.resolutions, self.repositories)

    def rule_ids(self) -> frozenset[str]:
        return frozenset(r.id for rules in self.rules.values() for r in rules if r.id)

    def resolution_uuids(self) -> frozenset[str]:
        return frozenset(r.uuid for r in self.resolutions if r.uuid)


def read_snapshot(
    client: PoliciesClient,
    org: str,
    policies: Iterable[LivePolicy] | None = None,
    *,
    repositories: bool = False,
) -> Snapshot:
    """List the org: its policies (unless given), each policy's rules, its resolutions, and
    with ``repositories`` (an org that declares policies) its repository listing."""
    found = tuple(client.list_policies(org) if policies is None else policies)
    rules = {p.id: tuple(client.list_rules(org, p.id)) for p in found}
    listed = tuple(client.list_repositories(org)) if repositories else None
    return Snapshot(org, found, rules, tuple(client.list_resolutions(org)), listed)


def unchanged_snapshot(client: PoliciesClient, plan: PolicyPlan) -> Snapshot:
    """List the org right before writing; refuse if it changed since ``plan`` was made.

    There is no lock in the API: this narrows the window in which another writer (a second
    apply, the dashboard) could be at work to the moment between this listing and the first
    write, and the check after apply reports anything that still slips through.
    """
    live = read_snapshot(client, plan.org, repositories=plan.declares_policies)
    if live.fingerprint != plan.fingerprint:
        raise StalePlanError(
            f"the alert policies, rules or resolutions of org {plan.org} changed since the plan "
            "was made (another apply at the same time, or an edit or reorder in the dashboard?); "
            "nothing was written to it. Run plan (or apply) again."
        )
    return live
