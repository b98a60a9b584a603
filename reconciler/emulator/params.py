"""Query parameters and JSON bodies, checked the way both API families check them.

Unknown query parameter names are ignored; a known one with a bad value is a 400 naming it in
``details: {"param": name}``, as is a known one given twice.
"""

from __future__ import annotations

import json
import re
from typing import Any, Final

from reconciler.emulator.responses import ApiFailure

Params = dict[str, list[str]]

# ``?dry_run=`` spellings that mean yes. Any other present value is refused, so a typo such as
# ``dry_run=ture`` cannot turn a rehearsal into a real write.
DRY_RUN_TRUE: Final = ("true", "1", "yes")
_DIGITS = re.compile(r"[+-]?\d{1,1000}")


def one(params: Params, name: str) -> str | None:
    values = params.get(name)
    if not values:
        return None
    if len(values) > 1:
        raise ApiFailure(400, f"Query parameter {name} given more than once", {"param": name})
    return values[0]


def choice(
    params: Params, name: str, allowed: tuple[str, ...], default: str, *, lower: bool = False
) -> str:
    value = one(params, name)
    if value is None:
        return default
    if (value.lower() if lower else value) not in allowed:
        message = f"Query parameter {name} must be one of {', '.join(allowed)}, not {value!r}"
        raise ApiFailure(400, message, {"param": name})
    return value.lower() if lower else value


def integer(params: Params, name: str, default: int, low: int, high: int | None) -> int:
    """An integer in ``[low, high]``; ``high=None`` accepts any size (a page far past the end)."""
    value = one(params, name)
    if value is None:
        return default
    bounds = f"from {low} to {high}" if high is not None else f"of at least {low}"
    problem = f"Query parameter {name} must be an integer {bounds}"
    if not _DIGITS.fullmatch(value.strip()):
        raise ApiFailure(400, problem, {"param": name})
    number = int(value)
    if number < low or (high is not None and number > high):
        raise ApiFailure(400, problem, {"param": name})
    return number


def dry_run(params: Params) -> bool:
    """``?dry_run``: absent is a real write; ``true``/``1``/``yes`` a rehearsal; else 400.

    >>> dry_run({}), dry_run({"dry_run": ["yes"]}), dry_run({"dry_run": ["1"]})
    (False, True, True)
    """
    value = one(params, "dry_run")
    if value is None:
        return False
    if value in DRY_RUN_TRUE:
        return True
    message = f"Query parameter dry_run must be one of {', '.join(DRY_RUN_TRUE)}, not {value!r}"
    raise ApiFailure(400, message, {"param": "dry_run"})


def json_object(body: bytes, what: str = "Request body") -> dict[str, Any]:
    """The body as a JSON object, or a 400 saying why it is not one."""
    try:
        payload = json.loads(body.decode("utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError, RecursionError) as exc:
        raise ApiFailure(400, f"{what} is not valid JSON: {exc}") from None
    if not isinstance(payload, dict):
        raise ApiFailure(400, f"{what} must be a JSON object")
    return payload
