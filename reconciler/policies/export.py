"""An org's live Alert Policies state -> what a native rule file holds, and what it cannot hold.

``read_native`` lists the org (its policies, each policy's rules in rank order, its resolutions
and, when a policy governs repositories, the repository listing) and ``native_state`` turns the
listing into desired values: ``DesiredPolicy`` (baseline, human description, repository slugs),
``DesiredRule`` (human note, ``policy`` by name) and ``DesiredResolution`` (human comment), the
provenance trailers stripped. Each value is checked as ``validate`` would check it in a file, so
what is written always validates; what the files cannot hold is set aside as ``LeftOut`` with
its reason: a selector or note the checks refuse, a second rule of one name in a policy, a
second policy of one name, a repository id the listing does not know (or a slug two repositories
share). A policy left out takes its rules with it: the files could not name it.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from typing import Final

from reconciler.errors import ApiError
from reconciler.policies.client import PoliciesClient
from reconciler.policies.migrate import Migration, resolution_fields, rule_fields
from reconciler.rules.ruleset import OrgRules
from reconciler.vocab.policies import checks
from reconciler.vocab.policies.model import (
    DesiredPolicy,
    DesiredResolution,
    DesiredRule,
    LivePolicy,
    LiveRepository,
    LiveResolution,
    LiveRule,
)
from reconciler.vocab.policies.selectors import Problem
from reconciler.vocab.policies.wire import BASELINE_NONE, DEFAULT_POLICY_ID

# Answers that mean "this token may not read it" (as for the migration status in ``wiring``).
UNREADABLE: Final = (403, 404)


@dataclass(frozen=True)
class LeftOut:
    """A live item the files cannot hold: what it is (``rule 'x' of policy 'y'``) and why."""

    what: str
    reason: str

    def __str__(self) -> str:
        return f"{self.what}: {self.reason}"


@dataclass
class NativeState:
    """What a native rule file writes, in evaluation order, and what was left out."""

    policies: list[DesiredPolicy] = field(default_factory=list)
    rules: list[DesiredRule] = field(default_factory=list)
    resolutions: list[DesiredResolution] = field(default_factory=list)
    left_out: list[LeftOut] = field(default_factory=list)
    names: dict[str, str] = field(default_factory=dict)  # live policy id -> its name in files


def read_native(
    client: PoliciesClient, org: str, *, default_rules: bool = True, resolutions: bool = True
) -> NativeState:
    """List ``org``'s Alert Policies state and convert it (``native_state``).

    ``default_rules`` / ``resolutions`` False leave the default policy's rules or the
    resolutions unread (``migrate`` writes its translated legacy rules there instead).
    """
    policies = client.list_policies(org)
    rules = {
        p.id: client.list_rules(org, p.id) for p in policies if default_rules or not p.is_default
    }
    live_resolutions = client.list_resolutions(org) if resolutions else []
    # The listing costs a call per 100 repositories: read it only when a policy names one.
    governed = any(p.repository_ids for p in policies if not p.is_default)
    repositories = client.list_repositories(org) if governed else []
    return native_state(policies, rules, live_resolutions, repositories)


def native_state(
    policies: Sequence[LivePolicy],
    rules: Mapping[str, Sequence[LiveRule]],
    resolutions: Sequence[LiveResolution],
    repositories: Sequence[LiveRepository],
) -> NativeState:
    """The live listing as desired values: the default policy first, then the API's order;
    each policy's rules in rank order, then the resolutions in the listing's order."""
    state = NativeState()
    slugs = _Slugs(repositories)
    names: set[str] = set()
    for policy in sorted(policies, key=lambda p: not p.is_default):  # stable
        name = _declare(policy, names, slugs, state)
        if name is not None:
            names.add(name)
            state.names[policy.id] = name
            state.rules += _rules(name, rules.get(policy.id, ()), state)
    state.resolutions = _resolutions(resolutions, state)
    return state


def policy_fields(policy: DesiredPolicy) -> dict[str, object]:
    """A policy as a rule file writes it (the keys of ``policies`` entries)."""
    fields: dict[str, object] = {
        "name": policy.name,
        "baseline": policy.baseline or BASELINE_NONE,
    }
    if policy.description:
        fields["description"] = policy.description
    if policy.repositories:
        fields["repositories"] = list(policy.repositories)
    return fields


def _errors(problems: Sequence[Problem]) -> str:
    return "; ".join(p.message for p in problems if p.severity == "error")


def _declare(policy: LivePolicy, names: set[str], slugs: _Slugs, state: NativeState) -> str | None:
    """Add the policy's declaration to ``state``: its name in the files (``default`` for the
    default policy), or None when it is left out, its rules with it."""
    if policy.is_default:
        declared = DesiredPolicy(DEFAULT_POLICY_ID, policy.baseline, policy.human_description)
        problems = _errors(checks.check_policy(policy_fields(declared)))
        if problems:  # its rules need no declaration: they are kept
            state.left_out.append(LeftOut("the default policy's settings", problems))
        else:
            state.policies.append(declared)
        return DEFAULT_POLICY_ID
    what = f"policy {policy.name!r} (id {policy.id})"
    with_rules = "; its rules are left out with it"
    if policy.name is None:
        why = "it has no name"
    elif policy.name == DEFAULT_POLICY_ID:
        why = "its name is the default policy's, which the files cannot tell apart"
    elif policy.name in names:
        why = "another policy has its name, which identifies a policy in the files"
    else:
        declared = DesiredPolicy(policy.name, policy.baseline, policy.human_description)
        why = _errors(checks.check_policy(policy_fields(declared)))
    if why:
        state.left_out.append(LeftOut(what, why + with_rules))
        return None
    assert policy.name is not None
    declared = DesiredPolicy(
        policy.name,
        policy.baseline,
        policy.human_description,
        slugs.of(policy, policy.name, state),
    )
    state.policies.append(declared)
    return policy.name


class _Slugs:
    """Repository ids -> the slugs the files name them by, each slug given to one policy."""

    def __init__(self, repositories: Sequence[LiveRepository]) -> None:
        self.by_id = {r.id: r.slug for r in repositories}
        self.shared = {s for s, n in Counter(r.slug for r in repositories).items() if n > 1}
        self.taken: dict[str, str] = {}

    def of(self, policy: LivePolicy, name: str, state: NativeState) -> tuple[str, ...]:
        found: list[str] = []
        for repo_id in policy.repository_ids:
            slug = self.by_id.get(repo_id)
            if slug is None:
                why = "the repository listing does not have it"
            elif not slug.strip() or slug != slug.strip():
                why = f"the repository listing gives it the slug {slug!r}, which files cannot name"
            elif slug in self.shared:
                why = f"its slug {slug!r} is shared by another repository of the org"
            elif slug in self.taken or slug in found:
                why = f"its slug {slug!r} is listed by policy {self.taken.get(slug, name)!r} too"
            else:
                found.append(slug)
                continue
            state.left_out.append(LeftOut(f"repository id {repo_id} of policy {name!r}", why))
        self.taken.update(dict.fromkeys(found, name))
        return tuple(found)


def _rules(policy: str, live: Sequence[LiveRule], state: NativeState) -> list[DesiredRule]:
    """The policy's rules in rank order, as the files state them (``policy`` by name)."""
    kept: dict[str, LiveRule] = {}
    found: list[DesiredRule] = []
    for rule in live:
        what = f"rule {rule.name!r} (id {rule.id}) of policy {policy!r}"
        first = kept.get(rule.name)
        if first is not None:
            why = f"rule id {first.id} of the policy has its name, which identifies a rule"
            state.left_out.append(LeftOut(what, why))
            continue
        kept[rule.name] = rule  # left out or not: a second rule of its name is ambiguous
        desired = DesiredRule(
            name=rule.name,
            selector=rule.selector,
            action=rule.action,
            note=rule.human_note,
            policy=policy,
        )
        why = _errors(checks.check_rule(rule_fields(desired)))
        if why:
            state.left_out.append(LeftOut(what, why))
            continue
        found.append(desired)
    return found


