"""Word the Triage API's refusals as one-line ``ApiError`` messages a user can act on.

The HTTP layer hands over a ``Refusal`` (status, the server's own message, already redacted, and
its details); this module knows what each answer means for triage rules: which scope a call
needs, which entry of a batch was refused, and when a 404 means a rule deleted since the listing
rather than an unknown org. A refused token is named by the variable it came from, with the one
to set: in a run over several orgs, the usual cause is one org's token sent for another.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from typing import Any, Final

from reconciler.errors import (
    ApiError,
    BadRequestError,
    NotFoundError,
    ReadOnlyError,
    ScopeError,
)
from reconciler.http.body import MAX_DEPTH
from reconciler.http.client import Refusal
from reconciler.http.connect import Credential, the_token, token_advice, token_refused
from reconciler.vocab.triage.selector import Selector, post_to_snake
from reconciler.vocab.triage.wire import SCOPE_LIST, SCOPE_UPDATE

# "alertTriage[3]", "alertTriage.3", "alertTriage/3": how error details may point at an entry.
_ENTRY_REF: Final = re.compile(r"alertTriage(?:\[|\.|/)(\d{1,6})")
_INDEX_KEYS: Final = frozenset({"index", "entry", "entryIndex", "entry_index"})
# How the server says the organization itself is unknown, as opposed to one rule.
_ORG_UNKNOWN: Final = re.compile(r"\borg(?:ani[sz]ation)?\b", re.IGNORECASE)


def entry_indexes(details: Any) -> list[int]:
    """Every entry index that ``details`` points at, sorted, in any of the usual spellings.

    Walked without recursion and only ``MAX_DEPTH`` deep, whatever the server sent.

    >>> entry_indexes({"index": 2})
    [2]
    >>> entry_indexes({"alertTriage[0].state": "bad", "errors": [{"path": "alertTriage.4"}]})
    [0, 4]
    """
    found: set[int] = set()
    stack: list[tuple[Any, int]] = [(details, 0)]
    while stack:
        node, level = stack.pop()
        if level > MAX_DEPTH:
            continue
        if isinstance(node, Mapping):
            for key, value in node.items():
                if key in _INDEX_KEYS and isinstance(value, int) and not isinstance(value, bool):
                    found.add(value)
                stack.extend([(str(key), level + 1), (value, level + 1)])
        elif isinstance(node, list | tuple):
            stack.extend((item, level + 1) for item in node)
        elif isinstance(node, str):
            found.update(int(m) for m in _ENTRY_REF.findall(node))
    return sorted(found)


def describe_entries(entries: Sequence[Mapping[str, Any]], indexes: Sequence[int]) -> str:
    """``"entry 2 (npm/lodash alert_type=criticalCVE)"`` for each index that exists."""
    parts = []
    for index in indexes:
        if 0 <= index < len(entries):
            selector = Selector.from_snake(post_to_snake(entries[index]))
            parts.append(f"entry {index} ({selector.describe()})")
    return "; ".join(parts)


def refusal_error(
    refusal: Refusal,
    *,
    org: str,
    entries: Sequence[Mapping[str, Any]] = (),
    credential: Credential | None = None,
) -> ApiError:
    """The error for a triage call that the server refused for good.

    ``credential`` is the token the call carried (``None``: none), to name where it came from.
    """
    status, method = refusal.status, refusal.method
    said = refusal.said
    culprits = describe_entries(entries, entry_indexes(refusal.details))
    if status == 401:
        return token_refused(org, credential, said)
    if status == 403:
        return _forbidden(refusal, org, credential)
    if status == 404:
        return _not_found(refusal, org, entries, culprits, credential)
    if (status, method) in ((409, "POST"), (405, "DELETE")):
        return ReadOnlyError(
            f"org {org!r} has moved to Socket's Alert Policies and triage is read-only there "
            f"({status}){said}",
            status,
        )
    if status == 400:
        text = f"the Socket API refused the request (400){said}"
        return BadRequestError(text + (f" [{culprits}]" if culprits else ""), status)
    return ApiError(f"unexpected answer {status} to {method} for org {org!r}{said}", status)


def _forbidden(refusal: Refusal, org: str, credential: Credential | None) -> ApiError:
    """403 means a missing scope, an org that does not allow the token, or too small a quota."""
    message = refusal.message
    said = refusal.said
    lowered = message.lower()
    token = the_token(credential)
    if "quota" in lowered:
        return ApiError(
            f"the token's quota is too small for this call to org {org!r} (403){said}", 403
        )
    if "not allowed" in lowered:
        return ScopeError(
            f"org {org!r} does not allow {token} or this call (403){said}; if the token is "
            f"another org's, {token_advice(org, credential)}",
            403,
        )
    scope, action = (SCOPE_LIST, "list") if refusal.method == "GET" else (SCOPE_UPDATE, "change")
    return ScopeError(
        f"{token} lacks the {scope} scope needed to {action} triage rules of "
        f"org {org!r} (403){said}",
        403,
    )


def names_org(refusal: Refusal) -> bool:
    """Whether a 404 says the organization itself is unknown, rather than one rule."""
    return bool(_ORG_UNKNOWN.search(refusal.message))


def _not_found(
    refusal: Refusal,
    org: str,
    entries: Sequence[Mapping[str, Any]],
    culprits: str,
    credential: Credential | None,
) -> ApiError:
    said = refusal.said
    updates = refusal.method == "POST" and any(entry.get("uuid") for entry in entries)
    if culprits or (updates and not names_org(refusal)):
        where = f" [{culprits}]" if culprits else ""
        return NotFoundError(
            f"a rule to update no longer exists (404){said}{where}: it was deleted since the "
            "rules were listed; plan again to see the org as it is now",
            404,
        )
    return NotFoundError(
        f"org {org!r} was not found, or {the_token(credential)} belongs to another org "
        f"(404){said}; check the slug, or {token_advice(org, credential)}",
        404,
    )
