"""Where the client connects and with which token: ``--api-url`` checks and token lookup.

Both run before any request, so a wrong URL or a missing token costs no API call and no token
ever travels over plain http to another machine.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Mapping
from dataclasses import dataclass
from urllib.parse import urlsplit

from reconciler.api import LOCAL_SCHEME, TOKEN_ENV_VARS
from reconciler.errors import AuthError, InsecureUrlError, UsageError

MISSING_TOKEN: str = (
    "no Socket API token found: set one of "
    + ", ".join(TOKEN_ENV_VARS)
    + " to an org token (tokens are never taken from the command line)"
)


@dataclass(frozen=True)
class Endpoint:
    """A checked API location: a base URL, or the path of an embedded emulator's database."""

    base_url: str | None = None
    local_path: str | None = None
    loopback: bool = False


def is_loopback(host: str) -> bool:
    """Whether ``host`` names this machine: ``localhost``, 127.0.0.0/8 or ``::1``.

    >>> [is_loopback(h) for h in ("localhost", "127.0.0.2", "::1", "10.0.0.1", "example.com")]
    [True, True, True, False, False]
    """
    name = host.lower().rstrip(".")
    if name == "localhost":
        return True
    try:
        return ipaddress.ip_address(name).is_loopback
    except ValueError:
        return False


def parse_endpoint(api_url: str) -> Endpoint:
    """Check an ``--api-url`` value. Plain http is refused unless the host is loopback.

    >>> parse_endpoint("https://api.socket.dev/v0/").base_url
    'https://api.socket.dev/v0'
    >>> parse_endpoint("local:state.db").local_path
    'state.db'
    """
    text = api_url.strip()
    if text.startswith(LOCAL_SCHEME):
        path = text[len(LOCAL_SCHEME) :]
        if not path:
            raise UsageError("--api-url local:PATH needs a path, e.g. local:.socket-triage.db")
        return Endpoint(local_path=path)
    parts = urlsplit(text)
    scheme = parts.scheme.lower()
    if scheme not in ("http", "https"):
        raise UsageError(
            f"unsupported --api-url {text!r}: use https://HOST/v0, "
            "http:// to a loopback host, or local:PATH"
        )
    host = parts.hostname
    if not host:
        raise UsageError(f"--api-url {text!r} has no host")
    loopback = is_loopback(host)
    if scheme == "http" and not loopback:
        raise InsecureUrlError(
            f"refusing plain http to {host}: https is required "
            "(http is allowed only to localhost, 127.0.0.0/8 and ::1)"
        )
    return Endpoint(base_url=text.rstrip("/"), loopback=loopback)


def resolve_token(env: Mapping[str, str]) -> str | None:
    """The first non-empty token among ``wire.TOKEN_ENV_VARS``, in that order of precedence.

    >>> resolve_token({"SOCKET_API_KEY": "sktsec_b", "SOCKET_API_TOKEN": " "})
    'sktsec_b'
    """
    for name in TOKEN_ENV_VARS:
        value = env.get(name, "").strip()
        if value:
            return value
    return None


def require_token(env: Mapping[str, str], endpoint: Endpoint) -> str | None:
    """The token for ``endpoint``; a remote API without one is an ``AuthError`` right away.

    A loopback server (say, ``socket-triage emulator``) may run without auth, so there a missing
    token is left for the server to refuse with 401.
    """
    token = resolve_token(env)
    if token is None and not endpoint.loopback:
        raise AuthError(MISSING_TOKEN)
    return token
