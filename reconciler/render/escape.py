"""Make untrusted text safe for the place it is written: a terminal, or a Markdown table cell.

Package names, notes, uuids and error messages come from the server or from files, and either
may be hostile. On a terminal, an ESC or a C1 control starts a CSI or OSC sequence that can
erase the lines of a plan the apply confirmation shows and draw fake ones; in a PR comment, a
backtick closes a code span, and a note can carry links, tracking images and ``@team`` mentions.
"""

from __future__ import annotations

import re
from typing import Final

from reconciler.redact import redact

# C0, DEL and C1 (Unicode category Cc), the line and paragraph separators, and the bidi
# controls that reorder what is shown ("Trojan Source"), and lone surrogates (a JSON "\ud83d"
# decodes to one; it cannot be written as UTF-8, and a comment holding one is refused). Escaping
# ESC (and the C1 CSI, U+009B) is what defuses every CSI and OSC sequence: the rest of the
# sequence is plain text.
_UNSAFE: Final = re.compile(
    "[\x00-\x1f\x7f-\x9f\u061c\u200e\u200f\u2028-\u202e\u2066-\u2069\ud800-\udfff]"
)
_BACKTICKS: Final = re.compile("`+")


def _escape(match: re.Match[str]) -> str:
    code = ord(match.group())
    return f"\\x{code:02x}" if code < 0x100 else f"\\u{code:04x}"


def terminal_safe(text: str) -> str:
    r"""``text`` with every control character written out as ``\xNN`` (or ``\uNNNN``).

    >>> print(terminal_safe("lodash\x1b[2K\x1b]8;;https://evil\x07"))
    lodash\x1b[2K\x1b]8;;https://evil\x07
    >>> print(terminal_safe("two\nlines\u202e"))
    two\x0alines\u202e
    >>> terminal_safe("@babel/traverse 7.* ünïcode 🙂")
    '@babel/traverse 7.* ünïcode 🙂'
    >>> terminal_safe("half an emoji \ud83d")
    'half an emoji \\ud83d'
    """
    return _UNSAFE.sub(_escape, text)


def one_line(text: str | None, limit: int | None = None) -> str:
    """Whitespace runs (newlines too) as one space, cut to ``limit`` characters with an ellipsis.

    For notes, whose line breaks are layout rather than content. Control characters are left
    for ``terminal_safe``, applied after the cut so that an escape is never cut in two. Tokens
    are redacted before a cut, which would leave a piece the output's redaction cannot see.

    >>> one_line("  build\\n only  ")
    'build only'
    >>> one_line("abcdefgh", 5)
    'abcd…'
    """
    flat = " ".join((text or "").split())
    if limit is None or len(flat) <= limit:
        return flat
    flat = " ".join(redact(flat).split())
    return flat if len(flat) <= limit else flat[: limit - 1] + "…"


def table_code(text: str) -> str:
    """``text`` as a Markdown code span that is safe inside a GFM table cell, whatever it holds.

    Inside a code span nothing is Markdown: no links, images, HTML or mentions, and ``>=`` reads
    as ``>=``. The fence is one backtick longer than the longest backtick run inside (CommonMark
    6.1), padded with a space when the text starts or ends with a backtick or a space; ``|`` is
    escaped for the table (GFM removes the backslash, also inside code); control characters are
    written out, which also keeps the row on one line.

    >>> table_code("cvss_score_cmp=>=9.0")
    '`cvss_score_cmp=>=9.0`'
    >>> table_code("a`b``c")
    '```a`b``c```'
    >>> table_code("`x")
    '`` `x ``'
    >>> table_code("a|b\\nc")
    '`a\\\\|b\\\\x0ac`'
    >>> table_code("")
    ''
    """
    if not text:
        return ""
    body = terminal_safe(text).replace("|", "\\|")
    longest = max((len(run) for run in _BACKTICKS.findall(body)), default=0)
    fence = "`" * (longest + 1)
    if body[0] in "` " or body[-1] in "` ":
        body = f" {body} "
    return f"{fence}{body}{fence}"
