"""After a policies apply: settle every outcome from a final listing, and check the org.

The final listing (each policy's rules in rank order, and the resolutions) is made once every
request whose answer was lost has had ``settle`` seconds to commit. It decides each change that
is still *outcome unknown* by what the server holds (``holds``), and, when the apply ran to the
end, it is compared with what the plan should have produced (``differences``): the same rules
with the same content **in exactly the expected order**, and the same resolutions.

The expected order is the live order before the apply, less the deleted rules, with the plan's
creates and moves replayed on it the way the server places rules (``order.apply_steps``). Rules
the files do not mention therefore keep their places, and the files' rules must stand in the
files' order. A rule is known by its id when it existed before, and by its name when the apply
created it.

Policy objects are read back too: each policy the plan creates or updates must exist by name
with the baseline, human description and set of repository ids the files want; each it deletes
must be gone (its rules with it). A rule of a policy the plan created is compared in that
policy, found by name among the policies that are new (``created_ids``).
"""

from __future__ import annotations

import dataclasses
from collections import Counter
from collections.abc import Mapping, Sequence
from typing import Literal

from reconciler.engine.outcomes import Conclusion
from reconciler.errors import ApiError
from reconciler.policies.changes import (
    Placement,
    PolicyObjectChange,
    ResolutionChange,
    RuleChange,
    created_policy_name,
    halves,
    new_policy_ref,
)
from reconciler.policies.client import PoliciesClient
from reconciler.policies.order import Step, apply_steps
from reconciler.policies.outcomes import Item, PolicyResult
from reconciler.policies.plan import PolicyPlan
from reconciler.policies.requests import PolicyChange
from reconciler.policies.snapshot import Snapshot, read_snapshot
from reconciler.vocab.policies.model import (
    DesiredResolution,
    DesiredRule,
    LivePolicy,
    LiveResolution,
    LiveRule,
)
from reconciler.vocab.policies.wire import BASELINE_NONE, CREATE_DEFAULT_POSITION, POSITION_FIRST

Key = tuple[str, str]  # ("id", rule id) for a rule that existed before, ("new", name) otherwise
Content = tuple[str, str, str, str]  # name, canonical selector, action, human note
# A policy as verify compares it: baseline (None: "none"), human description, repository ids
# (None for the default policy, whose scope is implicit).
PolicyContent = tuple[str | None, str, frozenset[str] | None]
ResContent = tuple[str, str, str | None, str]  # selector, reason, reason_text, human comment


# How a policies apply ended; ``after`` is the final listing.
Verdict = Conclusion[PolicyChange, Snapshot]


# The actions whose request creates: not found after the wait, it may still commit later.
CREATES = ("create", "replace")


def conclude(
    client: PoliciesClient,
    plan: PolicyPlan,
    before: Snapshot,
    result: PolicyResult,
    *,
    settle_seconds: float = 0.0,
) -> Verdict:
    """List the org once lost requests had time to commit; settle outcomes; check the org."""
    result.progress = None  # the progress bar is gone by now
    result.wait_for_lost_answers(settle_seconds)
    try:
        # Re-list the policies when the plan changes any: created ones hold rules, too.
        after = read_snapshot(client, plan.org, None if plan.policy_changes else before.policies)
    except ApiError as exc:
        return Conclusion(result.statuses(plan), listing_error=exc)
    refs = created_ids(plan, before, after)
    for change in result.unknown:
        found, item = holds(change, before, after, refs)
        if found:
            result.done(change, item)
            continue
        if isinstance(change, ResolutionChange) and change.action == "replace":
            created = _resolution_holds(halves(change)[0], before, after)[1]
            if isinstance(created, LiveResolution):
                result.not_applied(change)
                result.half_done(change, created)  # the new one is there, the old one too
                continue
        if change.action not in CREATES:  # a lost create may still commit: still unknown
            result.not_applied(change)
    complete = result.error is None and not result.interrupted
    problems = differences(plan, before, after) if complete else []
    return Conclusion(result.statuses(plan), tuple(problems), after)


# --- what the org should hold ---------------------------------------------------------------


def _live(rule: LiveRule) -> Content:
    return (rule.name, rule.selector.text, rule.action, rule.human_note)


def _desired(rule: DesiredRule) -> Content:
    return (rule.name, rule.selector.text, rule.action, rule.note.strip())


