"""Checking a POST body and turning its entries into stored (snake_case) rules.

The checks follow the request schema of ``updateOrgAlertTriage``: ``additionalProperties: false``
at both levels, strings or null for the free-text fields, closed enums (no null) for
fixAvailable / patchAvailable / reachability / kevs / state. The first problem found is reported,
with the entry's index and the field in ``details``; the whole request then fails.

Choices where the spec is silent:
- A missing ``state`` becomes ``inherit``: the POST schema gives no default, the GET schema's
  default is ``inherit``, and refusing would make the field required, which the spec does not say.
- Missing enum fields become ``"*"`` (any); missing or ``""`` free-text fields become null.
  A ``"*"`` in a free-text field is stored as sent.
- ``cvssScoreCmp`` must match ``wire.CVSS_CMP_RE`` when it is a non-empty string; it is stored
  as sent.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

from reconciler.emulator.responses import ApiFailure
from reconciler.triage.wire import (
    CAMEL_TO_SNAKE,
    CVSS_CMP_RE,
    ENUM_FIELDS,
    MAX_BATCH,
    SELECTOR_FIELDS,
    SNAKE_TO_CAMEL,
    STATES,
    WILDCARD,
)

# camelCase name -> allowed values, for every field with a closed value set.
_ENUMS: dict[str, tuple[str, ...]] = {SNAKE_TO_CAMEL[k]: v for k, v in ENUM_FIELDS.items()}
_ENUMS["state"] = STATES
_NULLABLE_TEXT = frozenset(
    SNAKE_TO_CAMEL[k] for k in ("uuid", *SELECTOR_FIELDS) if k not in ENUM_FIELDS
)
_BROAD_UNSET = (None, "", WILDCARD)


def bad(message: str, index: int | None = None, field: str | None = None) -> ApiFailure:
    details = None if index is None else {"index": index, "field": field}
    return ApiFailure(400, message, details)


def parse_body(body: bytes, *, force: bool) -> list[dict[str, Any]]:
    """The entries of a POST body, checked and in stored form (snake_case, defaults filled)."""
    try:
        payload = json.loads(body.decode("utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise bad(f"Request body is not valid JSON: {exc}") from None
    if not isinstance(payload, dict):
        raise bad("Request body must be a JSON object with an alertTriage array")
    extra = sorted(set(payload) - {"alertTriage"})
    if extra:
        raise bad(f"Unknown property in request body: {extra[0]}")
    entries = payload.get("alertTriage")
    if not isinstance(entries, list):
        raise bad("alertTriage is required and must be an array")
    if not 1 <= len(entries) <= MAX_BATCH:
        raise bad(f"alertTriage must hold 1 to {MAX_BATCH} entries, not {len(entries)}")
    return [_parse_entry(i, entry, force=force) for i, entry in enumerate(entries)]


def _parse_entry(index: int, entry: object, *, force: bool) -> dict[str, Any]:
    if not isinstance(entry, dict):
        raise bad(f"alertTriage[{index}] must be an object", index)
    for name, value in entry.items():
        _check_field(index, name, value)
    if not force and all(entry.get(k) in _BROAD_UNSET for k in ("alertKey", "packageName")):
        raise bad(
            f"alertTriage[{index}] is a broad triage (no alertKey and no packageName); "
            "pass force=true to apply it",
            index,
            "force",
        )
    return to_stored(entry)


def _check_field(index: int, name: str, value: Any) -> None:
    where = f"alertTriage[{index}].{name}"
    if name not in CAMEL_TO_SNAKE:
        raise bad(f"alertTriage[{index}]: unknown property {name!r}", index, name)
    if name in _ENUMS:
        if not isinstance(value, str) or value not in _ENUMS[name]:
            allowed = ", ".join(_ENUMS[name])
            raise bad(f"{where} must be one of {allowed}, not {value!r}", index, name)
        return
    if name == "note":
        if not isinstance(value, str):
            raise bad(f"{where} must be a string", index, name)
        return
    if name in _NULLABLE_TEXT and value is not None and not isinstance(value, str):
        raise bad(f"{where} must be a string or null", index, name)
    if name == "cvssScoreCmp" and value and not CVSS_CMP_RE.match(value):
        raise bad(
            f"{where} must be an operator and a score from 0 to 10 (e.g. >=7.5), not {value!r}",
            index,
            name,
        )


def to_stored(entry: Mapping[str, Any]) -> dict[str, Any]:
    """Fill defaults and rename to snake_case. Accepts camelCase or snake_case keys."""
    snake = {CAMEL_TO_SNAKE.get(k, k): v for k, v in entry.items()}
    stored: dict[str, Any] = {"uuid": snake.get("uuid") or None}
    for name in SELECTOR_FIELDS:
        value = snake.get(name)
        if name in ENUM_FIELDS:
            stored[name] = value if value is not None else WILDCARD
        else:
            stored[name] = value if value != "" else None
    stored["note"] = snake.get("note") or ""
    stored["state"] = snake.get("state") or "inherit"
    return stored
