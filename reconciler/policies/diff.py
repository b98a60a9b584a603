"""diff(desired, live) -> a PolicyPlan: rule creates, updates, deletes and moves; resolution
creates, deletes and replaces.

Rules, per policy. Identity is the rule ``name`` (the files keep names unique per policy; the
server may not: docs/alert-policies-design.md):

- in the files only                               -> create, placed by ``order.plan_order``
- both; selector, action or human note differ      -> update (the id is kept)
- both; out of the files' relative order           -> move (fewest moves; see ``order``)
- live only, or another live rule of the same name -> delete, if the org prunes or the note
  carries our trailer; otherwise left alone, never moved, never an anchor. Of several live
  rules with one name, the files' rule matches ours first, then the oldest (``keepers``)
- live without an id                               -> left alone, and reported in ``notices``

Resolutions, org-wide: see ``resolutions`` (a change is a ``replace``; the API cannot update).

Safety: updates, deletes and replaces count against the threshold; moves do not (they change
no rule's meaning on their own, and a reordered file would otherwise need --force).

The plan lists changes in the order they are applied: per policy the creates and moves in file
order (each placement needs its neighbour in place), then updates, then deletes; then the
resolutions. Same inputs, same plan.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
from collections.abc import Callable, Collection, Iterable, Mapping, Sequence
from typing import Final

from reconciler import notes
from reconciler.errors import ConfigError, Diagnostic, Location
from reconciler.policies.changes import EXPIRED, Placement, RuleChange
from reconciler.policies.objects import PolicyScope, diff_policies, left_alone_notice
from reconciler.policies.order import plan_order
from reconciler.policies.plan import PolicyPlan
from reconciler.policies.resolutions import diff_resolutions
from reconciler.policies.trailer import TrailerFn, fit_note
from reconciler.rules.safety import SafetyPolicy
from reconciler.vocab.policies.model import (
    DesiredPolicy,
    DesiredResolution,
    DesiredRule,
    LivePolicy,
    LiveRepository,
    LiveResolution,
    LiveRule,
    rule_seal_parts,
    timestamp_key,
)
from reconciler.vocab.policies.wire import DEFAULT_POLICY_ID, PER_PAGE_MAX, RULE_NOTE_MAX

# Keys for order.plan_order: a live rule by its index in the listing, a new rule by its name.
_Key = tuple[str, int | str]
_NOWHERE: Final = Location("<unknown>", 0, 0)


def resolve_policies(
    rules: Sequence[DesiredRule], policies: Sequence[LivePolicy]
) -> dict[str, LivePolicy]:
    """Map each ``policy:`` the files name (``default``, a name or an id) to a live policy.

    A name the org does not have is a ``ConfigError`` at each rule that uses it: this tool does
    not create policies. So is a name that several live policies share: which one is meant is
    not guessed. Two rules of one name that reach the same policy by two spellings
    (``default`` and its id, a name and its id) are refused too: names are the identity.
    """
    default = next((p for p in policies if p.is_default), None)
    named: dict[str, list[LivePolicy]] = {}
    for p in policies:
        if p.name is not None:
            named.setdefault(p.name, []).append(p)
    by_id = {p.id: p for p in policies}
    found: dict[str, LivePolicy] = {}
    problems: list[Diagnostic] = []
    for rule in rules:
        ref = rule.policy
        same_name = named.get(ref, [])
        if ref != DEFAULT_POLICY_ID and len(same_name) > 1 and ref not in by_id:
            ids = ", ".join(p.id for p in same_name)
            message = (
                f"policy {ref!r} is ambiguous: {len(same_name)} policies of the org have that "
                f"name (ids {ids}); name the policy by its id, or rename one in the dashboard"
            )
            problems.append(Diagnostic(rule.location or _NOWHERE, message))
            continue
        policy = (
            (default if ref == DEFAULT_POLICY_ID else None)
            or (same_name[0] if same_name else None)
            or by_id.get(ref)
        )
        if policy is None:
            message = f"policy {ref!r} does not exist in the org (known: {_names(policies)})"
            problems.append(Diagnostic(rule.location or _NOWHERE, message))
        else:
            found[ref] = policy
    problems += _one_name_two_spellings(rules, found)
    if problems:
        raise ConfigError(problems)
    return found


def _expired_rules(
    rules: Sequence[DesiredRule], policies: Sequence[LivePolicy]
) -> set[tuple[str, str]]:
    """(policy id, name) of each expired rule; one naming no single live policy is gone already."""
    found: set[tuple[str, str]] = set()
    for rule in rules:
        matches = [
            p
            for p in policies
            if (rule.policy == DEFAULT_POLICY_ID and p.is_default) or rule.policy in (p.id, p.name)
        ]
        if len(matches) == 1:
            found.add((matches[0].id, rule.name))
    return found


def _one_name_two_spellings(
    rules: Sequence[DesiredRule], found: Mapping[str, LivePolicy]
) -> list[Diagnostic]:
    """A rule whose name an earlier rule already uses in the same live policy."""
    first: dict[tuple[str, str], DesiredRule] = {}
    problems: list[Diagnostic] = []
    for rule in rules:
        policy = found.get(rule.policy)
        if policy is None:
            continue
        earlier = first.setdefault((policy.id, rule.name), rule)
        if earlier is not rule:
            problems.append(
                Diagnostic(
                    rule.location or _NOWHERE,
                    f"rule name {rule.name!r} is used twice in policy {policy.id}: here as "
                    f"policy: {rule.policy}, and at {earlier.location or _NOWHERE} as policy: "
                    f"{earlier.policy}; names must be unique per policy",
                )
            )
    return problems


def _names(policies: Iterable[LivePolicy]) -> str:
    return ", ".join(DEFAULT_POLICY_ID if p.is_default else repr(p.name) for p in policies)


def diff_rules(
    org: str,
    policy_id: str,
    desired: Sequence[DesiredRule],
    live: Sequence[LiveRule],
    *,
    prune: bool = True,
    trailer: TrailerFn | None = None,
    expired: Collection[str] = (),
) -> tuple[list[RuleChange], int, list[str]]:
    """One policy: (changes in apply order, unchanged count, notices).

    ``desired`` is in file order and ``live`` in evaluation order; ``expired`` names the rules
    of the policy the files declared until they expired.
    """
    if len({rule.name for rule in desired}) != len(desired):
        raise ValueError("desired rule names must be unique per policy; run validate first")
    notices = [
        f"rule {r.name!r} of policy {policy_id} has no id: it can be neither changed nor deleted"
        for r in live
        if not r.addressable
    ]
    keeper = keepers(live)

    def api_note(rule: DesiredRule) -> str:
        seal = notes.seal(org, rule_seal_parts(rule.name, rule.selector))
        line = trailer(rule.location, seal) if trailer else None
        return fit_note(rule.note, line, RULE_NOTE_MAX)

    updates = [
        RuleChange(
            "update",
            org,
            policy_id,
            live[keeper[rule.name]],
            rule,
            api_note(rule),
            from_position=keeper[rule.name] + 1,
            to_position=to,
        )
        for to, rule in enumerate(desired, start=1)
        if rule.name in keeper and _differs(live[keeper[rule.name]], rule)
    ]
    updated = {c.name for c in updates}
    placed = _placements(org, policy_id, desired, live, keeper, api_note, updated)
    touched = {c.name for c in placed} | updated
    unchanged = sum(1 for rule in desired if rule.name in keeper and rule.name not in touched)
    deletes = _deletes(org, policy_id, desired, live, keeper, prune, expired)
    return [*placed, *updates, *deletes], unchanged, notices


def keepers(live: Sequence[LiveRule]) -> dict[str, int]:
    """Name -> index in ``live`` of the rule a file's rule of that name matches.

    Among live rules sharing a name: ours (trailer) before others, then the oldest, then the
    smallest id. Never the first by position: a move would then change which rule is matched,
    and a plan applied would not be a plan converged.
    """
    best: dict[str, tuple[tuple[bool, tuple[int, dt.datetime, str], str], int]] = {}
    for index, row in enumerate(live):
        if not row.addressable:
            continue
        key = (not row.managed, timestamp_key(row.created_at), row.id)
        if row.name not in best or key < best[row.name][0]:
            best[row.name] = (key, index)
    return {name: index for name, (_, index) in best.items()}


def _deletes(
    org: str,
    policy_id: str,
    desired: Sequence[DesiredRule],
    live: Sequence[LiveRule],
    keeper: Mapping[str, int],
    prune: bool,
    expired: Collection[str],
) -> list[RuleChange]:
    """Live rules the files do not keep, that this tool may delete, in evaluation order.

    A rule the files declared until it expired is deleted whoever made it: an exception must
    not outlive its date because it was first clicked in the dashboard.
    """
    wanted = {rule.name for rule in desired}
    deletes: list[RuleChange] = []
    for index, row in enumerate(live):
        kept = row.name in wanted and keeper.get(row.name) == index
        if kept or not row.addressable:
            continue
        if row.name in wanted:
            reason = "duplicate"
        else:
            reason = EXPIRED if row.name in expired else "not in files"
        if not (prune or row.managed or reason == EXPIRED):
            continue
        deletes.append(
            RuleChange("delete", org, policy_id, row, None, reason=reason, from_position=index + 1)
        )
    return deletes


def _placements(
    org: str,
    policy_id: str,
    desired: Sequence[DesiredRule],
    live: Sequence[LiveRule],
    keeper: Mapping[str, int],
    api_note: Callable[[DesiredRule], str],
    updated: Collection[str],
) -> list[RuleChange]:
    """The creates and moves, in the order they must be sent, neighbours named by rule name.

    Of equally few moves, those of rules in ``updated`` are preferred: one PUT does both.
    """
    keys: list[_Key] = [
        ("live", keeper[rule.name]) if rule.name in keeper else ("new", rule.name)
        for rule in desired
    ]
    position = {key: i for i, key in enumerate(keys)}
    placed: list[RuleChange] = []
    rather_move = [key for key, rule in zip(keys, desired, strict=True) if rule.name in updated]
    for step in plan_order([("live", i) for i in range(len(live))], keys, rather_move=rather_move):
        i = position[step.key]
        rule = desired[i]
        anchor = step.after or step.before
        placement = Placement(
            desired[position[step.after]].name if step.after else None,
            desired[position[step.before]].name if step.before else None,
            step.position,
            live[int(anchor[1])].id if anchor and anchor[0] == "live" else None,
        )
        if step.kind == "create":
            placed.append(
                RuleChange(
                    "create",
                    org,
                    policy_id,
                    None,
                    rule,
                    api_note(rule),
                    to_position=i + 1,
                    placement=placement,
                )
            )
        else:
            at = int(step.key[1])
            placed.append(
                RuleChange(
                    "move",
                    org,
                    policy_id,
                    live[at],
                    rule,
                    reason="order",
                    from_position=at + 1,
                    to_position=i + 1,
                    placement=placement,
                )
            )
    return placed


def _differs(live: LiveRule, rule: DesiredRule) -> bool:
    return (
        live.selector != rule.selector
        or live.action != rule.action
        or live.human_note != rule.note.strip()
    )


def fingerprint(
    policies: Iterable[LivePolicy],
    rules: Mapping[str, Sequence[LiveRule]],
    resolutions: Iterable[LiveResolution],
    repositories: Iterable[LiveRepository] | None = None,
) -> str:
    """A digest of the live state a plan was made against: everything a change's meaning
    depends on. The policies (ids, names, which is the default, where they apply, their
    descriptions), so that a rename or a swap of names makes a saved plan stale; each policy's
    rules in order, with their ranks; the resolutions; and, for an org whose files declare
    policies, the repository listing's slugs and ids (what a slug in the files means)."""
    rows: list[object] = [
        [
            [
                p.id,
                p.name,
                p.is_default,
                p.apply_method,
                p.baseline,
                sorted(p.repository_ids),
                p.description,
            ]
            for p in policies
        ]
    ]
    rows += [
        [
            policy,
            [[r.id, r.name, r.selector.text, r.action, r.note, r.rank, r.updated_at] for r in live],
        ]
        for policy, live in sorted(rules.items())
    ]
    rows.append(
        sorted(
            [r.uuid, r.selector.text, r.reason, r.reason_text, r.comment, r.updated_at]
            for r in resolutions
        )
    )
    if repositories is not None:
        rows.append(sorted([r.id, r.slug] for r in repositories))
    digest = hashlib.sha256(json.dumps(rows, separators=(",", ":")).encode())
    return "sha256:" + digest.hexdigest()