def _key(change: RuleChange) -> Key:
    return ("id", change.existing.id) if change.existing else ("new", change.name)


def _anchor(name: str, anchor_id: str | None) -> Key:
    return ("id", anchor_id) if anchor_id else ("new", name)


def _step(change: RuleChange) -> Step[Key] | None:
    where = change.placement or Placement(position=CREATE_DEFAULT_POSITION)
    kind: Literal["create", "move"] = "create" if change.action == "create" else "move"
    if where.position is not None:
        return Step(_key(change), kind, position=where.position)
    if where.after is not None:
        return Step(_key(change), kind, after=_anchor(where.after, where.anchor_id))
    if where.before is not None:
        return Step(_key(change), kind, before=_anchor(where.before, where.anchor_id))
    return None


def expected_rules(plan: PolicyPlan, before: Snapshot, policy: str) -> list[tuple[Key, Content]]:
    """One policy's rules after ``plan``, in order. ``ValueError``: the plan's placements
    name a rule that is not there (a hand-edited plan)."""
    live = [r for r in before.rules.get(policy, ()) if r.id]
    changes = [c for c in plan.rule_changes if c.policy_id == policy]
    deleted = {c.existing.id for c in changes if c.action == "delete" and c.existing}
    content = {("id", r.id): _live(r) for r in live if r.id not in deleted}
    steps: list[Step[Key]] = []
    for change in changes:
        if change.new is not None:
            content[_key(change)] = _desired(change.new)
        step = _step(change) if change.action in ("create", "move") else None
        if step is not None:
            steps.append(step)
    order = apply_steps([("id", r.id) for r in live if r.id not in deleted], steps)
    return [(key, content[key]) for key in order]


def _actual(rules: Sequence[LiveRule], old: frozenset[str]) -> list[tuple[Key, Content, str]]:
    """Each addressable rule as (key, content, id), in order."""
    return [
        (("id", r.id) if r.id in old else ("new", r.name), _live(r), r.id) for r in rules if r.id
    ]


def _resolution(item: LiveResolution) -> ResContent:
    return (item.selector.text, item.reason, item.reason_text or None, item.human_comment)


def _wanted(res: DesiredResolution) -> ResContent:
    return (res.selector.text, res.reason, res.reason_text or None, res.comment.strip())


def expected_resolutions(plan: PolicyPlan, before: Snapshot) -> dict[Key, ResContent]:
    gone = {c.existing.uuid for c in plan.resolution_changes if c.existing and c.action != "create"}
    found = {("uuid", r.uuid): _resolution(r) for r in before.resolutions if r.uuid not in gone}
    for change in plan.resolution_changes:
        if change.new is not None:
            found[("new", change.selector.text)] = _wanted(change.new)
    found.pop(("uuid", ""), None)
    return found


# --- how it differs ---------------------------------------------------------------------------


def created_ids(plan: PolicyPlan, before: Snapshot, after: Snapshot) -> dict[str, str]:
    """``new_policy_ref(name)`` -> the id of the policy of that name the apply created (one
    that is in ``after`` and was not in ``before``), for each create the org holds; and the
    default policy's id before -> after, when its first update gave it a UUID (contract 2.1)."""
    old = {p.id for p in before.policies}
    new = {p.name: p.id for p in after.policies if p.id not in old and p.name is not None}
    found = {
        c.policy_id: new[c.name]
        for c in plan.policy_changes
        if c.action == "create" and c.name in new
    }
    return {**found, **_default_moved(before, after)}


def differences(plan: PolicyPlan, before: Snapshot, after: Snapshot) -> list[str]:
    """Every way ``after`` differs from what ``plan`` should have made of ``before``."""
    problems = _policy_differences(plan, before, after)
    old = before.rule_ids()
    gone = {c.policy_id for c in plan.policy_changes if c.action == "delete"}
    refs = created_ids(plan, before, after)
    policies = [p for p in sorted(before.rules) if p not in gone]
    policies += [c.policy_id for c in plan.policy_changes if c.policy_id in refs]
    for policy in policies:
        try:
            expected = expected_rules(plan, before, policy)
        except ValueError as exc:
            problems.append(f"policy {policy}: the plan's placements do not add up: {exc}")
            continue
        listed = after.rules.get(refs.get(policy, policy), ())
        problems += _rule_differences(policy, expected, _actual(listed, old))
    problems += _resolution_differences(plan, before, after)
    return problems


