"""Where the providers meet the engine: one client for a run, each org's target, its provider.

``open_client`` is where the layers meet: the triage API client over the HTTP layer, with the
embedded emulator as the transport for ``--api-url local:PATH`` (the HTTP layer knows no
emulator; it is imported only when such a URL is used). ``Wiring`` gives the engine
(``engine.flow``) a provider per target over that one client, and chooses each org's target.
``read_org`` reads an org's saved plan document back, whichever target wrote it.

Which API an org is reconciled against: legacy triage, or Alert Policies once it has moved.
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

import functools
from collections.abc import Callable, Mapping
from dataclasses import replace
from typing import TYPE_CHECKING, Any, Final

from reconciler.api import ALERT_POLICIES, DEFAULT_CONCURRENCY, TRIAGE
from reconciler.engine.plan import Plan, load_plan_file
from reconciler.engine.provider import OrgPlan, Provider
from reconciler.engine.targets import TargetChoice
from reconciler.errors import ApiError, ConfigError, Diagnostic, Location
from reconciler.http.retry import RetryPolicy
from reconciler.policies.client import PoliciesClient
from reconciler.policies.plan import PolicyPlan
from reconciler.policies.provider import PoliciesProvider
from reconciler.rules.ruleset import OrgRules
from reconciler.triage import client as triage
from reconciler.triage.client import TriageClient
from reconciler.triage.plan import TriagePlan
from reconciler.triage.provider import TriageProvider
from reconciler.vocab.policies.model import MigrationStatus

if TYPE_CHECKING:
    import httpx

# Status answers that mean "this token may not read it", not "the run must stop".
UNAVAILABLE_STATUSES: Final = (403, 404)
# Neither flag set: the contract does not say what that means (unknown 7). Legacy triage is the
# conservative reading: its rules can still be read, and apply's writes are refused, not lost.
STATUS_NEITHER: Final = TRIAGE


def open_client(
    api_url: str,
    *,
    retry: RetryPolicy = RetryPolicy(),  # noqa: B008 - frozen
    concurrency: int = DEFAULT_CONCURRENCY,
    env: Mapping[str, str] | None = None,
) -> TriageClient:
    """The triage client for ``--api-url``; ``concurrency`` sizes its pool and paging.

    One client serves every org of a run: each call carries its org's token
    (``SOCKET_API_TOKEN_<ORG>``, else the generic variables), and one pacer keeps the whole run
    under the rate limit. ``env`` defaults to ``os.environ`` (where both are read from).
    """
    return triage.open_client(
        api_url, local=embedded_transport, env=env, retry=retry, concurrency=concurrency
    )


def embedded_transport(path: str) -> httpx.BaseTransport:
    """An in-process transport to an emulator keeping its state in the SQLite file ``path``.

    Closing the transport closes the database.
    """
    from reconciler.emulator import EmulatorTransport, embedded
    from reconciler.http.transport import ClosingTransport

    emulator = embedded(path)
    return ClosingTransport(EmulatorTransport(emulator), emulator.close)


def policies_client(client: TriageClient) -> PoliciesClient:
    """An Alert Policies client sharing ``client``'s connection, tokens, gate and counts."""
    return PoliciesClient(client.http, client.credentials)


def _ignore(line: str) -> None:
    del line


class Wiring:
    """The providers of one run over ``client`` (``engine.flow.Providers``).

    ``say`` shows a line to the person watching (a rehearsal's refusals, on stderr).
    """

    def __init__(self, client: TriageClient, say: Callable[[str], None] = _ignore) -> None:
        self.client = client
        self.say = say

    @property
    def total_calls(self) -> int:
        return self.client.total_calls

    @functools.cached_property
    def policies(self) -> PoliciesClient:
        return policies_client(self.client)

    def choose(self, rules: OrgRules, override: str | None) -> TargetChoice:
        return choose_for(self.policies, rules, override)

    def provider(self, target: str) -> Provider:
        if target == ALERT_POLICIES:
            return PoliciesProvider(self.policies, self.say)
        return TriageProvider(self.client)


def read_org(doc: Any, where: str) -> OrgPlan:
    """An org's saved plan document, by its ``target``: a ``PolicyPlan`` for
    ``"alert-policies"``, else a legacy triage ``TriagePlan``, carrying its target choice."""
    plan: OrgPlan
    if isinstance(doc, dict) and doc.get("target") == ALERT_POLICIES:
        plan = PolicyPlan.from_dict(doc, where)
    else:
        plan = TriagePlan.from_dict(doc, where)
    choice = TargetChoice.from_dict(doc, where, MigrationStatus.from_get)
    return replace(plan, choice=choice) if choice is not None else plan


def load_plan(path: str, org: str | None = None) -> Plan:
    """The plan saved in ``path`` (only ``org``'s part, if given)."""
    return load_plan_file(path, org, read_org)


def read_plan(data: Any) -> Plan:
    """A saved plan's document (``Plan.to_dict()``) read back."""
    return Plan.from_dict(data, read_org)


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