def rule_scope(
    rules: Sequence[DesiredRule],
    expired: Sequence[DesiredRule],
    policies: Sequence[LivePolicy],
    live_rules: Mapping[str, Sequence[LiveRule]],
) -> PolicyScope:
    """The scope of an org whose files do not declare policies: the default policy and every
    policy a rule names (expired ones included, so that their rules are deleted). Every other
    policy is left alone, rules included, and one notice names them."""
    where = resolve_policies(rules, policies)
    named = {p.id for p in where.values()} | {pid for pid, _ in _expired_rules(expired, policies)}
    reconciled = tuple(p.id for p in policies if p.is_default or p.id in named)
    left = [p for p in policies if p.id not in reconciled]
    why = "the files do not declare the org's policies and no rule names them"
    return PolicyScope(
        changes=(),
        targets={ref: p.id for ref, p in where.items()},
        reconciled=reconciled,
        notices=tuple(left_alone_notice(left, live_rules, why)),
        counted=0,
    )


def _declared_targets(rules: Sequence[DesiredRule], scope: PolicyScope) -> None:
    """Refuse a rule whose ``policy:`` is neither ``default`` nor a declared policy (validate
    says so first; a plan made from other inputs must not guess)."""
    problems = [
        Diagnostic(
            rule.location or _NOWHERE,
            f"policy {rule.policy!r} is not declared in the org's policies (declared: "
            f"{', '.join(repr(name) for name in scope.targets)}); an org that declares its "
            "policies names them by name",
        )
        for rule in rules
        if rule.policy not in scope.targets
    ]
    if problems:
        raise ConfigError(problems)