def live_policy(policy: LivePolicy) -> PolicyContent:
    baseline = None if policy.baseline in (None, BASELINE_NONE) else policy.baseline
    ids = None if policy.is_default else frozenset(policy.repository_ids)
    return (baseline, policy.human_description, ids)


def wanted_policy(change: PolicyObjectChange) -> PolicyContent:
    """What a create or update should leave: the files' baseline and description, and the
    repository ids it sends (or, when it sends none, those the policy held)."""
    new, existing = change.new, change.existing
    ids = change.body.get("repository_ids")
    if ids is None and existing is not None:
        ids = existing.repository_ids
    if new is None:  # the update that frees a policy to delete of some repositories
        assert existing is not None
        held = live_policy(existing)
        return (held[0], held[1], frozenset(ids or ()))
    default = existing.is_default if existing else new.is_default
    return (new.baseline, new.description.strip(), None if default else frozenset(ids or ()))


def _policy_differences(plan: PolicyPlan, before: Snapshot, after: Snapshot) -> list[str]:
    """Each policy the plan writes, read back: there with the wanted content, or gone."""
    refs = created_ids(plan, before, after)
    by_id = {p.id: p for p in after.policies}
    problems: list[str] = []
    for change in plan.policy_changes:
        label = f"policy {change.name!r}"
        live = by_id.get(refs.get(change.policy_id, change.policy_id))
        if change.action == "delete":
            if live is not None:
                problems.append(f"{label} [{live.id}] still exists")
        elif live is None:
            problems.append(f"missing {label}")
        elif live_policy(live) != wanted_policy(change):
            problems.append(
                f"{label} [{live.id}] has a different baseline, description or set of "
                "repositories than expected"
            )
    return problems


def _rule_differences(
    policy: str, expected: list[tuple[Key, Content]], actual: list[tuple[Key, Content, str]]
) -> list[str]:
    want = dict(expected)
    copies = Counter(key for key, _, _ in actual)
    problems = [
        f"missing rule {rule[0]!r} in policy {policy}" for k, rule in expected if not copies[k]
    ]
    said: set[Key] = set()
    for key, rule, rule_id in actual:
        if key not in want:
            problems.append(f"unexpected rule {rule[0]!r} [{rule_id}] in policy {policy}")
        elif key not in said:
            said.add(key)
            if copies[key] > 1:
                problems.append(_duplicates(f"rule {rule[0]!r} in policy {policy}", copies[key]))
            elif rule != want[key]:
                problems.append(f"rule {rule[0]!r} in policy {policy} {_unlike(rule, want[key])}")
    kept = [key for key, _ in expected if copies[key]]
    seen = list(dict.fromkeys(key for key, _, _ in actual if key in want))
    if kept != seen:
        problems.append(
            f"the rules of policy {policy} are out of order: expected "
            f"{', '.join(want[k][0] for k in kept)}; found {', '.join(want[k][0] for k in seen)}"
        )
    return problems


def _unlike(rule: Content, want: Content) -> str:
    if rule[2] != want[2]:
        return f"has action {rule[2]}, expected {want[2]}"
    if rule[1] != want[1]:
        return f"has selector {rule[1]}, expected {want[1]}"
    return "has a different note than expected"


def _duplicates(what: str, count: int) -> str:
    return (
        f"{count} copies of {what}: another writer (a second apply?) made the same change at "
        "the same time, or a lost create committed late"
    )


def _resolution_differences(plan: PolicyPlan, before: Snapshot, after: Snapshot) -> list[str]:
    want = expected_resolutions(plan, before)
    old = before.resolution_uuids()
    have: dict[Key, list[LiveResolution]] = {}
    for item in after.resolutions:
        if item.uuid:
            key = ("uuid", item.uuid) if item.uuid in old else ("new", item.selector.text)
            have.setdefault(key, []).append(item)
    problems: list[str] = []
    for key in sorted(set(want) | set(have)):
        found = have.get(key, [])
        label = f"resolution {found[0].selector.describe() if found else want[key][0]}"
        if key not in want:
            problems.extend(f"unexpected {label} [{r.uuid}]" for r in found)
        elif not found:
            problems.append(f"missing {label}")
        elif len(found) > 1:
            problems.append(_duplicates(label, len(found)))
        elif _resolution(found[0]) != want[key]:
            problems.append(f"{label} has a different reason or comment than expected")
    return problems


