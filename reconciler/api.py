"""Socket API facts shared by every API family: base URL, token shape and where tokens live.

Both the reconciler and the emulator import these; logic stays on each side separately.
"""

from __future__ import annotations

from typing import Final

API_PREFIX: Final = "/v0"
DEFAULT_API_URL: Final = "https://api.socket.dev/v0"
API_URL_ENV: Final = "SOCKET_API_URL"
LOCAL_SCHEME: Final = "local:"

# The two APIs a rule file (``target:``), a plan or ``--target`` can aim at.
TRIAGE: Final = "triage"
ALERT_POLICIES: Final = "alert-policies"
TARGETS: Final = (TRIAGE, ALERT_POLICIES)

# Requests in flight at once (pages while listing, writes while applying) unless --concurrency
# says otherwise. Against Socket the client paces itself to the rate limit (``http.pacing``: 600
# in any minute), so the width only decides how fast each minute's 600 are spent; against
# a fast server (the emulator, a proxy in the same region) 16 keeps a 20 ms round trip busy.
DEFAULT_CONCURRENCY: Final = 16

TOKEN_PREFIX: Final = "sktsec_"
# Environment variables Socket's own tools read the token from, in order of precedence.
TOKEN_ENV_VARS: Final[tuple[str, ...]] = (
    "SOCKET_API_TOKEN",
    "SOCKET_API_KEY",
    "SOCKET_CLI_API_TOKEN",
    "SOCKET_CLI_API_KEY",
    "SOCKET_SECURITY_API_TOKEN",
    "SOCKET_SECURITY_API_KEY",
)
