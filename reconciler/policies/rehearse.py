"""The dry run: every write of a plan sent with ``dry_run=true`` before the first real write.

The server checks each request as it would the real one and writes nothing, so a rule or
resolution it would refuse (a selector it does not accept, a name too long for it) is found
while the org is still untouched, and reported at the place in the files that asks for it
(FILE:LINE:COL). Everything the API can rehearse is rehearsed: policy creates, updates and
deletes, rule creates, updates, moves and deletes, and resolution creates (a replace rehearses
its create). A rule in a policy the plan creates is rehearsed against the default policy, for
its content only, and a policy write that takes a repository from a policy giving it up in the
same plan is rehearsed without that repository (``requests.rehearsal_body``). A resolution
delete has no dry run: instead, ``check_resolution_deletes`` asks the server to delete a
resolution that cannot exist, which changes nothing and is refused (403) when the token may not
delete resolutions, so that a replace never stops between its two halves for want of that scope.

The rehearsals are independent (a placement next to a rule that is itself only rehearsed is
left out, see ``requests``), so they run ``concurrency`` at a time. Dry runs are not gated by
the migration in the emulator, as Socket's docs suggest, which is what lets ``apply --dry-run``
preview an org that has not moved yet.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from functools import partial
from typing import Final

from reconciler.engine.lanes import Lane, Stop, run_lanes
from reconciler.errors import (
    ApiError,
    BadRequestError,
    Diagnostic,
    Location,
    ReadOnlyError,
    ScopeError,
)
from reconciler.policies.changes import PolicyObjectChange, ResolutionChange, RuleChange
from reconciler.policies.client import PoliciesClient
from reconciler.policies.plan import PolicyPlan
from reconciler.policies.requests import (
    PolicyChange,
    create_resolution,
    rehearsal_body,
    rehearsed_rule,
    released,
    riding_updates,
    rule_key,
    send_policy,
    send_rule,
)

# Refusals that are about what the files ask for. A 401, 403, 404 or the migration gate is about
# the token or the org: it is raised as it is, and the rehearsal stops.
_ABOUT_THE_FILES = (400, 409, 422)
# The uuid no resolution has (RFC 9562's nil UUID): deleting it can only be refused or not found.
NIL_UUID = "00000000-0000-0000-0000-000000000000"


@dataclass(frozen=True)
class Refused:
    """A write the server refused in the dry run, and why."""

    change: PolicyChange
    error: ApiError

    def diagnostic(self) -> Diagnostic:
        """FILE:LINE:COL of the rule or resolution that asks for it, and the server's reason."""
        new = self.change.new
        where = new.location if new is not None else None
        if where is None:
            where = Location(_describe(self.change), 0, 0)
        return Diagnostic(where, f"the server refused this in a dry run: {self.error}")


@dataclass
class Rehearsal:
    """What the dry run sent (requests) and what the server refused."""

    sent: int = 0
    refused: list[Refused] = field(default_factory=list)
    skipped: int = 0  # resolution deletes: no dry run exists
    lock: threading.Lock = field(default_factory=threading.Lock, repr=False)

    def diagnostics(self) -> list[Diagnostic]:
        return sorted(r.diagnostic() for r in self.refused)


def rehearse(client: PoliciesClient, plan: PolicyPlan, *, concurrency: int = 8) -> Rehearsal:
    """Send every write of ``plan`` as a dry run; collect the refusals about the files.

    Any other failure (the token, the gate, the server down) is raised at once.
    """
    rehearsal = Rehearsal()
    riding = riding_updates(plan)
    gone = released(plan)
    lanes: list[Lane] = [
        _lane(
            rehearsal,
            change,
            partial(send_policy, client, change, body=rehearsal_body(change, gone), dry_run=True),
        )
        for change in plan.policy_changes
    ]
    for rule in plan.rule_changes:
        if rule.action == "update" and rule_key(rule) in riding:
            continue  # rehearsed with its move
        update = riding.get(rule_key(rule)) if rule.action == "move" else None
        lanes.append(_rule_lane(client, rehearsal, rule, update))
    for res in plan.resolution_changes:
        if res.action == "delete":
            rehearsal.skipped += 1
            continue
        lanes.append(_resolution_lane(client, rehearsal, res))
    run_lanes(lanes, concurrency)
    return rehearsal


# Answers to the nil-UUID delete that refuse the id, not the token.
_PROBE_INCONCLUSIVE: Final = (400, 405, 422)


def check_resolution_deletes(client: PoliciesClient, plan: PolicyPlan) -> None:
    """Refuse, before the first write, a plan with resolution deletes or replaces that the
    token may not delete: the API has no dry run for them, so the delete of the nil UUID
    stands in for one (a 404 when allowed; nothing can be deleted by it). One request."""
    deletes = sum(1 for c in plan.resolution_changes if c.action != "create")
    if not deletes:
        return
    try:
        client.delete_resolution(plan.org, NIL_UUID)
    except ScopeError as exc:
        raise ScopeError(
            f"the plan of org {plan.org} deletes or replaces {deletes} resolutions, and the "
            f"server refused a resolution delete checked before the first write: {exc}. "
            "Nothing was written",
            exc.status,
        ) from None
    except ApiError as exc:
        # A server that refuses the nil UUID itself (400, 405, 422) says nothing about the
        # scope: the check is inconclusive, and apply goes on, where a refused delete half is
        # still reported and audited. Anything else (401, 429, 5xx after retries) stops it.
        if exc.status not in _PROBE_INCONCLUSIVE:
            raise


def _rule_lane(
    client: PoliciesClient, rehearsal: Rehearsal, change: RuleChange, update: RuleChange | None
) -> Lane:
    sent = rehearsed_rule(change)
    return _lane(rehearsal, change, lambda: send_rule(client, sent, update=update, dry_run=True))


def _resolution_lane(
    client: PoliciesClient, rehearsal: Rehearsal, change: ResolutionChange
) -> Lane:
    return _lane(rehearsal, change, lambda: create_resolution(client, change, dry_run=True))


def _lane(rehearsal: Rehearsal, change: PolicyChange, send: Callable[[], object]) -> Lane:
    def lane(stop: Stop) -> None:
        if stop():
            return
        with rehearsal.lock:
            rehearsal.sent += 1
        try:
            send()
        except ApiError as exc:
            if not _about_the_files(exc):
                raise
            with rehearsal.lock:
                rehearsal.refused.append(Refused(change, exc))

    return lane


def _about_the_files(error: ApiError) -> bool:
    if isinstance(error, ReadOnlyError):
        return False
    return isinstance(error, BadRequestError) or error.status in _ABOUT_THE_FILES


def _describe(change: PolicyChange) -> str:
    if isinstance(change, PolicyObjectChange):
        return f"org {change.org}: {change.action} policy {change.name!r}"
    if isinstance(change, RuleChange):
        rule = f"rule {change.name!r} of policy {change.policy_id}"
        return f"org {change.org}: {change.action} {rule}"
    return f"org {change.org}: {change.action} resolution {change.selector.describe()}"