def diff(
    org: str,
    *,
    rules: Sequence[DesiredRule],
    resolutions: Sequence[DesiredResolution],
    policies: Sequence[LivePolicy],
    live_rules: Mapping[str, Sequence[LiveRule]],
    live_resolutions: Sequence[LiveResolution],
    prune: bool = True,
    safety: SafetyPolicy | None = None,
    trailer: TrailerFn | None = None,
    expired: Sequence[DesiredRule | DesiredResolution] = (),
    declared: Sequence[DesiredPolicy] | None = None,
    repositories: Sequence[LiveRepository] | None = None,
) -> PolicyPlan:
    """Compare an org's files with its live policies. ``live_rules`` is keyed by policy id and
    holds every policy of ``policies`` (in the API's order: the default first).

    ``declared`` are the files' ``policies:`` (None when the org does not declare them: then
    no policy object changes, see ``rule_scope``); ``repositories`` the org's repository
    listing, read only for an org that declares policies.

    ``expired`` are the entries past their date: each counts as removed from the files, and
    the live rules (by name, in their policy) and resolutions (by selector) it declared are
    deleted even under ``prune: false``, whoever made them, as on the triage target.
    """
    gone = [e for e in expired if isinstance(e, DesiredRule)]
    if declared is None:
        scope = rule_scope(rules, gone, policies, live_rules)
    else:
        scope = diff_policies(
            org, declared, policies, live_rules, repositories or (), prune=prune, trailer=trailer
        )
        _declared_targets(rules, scope)
    gone_rules = _expired_rules(gone, policies)
    gone_resolutions = {e.selector.text for e in expired if isinstance(e, DesiredResolution)}
    changes: list[RuleChange] = []
    unchanged = 0
    notices: list[str] = []
    for policy_id in scope.reconciled:
        mine = [r for r in rules if scope.targets[r.policy] == policy_id]
        found, same, notes_ = diff_rules(
            org,
            policy_id,
            mine,
            live_rules.get(policy_id, ()),
            prune=prune,
            trailer=trailer,
            expired={name for pid, name in gone_rules if pid == policy_id},
        )
        changes += found
        unchanged += same
        notices += notes_
    res_changes, res_unchanged = diff_resolutions(
        org, resolutions, live_resolutions, prune=prune, trailer=trailer, expired=gone_resolutions
    )
    deleted = {c.policy_id for c in scope.changes if c.action == "delete"}
    existing = sum(
        1
        for policy_id in (*scope.reconciled, *deleted)
        for r in live_rules.get(policy_id, ())
        if r.addressable
    )
    existing += sum(1 for r in live_resolutions if r.addressable) + scope.counted
    return PolicyPlan(
        org=org,
        rule_changes=tuple(changes),
        resolution_changes=tuple(res_changes),
        unchanged=unchanged + res_unchanged,
        existing=existing,
        fingerprint=fingerprint(policies, live_rules, live_resolutions, repositories),
        prune=prune,
        safety=safety or SafetyPolicy(),
        notices=(*scope.notices, *notices),
        policy_changes=scope.changes,
        declares_policies=declared is not None,
        reads=snapshot_reads(policies, live_resolutions, repositories),
    )


def snapshot_reads(
    policies: Sequence[LivePolicy],
    resolutions: Sequence[LiveResolution],
    repositories: Sequence[LiveRepository] | None,
) -> int:
    """The calls one read of this live state takes (``snapshot.read_snapshot``): the policy
    listing, each policy's rules (not paged), the resolution pages, the repository pages."""
    calls = 1 + len(policies) + _pages(len(resolutions))
    return calls + (_pages(len(repositories)) if repositories is not None else 0)


def _pages(items: int) -> int:
    return max(1, -(-items // PER_PAGE_MAX))
