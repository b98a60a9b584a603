"""One file's ``policies:`` -> ``DesiredPolicy`` values, and the checks across an org's files.

A policy's own fields are checked by ``policies.checks.check_policy`` (name, baseline,
description, repository slugs), each ``Problem`` walked to its FILE:LINE:COL as ``policyfile``
does for rules. What needs every file of the org (``cross_file_problems``): a name declared
twice, a slug two policies list, and a rule naming a policy the org does not declare.

Once one file of an org has a ``policies:`` key (even ``[]``), the org *declares* its policies:
that list, with the default policy, is the whole set (``OrgRules.declares_policies``).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Collection, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Final

from reconciler.errors import Diagnostic, Location
from reconciler.rules.policyfile import At, position
from reconciler.rules.yamlnodes import YList, YMap
from reconciler.vocab.policies import checks
from reconciler.vocab.policies.model import DesiredPolicy, DesiredRule
from reconciler.vocab.policies.wire import BASELINE_NONE, DEFAULT_POLICY_ID

POLICIES_KEY: Final = "policies"


@dataclass
class PolicyDecl:
    """What one file's ``policies:`` contributes: ``declared`` when the key is present."""

    declared: bool = False
    policies: list[DesiredPolicy] = field(default_factory=list)
    diagnostics: list[Diagnostic] = field(default_factory=list)
    # Every name declared, also of policies not built for a problem: a rule naming one is not
    # told that its policy is undeclared on top of the policy's own error.
    names: list[str] = field(default_factory=list)


def read(root: YMap, at: At, faulted: Collection[int]) -> PolicyDecl:
    """Every declared policy of one parsed file, with a diagnostic per problem.

    A policy with a problem is not built (its diagnostic says why); positions in ``faulted``
    were reported already (by the schema or the control-character check).
    """
    found = PolicyDecl(declared=POLICIES_KEY in root)
    entries = root.get(POLICIES_KEY)
    for raw in entries if isinstance(entries, YList) else ():
        if not isinstance(raw, YMap):
            continue
        if isinstance(raw.get("name"), str):
            found.names.append(raw["name"])
        usable = not any(pos in faulted for pos in _positions(raw))
        for problem in sorted(set(checks.check_policy(raw))):
            pos = position(raw, problem.path)
            if pos not in faulted:
                found.diagnostics.append(Diagnostic(at(pos), problem.message, problem.severity))
            usable = usable and problem.severity != "error"
        if usable:
            found.policies.append(_policy(raw, at))
    return found


def _positions(raw: YMap) -> list[int]:
    found = [raw.pos]
    for key in raw:
        found += [*raw.fields.get(key, ()), raw.value_pos(key)]
    repositories = raw.get("repositories")
    if isinstance(repositories, YList):
        found += repositories.item_pos
    return found


def _policy(raw: YMap, at: At) -> DesiredPolicy:
    baseline = str(raw["baseline"])
    description = raw.get("description")
    repositories = raw.get("repositories")
    slugs = list(repositories) if isinstance(repositories, YList) else []
    return DesiredPolicy(
        name=str(raw["name"]),
        baseline=None if baseline == BASELINE_NONE else baseline,
        description=description.strip() if isinstance(description, str) else "",
        repositories=tuple(str(slug) for slug in slugs),
        location=at(raw.pos),
        repository_locations=tuple(at(pos) for pos in _item_positions(repositories)),
    )


def _item_positions(repositories: object) -> list[int]:
    return list(repositories.item_pos) if isinstance(repositories, YList) else []


# --- across the files of one org ------------------------------------------------------------------


def cross_file_problems(
    policies: Sequence[DesiredPolicy],
    rules: Sequence[DesiredRule],
    policy_refs: Mapping[Location, Location],
    *,
    declared: Collection[str] | None,
    today: dt.date,
) -> list[Diagnostic]:
    """A policy name declared twice, a slug listed by two policies (each at the later place,
    naming the first), and, when the org declares its policies (``declared``: every name its
    files declare; None when none has ``policies:``), a rule whose ``policy:`` is neither
    ``default`` nor a declared name (at its ``policy:`` value, ``policy_refs``).

    Expired rules count as removed, so they name no policy.
    """
    found: list[Diagnostic] = []
    names: dict[str, DesiredPolicy] = {}
    slugs: dict[str, tuple[DesiredPolicy, Location]] = {}
    for policy in policies:
        first = names.setdefault(policy.name, policy)
        if first is not policy:
            message = (
                f"policy {policy.name!r} is already declared at {_where(first.location)}: "
                "names identify policies, so each must be unique in the org"
            )
            found.append(Diagnostic(_loc(policy.location), message))
            continue
        for slug, where in zip(policy.repositories, policy.repository_locations, strict=False):
            held = slugs.setdefault(slug, (policy, where))
            if held[0] is not policy:
                message = (
                    f"repository {slug!r} is already listed by policy {held[0].name!r} at "
                    f"{held[1]}: a repository is governed by one policy"
                )
                found.append(Diagnostic(where, message))
    if declared is not None:
        found += _unknown_policies(set(declared), rules, policy_refs, today)
    return found


def _unknown_policies(
    declared: set[str],
    rules: Sequence[DesiredRule],
    policy_refs: Mapping[Location, Location],
    today: dt.date,
) -> list[Diagnostic]:
    found: list[Diagnostic] = []
    for rule in rules:
        if rule.policy == DEFAULT_POLICY_ID or rule.policy in declared or rule.is_expired(today):
            continue
        where = policy_refs.get(rule.location) if rule.location else None
        named = sorted(declared - {DEFAULT_POLICY_ID})
        known = ", ".join(repr(name) for name in named) or "none but default"
        message = (
            f"policy {rule.policy!r} is not declared in the org's policies (declared: {known}); "
            "name a declared policy or default, or declare it (policy ids may be used only when "
            "no file of the org has policies:)"
        )
        found.append(Diagnostic(where or _loc(rule.location), message))
    return found


_NOWHERE: Final = Location("<unknown>", 0, 0)


def _loc(location: Location | None) -> Location:
    return location or _NOWHERE


def _where(location: Location | None) -> str:
    return str(location) if location else "an unknown place"
