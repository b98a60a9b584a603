"""How a server may read a string: its length, its control characters, and its spelling.

The API contracts give limits in "characters" without saying how they are counted. A
JavaScript service counts UTF-16 code units (``"🙂".length`` is 2), the strictest plausible
reading, so every limit this tool checks counts that way (``units``), and ``validate`` never
passes a text the server may refuse.

A name is an identity: a server that trims it or normalises it to NFC would hand back a
different spelling than the files hold, and every apply would rename it back. Such names are
refused (``unstable``) rather than sent.
"""

from __future__ import annotations

import re
import unicodedata
from typing import Final

# C0 and C1 controls, DEL, the bidirectional marks, embeddings, overrides and isolates, and the
# Unicode line and paragraph separators: what can hide or redraw text where it is shown. A
# no-break space or a zero-width joiner (emoji sequences) is text, not one of these.
INVISIBLE: Final = r"\x7f-\x9f\u200e\u200f\u202a-\u202e\u2066-\u2069\u2028\u2029"
_IN_NAME: Final = re.compile(rf"[\x00-\x1f{INVISIBLE}]")
_IN_PROSE: Final = re.compile(rf"[\x00-\x08\x0b-\x1f{INVISIBLE}]")  # tab and \n are prose


def units(text: str) -> int:
    """The length of ``text`` in UTF-16 code units, as a JavaScript server counts it.

    >>> units("abc"), units("🙂" * 222), units("é")
    (3, 444, 1)
    """
    return len(text) + sum(1 for char in text if ord(char) > 0xFFFF)


def cut(text: str, limit: int) -> str:
    """The longest start of ``text`` that is at most ``limit`` UTF-16 code units long.

    >>> cut("ab🙂c", 3), cut("abc", 5)
    ('ab', 'abc')
    """
    if units(text) <= limit:
        return text
    total = 0
    for index, char in enumerate(text):
        total += 2 if ord(char) > 0xFFFF else 1
        if total > limit:
            return text[:index]
    return text


def how_counted(text: str) -> str:
    """How a length was counted, when that is not obvious: ``""`` for text of one unit a character.

    >>> how_counted("🙂🙂")
    ' (UTF-16 code units, as the server may count them; 2 as written)'
    """
    if units(text) == len(text):
        return ""
    return f" (UTF-16 code units, as the server may count them; {len(text)} as written)"


def has_it(text: str) -> str:
    """``it has N`` for a length message, saying how it was counted when that is not obvious.

    >>> has_it("abc")
    'it has 3'
    >>> has_it("🙂🙂")
    'it has 4 UTF-16 code units, as the server may count them; 2 as written'
    """
    counted = units(text)
    if counted == len(text):
        return f"it has {counted}"
    return (
        f"it has {counted} UTF-16 code units, as the server may count them; {len(text)} as written"
    )


def control_character(text: str, *, prose: bool = False) -> str | None:
    """The first control character in ``text`` (tabs and line breaks allowed in ``prose``).

    >>> control_character("lodash\\x1b[2J"), control_character("a\\u00a0b")
    ('\\x1b', None)
    >>> control_character("line one\\n\\tline two", prose=True) is None
    True
    """
    found = (_IN_PROSE if prose else _IN_NAME).search(text)
    return None if found is None else found.group()


def unstable(name: str) -> str | None:
    """Why a server might store ``name`` spelt otherwise, or ``None`` when it would not.

    >>> unstable(" block malware")
    'leading or trailing whitespace, which a server may trim; remove it'
    >>> unstable("cafe\\u0301")
    'not in Unicode NFC, which a server may normalise it to; write it as NFC'
    >>> unstable("café") is None
    True
    """
    if name != name.strip():
        return "leading or trailing whitespace, which a server may trim; remove it"
    if not unicodedata.is_normalized("NFC", name):
        return "not in Unicode NFC, which a server may normalise it to; write it as NFC"
    return None
