"""Each change of a PolicyPlan as the request that makes it; shared by apply and its rehearsal.

A rule change is one request: POST (create), PUT (update, move, or both at once) or DELETE. A
resolution change is a POST (create), a DELETE, or both (replace: the create first, so the
alerts it hides never reappear in between).

A placement names its neighbour by rule name; ``ids`` holds the ids of rules created earlier in
the same apply, for neighbours that did not exist when the plan was made. A rehearsal
(``dry_run``) creates nothing, so a create or move next to a rule that was itself only rehearsed
is rehearsed without its placement: content only.

A policy change is one request too: POST (create), PUT (update: only the changed fields) or
DELETE (which takes the policy's rules and repository label with it). A rule change in a policy
the plan creates names it ``new_policy_ref(name)`` until that create has answered: ``bound``
gives it the id the create returned. A rehearsal cannot create the policy, so such a rule is
rehearsed against the default policy, for its content only (``rehearsed_rule``); and since a
rehearsed update takes no repository from the policy it leaves, a rehearsed write that adds a
repository another policy of the plan gives up leaves that id out (``rehearsal_body``), or the
server would refuse a repository with two policy labels.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping, Sequence
from typing import Any, Final

from reconciler.policies.changes import (
    PolicyObjectChange,
    ResolutionChange,
    RuleChange,
    created_policy_name,
)
from reconciler.policies.client import (
    PoliciesClient,
    placement_body,
    resolution_body,
    rule_body,
)
from reconciler.policies.plan import PolicyPlan
from reconciler.vocab.policies.model import LivePolicy, LiveResolution, LiveRule
from reconciler.vocab.policies.wire import DEFAULT_POLICY_ID

PolicyChange = PolicyObjectChange | RuleChange | ResolutionChange
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


def send_policy(
    client: PoliciesClient,
    change: PolicyObjectChange,
    *,
    body: Mapping[str, Any] | None = None,
    dry_run: bool = False,
) -> LivePolicy | None:
    """Send one policy change (``body``: instead of the change's own, for a rehearsal); the
    policy the server answers with, or None for a delete."""
    sent = dict(change.body if body is None else body)
    if change.action == "create":
        return client.create_policy(change.org, sent, dry_run=dry_run)
    existing = change.existing
    assert existing is not None  # checked by ``writable`` before anything is sent
    if change.action == "delete":
        client.delete_policy(change.org, existing.id, dry_run=dry_run)
        return None
    return client.update_policy(change.org, existing.id, sent, dry_run=dry_run)


def adds_repositories(change: PolicyObjectChange) -> bool:
    """Whether a create or update gives its policy a repository it does not govern now."""
    ids = change.body.get("repository_ids") or ()
    held = set(change.existing.repository_ids) if change.existing else set()
    return any(str(r) not in held for r in ids)


# The reason of the update that first takes from a policy the repositories another policy of
# the plan takes (``releases``), when its own change cannot come first: a delete (last of all)
# or an update that also adds repositories (sent after the creates).
RELEASE: Final = "first gives up the repositories other policies take"


def _given_up(change: PolicyObjectChange) -> list[str]:
    """The repository ids ``change`` takes from its policy, in the policy's order."""
    existing = change.existing
    if existing is None:
        return []
    if change.action == "delete":
        return list(existing.repository_ids)
    if "repository_ids" not in change.body:
        return []
    wanted = {str(r) for r in change.body["repository_ids"] or ()}
    return [r for r in existing.repository_ids if r not in wanted]


def releases(changes: Sequence[PolicyObjectChange]) -> dict[int, PolicyObjectChange]:
    """``id(change)`` -> the update that first gives up, of a policy the plan deletes or
    updates with an added repository, the repositories another create or update takes.

    A delete must stay last (stopping part-way leaves a policy too many, never too few), and
    an update that adds a repository comes after the creates, yet a repository cannot carry two
    policy labels: so it leaves its policy at the start, and the default policy governs it
    until the policy taking it is written.
    """
    taken: set[str] = set()
    for change in changes:
        if change.action != "delete":
            held = set(change.existing.repository_ids) if change.existing else set()
            taken.update(str(r) for r in change.body.get("repository_ids") or () if r not in held)
    found: dict[int, PolicyObjectChange] = {}
    for change in changes:
        existing = change.existing
        first = change.action == "delete" or adds_repositories(change)
        lost = _given_up(change)
        if existing is None or not first or not taken.intersection(lost):
            continue
        # ``removed`` names the given-up repositories in the order of their ids.
        slugs = change.removed if len(change.removed) == len(lost) else tuple(lost)
        moved = tuple(slug for slug, r in zip(slugs, lost, strict=True) if r in taken)
        body = {"repository_ids": [r for r in existing.repository_ids if r not in taken]}
        found[id(change)] = PolicyObjectChange(
            "update", change.org, existing, None, body, removed=moved, reason=RELEASE
        )
    return found


def policy_order(
    changes: Sequence[PolicyObjectChange],
    released: Mapping[int, PolicyObjectChange] | None = None,
) -> tuple[list[PolicyObjectChange], list[PolicyObjectChange]]:
    """The policy writes in the order they are sent, and the deletes (sent last of all).

    First the updates that add no repository (they only give some up, or change the baseline
    or description; the ``releases`` of policies to delete among them), then the creates, then
    the updates that add one: a repository leaves the policy it leaves before another takes it.
    Stable: the plan's order within each group.
    """

    def rank(change: PolicyObjectChange) -> int:
        if change.action == "create":
            return 1
        return 2 if adds_repositories(change) else 0

    deletes = [c for c in changes if c.action == "delete"]
    early = [released[id(c)] for c in changes if id(c) in released] if released else []
    writes = sorted([*early, *(c for c in changes if c.action != "delete")], key=rank)
    return writes, deletes


def released(plan: PolicyPlan) -> frozenset[str]:
    """The repository ids the plan's policy updates and deletes take from a named policy."""
    gone: set[str] = set()
    for change in plan.policy_changes:
        held = set(change.existing.repository_ids) if change.existing else set()
        if change.action == "delete":
            gone |= held
        elif "repository_ids" in change.body:
            gone |= held - {str(r) for r in change.body["repository_ids"] or ()}
    return frozenset(gone)


def rehearsal_body(change: PolicyObjectChange, gone: frozenset[str]) -> dict[str, Any]:
    """What a rehearsal of ``change`` sends: its body, less the repositories it takes from a
    policy whose giving them up is itself only rehearsed (``released``)."""
    body = dict(change.body)
    ids = body.get("repository_ids")
    if isinstance(ids, list):
        own = set(change.existing.repository_ids) if change.existing else set()
        body["repository_ids"] = [r for r in ids if r in own or r not in gone]
    return body


def bound(change: RuleChange, ids: Mapping[str, str]) -> RuleChange:
    """``change`` addressed to its policy's live id: ``ids`` maps a ``new_policy_ref`` to the id
    its create returned. A change in an existing policy is returned as it is."""
    if created_policy_name(change.policy_id) is None:
        return change
    return dataclasses.replace(change, policy_id=ids[change.policy_id])


def rehearsed_rule(change: RuleChange) -> RuleChange:
    """A rule change in a policy the plan creates, rehearsed against the default policy."""
    if created_policy_name(change.policy_id) is None:
        return change
    return dataclasses.replace(change, policy_id=DEFAULT_POLICY_ID)


def unaddressable(plan: PolicyPlan) -> list[str]:
    """Changes that would address a policy, rule or resolution without an id, or a rule in a
    policy the plan neither has nor creates: ``diff`` never plans one, so these come from a
    hand-edited or foreign plan, and nothing may be sent."""
    creates = {c.policy_id for c in plan.policy_changes if c.action == "create"}
    blind = [
        f"{c.action} policy {c.name!r}"
        for c in plan.policy_changes
        if c.action != "create" and not (c.existing and c.existing.id)
    ]
    blind += [
        f"{c.action} rule {c.name!r} of policy {c.policy_id} (a policy the plan does not create)"
        for c in plan.rule_changes
        if created_policy_name(c.policy_id) is not None and c.policy_id not in creates
    ]
    blind += [
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
