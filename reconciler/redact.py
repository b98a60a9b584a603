"""Keep tokens out of every message, log line and file this tool writes."""

from __future__ import annotations

import re
from typing import Final

from reconciler.api import TOKEN_PREFIX

_TOKEN_RE: Final = re.compile(re.escape(TOKEN_PREFIX) + r"[A-Za-z0-9_\-.]+")
REDACTED: Final = TOKEN_PREFIX + "***"


def redact(text: str, *secrets: str | None) -> str:
    """Replace anything shaped like a Socket token, and each given secret, with a placeholder.

    >>> redact("bad token sktsec_abc123 sent")
    'bad token sktsec_*** sent'
    """
    for secret in secrets:
        if secret and len(secret) >= 4:
            text = text.replace(secret, REDACTED)
    return _TOKEN_RE.sub(REDACTED, text)
