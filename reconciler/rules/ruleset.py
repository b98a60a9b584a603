"""What the loader hands to plan and apply: every org's desired rules and policy."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import TYPE_CHECKING

from reconciler.errors import Diagnostic, Location
from reconciler.rules.model import Rule
from reconciler.rules.safety import SafetyPolicy

if TYPE_CHECKING:
    from reconciler.vocab.policies.model import DesiredPolicy, DesiredResolution, DesiredRule


@dataclass(frozen=True)
class OrgRules:
    """One org's rules from every file that names it, in file and line order.

    ``rules`` are legacy triage rules; ``policy_rules`` and ``resolutions`` are Alert Policies
    ones. ``target`` is the files' ``target:`` pin (``target_at`` where), or None. Expired rules
    are kept; plan treats them as absent so it can say why they go.
    """

    org: str
    rules: tuple[Rule, ...]
    prune: bool = True
    safety: SafetyPolicy = SafetyPolicy()  # noqa: RUF009 - frozen, so sharing is safe
    files: tuple[str, ...] = ()
    policy_rules: tuple[DesiredRule, ...] = ()
    resolutions: tuple[DesiredResolution, ...] = ()
    target: str | None = None
    target_at: Location | None = None
    # The ``policies:`` the files declare, in file order. ``declares_policies``: some file of
    # the org has a ``policies:`` section (even an empty one), so that list is the org's whole
    # set of policies; until then only the policies the rules name are reconciled.
    policies: tuple[DesiredPolicy, ...] = ()
    declares_policies: bool = False

    def file_order(self, location: Location | None) -> tuple[int, int, int]:
        """Where an entry written at ``location`` comes in the files: file, line, column.

        Entries of every kind are in one order: files as read, then lines. Under Alert
        Policies that order is the evaluation order.
        """
        if location is None:
            return (len(self.files), 0, 0)
        try:
            index = self.files.index(location.file)
        except ValueError:
            index = len(self.files)
        return (index, location.line, location.column)


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
        """How many rules all orgs hold together: triage rules and policy rules."""
        return sum(len(org.rules) + len(org.policy_rules) for org in self.orgs.values())
