"""Keep tokens out of every message, log line and file this tool writes.

Two nets: anything shaped like a Socket token (``sktsec_...``), and the exact secrets this process
holds, whatever their shape. The HTTP client ``remember``s its token when it is built, so the CLI's
error handler, the audit log and saved plans hide it without being handed it.
"""

from __future__ import annotations

import base64
import json
import re
import threading
from typing import Final
from urllib.parse import quote, quote_plus

from reconciler.api import TOKEN_PREFIX

_TOKEN_RE: Final = re.compile(re.escape(TOKEN_PREFIX) + r"[A-Za-z0-9_\-.]+")
REDACTED: Final = TOKEN_PREFIX + "***"
# Shorter strings would blank out ordinary words; the HTTP layer refuses shorter tokens anyway.
MIN_SECRET: Final = 4
# A token cut at a line break or space leaks its pieces separately; hide pieces this long.
_MIN_PIECE: Final = 6

_remembered: dict[str, list[str]] = {}  # secret -> its spellings, worked out once
_lock = threading.Lock()


def remember(secret: str | None) -> None:
    """Hide ``secret`` (and its escaped spellings) in every later ``redact`` call."""
    if secret and len(secret) >= MIN_SECRET:
        forms = spellings(secret)
        with _lock:
            _remembered[secret] = forms


def spellings(secret: str) -> list[str]:
    """How ``secret`` may show up in text: as is, escaped, encoded, or cut into pieces.

    Longest first, so that a spelling containing another is replaced whole.

    >>> "tail-of-it" in spellings("head-of-it\\ntail-of-it")
    True
    """
    forms = {
        secret,
        json.dumps(secret)[1:-1],  # a server echoing it inside JSON
        repr(secret)[1:-1],  # a Python exception message
        str(secret.encode("utf-8", "backslashreplace"))[2:-1],  # a bytes repr, as h11 prints
        quote(secret, safe=""),  # a URL
        quote_plus(secret, safe=""),  # a form-encoded body or query
    }
    # Basic auth (the token as the user, no password), or the token itself, base64-encoded:
    # standard and URL-safe alphabets, with and without padding.
    for raw in (f"{secret}:".encode(), secret.encode()):
        for encoded in (base64.b64encode(raw), base64.urlsafe_b64encode(raw)):
            forms.update((encoded.decode(), encoded.decode().rstrip("=")))
    forms.update(p for p in re.split(r"[\s\x00-\x1f\x7f]+", secret) if len(p) >= _MIN_PIECE)
    return sorted((f for f in forms if len(f) >= MIN_SECRET), key=lambda f: (-len(f), f))


def redact(text: str, *secrets: str | None) -> str:
    """Replace anything shaped like a Socket token, and each given or remembered secret.

    >>> redact("bad token sktsec_abc123 sent")
    'bad token sktsec_*** sent'
    >>> redact("auth hunter22 failed", "hunter22")
    'auth sktsec_*** failed'
    """
    with _lock:
        known = dict(_remembered)
    for secret in secrets:
        if secret and len(secret) >= MIN_SECRET and secret not in known:
            known[secret] = spellings(secret)
    for secret in sorted(known, key=len, reverse=True):
        for form in known[secret]:
            text = text.replace(form, REDACTED)
    return _TOKEN_RE.sub(REDACTED, text)
