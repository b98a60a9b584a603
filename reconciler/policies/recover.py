"""Find again, in a fresh listing, what a create whose answer was lost may have made.

A real create is never re-sent blindly: its request may have committed before the answer was
lost, or may still commit (a request queued at the server). So the caller first waits out the
request timeout after the last lost answer, then lists, and re-sends only what is missing. A
rule is found by its name in its policy, a resolution by its selector; either must be new (not
among the ids listed before the apply), so that a rule or resolution that was already there is
never taken for the one just created.
"""

from __future__ import annotations

from collections.abc import Collection, Sequence

from reconciler.policies.changes import ResolutionChange, RuleChange
from reconciler.policies.client import PoliciesClient
from reconciler.vocab.policies.model import LiveResolution, LiveRule, timestamp_key


def find_rule(client: PoliciesClient, change: RuleChange, old: Collection[str]) -> LiveRule | None:
    """The rule ``change`` created, if the policy now holds one (the oldest, if several)."""
    found = [
        rule
        for rule in client.list_rules(change.org, change.policy_id)
        if rule.id and rule.id not in old and rule.name == change.name
    ]
    found.sort(key=lambda r: (timestamp_key(r.created_at), r.id))
    return found[0] if found else None


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
