"""Which API an org is reconciled against: legacy triage, or Alert Policies once it has moved.

Per org, one cheap read of the migration status comes before anything else (it never enrols the
org or starts its window). The choice, first rule that applies:

1. ``--target`` on the command line: a preview of the other target (``plan --target
   alert-policies`` before the move);
2. the files' ``target: triage | alert-policies`` pin;
3. the status: legacy triage while the org still evaluates it (``legacy_evaluation_enabled``),
   Alert Policies once ``alert_policies_enabled`` and legacy evaluation is off. Neither flag set
   reads as "not moved" (``STATUS_NEITHER``): legacy triage, whose frozen rules can still be read.

A token without the Alert Policies scopes gets 403 (or 404) from the status endpoint. That must
not break triage users, so it reads as "status unavailable" and the org stays on legacy triage,
with the reason saying so. Every other failure of the status call stops the run, as any failed
call does.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Final

from reconciler.api import ALERT_POLICIES, TARGETS, TRIAGE
from reconciler.errors import ApiError, ConfigError, Diagnostic, Location, PlanFileError
from reconciler.policies.model import MigrationStatus

if TYPE_CHECKING:
    from reconciler.policies.client import PoliciesClient
    from reconciler.rules.ruleset import OrgRules
    from reconciler.triage.client import TriageClient

# Status answers that mean "this token may not read it", not "the run must stop".
UNAVAILABLE_STATUSES: Final = (403, 404)
# Neither flag set: the contract does not say what that means (unknown 7). Legacy triage is the
# conservative reading: its rules can still be read, and apply's writes are refused, not lost.
STATUS_NEITHER: Final = TRIAGE


@dataclass(frozen=True)
class TargetChoice:
    """The target used for one org and why; ``status`` is None when it could not be read."""

    target: str
    reason: str
    status: MigrationStatus | None = None

    def to_dict(self) -> dict[str, Any]:
        """The keys each org's plan document carries (JSON, saved plans, Markdown)."""
        return {
            "target": self.target,
            "target_reason": self.reason,
            "migration": None if self.status is None else self.status.to_dict(),
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any], where: str) -> TargetChoice | None:
        """Read ``to_dict()`` keys back from an org's plan document; None if it has none."""
        if "target_reason" not in data:
            return None  # a plan saved before targets were recorded: triage
        target, reason, status = data.get("target"), data["target_reason"], data.get("migration")
        if target not in TARGETS or not isinstance(reason, str):
            raise PlanFileError(f"{where}: target must be one of {', '.join(TARGETS)}")
        if status is not None and not isinstance(status, Mapping):
            raise PlanFileError(f"{where}.migration must be an object or null")
        return cls(target, reason, None if status is None else MigrationStatus.from_get(status))


def policies_client(client: TriageClient) -> PoliciesClient:
    """An Alert Policies client sharing ``client``'s connection, tokens, gate and counts."""
    from reconciler.policies.client import PoliciesClient

    return PoliciesClient(client.http, client.credentials)


def read_status(client: PoliciesClient, org: str) -> tuple[MigrationStatus | None, str | None]:
    """(the status, None), or (None, why it is unavailable) for a 403 or 404."""
    try:
        return client.migration_status(org), None
    except ApiError as exc:
        if exc.status not in UNAVAILABLE_STATUSES:
            raise
        return None, f"migration status unavailable ({exc})"


def status_target(status: MigrationStatus | None, unavailable: str | None) -> TargetChoice:
    """The target the migration status alone chooses (rule 3 of the module doc)."""
    if status is None:
        why = f"{unavailable or 'migration status unavailable'}; using legacy triage"
        return TargetChoice(TRIAGE, why)
    state = f"migration state {status.state}" if status.enrolled else "not enrolled"
    if status.legacy_evaluation_enabled:
        if not status.enrolled:
            why = "the org is not enrolled in the migration to Alert Policies"
        else:
            why = f"the org still evaluates legacy triage ({state})"
        return TargetChoice(TRIAGE, why, status)
    if status.alert_policies_enabled:
        why = f"the org has moved to Alert Policies ({state})"
        return TargetChoice(ALERT_POLICIES, why, status)
    why = f"the org evaluates neither legacy triage nor Alert Policies ({state})"
    return TargetChoice(STATUS_NEITHER, f"{why}; using {STATUS_NEITHER}", status)


def choose_target(
    status: MigrationStatus | None,
    unavailable: str | None,
    *,
    pin: tuple[str, Location] | None = None,
    override: str | None = None,
) -> TargetChoice:
    """The target for one org: ``override`` (``--target``), else ``pin``, else the status.

    >>> choose_target(MigrationStatus("accepted", alert_policies_enabled=True,
    ...               legacy_evaluation_enabled=False), None).target
    'alert-policies'
    >>> choose_target(None, "migration status unavailable (403)").reason
    'migration status unavailable (403); using legacy triage'
    """
    natural = status_target(status, unavailable)
    if override is not None:
        why = f"--target {override} on the command line"
        if override != natural.target:
            preview = "a preview: " if override == ALERT_POLICIES else ""
            why += f" ({preview}without it, {natural.target}, as {natural.reason})"
        return TargetChoice(override, why + _caveat(override, status), status)
    if pin is not None:
        target, where = pin
        why = f"pinned by 'target: {target}' at {where}"
        return TargetChoice(target, why + _caveat(target, status), status)
    return natural


def _caveat(target: str, status: MigrationStatus | None) -> str:
    """What a chosen target means for apply when the status disagrees with it."""
    if status is None:
        return ""
    if target == ALERT_POLICIES and not status.policies_writable:
        return "; the org has not moved yet, so apply's policy rule writes are refused (409)"
    if target == TRIAGE and not status.legacy_writable:
        return "; the org no longer evaluates legacy triage, so apply's writes are refused"
    return ""


def choose_for(client: PoliciesClient, rules: OrgRules, override: str | None) -> TargetChoice:
    """Read the org's status and choose its target (``choose_target``).

    Native ``policy_rules`` or ``resolutions`` on the legacy triage target are a ``ConfigError``
    at the first of them: triage cannot hold them, and dropping them silently would not do.
    """
    status, unavailable = read_status(client, rules.org)
    pin = (rules.target, rules.target_at) if rules.target and rules.target_at else None
    choice = choose_target(status, unavailable, pin=pin, override=override)
    native = [e.location for e in rules.policy_rules if e.location]
    native += [e.location for e in rules.resolutions if e.location]
    if choice.target == TRIAGE and native:
        raise ConfigError(
            [
                Diagnostic(
                    min(native),
                    f"org {rules.org!r} is planned on legacy triage ({choice.reason}), which "
                    "cannot hold policy_rules or resolutions: pin 'target: alert-policies' in the "
                    "files, or preview with --target alert-policies",
                )
            ]
        )
    return choice
