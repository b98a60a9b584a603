"""What the loader hands to plan and apply: every org's desired rules and policy."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from types import MappingProxyType

from reconciler.engine.safety import SafetyPolicy
from reconciler.errors import Diagnostic
from reconciler.rules.model import Rule


@dataclass(frozen=True)
class OrgRules:
    """One org's rules from every file that names it, in file and line order.

    Expired rules are kept; plan treats them as absent so it can say why they go.
    """

    org: str
    rules: tuple[Rule, ...]
    prune: bool = True
    safety: SafetyPolicy = SafetyPolicy()  # noqa: RUF009 - frozen, so sharing is safe
    files: tuple[str, ...] = ()


def _empty_orgs() -> Mapping[str, OrgRules]:
    return MappingProxyType({})


@dataclass(frozen=True)
class RuleSet:
    """Every org found in the files (sorted by slug), the warnings, and the files read."""

    orgs: Mapping[str, OrgRules] = field(default_factory=_empty_orgs)
    warnings: tuple[Diagnostic, ...] = ()
    files: tuple[str, ...] = ()

    @property
    def rule_count(self) -> int:
        """How many rules all orgs hold together."""
        return sum(len(org.rules) for org in self.orgs.values())
