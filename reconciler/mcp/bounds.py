"""Every tool result leaves the server redacted and bounded in size.

An agent's context is small and a live org may hold 100,000 rules; a result over
``MAX_RESULT_BYTES`` of JSON has its longest lists shortened until it fits, and says so in a
``truncated`` note naming each list and how many items it held. Tokens are redacted last, over
the whole JSON text, with the same ``redact`` as every other output of this tool.
"""

from __future__ import annotations

import json
from typing import Any, Final

from reconciler.redact import redact

MAX_RESULT_BYTES: Final = 50_000
_MAX_ROUNDS: Final = 64

Path = tuple[str | int, ...]


def finish(result: dict[str, Any], limit: int = MAX_RESULT_BYTES) -> dict[str, Any]:
    """``result`` redacted and shortened to at most ``limit`` bytes of JSON.

    >>> finish({"token": "sktsec_abc123"})
    {'token': 'sktsec_***'}
    >>> small = finish({"rules": list(range(10_000))}, limit=2_000)
    >>> len(small["rules"]) < 1_000, small["truncated"][0]["path"]
    (True, 'rules')
    """
    text = redact(json.dumps(result, sort_keys=True))
    try:
        data = json.loads(text)
    except json.JSONDecodeError:  # a redaction cut through an escape: keep the text only
        return _too_big(text, limit)
    notes: dict[Path, int] = {}
    for _ in range(_MAX_ROUNDS):
        if _size(data, notes) <= limit:
            break
        path, items = _longest_list(data)
        if path is None:
            return _too_big(json.dumps(data, sort_keys=True), limit)
        notes.setdefault(path, len(items))
        del items[len(items) // 2 :]
    else:
        return _too_big(json.dumps(data, sort_keys=True), limit)
    if notes:
        data["truncated"] = _notes(notes, limit)
    return dict(data)


def _size(data: Any, notes: dict[Path, int]) -> int:
    extra = len(json.dumps(_notes(notes, 0))) + 40 if notes else 0
    return len(json.dumps(data, sort_keys=True).encode("utf-8")) + extra


def _notes(notes: dict[Path, int], limit: int) -> list[dict[str, Any]]:
    return [
        {
            "path": ".".join(str(step) for step in path),
            "total": total,
            "note": f"shortened from {total} items to fit {limit:,} bytes; "
            "narrow the request (filters, limit, fewer paths) to see the rest",
        }
        for path, total in sorted(notes.items(), key=lambda item: [str(s) for s in item[0]])
    ]


def _longest_list(data: Any) -> tuple[Path | None, list[Any]]:
    """The list holding the most JSON text, anywhere in ``data``."""
    best: tuple[int, Path | None, list[Any]] = (0, None, [])
    stack: list[tuple[Path, Any]] = [((), data)]
    while stack:
        path, node = stack.pop()
        if isinstance(node, dict):
            stack.extend(((*path, key), value) for key, value in node.items())
        elif isinstance(node, list):
            size = len(json.dumps(node))
            if size > best[0] and node:
                best = (size, path, node)
            stack.extend(((*path, i), value) for i, value in enumerate(node))
    return best[1], best[2]


def _too_big(text: str, limit: int) -> dict[str, Any]:
    """What is left when no list can be shortened enough: a note, and the start of the text."""
    return {
        "truncated": [{"path": "", "total": len(text), "note": "result too large to return"}],
        "text": text[: max(0, limit // 2)],
    }
