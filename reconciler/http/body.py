"""Reading answer bodies safely: JSON that cannot crash the reader, and error messages.

A hostile or broken server may send anything: bytes that are not JSON, JSON nested thousands of
levels deep (``json.loads`` then raises ``RecursionError``, not ``ValueError``), or an error
message that is itself a nested structure. Each of those becomes a one-line ``ApiError``, or is
ignored where it only decorates a message.
"""

from __future__ import annotations

import json
import reprlib
from typing import Any, Final

from reconciler.errors import ApiError

MAX_MESSAGE: Final = 300
# Deeper than any answer the API defines; walkers in this package stop here instead of recursing.
MAX_DEPTH: Final = 32

_short = reprlib.Repr()
_short.maxlevel = 2
_short.maxstring = 60
_short.maxother = 60


def short_repr(value: object) -> str:
    """A bounded, one-line ``repr`` for messages, safe on any nesting depth.

    >>> short_repr([[[[[1]]]]])
    '[[[...]]]'
    >>> short_repr("x" * 100)[:8]
    "'xxxxxxx"
    """
    return _short.repr(value)


def read_json(content: bytes, what: str, status: int | None = None) -> Any:
    """Parse ``content``; anything unreadable is an ``ApiError`` naming ``what``.

    >>> read_json(b'{"a": 1}', "the answer")
    {'a': 1}
    >>> read_json(b"[" * 100_000, "page 1")
    Traceback (most recent call last):
    ...
    reconciler.errors.ApiError: page 1 is nested too deeply to read
    """
    try:
        return json.loads(content)
    except RecursionError:
        raise ApiError(f"{what} is nested too deeply to read", status) from None
    except ValueError:
        raise ApiError(f"{what} is not JSON", status) from None


def error_message(content: bytes) -> tuple[str, Any]:
    """The ``error.message`` and ``error.details`` of an error body, or its text, on one line.

    ``details`` is returned only when it is shallow enough to walk.

    >>> error_message(b'{"error": {"message": "Bad\\\\nthing", "details": {"index": 1}}}')
    ('Bad thing', {'index': 1})
    >>> error_message(b"<html>Bad  gateway</html>")
    ('<html>Bad gateway</html>', None)
    """
    try:
        payload = json.loads(content)
    except (ValueError, RecursionError):
        text = content.decode("utf-8", "replace")
        return " ".join(text.split())[:MAX_MESSAGE], None
    error = payload.get("error") if isinstance(payload, dict) else None
    message: object = error.get("message") if isinstance(error, dict) else error
    details = error.get("details") if isinstance(error, dict) else None
    text = " ".join(message.split())[:MAX_MESSAGE] if isinstance(message, str) else ""
    return text, details if depth(details) <= MAX_DEPTH else None


def depth(value: object) -> int:
    """How deeply ``value`` nests lists and dicts, counted without recursion (capped).

    >>> depth({"a": [1, {"b": []}]}), depth("text")
    (4, 0)
    """
    deepest = 0
    stack: list[tuple[object, int]] = [(value, 0)]
    while stack:
        node, level = stack.pop()
        if isinstance(node, dict):
            children: list[object] = [*node.keys(), *node.values()]
        elif isinstance(node, list | tuple):
            children = list(node)
        else:
            continue
        deepest = max(deepest, level + 1)
        if deepest > MAX_DEPTH:
            return deepest
        stack.extend((child, level + 1) for child in children)
    return deepest
