"""The policy objects an org declares (``policies:``) against the live ones: creates, updates,
deletes, and which policies' rules the plan reconciles (its scope).

Identity is the policy's name; ``default`` is the live default policy. For an org whose files
declare policies, that list plus the default policy is the whole set:

- declared and live      -> update, when the baseline, the human description or the set of
                            repository ids differ (``body`` holds only those; never ``name`` or
                            ``repository_ids`` for the default policy)
- declared, not live     -> create; its rules are creates in ``new_policy_ref(name)``
- live, not declared     -> delete when the org prunes or the policy is ours (``managed``); its
                            rules go with it (``takes_rules``), its repositories back to the
                            default policy. Otherwise left alone, rules included (a notice).
- ``default`` not listed -> its object is left as it is; its rules are reconciled

An org whose files do not declare policies changes no policy object: its plan reconciles the
default policy and the policies its rules name, and leaves every other one alone (``scope``).

Slugs become ids through the repository listing. A slug it does not have, a slug two
repositories share and a declared name two live policies share are ``ConfigError`` s at the
slug's or the declaration's FILE:LINE:COL, before anything is sent.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Final

from reconciler import notes
from reconciler.errors import ConfigError, Diagnostic, Location
from reconciler.policies.changes import PolicyObjectChange, new_policy_ref
from reconciler.policies.trailer import TrailerFn, fit_note
from reconciler.vocab.policies.model import (
    DesiredPolicy,
    LivePolicy,
    LiveRepository,
    LiveRule,
    policy_seal_parts,
)
from reconciler.vocab.policies.wire import (
    BASELINE_NONE,
    DEFAULT_POLICY_ID,
    POLICY_DESCRIPTION_MAX,
)

_NOWHERE: Final = Location("<unknown>", 0, 0)
NOT_IN_FILES: Final = "not in files"


@dataclass(frozen=True)
class PolicyScope:
    """What the plan does with the org's policies.

    ``targets`` maps each ``policy:`` a rule may name to the id its rules go to (a live id, or
    ``new_policy_ref(name)``); ``reconciled`` are the policies whose rules are diffed, in apply
    order; ``counted`` the live named policies in scope (for safety).
    """

    changes: tuple[PolicyObjectChange, ...]
    targets: Mapping[str, str]
    reconciled: tuple[str, ...]
    notices: tuple[str, ...]
    counted: int


def rule_count(policy: LivePolicy, live_rules: Mapping[str, Sequence[LiveRule]]) -> str:
    """``'frontend' (3 rules)``: a policy as notices name it."""
    rules = len(live_rules.get(policy.id, ()))
    return f"{policy.name or DEFAULT_POLICY_ID!r} ({rules} rule{'' if rules == 1 else 's'})"


def left_alone_notice(
    left: Sequence[LivePolicy], live_rules: Mapping[str, Sequence[LiveRule]], why: str
) -> list[str]:
    """One notice naming every policy left alone, with its rule count; none when none is."""
    if not left:
        return []
    return [f"left alone: {why}: {', '.join(rule_count(p, live_rules) for p in left)}"]


def live_baseline(policy: LivePolicy) -> str | None:
    """The live baseline, None for the "none" preset however the server spells it."""
    return None if policy.baseline in (None, BASELINE_NONE) else policy.baseline


def _problems(
    declared: Sequence[DesiredPolicy],
    named: Mapping[str, Sequence[LivePolicy]],
    by_slug: Mapping[str, Sequence[LiveRepository]],
) -> list[Diagnostic]:
    """The live checks: unknown or shared slugs, and names two live policies share."""
    problems: list[Diagnostic] = []
    for policy in declared:
        same = named.get(policy.name, ())
        if not policy.is_default and len(same) > 1:
            problems.append(
                Diagnostic(
                    policy.location or _NOWHERE,
                    f"policy {policy.name!r} is ambiguous: {len(same)} live policies of the org "
                    f"have that name (ids {', '.join(p.id for p in same)}); rename or delete one "
                    "in the dashboard",
                )
            )
        for i, slug in enumerate(policy.repositories):
            where = _slug_location(policy, i)
            found = by_slug.get(slug, ())
            if not found:
                problems.append(
                    Diagnostic(
                        where,
                        f"repository {slug!r} of policy {policy.name!r} is not in the org's "
                        "repository listing (archived ones included); check the slug",
                    )
                )
            elif len(found) > 1:
                ids = ", ".join(r.id for r in found)
                problems.append(
                    Diagnostic(
                        where,
                        f"repository slug {slug!r} is shared by {len(found)} repositories of the "
                        f"org (ids {ids}); which one is meant is not guessed",
                    )
                )
    return problems


def _slug_location(policy: DesiredPolicy, index: int) -> Location:
    if index < len(policy.repository_locations):
        return policy.repository_locations[index]
    return policy.location or _NOWHERE


class _Differ:
    """The org's live policies and repositories, ready to compare declarations with."""

    def __init__(
        self,
        org: str,
        repositories: Sequence[LiveRepository],
        trailer: TrailerFn | None,
    ) -> None:
        self.org = org
        self.trailer = trailer
        self.ids = {r.slug: r.id for r in repositories}
        self.slugs = {r.id: r.slug for r in repositories}

    def description(self, policy: DesiredPolicy) -> str:
        """The description to send: the human text and the policy's sealed trailer."""
        seal = notes.seal(self.org, policy_seal_parts(policy.name))
        line = self.trailer(policy.location, seal) if self.trailer else None
        return fit_note(policy.description, line, POLICY_DESCRIPTION_MAX)

    def slug(self, repository_id: str) -> str:
        """A live repository id as people know it: its slug, or the id when unlisted."""
        return self.slugs.get(repository_id, repository_id)

    def create(self, policy: DesiredPolicy) -> PolicyObjectChange:
        body = {
            "name": policy.name,
            "description": self.description(policy),
            "baseline": policy.baseline,
            "repository_ids": [self.ids[s] for s in policy.repositories],
        }
        return PolicyObjectChange("create", self.org, None, policy, body, added=policy.repositories)

    def update(self, live: LivePolicy, policy: DesiredPolicy) -> PolicyObjectChange | None:
        """The update that makes ``live`` what ``policy`` declares; None when they agree."""
        body: dict[str, Any] = {}
        if live_baseline(live) != policy.baseline:
            body["baseline"] = policy.baseline
        if live.human_description != policy.description.strip():
            body["description"] = self.description(policy)
        added: tuple[str, ...] = ()
        removed: tuple[str, ...] = ()
        if not policy.is_default:  # the default policy's scope is implicit: never sent
            wanted = [self.ids[s] for s in policy.repositories]
            if set(wanted) != set(live.repository_ids):
                body["repository_ids"] = wanted
                held = set(live.repository_ids)
                added = tuple(s for s in policy.repositories if self.ids[s] not in held)
                removed = tuple(self.slug(r) for r in live.repository_ids if r not in wanted)
        if not body:
            return None
        return PolicyObjectChange(
            "update", self.org, live, policy, body, added=added, removed=removed
        )

    def delete(self, live: LivePolicy, takes_rules: int) -> PolicyObjectChange:
        removed = tuple(self.slug(r) for r in live.repository_ids)
        return PolicyObjectChange(
            "delete",
            self.org,
            live,
            None,
            removed=removed,
            takes_rules=takes_rules,
            reason=NOT_IN_FILES,
        )


