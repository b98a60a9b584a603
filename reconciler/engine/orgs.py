"""Which orgs a run covers: every org named in the files, or the one ``--org`` names."""

from __future__ import annotations

from reconciler.errors import UsageError
from reconciler.rules.ruleset import OrgRules, RuleSet


def select_orgs(rule_set: RuleSet, org: str | None) -> list[OrgRules]:
    """Every org in the files, or just ``org``, which must be named in them."""
    if org is None:
        return list(rule_set.orgs.values())
    if org not in rule_set.orgs:
        named = ", ".join(rule_set.orgs) or "none"
        raise UsageError(f"org {org!r} is not named in any rule file (the files name: {named})")
    return [rule_set.orgs[org]]
