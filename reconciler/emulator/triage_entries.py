"""Checking a legacy triage body and turning its entries into stored (snake_case) rules.

The checks follow the request schema of ``updateOrgAlertTriage``: ``additionalProperties: false``
at both levels, strings or null for the free-text fields, closed enums (no null) for
fixAvailable / patchAvailable / reachability / kevs / state. The first problem found is reported,
with the entry's index and the field in ``details``; the whole request then fails. The translate
endpoint of the Alert Policies family checks its body with the same rules.

Choices where the spec is silent:
- ``state`` is required: Socket's docs say an entry without it is refused with 400.
- Missing enum fields become ``"*"`` (any); missing or ``""`` free-text fields become null.
  A ``"*"`` in a free-text field is stored as sent.
- ``cvssScoreCmp`` must match ``wire.CVSS_CMP_RE`` when it is a non-empty string; it is stored
  as sent.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from reconciler.emulator.params import json_object
from reconciler.emulator.responses import ApiFailure
from reconciler.vocab.triage.wire import (
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
BROAD_UNSET = (None, "", WILDCARD)


def bad(message: str, index: int | None = None, field: str | None = None) -> ApiFailure:
    details = None if index is None else {"index": index, "field": field}
    return ApiFailure(400, message, details)


def checked_entries(body: bytes) -> list[dict[str, Any]]:
    """The entries of an ``{"alertTriage": [...]}`` body as sent, each checked; else a 400."""
    payload = json_object(body, "Request body")
    extra = sorted(set(payload) - {"alertTriage"})
    if extra:
        raise bad(f"Unknown property in request body: {extra[0]}")
    entries = payload.get("alertTriage")
    if not isinstance(entries, list):
        raise bad("alertTriage is required and must be an array")
    if not 1 <= len(entries) <= MAX_BATCH:
        raise bad(f"alertTriage must hold 1 to {MAX_BATCH} entries, not {len(entries)}")
    for index, entry in enumerate(entries):
        _check_entry(index, entry)
    return entries


def parse_body(body: bytes, *, force: bool) -> list[dict[str, Any]]:
    """The entries of a POST body, checked and in stored form (snake_case, defaults filled)."""
    entries = checked_entries(body)
    for index, entry in enumerate(entries):
        if not force and all(entry.get(k) in BROAD_UNSET for k in ("alertKey", "packageName")):
            raise bad(
                f"alertTriage[{index}] is a broad triage (no alertKey and no packageName); "
                "pass force=true to apply it",
                index,
                "force",
            )
    return [to_stored(entry) for entry in entries]


def _check_entry(index: int, entry: object) -> None:
    if not isinstance(entry, dict):
        raise bad(f"alertTriage[{index}] must be an object", index)
    for name, value in entry.items():
        _check_field(index, name, value)
    if "state" not in entry:
        raise bad(f"alertTriage[{index}].state is required", index, "state")


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
    """Fill defaults and rename to snake_case. Accepts camelCase or snake_case keys.

    A missing state becomes ``inherit`` here: this also serves seeding, which is not an API call.
    """
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
