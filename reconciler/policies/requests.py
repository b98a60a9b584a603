"""Each change of a PolicyPlan as the request that makes it; shared by apply and its rehearsal.

A rule change is one request: POST (create), PUT (update, move, or both at once) or DELETE. A
resolution change is a POST (create), a DELETE, or both (replace: the create first, so the
alerts it hides never reappear in between).

A placement names its neighbour by rule name; ``ids`` holds the ids of rules created earlier in
the same apply, for neighbours that did not exist when the plan was made. A rehearsal
(``dry_run``) creates nothing, so a create or move next to a rule that was itself only rehearsed
is rehearsed without its placement: content only.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from reconciler.policies.changes import ResolutionChange, RuleChange
from reconciler.policies.client import (
    PoliciesClient,
    placement_body,
    resolution_body,
    rule_body,
)
from reconciler.policies.plan import PolicyPlan
from reconciler.vocab.policies.model import LiveResolution, LiveRule

PolicyChange = RuleChange | ResolutionChange
RuleKey = tuple[str, str]  # (policy id, rule name): a rule's identity within an org


def rule_key(change: RuleChange) -> RuleKey:
    return (change.policy_id, change.name)


def riding_updates(plan: PolicyPlan) -> dict[RuleKey, RuleChange]:
    """Updates of rules that also move: each is sent in its move's PUT, not on its own."""
    moving = {rule_key(c) for c in plan.rule_changes if c.action == "move"}
    return {
        rule_key(c): c for c in plan.rule_changes if c.action == "update" and rule_key(c) in moving
    }


def content(change: RuleChange) -> dict[str, Any]:
    new = change.new
    assert new is not None  # creates, updates and moves carry the desired rule
    return rule_body(new.name, new.selector.to_wire(), new.action, change.api_note)


def placement(change: RuleChange, ids: Mapping[str, str], *, dry_run: bool) -> dict[str, str]:
    """The placement field of a create or move; ``ids`` maps names to ids created so far."""
    where = change.placement
    rehearsed_neighbour = where is not None and not where.position and not where.anchor_id
    if dry_run and rehearsed_neighbour:
        return {}  # the neighbour was only rehearsed: there is nothing to place next to
    return placement_body(where, ids)


def send_rule(
    client: PoliciesClient,
    change: RuleChange,
    *,
    update: RuleChange | None = None,
    ids: Mapping[str, str] | None = None,
    dry_run: bool = False,
) -> LiveRule | None:
    """Send one rule change (with ``update`` riding on a move); the rule the server answers
    with, or None for a delete. ``ids``: the policy's rules created so far, by name."""
    org, policy = change.org, change.policy_id
    known = ids or {}
    if change.action == "create":
        body = {**content(change), **placement(change, known, dry_run=dry_run)}
        return client.create_rule(org, policy, body, dry_run=dry_run)
    existing = change.existing
    assert existing is not None  # checked by ``writable`` before anything is sent
    if change.action == "delete":
        client.delete_rule(org, policy, existing.id, dry_run=dry_run)
        return None
    body = content(update or change) if change.action == "update" or update else {}
    if change.action == "move":
        body.update(placement(change, known, dry_run=dry_run))
    return client.update_rule(org, policy, existing.id, body, dry_run=dry_run)


def create_resolution(
    client: PoliciesClient, change: ResolutionChange, *, dry_run: bool = False
) -> LiveResolution:
    """The create half of a create or replace."""
    new = change.new
    assert new is not None
    body = resolution_body(new.selector.to_wire(), new.reason, new.reason_text, change.api_comment)
    return client.create_resolution(change.org, body, dry_run=dry_run)


def delete_resolution(client: PoliciesClient, change: ResolutionChange) -> bool:
    """The delete half of a delete or replace (the API cannot rehearse it)."""
    existing = change.existing
    assert existing is not None
    return client.delete_resolution(change.org, existing.uuid)


def unaddressable(plan: PolicyPlan) -> list[str]:
    """Changes that would address a rule or resolution without an id: ``diff`` never plans one,
    so these come from a hand-edited or foreign plan, and nothing may be sent."""
    blind = [
        f"{c.action} rule {c.name!r} of policy {c.policy_id}"
        for c in plan.rule_changes
        if c.action != "create" and not (c.existing and c.existing.id)
    ]
    blind += [
        f"{c.action} resolution {c.selector.describe()}"
        for c in plan.resolution_changes
        if c.action != "create" and not (c.existing and c.existing.uuid)
    ]
    return blind
