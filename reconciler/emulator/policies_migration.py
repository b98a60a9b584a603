"""The move from legacy triage to Alert Policies: migration status, and the gates it sets.

``STATES`` is the one place that says what each state switches on (Socket documents the states
and the two flags, not which state flips which flag; this table is the emulator's reading):

    state           alert_policies_enabled  legacy_evaluation_enabled  timestamps set
    None            no                      yes                        none
    pending         no                      yes                        window_end_at, deadline_at
    previewing      no                      yes                        window_end_at, deadline_at
    accepted        yes                     no                         + finalized_at (now)
    auto_finalized  yes                     no                         + finalized_at (= deadline)
    rolled_back     no                      yes                        window kept

Gates: a real policy or rule write is a 409 until ``alert_policies_enabled`` (a dry run is not
gated, as the docs suggest rehearsing before the move); a legacy triage write is refused once
``legacy_evaluation_enabled`` is off (POST 409, DELETE 405 or 409). Resolutions are never gated.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from dataclasses import dataclass, fields, replace
from typing import Any, Final

from reconciler.emulator.database import MigrationStatus, Org, format_timestamp, parse_timestamp
from reconciler.emulator.responses import ApiFailure, Response, json_response
from reconciler.emulator.routing import GATE_LEGACY_WRITE, GATE_POLICY_WRITE, Request

WINDOW: Final = dt.timedelta(days=30)  # "each org gets a 30-day window"
PENDING_MESSAGE: Final = (
    "Migration is pending: alert policy writes are refused until the organization confirms "
    "its move to Alert Policies (dry_run=true rehearses a write)"
)
LEGACY_MESSAGE: Final = "Triage is read-only for this organization since its move to Alert Policies"


@dataclass(frozen=True)
class StateRule:
    alert_policies: bool
    legacy: bool
    enrolled: bool
    finalized: bool


STATES: Final[dict[str | None, StateRule]] = {
    None: StateRule(alert_policies=False, legacy=True, enrolled=False, finalized=False),
    "pending": StateRule(alert_policies=False, legacy=True, enrolled=True, finalized=False),
    "previewing": StateRule(alert_policies=False, legacy=True, enrolled=True, finalized=False),
    "accepted": StateRule(alert_policies=True, legacy=False, enrolled=True, finalized=True),
    "auto_finalized": StateRule(alert_policies=True, legacy=False, enrolled=True, finalized=True),
    "rolled_back": StateRule(alert_policies=False, legacy=True, enrolled=True, finalized=False),
}
_FIELDS: Final = tuple(f.name for f in fields(MigrationStatus))


def status_for(
    state: str | None, previous: MigrationStatus, now: str, overrides: Mapping[str, Any]
) -> MigrationStatus:
    """The status an org has after moving to ``state``; ``overrides`` set fields explicitly.

    >>> status_for("accepted", MigrationStatus(), "2026-06-15T00:00:00.000000Z", {}).finalized_at
    '2026-06-15T00:00:00.000000Z'
    """
    if state not in STATES:
        raise ValueError(f"unknown migration state {state!r}; one of {_state_names()}")
    unknown = sorted(set(overrides) - set(_FIELDS) - {"state"})
    if unknown:
        raise ValueError(f"unknown migration status field(s): {', '.join(unknown)}")
    rule = STATES[state]
    window_end = previous.window_end_at
    if rule.enrolled and window_end is None:
        window_end = format_timestamp(parse_timestamp(now) + WINDOW)
    status = MigrationStatus(
        state=state,
        finalized_at=None,
        deadline_at=window_end if rule.enrolled else None,
        window_end_at=window_end if rule.enrolled else None,
        deadline_admin_paused_at=None,
        alert_policies_enabled=rule.alert_policies,
        legacy_evaluation_enabled=rule.legacy,
    )
    if rule.finalized:
        status = replace(status, finalized_at=window_end if state == "auto_finalized" else now)
    given = {k: v for k, v in overrides.items() if k != "state"}
    for name, value in given.items():
        _check_override(name, value)
    return replace(status, **given)


def _check_override(name: str, value: Any) -> None:
    if name.endswith("_enabled"):
        if not isinstance(value, bool):
            raise ValueError(f"{name} must be true or false")
    elif value is not None:
        if not isinstance(value, str):
            raise ValueError(f"{name} must be an ISO-8601 string or null")
        try:
            dt.datetime.fromisoformat(value.replace("Z", "+00:00"))
        except ValueError:
            raise ValueError(f"{name} must be an ISO-8601 timestamp, not {value!r}") from None


def _state_names() -> str:
    return ", ".join("null" if s is None else s for s in STATES)


def enforce_gate(
    gate: str | None, org: Org, method: str, *, dry_run: bool, legacy_delete_status: int
) -> None:
    """Refuse the request if the org's migration status closes its gate."""
    status = org.status
    if gate == GATE_POLICY_WRITE and not dry_run and not status.alert_policies_enabled:
        details = {"state": status.state}
        raise ApiFailure(409, PENDING_MESSAGE, details)
    if gate == GATE_LEGACY_WRITE and not status.legacy_evaluation_enabled:
        code = 409 if method == "POST" else legacy_delete_status
        raise ApiFailure(code, LEGACY_MESSAGE, {"state": status.state})


def get_status(request: Request) -> Response:
    return json_response(200, request.org.status.to_dict())


def allowed_states() -> tuple[str | None, ...]:
    return tuple(STATES)
