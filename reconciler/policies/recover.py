"""Find again, in a fresh listing, what a create whose answer was lost may have made.

A create whose answer was lost is never sent again in the same run: its request may have
committed before the answer was lost, or may still commit (a request queued at the server). So
the caller waits out the request timeout after the last lost answer, lists once, and counts what
it finds as applied; what it does not find keeps its unknown outcome. A rule is found by its
name in its policy, a policy by its name and our seal on its description (``LivePolicy.managed``),
a resolution by its selector; each must be new (not among the ids listed
before the apply), so that a rule or resolution that was already there is never taken for the
one just created.
"""

from __future__ import annotations

from collections.abc import Collection, Sequence

from reconciler.policies.changes import PolicyObjectChange, ResolutionChange, RuleChange
from reconciler.policies.client import PoliciesClient
from reconciler.vocab.policies.model import LivePolicy, LiveResolution, LiveRule, timestamp_key


def find_policies(
    client: PoliciesClient, org: str, changes: Sequence[PolicyObjectChange], old: Collection[str]
) -> dict[int, LivePolicy]:
    """Of the policy creates ``changes``, those the org now holds: ``id(change)`` to the policy
    each created, a new named policy of its name sealed as ours. One listing for all of them."""
    listed = client.list_policies(org) if changes else []
    new = {p.name: p for p in listed if p.id and p.id not in old and p.managed}
    return {id(c): new[c.name] for c in changes if c.name in new}


def find_rules(
    client: PoliciesClient, policy_id: str, changes: Sequence[RuleChange], old: Collection[str]
) -> tuple[dict[int, LiveRule], list[str]]:
    """Of the rule creates ``changes`` in one policy, those it now holds: ``id(change)`` to the
    rule each created (the oldest, if several); and the ids of the policy's rules, in order.
    One listing for all of them."""
    listed = client.list_rules(changes[0].org, policy_id) if changes else []
    new = sorted(
        (rule for rule in listed if rule.id and rule.id not in old),
        key=lambda r: (timestamp_key(r.created_at), r.id),
        reverse=True,
    )
    by_name = {rule.name: rule for rule in new}  # the oldest of several wins
    found = {id(c): by_name[c.name] for c in changes if c.name in by_name}
    return found, [rule.id for rule in listed]


def find_resolutions(
    client: PoliciesClient, org: str, changes: Sequence[ResolutionChange], old: Collection[str]
) -> dict[int, LiveResolution]:
    """Of ``changes`` (creates and replaces), those the org now holds: ``id(change)`` to the
    resolution each created. One listing for all of them."""
    new: dict[str, LiveResolution] = {}
    listed = [r for r in client.list_resolutions(org) if r.uuid and r.uuid not in old]
    for item in sorted(listed, key=lambda r: (timestamp_key(r.created_at), r.uuid), reverse=True):
        new[item.selector.text] = item  # the oldest of several wins
    return {id(c): new[c.selector.text] for c in changes if c.selector.text in new}
