"""Word the Alert Policies API's refusals as one-line ``ApiError`` messages a user can act on.

The HTTP layer hands over a ``Refusal`` (status, the server's message, redacted); the client
says which call it was (``Call``: what it touched and the scope it needs). A 403 is worded from
the server's message, as Socket uses it for a missing scope, a repository-restricted token and
too small a quota alike; a 409 on a policy or rule write is the migration gate, except that on
a policy write (``Call.conflicts``) a 409 that does not speak of the migration is a conflict: a
name another policy has, or a repository another policy governs.
"""

from __future__ import annotations

from dataclasses import dataclass

from reconciler.errors import (
    ApiError,
    BadRequestError,
    NotFoundError,
    ReadOnlyError,
    ScopeError,
)
from reconciler.http.client import Refusal
from reconciler.http.connect import Credential, token_refused


@dataclass(frozen=True)
class Call:
    """What a request was for: ``what`` as a user reads it, and the scope it needs."""

    org: str
    what: str  # "create rule 'block malware' in policy default"
    scope: str
    gated: bool = False  # a real policy or rule write: 409 is the migration gate
    credential: Credential | None = None  # the token the call carried, to name its variable
    conflicts: bool = False  # a policy write: a 409 may also be a name or repository conflict


def refusal_error(refusal: Refusal, call: Call) -> ApiError:
    """The error for an Alert Policies call that the server refused for good."""
    status = refusal.status
    said = refusal.said
    where = f"{call.what} of org {call.org!r}"
    if status == 401:  # worded as for triage calls: which variable to set for this org
        return token_refused(call.org, call.credential, said)
    if status == 403:
        return _forbidden(refusal, call, where)
    if status == 404:
        return NotFoundError(
            f"not found (404) for {where}{said}: the org, policy or rule does not exist, or "
            "the token belongs to another org",
            status,
        )
    if status == 409 and call.conflicts and not _is_gate(refusal):
        return ApiError(
            f"the Socket API refused {where} (409: a conflict with another policy){said}", status
        )
    if status == 409 and call.gated:
        state = refusal.details.get("state") if isinstance(refusal.details, dict) else None
        return ReadOnlyError(
            f"{gate_message(call.org, state)}. The server refused {where} (409){said}", status
        )
    if status == 400:
        return BadRequestError(f"the Socket API refused {where} (400){said}", status)
    return ApiError(f"unexpected answer {status} for {where}{said}", status)


def _is_gate(refusal: Refusal) -> bool:
    """Whether a 409 is the migration gate: its details name the migration state, or its
    message or code speaks of the migration (the SDK's fixture: ``alert_policy_migration_
    pending``)."""
    details = refusal.details if isinstance(refusal.details, dict) else {}
    code = str(details.get("code") or "")
    return "state" in details or "migrat" in f"{refusal.message} {code}".lower()


def gate_message(org: str, state: object) -> str:
    """What to say when real policy writes are refused because the org has not moved yet.

    >>> gate_message("acme", "pending")
    'org acme has not moved to Alert Policies yet (state: pending); use plan --target alert-policies / apply --dry-run to preview'
    """  # noqa: E501 - a doctest's expected output is one line
    shown = "not enrolled" if state is None else str(state)
    return (
        f"org {org} has not moved to Alert Policies yet (state: {shown}); use plan --target "
        "alert-policies / apply --dry-run to preview"
    )


def _forbidden(refusal: Refusal, call: Call, where: str) -> ApiError:
    message = refusal.message
    said = refusal.said
    lowered = message.lower()
    if "quota" in lowered:
        return ApiError(f"the token's quota is too small for {where} (403){said}", 403)
    if "not allowed" in lowered:
        return ScopeError(f"org {call.org!r} does not allow this token or call (403){said}", 403)
    if "repositor" in lowered or "repo-restricted" in lowered:
        return ScopeError(f"{where} needs a token with org-wide repository access (403){said}", 403)
    return ScopeError(f"the token lacks the {call.scope} scope needed to {where} (403){said}", 403)
