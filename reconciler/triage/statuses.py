"""Turn the API's refusals into one-line ``ApiError`` messages a user can act on.

Every message goes through ``redact`` with the token, because the server's own error text is
echoed and a server may echo what it was sent.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping, Sequence
from typing import Any, Final

from reconciler.api import TOKEN_ENV_VARS
from reconciler.errors import (
    ApiError,
    AuthError,
    BadRequestError,
    NotFoundError,
    ReadOnlyError,
    ScopeError,
)
from reconciler.redact import redact
from reconciler.triage.selector import Selector, post_to_snake
from reconciler.triage.wire import SCOPE_LIST, SCOPE_UPDATE

# "alertTriage[3]", "alertTriage.3", "alertTriage/3": how error details may point at an entry.
_ENTRY_REF: Final = re.compile(r"alertTriage(?:\[|\.|/)(\d+)")
_INDEX_KEYS: Final = frozenset({"index", "entry", "entryIndex", "entry_index"})
_MAX_BODY: Final = 300


def server_message(body: bytes) -> tuple[str, Any]:
    """The ``error.message`` and ``error.details`` of an error body; raw text if not the shape."""
    try:
        payload = json.loads(body)
    except ValueError:
        text = body.decode("utf-8", "replace").strip()
        return " ".join(text.split())[:_MAX_BODY], None
    error = payload.get("error") if isinstance(payload, dict) else None
    if isinstance(error, dict):
        return str(error.get("message") or "").strip(), error.get("details")
    if isinstance(error, str):
        return error.strip(), None
    return "", None


def entry_indexes(details: Any) -> list[int]:
    """Every entry index that ``details`` points at, sorted, in any of the usual spellings.

    >>> entry_indexes({"index": 2})
    [2]
    >>> entry_indexes({"alertTriage[0].state": "bad", "errors": [{"path": "alertTriage.4"}]})
    [0, 4]
    """
    found: set[int] = set()

    def walk(node: Any) -> None:
        if isinstance(node, Mapping):
            for key, value in node.items():
                if key in _INDEX_KEYS and isinstance(value, int) and not isinstance(value, bool):
                    found.add(value)
                walk(str(key))
                walk(value)
        elif isinstance(node, list | tuple):
            for item in node:
                walk(item)
        elif isinstance(node, str):
            found.update(int(m) for m in _ENTRY_REF.findall(node))

    walk(details)
    return sorted(found)


def describe_entries(entries: Sequence[Mapping[str, Any]], indexes: Sequence[int]) -> str:
    """``"entry 2 (npm/lodash alert_type=criticalCVE)"`` for each index that exists."""
    parts = []
    for index in indexes:
        if 0 <= index < len(entries):
            selector = Selector.from_snake(post_to_snake(entries[index]))
            parts.append(f"entry {index} ({selector.describe()})")
    return "; ".join(parts)


def error_for(
    status: int,
    body: bytes,
    *,
    method: str,
    org: str,
    token: str | None,
    entries: Sequence[Mapping[str, Any]] = (),
) -> ApiError:
    """The error for a non-success answer that retrying will not fix."""
    message, details = server_message(body)
    said = f": {message}" if message else ""
    cls: type[ApiError] = ApiError
    text = f"unexpected answer {status} to {method} for org {org!r}{said}"
    if status == 401:
        cls = AuthError
        text = (
            f"the Socket API refused the token (401): it is invalid or missing{said}. "
            f"Set one of {', '.join(TOKEN_ENV_VARS)} to a valid org token"
        )
    elif status == 403:
        scope, action = (SCOPE_LIST, "list") if method == "GET" else (SCOPE_UPDATE, "change")
        cls = ScopeError
        text = (
            f"the token lacks the {scope} scope needed to {action} triage rules of "
            f"org {org!r} (403){said}"
        )
    elif status == 404 and (culprits := describe_entries(entries, entry_indexes(details))):
        cls = NotFoundError
        text = f"a rule to update no longer exists (404){said} [{culprits}]"
    elif status == 404:
        cls = NotFoundError
        text = f"org {org!r} was not found, or the token belongs to another org (404){said}"
    elif (status, method) in ((409, "POST"), (405, "DELETE")):
        cls = ReadOnlyError
        text = (
            f"org {org!r} has moved to Socket's Alert Policies and triage is read-only there "
            f"({status}){said}"
        )
    elif status == 400:
        culprits = describe_entries(entries, entry_indexes(details))
        cls = BadRequestError
        text = f"the Socket API refused the request (400){said}"
        text += f" [{culprits}]" if culprits else ""
    return cls(redact(text, token), status)