def apply_order(changes: Iterable[PolicyObjectChange]) -> tuple[PolicyObjectChange, ...]:
    """Updates that add no repository, then creates, then updates that add, then deletes.

    A repository moved between two named policies thus leaves the one it leaves before the
    other takes it (never two labels at once), and a delete comes after every other write.
    """
    rank = {"update": 0, "create": 1, "delete": 3}

    def key(change: PolicyObjectChange) -> int:
        return 2 if change.action == "update" and change.added else rank[change.action]

    return tuple(sorted(changes, key=key))  # stable: file order, then live order, within each


def diff_policies(
    org: str,
    declared: Sequence[DesiredPolicy],
    policies: Sequence[LivePolicy],
    live_rules: Mapping[str, Sequence[LiveRule]],
    repositories: Sequence[LiveRepository],
    *,
    prune: bool = True,
    trailer: TrailerFn | None = None,
) -> PolicyScope:
    """The scope of an org whose files declare policies (``declared``, in file order)."""
    default = next((p for p in policies if p.is_default), None)
    named: dict[str, list[LivePolicy]] = {}
    for p in policies:
        if p.name is not None and not p.is_default:
            named.setdefault(p.name, []).append(p)
    by_slug: dict[str, list[LiveRepository]] = {}
    for repository in repositories:
        by_slug.setdefault(repository.slug, []).append(repository)
    problems = _problems(declared, named, by_slug)
    if problems:
        raise ConfigError(problems)
    differ = _Differ(org, repositories, trailer)
    default_id = default.id if default else DEFAULT_POLICY_ID
    targets: dict[str, str] = {DEFAULT_POLICY_ID: default_id}
    changes: list[PolicyObjectChange] = []
    for policy in declared:
        live = default if policy.is_default else next(iter(named.get(policy.name, ())), None)
        if policy.is_default and live is None:
            continue  # no live default policy to compare with: nothing to change
        found = differ.create(policy) if live is None else differ.update(live, policy)
        if not policy.is_default:
            targets[policy.name] = live.id if live else new_policy_ref(policy.name)
        if found is not None:
            changes.append(found)
    names = {p.name for p in declared}
    left: list[LivePolicy] = []
    for live in (p for p in policies if not p.is_default and p.name not in names):
        if prune or live.managed:
            changes.append(differ.delete(live, len(live_rules.get(live.id, ()))))
        else:
            left.append(live)
    reconciled = [p.id for p in policies if p.is_default or p.name in names]
    reconciled += [c.policy_id for c in changes if c.action == "create"]
    why = (
        "the files do not declare them, socket-triage did not create them and the org does "
        "not prune (prune: false)"
    )
    return PolicyScope(
        changes=apply_order(changes),
        targets=targets,
        reconciled=tuple(reconciled),
        notices=tuple(left_alone_notice(left, live_rules, why)),
        counted=sum(1 for p in policies if not p.is_default and p not in left),
    )


def repository_moves(changes: Iterable[PolicyObjectChange]) -> list[dict[str, str]]:
    """``{"repository", "from", "to"}`` for each repository whose governing policy changes.

    Derived from the changes' ``added`` and ``removed``: a repository a policy gains came from
    the policy that loses it, or from the default policy; one it loses goes to the policy that
    gains it, or back to the default policy.
    """
    leaves: dict[str, str] = {}
    joins: dict[str, str] = {}
    for change in changes:
        for slug in change.removed:
            leaves.setdefault(slug, change.name)
        for slug in change.added:
            joins.setdefault(slug, change.name)
    moves: list[dict[str, str]] = []
    for slug in sorted({*leaves, *joins}):
        before = leaves.get(slug, DEFAULT_POLICY_ID)
        after = joins.get(slug, DEFAULT_POLICY_ID)
        if before != after:
            moves.append({"repository": slug, "from": before, "to": after})
    return moves
