"""Checking policy and rule request bodies; a refusal is a 400 naming the field.

Limits are Socket's (contract section 7): policy name 1-120 characters, description up to 256,
rule name 1-128, rule note up to 256. Socket does not say how it counts characters; the
emulator counts UTF-16 code units, as a JavaScript server does (``"🙂".length`` is 2), the
strictest reading. Unknown properties are refused, so that a misspelt field is an error rather
than silently ignored. Changing the default policy's name or repositories is a 400 (Socket says
it cannot be done, not with which status); so is a repository id listed twice. Whether the ids
name repositories of the org is ``policies_scope``'s check.
"""

from __future__ import annotations

from typing import Any, Final

from reconciler.emulator.policies_rank import is_valid
from reconciler.emulator.policies_selector import SelectorError, check_selector
from reconciler.emulator.policies_store import Placement
from reconciler.emulator.responses import ApiFailure

ACTIONS: Final = ("error", "warn", "monitor", "ignore")
BASELINES: Final = ("essential", "balanced", "comprehensive")
POSITIONS: Final = ("first", "last")
PLACEMENT_FIELDS: Final = ("position", "rank", "before_rule_id", "after_rule_id")
_POLICY_FIELDS: Final = ("name", "description", "repository_ids", "baseline")
_RULE_FIELDS: Final = ("name", "vigil_selector", "action", "note", *PLACEMENT_FIELDS)


def bad(field: str, message: str) -> ApiFailure:
    return ApiFailure(400, f"{field}: {message}", {"field": field})


def policy_body(body: dict[str, Any], *, create: bool, default: bool = False) -> dict[str, Any]:
    """The checked fields of a policy create (``name`` required) or partial update."""
    _only(body, _POLICY_FIELDS)
    if create and "name" not in body:
        raise bad("name", "is required")
    if default and "name" in body:
        raise bad("name", "the default policy cannot be renamed")
    if default and "repository_ids" in body:
        raise bad("repository_ids", "the default policy's scope is implicit and cannot be set")
    if "name" in body:
        _text(body, "name", 1, 120, nullable=False)
    if "description" in body:
        _text(body, "description", 0, 256, nullable=True)
    ids = body.get("repository_ids")
    if ids is not None and not (isinstance(ids, list) and all(isinstance(i, str) for i in ids)):
        raise bad("repository_ids", "must be an array of strings or null")
    twice = next((i for n, i in enumerate(ids or ()) if i in (ids or ())[:n]), None)
    if twice is not None:
        raise bad("repository_ids", f"lists repository {twice!r} twice")
    if "baseline" in body and body["baseline"] not in (*BASELINES, None):
        raise bad("baseline", f"must be one of {', '.join(BASELINES)} or null")
    return dict(body)


def rule_body(body: dict[str, Any], *, create: bool) -> tuple[dict[str, Any], Placement | None]:
    """The checked fields of a rule create or partial update, and where to put the rule.

    A create without placement goes first; an update without one keeps its rank (None).
    """
    _only(body, _RULE_FIELDS)
    if create:
        for field in ("name", "vigil_selector", "action"):
            if field not in body:
                raise bad(field, "is required")
    if "name" in body:
        _text(body, "name", 1, 128, nullable=False)
    if "note" in body:
        _text(body, "note", 0, 256, nullable=True)
    if "action" in body and body["action"] not in ACTIONS:
        raise bad("action", f"must be one of {', '.join(ACTIONS)}, not {body['action']!r}")
    if "vigil_selector" in body:
        try:
            check_selector(body["vigil_selector"], rule=True)
        except SelectorError as exc:
            raise ApiFailure(400, str(exc), {"field": "vigil_selector"}) from None
    fields = {k: v for k, v in body.items() if k not in PLACEMENT_FIELDS}
    placement = _placement(body)
    return fields, (Placement("first") if placement is None and create else placement)


def _placement(body: dict[str, Any]) -> Placement | None:
    given = [field for field in PLACEMENT_FIELDS if body.get(field) is not None]
    if len(given) > 1:
        raise bad(given[1], f"give at most one of {', '.join(PLACEMENT_FIELDS)}")
    if not given:
        return None
    field = given[0]
    value = body[field]
    if not isinstance(value, str):
        raise bad(field, "must be a string")
    if field == "position":
        if value not in POSITIONS:
            raise bad(field, f"must be first or last, not {value!r}")
        return Placement(value)
    if field == "rank":
        if not is_valid(value):
            raise bad(field, f"{value!r} is not a valid fractional-index order key")
        return Placement("rank", value)
    return Placement(field.removesuffix("_rule_id"), value)


def _only(body: dict[str, Any], allowed: tuple[str, ...]) -> None:
    extra = sorted(set(body) - set(allowed))
    if extra:
        raise bad(extra[0], "unknown property")


def _text(body: dict[str, Any], field: str, low: int, high: int, *, nullable: bool) -> None:
    value = body[field]
    if value is None and nullable:
        return
    if not isinstance(value, str):
        raise bad(field, "must be a string" + (" or null" if nullable else ""))
    length = utf16_units(value)
    if not low <= length <= high:
        raise bad(field, f"must be {low} to {high} characters (UTF-16 code units), not {length}")


def utf16_units(text: str) -> int:
    """The length of ``text`` as JavaScript counts it: a character past U+FFFF is two.

    >>> utf16_units("abc"), utf16_units("🙂")
    (3, 2)
    """
    return len(text) + sum(1 for char in text if ord(char) > 0xFFFF)