# --- whether one change holds ---------------------------------------------------------------


def holds(
    change: PolicyChange,
    before: Snapshot,
    after: Snapshot,
    refs: Mapping[str, str] | None = None,
) -> tuple[bool, Item | None]:
    """Whether the org, as listed in ``after``, holds ``change``; and the item it wrote.
    ``refs``: the ids of the policies the apply created (``created_ids``)."""
    known = refs if refs is not None else created_ids_of(change, before, after)
    known = {**_default_moved(before, after), **known}
    if isinstance(change, ResolutionChange):
        return _resolution_holds(change, before, after)
    if isinstance(change, PolicyObjectChange):
        return _policy_holds(change, after, known)
    if created_policy_name(change.policy_id) is not None and change.policy_id not in known:
        return (False, None)  # its policy was never created: nor was it
    if change.policy_id in known:
        change = dataclasses.replace(change, policy_id=known[change.policy_id])
    rules = list(after.rules.get(change.policy_id, ()))
    by_id = {r.id: r for r in rules if r.id}
    if change.action == "create":
        old = before.rule_ids()
        new = [r for r in rules if r.id and r.id not in old and r.name == change.name]
        return (bool(new), new[0] if new else None)
    assert change.existing is not None
    rule = by_id.get(change.existing.id)
    if change.action == "delete":
        return (rule is None, None)
    if rule is None:
        return (False, None)
    if change.action == "update":
        assert change.new is not None
        return (_live(rule) == _desired(change.new), rule)
    return (_placed(change, rule, rules, before.rule_ids()), rule)


def _default_moved(before: Snapshot, after: Snapshot) -> dict[str, str]:
    was = next((p.id for p in before.policies if p.is_default), None)
    now = next((p.id for p in after.policies if p.is_default), None)
    return {was: now} if was is not None and now is not None and was != now else {}


def created_ids_of(change: PolicyChange, before: Snapshot, after: Snapshot) -> dict[str, str]:
    """``created_ids`` for one change: the new policy of its policy's name, if any."""
    name = created_policy_name(change.policy_id) if isinstance(change, RuleChange) else None
    if isinstance(change, PolicyObjectChange) and change.action == "create":
        name = change.name
    old = {p.id for p in before.policies}
    found = [p.id for p in after.policies if p.id not in old and p.name == name]
    return {new_policy_ref(name): found[0]} if name is not None and found else {}


def _policy_holds(
    change: PolicyObjectChange, after: Snapshot, refs: Mapping[str, str]
) -> tuple[bool, Item | None]:
    by_id = {p.id: p for p in after.policies}
    live = by_id.get(refs.get(change.policy_id, change.policy_id))
    if change.action == "delete":
        return (live is None, None)
    if live is None:
        return (False, None)
    return (change.action == "create" or live_policy(live) == wanted_policy(change), live)


def _placed(change: RuleChange, rule: LiveRule, rules: list[LiveRule], old: frozenset[str]) -> bool:
    """Whether a moved rule stands where its placement put it."""
    where = change.placement
    keys = [k for k, _, _ in _actual(rules, old)]
    at = keys.index(("id", rule.id))
    if where is None or where.position is not None:
        last = len(keys) - 1
        return at == (0 if where is None or where.position == POSITION_FIRST else last)
    name = where.after if where.after is not None else where.before
    anchor = _anchor(name or "", where.anchor_id)
    if anchor not in keys:
        return False
    return keys.index(anchor) == (at - 1 if where.after is not None else at + 1)


def _resolution_holds(
    change: ResolutionChange, before: Snapshot, after: Snapshot
) -> tuple[bool, Item | None]:
    uuids: Mapping[str, LiveResolution] = {r.uuid: r for r in after.resolutions if r.uuid}
    old = before.resolution_uuids()
    new = [r for u, r in uuids.items() if u not in old and r.selector == change.selector]
    created = new[0] if new else None
    gone = change.existing is None or change.existing.uuid not in uuids
    if change.action == "create":
        return (created is not None, created)
    if change.action == "delete":
        return (gone, None)
    return (created is not None and gone, created)
