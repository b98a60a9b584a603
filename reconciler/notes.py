"""The note written to the API: the file's reason, a blank line, then a provenance trailer.

Only the human part is ever compared, so a new commit does not rewrite every rule's note.

The trailer also tells which rules this tool wrote: with ``prune: false`` only those are deleted.
A marker alone is too easy to produce by accident or by copying a note, so every trailer ends
with a *seal*, a short digest of the org and of the rule's own selector. A live rule is ours only
when its last line parses as a complete trailer whose seal matches that rule's org and selector.
A bare marker, a trailer from before seals (0.1.0), or a note copied onto another selector or
into another org is not ours.
"""

from __future__ import annotations

import functools
import hashlib
import json
import re
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Final

TRAILER_PREFIX: Final = "[socket-triage]"
SEAL_KEY: Final = "sel"
# 12 hex digits (48 bits): no accident matches, and the trailer stays short (notes are limited
# to 256 characters in Alert Policies).
SEAL_LENGTH: Final = 12
# The fields a trailer may carry, each at most once; anything else makes it not a trailer.
TRAILER_KEYS: Final = ("source", "commit", "pr", "repo", SEAL_KEY)
MAX_TRAILER: Final = 128

_SEAL_RE: Final = re.compile(f"[0-9a-f]{{{SEAL_LENGTH}}}")


@dataclass(frozen=True)
class Trailer:
    """A parsed trailer: its fields in written order (the seal apart) and the seal."""

    fields: tuple[tuple[str, str], ...]
    seal: str


@functools.cache
def _value_re() -> re.Pattern[str]:
    """No space, no control character. Compiled on first use, not at import: a class that spans
    all of Unicode takes milliseconds to compile, and `validate` never reads a trailer."""
    return re.compile(r"[!-~\u00a0-\U0010ffff]+")


def seal(org: str, selector: Sequence[str | None]) -> str:
    """The digest that binds a trailer to one org and one (normalised) selector.

    >>> seal("acme", ("npm", None, "lodash")) == seal("acme", ("npm", None, "lodash"))
    True
    >>> seal("acme", ("npm", None, "lodash")) == seal("beta", ("npm", None, "lodash"))
    False
    """
    text = json.dumps([org, list(selector)], separators=(",", ":"))  # ASCII: escapes everything
    return hashlib.sha256(text.encode()).hexdigest()[:SEAL_LENGTH]


def trailer(fields: Sequence[tuple[str, str]], seal: str) -> str:
    """The one-line trailer: the marker, the fields that fit in ``MAX_TRAILER``, then the seal.

    Fields are kept in the order given, whole; one that would not fit is left out. Values must
    hold no whitespace or control characters (see ``provenance``), so the line parses back.

    >>> trailer([("source", "a.yaml:3"), ("pr", "42")], "0123456789ab")
    '[socket-triage] source=a.yaml:3 pr=42 sel=0123456789ab'
    """
    if not _SEAL_RE.fullmatch(seal):
        raise ValueError(f"not a seal: {seal!r}")
    ending = f" {SEAL_KEY}={seal}"
    line = TRAILER_PREFIX
    for key, value in fields:
        if key not in TRAILER_KEYS or key == SEAL_KEY or not _value_re().fullmatch(value):
            raise ValueError(f"not a trailer field: {key}={value!r}")
        part = f" {key}={value}"
        if len(line) + len(part) + len(ending) <= MAX_TRAILER:
            line += part
    return line + ending


def parse(line: str) -> Trailer | None:
    """The trailer that ``line`` is, or ``None`` unless it is complete and well-formed.

    >>> parse("[socket-triage] source=a.yaml:3 sel=0123456789ab")
    Trailer(fields=(('source', 'a.yaml:3'),), seal='0123456789ab')
    >>> parse("[socket-triage] source=a.yaml:3") is None  # no seal: written before 0.2
    True
    """
    head, *tokens = line.split(" ")
    if head != TRAILER_PREFIX:
        return None
    found: dict[str, str] = {}
    for token in tokens:
        key, sep, value = token.partition("=")
        if not sep or key not in TRAILER_KEYS or key in found or not _value_re().fullmatch(value):
            return None
        found[key] = value
    sealed = found.pop(SEAL_KEY, "")
    if not _SEAL_RE.fullmatch(sealed):
        return None
    return Trailer(tuple(found.items()), sealed)


def sealed_for(note: str, org: str, selector: Sequence[str | None]) -> bool:
    """True when ``note`` ends in a complete trailer sealed for this org and selector."""
    line = split(note)[1]
    parsed = parse(line) if line is not None and org else None
    return parsed is not None and parsed.seal == seal(org, selector)


def compose(human: str, trailer: str | None) -> str:
    """Join the human note and a one-line trailer.

    >>> compose("Build-only dependency", "[socket-triage] source=a.yaml:3")
    'Build-only dependency\\n\\n[socket-triage] source=a.yaml:3'
    """
    human = human.strip()
    if not trailer:
        return human
    return f"{human}\n\n{trailer}" if human else trailer


def split(note: str) -> tuple[str, str | None]:
    """Split a stored note into (human part, trailer line or None).

    Any last line that starts with the marker is split off, sealed or not, so that a trailer
    written by an older version is not taken for a change of the human note.

    >>> split("Build-only\\n\\n[socket-triage] source=a.yaml:3")
    ('Build-only', '[socket-triage] source=a.yaml:3')
    >>> split("typed in the dashboard")
    ('typed in the dashboard', None)
    """
    text = note.rstrip()
    head, sep, last = text.rpartition("\n")
    if last.startswith(TRAILER_PREFIX):
        return (head.strip() if sep else ""), last
    return text.strip(), None
