"""Typed reads from a saved plan's JSON: a wrong shape is one ``PlanFileError`` naming where.

A plan file is input like any other: it may have been edited, truncated or written by another
version. Each reader takes the enclosing object, a key and the path to it
(``orgs[0].changes[3]``), so the message points at the value that is wrong.

>>> count({"existing": 3}, "existing", "orgs[0]")
3
>>> text({"org": None}, "org", "orgs[0]")
Traceback (most recent call last):
...
reconciler.errors.PlanFileError: orgs[0].org must be a non-empty string, not null
"""

from __future__ import annotations

import math
from typing import Any

from reconciler.errors import PlanFileError
from reconciler.rules.safety import DEFAULT_MAX_CHANGE_PERCENT, DEFAULT_MIN_EXISTING, SafetyPolicy

_MISSING = object()


def json_type(value: Any) -> str:
    """The JSON name of a value's type, for messages."""
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "a boolean"
    if isinstance(value, int | float):
        return "a number"
    if isinstance(value, str):
        return "a string"
    return "a list" if isinstance(value, list) else "an object"


def mapping(value: Any, where: str) -> dict[str, Any]:
    if not isinstance(value, dict):
        raise PlanFileError(f"{where} must be an object, not {json_type(value)}")
    return value


def _get(data: dict[str, Any], key: str, where: str, default: Any) -> Any:
    value = data.get(key, default)
    if value is _MISSING:
        raise PlanFileError(f"{where}.{key} is missing")
    return value


def text(data: dict[str, Any], key: str, where: str, *, default: Any = _MISSING) -> str:
    """A non-empty string."""
    value = _get(data, key, where, default)
    if not isinstance(value, str) or not value:
        raise PlanFileError(f"{where}.{key} must be a non-empty string, not {json_type(value)}")
    return value


def optional_text(data: dict[str, Any], key: str, where: str) -> str | None:
    """A string or null (absent counts as null)."""
    value = data.get(key)
    if value is not None and not isinstance(value, str):
        raise PlanFileError(f"{where}.{key} must be a string or null, not {json_type(value)}")
    return value


def count(data: dict[str, Any], key: str, where: str, *, default: Any = _MISSING) -> int:
    """A whole number of at least 0."""
    value = _get(data, key, where, default)
    if isinstance(value, bool) or not isinstance(value, int) or value < 0:
        raise PlanFileError(f"{where}.{key} must be a whole number >= 0, not {value!r}")
    return value


def number(data: dict[str, Any], key: str, where: str, *, default: Any = _MISSING) -> float:
    """A finite number of at least 0 (NaN and infinity would switch a threshold off)."""
    value = _get(data, key, where, default)
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise PlanFileError(f"{where}.{key} must be a number, not {json_type(value)}")
    if not math.isfinite(value) or value < 0:
        raise PlanFileError(f"{where}.{key} must be a finite number >= 0, not {value!r}")
    return float(value)


def flag(data: dict[str, Any], key: str, where: str, *, default: Any = _MISSING) -> bool:
    value = _get(data, key, where, default)
    if not isinstance(value, bool):
        raise PlanFileError(f"{where}.{key} must be true or false, not {json_type(value)}")
    return value


def items(data: dict[str, Any], key: str, where: str, *, default: Any = _MISSING) -> list[Any]:
    value = _get(data, key, where, default)
    if not isinstance(value, list):
        raise PlanFileError(f"{where}.{key} must be a list, not {json_type(value)}")
    return value


def safety(data: dict[str, Any], where: str) -> SafetyPolicy:
    """The org plan's ``safety`` thresholds (the defaults where absent), each value checked."""
    at = f"{where}.safety"
    given = mapping(data.get("safety", {}), at)
    return SafetyPolicy(
        number(given, "max_change_percent", at, default=DEFAULT_MAX_CHANGE_PERCENT),
        count(given, "min_existing", at, default=DEFAULT_MIN_EXISTING),
    )
