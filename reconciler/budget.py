"""What an apply will cost in API calls, and whether the token's quota covers it.

Socket meters each token per hour: every endpoint this tool calls costs 1 unit, and
``GET /v0/quota`` costs none (docs/socket-api.md). ``plan`` says how many calls the apply
will make and how long they take at the rate limit; ``apply`` reads the remaining quota before
its first write and refuses (unless ``--force``) when it cannot cover the writes and the check
after them, so that a run never stops half-way for want of quota.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Final

from reconciler.engine.provider import OrgPlan
from reconciler.errors import ApiError, UnsafePlanError
from reconciler.http.body import read_json
from reconciler.http.pacing import SOCKET_RATE_LIMIT, Rate
from reconciler.policies.plan import PolicyPlan
from reconciler.policies.requests import riding_updates
from reconciler.triage.apply import batches
from reconciler.triage.client import TriageClient
from reconciler.triage.plan import TriagePlan
from reconciler.vocab.triage.wire import MAX_PER_PAGE

QUOTA_PATH: Final = "/quota"
# Rules, resolutions or policies per page of a listing, for the estimate.
PAGE: Final = 100


@dataclass(frozen=True)
class Cost:
    """API calls of one apply: its writes, and the listings that check before and after."""

    writes: int
    checks: int

    @property
    def calls(self) -> int:
        return self.writes + self.checks

    def __add__(self, other: Cost) -> Cost:
        return Cost(self.writes + other.writes, self.checks + other.checks)


def cost(plan: OrgPlan) -> Cost:
    """About how many calls applying ``plan`` makes, retries aside.

    >>> cost(TriagePlan("acme", (), unchanged=0, existing=250))
    Cost(writes=0, checks=6)
    """
    if isinstance(plan, PolicyPlan):
        riding = riding_updates(plan)
        writes = sum(1 for c in plan.rule_changes if c not in riding.values())
        writes += sum(2 if c.action == "replace" else 1 for c in plan.resolution_changes)
        writes += len(plan.policy_changes)
        # Before writing: the migration status and the live state again (is the plan stale?),
        # then each write rehearsed with ?dry_run=true, except resolution deletes, which have
        # no dry run (one probe stands for them all); after: the live state once more.
        deletes = sum(1 for c in plan.resolution_changes if c.action == "delete")
        rehearsals = writes - deletes + (1 if deletes else 0)
        return Cost(writes, 1 + rehearsals + 2 * (plan.reads or _guess_reads(plan)))
    assert isinstance(plan, TriagePlan)
    upserts = [c for c in plan.changes if c.action != "delete"]
    writes = sum(1 for _ in batches(upserts)) + plan.count("delete")
    after = plan.existing + plan.count("create")
    return Cost(writes, 2 * _pages(max(plan.existing, after), MAX_PER_PAGE))


def _guess_reads(plan: PolicyPlan) -> int:
    """A saved plan that did not record its ``reads``: the policies its changes touch."""
    policies = {c.policy_id for c in plan.rule_changes} | {c.policy_id for c in plan.policy_changes}
    reads = 1 + max(1, len(policies)) + _pages(plan.existing)
    return reads + (1 if plan.declares_policies else 0)


def _pages(items: int, per_page: int = PAGE) -> int:
    return max(1, math.ceil(items / per_page))


def estimate(plans: Sequence[OrgPlan]) -> str:
    """The line ``plan`` prints: the calls apply will make and how long they take at the limit.

    >>> estimate([])
    'Apply will make about 0 API calls (0 writes, 0 to check before and after): within the \
rate limit of 600 a minute, none waits for it.'
    """
    total = sum((cost(p) for p in plans if p.has_changes), Cost(0, 0))
    seconds = Rate(SOCKET_RATE_LIMIT).seconds_for(total.calls)
    pace = (
        f"within the rate limit of {SOCKET_RATE_LIMIT} a minute, none waits for it"
        if seconds == 0
        else f"at the rate limit of {SOCKET_RATE_LIMIT} a minute they take at least "
        f"{seconds / 60:.0f} min"
    )
    return (
        f"Apply will make about {total.calls} API calls ({total.writes} writes, "
        f"{total.checks} to check before and after): {pace}."
    )


def remaining(client: TriageClient, org: str) -> int | None:
    """The units left to ``org``'s token this hour (``GET /v0/quota``, free); None when the
    server does not say (an older server, or an answer of the wrong shape)."""
    credential = client.credentials.for_org(org)
    try:
        token = credential.token if credential else None
        reply = client.http.send("GET", QUOTA_PATH, token=token, counted=False)
        body = read_json(reply.response.content, "the quota")
    except ApiError:
        return None
    quota = body.get("quota") if isinstance(body, dict) else None
    if isinstance(quota, bool) or not isinstance(quota, int) or quota < 0:
        return None
    return quota


class QuotaError(UnsafePlanError):
    """The token's quota cannot cover the apply: nothing was written."""


def check_quota(client: TriageClient, plans: Sequence[OrgPlan]) -> None:
    """Refuse, before the first write, an apply the token's remaining quota cannot finish."""
    short: list[str] = []
    for plan in plans:
        if not plan.has_changes:
            continue
        need = cost(plan)
        left = remaining(client, plan.org)
        if left is not None and left < need.calls:
            short.append(
                f"org {plan.org} needs about {need.calls} API calls ({need.writes} writes, "
                f"{need.checks} to check) and its token has {left} of this hour's quota left"
            )
    if short:
        raise QuotaError(
            f"{'; '.join(short)}; nothing was written. Wait for the quota to refill (the "
            "next hour), or use --force to start anyway."
        )