def _resolutions(live: Sequence[LiveResolution], state: NativeState) -> list[DesiredResolution]:
    kept: dict[object, LiveResolution] = {}
    found: list[DesiredResolution] = []
    for res in live:
        what = f"resolution {res.uuid} ({res.selector.text})"
        first = kept.get(res.selector)
        if first is not None:
            why = f"resolution {first.uuid} has its vigil_selector, which identifies a resolution"
            state.left_out.append(LeftOut(what, why))
            continue
        desired = DesiredResolution(
            selector=res.selector,
            reason=res.reason,
            reason_text=(res.reason_text or "").strip() or None,
            comment=res.human_comment,
        )
        why = _errors(checks.check_resolution(resolution_fields(desired)))
        if why:
            state.left_out.append(LeftOut(what, why))
            continue
        kept[res.selector] = res
        found.append(desired)
    return found


def adopt_policies(
    done: Migration, client: PoliciesClient, org: str, files: OrgRules | None
) -> None:
    """Give a migration the org's policies: the files' declaration when they have one, else
    the live policies (the default included) and the live rules of each named policy, after
    the translated legacy rules (which go to the default policy).

    A files' rule that names a live policy by id is made to name it by name (a file that
    declares policies names them so); the live rules of a policy the files' rules already
    state are not added (the files speak for that policy).
    """
    if files is not None and files.declares_policies:
        done.policies, done.declares = list(files.policies), True
        done.policies_source = "the rule files' policies:"
        return
    try:
        live = read_native(client, org, default_rules=False, resolutions=False)
    except ApiError as exc:
        # A token made for translate alone may not list policies or repositories: the file
        # then declares none, as before policies were code, and the summary says why.
        if exc.status not in UNREADABLE:
            raise
        done.policies_unavailable = str(exc)
        return
    done.policies, done.declares = live.policies, True
    done.policies_source = "the org's live policies"
    done.live_left_out = [str(item) for item in live.left_out]
    done.rules = [(legacy, _by_name(rule, live.names)) for legacy, rule in done.rules]
    stated = {rule.policy for _, rule in done.rules}
    done.rules += [(None, r) for r in live.rules if r.policy not in stated]


def _by_name(rule: DesiredRule, names: Mapping[str, str]) -> DesiredRule:
    name = names.get(rule.policy)
    return rule if name is None or rule.policy == DEFAULT_POLICY_ID else replace(rule, policy=name)
