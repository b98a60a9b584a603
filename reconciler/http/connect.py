"""Where the client connects, with which tokens, and how fast: ``--api-url`` and the environment.

All of it runs before any request, so a wrong URL or a missing token costs no API call and no
token ever travels over plain http to another machine. No message ever shows a token, or the
user name and password a URL might carry.

Socket tokens belong to one org. ``SOCKET_API_TOKEN_<ORG>`` (the slug upper-cased, every other
character than a letter or digit as ``_``) is that org's token; the generic variables
(``api.TOKEN_ENV_VARS``, first non-empty wins) serve every org without one of its own.

``local:PATH`` is resolved through a ``LocalTransport`` that the caller supplies: this package
knows no emulator, it only knows that such a transport needs no token.

The network settings come from the environment too, for the one host a client talks to: the
proxy (``environment_proxy``: ``HTTPS_PROXY``/``ALL_PROXY`` unless ``NO_PROXY`` exempts the
host) and the CA roots (``tls_context``: ``SSL_CERT_FILE``/``SSL_CERT_DIR``, else certifi's).
"""

from __future__ import annotations

import ipaddress
import os
import re
import ssl
import urllib.request
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Final
from urllib.parse import urlsplit

import httpx

from reconciler.api import LOCAL_SCHEME, TOKEN_ENV_VARS
from reconciler.errors import AuthError, InsecureUrlError, UsageError
from reconciler.http.pacing import Rate, rate_from_env
from reconciler.redact import remember

# The variable naming one org's token is this prefix and the org's slug, upper-cased.
ORG_TOKEN_PREFIX: Final = "SOCKET_API_TOKEN_"
MISSING_TOKEN: str = (
    "no Socket API token found: set SOCKET_API_TOKEN_<ORG> for each org, or one of "
    + ", ".join(TOKEN_ENV_VARS)
    + " to an org token (tokens are never taken from the command line)"
)
# Real tokens are far longer; a shorter one could not be hidden reliably in messages.
MIN_TOKEN: Final = 8
# The base URL requests go to when a LocalTransport answers them.
LOCAL_BASE_URL: Final = "http://emulator.local/v0"

LocalTransport = Callable[[str], httpx.BaseTransport]


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
        if not path.isprintable():
            raise UsageError("--api-url local:PATH has a control character in the path")
        return Endpoint(local_path=path)
    _check_characters(text)
    if "@" in text:
        raise UsageError(
            "--api-url must not carry a user name or password (the URL is not shown); "
            "the token is read from SOCKET_API_TOKEN"
        )
    try:
        parts = urlsplit(text)
        parts.port  # noqa: B018 - parsing the port is what raises for a bad one
    except ValueError as exc:
        raise UsageError(f"--api-url {text!r} is not a valid URL: {_why(exc)}") from None
    if parts.query or parts.fragment or text.endswith(("?", "#")):
        raise UsageError(f"--api-url {text!r} must not have a query or fragment")
    scheme = parts.scheme.lower()
    if scheme not in ("http", "https"):
        raise UsageError(
            f"unsupported --api-url {text!r}: use https://HOST/v0, "
            "http:// to a loopback host, or local:PATH"
        )
    host = parts.hostname
    if not host:
        raise UsageError(f"--api-url {text!r} has no host")
    try:
        host.encode("idna")  # what connecting does first: an empty or 64-character label fails
    except UnicodeError:
        raise UsageError(
            f"--api-url {text!r} has a host name that is not valid: each dot-separated part "
            "must be 1 to 63 characters"
        ) from None
    loopback = is_loopback(host)
    if scheme == "http" and not loopback:
        raise InsecureUrlError(
            f"refusing plain http to {host}: https is required "
            "(http is allowed only to localhost, 127.0.0.0/8 and ::1)"
        )
    return Endpoint(base_url=text.rstrip("/"), loopback=loopback)


def _check_characters(text: str) -> None:
    """Refuse what URL parsers disagree on, without echoing it (it may hold a secret)."""
    for index, char in enumerate(text, 1):
        if char == "\\":
            raise UsageError(
                f"--api-url has a backslash at character {index}; URLs use '/' (parsers "
                "disagree on what a backslash means, so it is refused)"
            )
        if not char.isascii() or not char.isprintable() or char.isspace():
            hint = " (write an international host name in its xn-- form)"
            raise UsageError(
                f"--api-url has {_kind(char)} at character {index}; a URL is printable ASCII"
                + (hint if not char.isascii() else "")
            )


def _kind(char: str) -> str:
    if char in "\r\n":
        return "a line break"
    if char.isspace():
        return "a space"
    return "a non-ASCII character" if not char.isascii() else "a control character"


def _why(exc: ValueError) -> str:
    text = str(exc)
    if "IPv6" in text:
        return "the brackets around an IPv6 address do not match"
    if "Port" in text or "port" in text:
        return "the port is not a number from 0 to 65535"
    return text


def resolve_token(env: Mapping[str, str]) -> str | None:
    """The first non-empty token among ``api.TOKEN_ENV_VARS``, in that order of precedence.

    >>> resolve_token({"SOCKET_API_KEY": "sktsec_b", "SOCKET_API_TOKEN": " "})
    'sktsec_b'
    """
    found = find_token(env)
    return None if found is None else found[1]


def find_token(env: Mapping[str, str]) -> tuple[str, str] | None:
    """``(variable name, token)`` for the first non-empty token variable, or ``None``."""
    for name in TOKEN_ENV_VARS:
        value = env.get(name, "").strip()
        if value:
            return name, value
    return None


def org_token_variable(org: str) -> str:
    """The variable that holds ``org``'s own token.

    >>> org_token_variable("acme-corp"), org_token_variable("my.org")
    ('SOCKET_API_TOKEN_ACME_CORP', 'SOCKET_API_TOKEN_MY_ORG')
    """
    return ORG_TOKEN_PREFIX + re.sub(r"[^A-Za-z0-9]", "_", org).upper()


def check_token(token: str, source: str = "the token") -> None:
    """Refuse a token that cannot be sent as a header, or hidden in messages; never show it.

    >>> check_token("sktsec_ok_123")
    >>> check_token("sktsec_a\\nb", "SOCKET_API_TOKEN")
    Traceback (most recent call last):
    ...
    reconciler.errors.AuthError: SOCKET_API_TOKEN has a line break at character 9; an API token \
is printable ASCII without spaces (the token is not shown)
    """
    if len(token) < MIN_TOKEN:
        raise AuthError(
            f"{source} is too short to be a Socket API token ({len(token)} characters; "
            "the token is not shown)"
        )
    for index, char in enumerate(token, 1):
        if not ("!" <= char <= "~"):
            raise AuthError(
                f"{source} has {_kind(char)} at character {index}; an API token is printable "
                "ASCII without spaces (the token is not shown)"
            )


@dataclass(frozen=True)
class Credential:
    """A token and the variable it came from (``None``: handed over in code, not read)."""

    variable: str | None
    token: str = field(repr=False)


def token_advice(org: str, credential: Credential | None) -> str:
    """Which variable to set so that ``org``'s calls carry a token of ``org``.

    >>> token_advice("beta", Credential("SOCKET_API_TOKEN", "sktsec_acme_only"))
    "set SOCKET_API_TOKEN_BETA to a token of org 'beta' (it takes precedence over \
SOCKET_API_TOKEN for that org)"
    """
    own = org_token_variable(org)
    if credential is not None and credential.variable == own:
        return f"set {own} to a valid token of org {org!r}"
    if credential is not None and credential.variable is not None:
        return (
            f"set {own} to a token of org {org!r} (it takes precedence over "
            f"{credential.variable} for that org)"
        )
    return f"set {own}, or one of {', '.join(TOKEN_ENV_VARS)}, to a valid token of org {org!r}"


def the_token(credential: Credential | None) -> str:
    """The token as a message names it: by the variable it came from, when known."""
    if credential is None or credential.variable is None:
        return "the token"
    return f"the token from {credential.variable}"


def token_refused(org: str, credential: Credential | None, said: str) -> AuthError:
    """A 401 for ``org``'s call, worded alike for every API: which variable to fix."""
    return AuthError(
        f"the Socket API refused {the_token(credential)} for org {org!r} (401): it is "
        f"invalid or missing{said}; {token_advice(org, credential)}",
        401,
    )


@dataclass(frozen=True)
class Credentials:
    """Which token each org's requests carry: its own variable first, then the generic one.

    ``required`` (a remote API): an org without any token is an ``AuthError`` before its first
    request. Otherwise (loopback) such requests go without a token, for the server to judge.

    >>> creds = Credentials.from_env(
    ...     {"SOCKET_API_TOKEN": "sktsec_every_org", "SOCKET_API_TOKEN_BETA": "sktsec_beta_only"},
    ...     required=True)
    >>> [creds.for_org(org).variable for org in ("acme", "beta")]
    ['SOCKET_API_TOKEN', 'SOCKET_API_TOKEN_BETA']
    """

    default: Credential | None = None
    own: Mapping[str, str] = field(default_factory=dict, repr=False)
    required: bool = False

    @classmethod
    def fixed(cls, token: str | None) -> Credentials:
        """One token for every org (``None``: no token at all), checked and remembered."""
        if not token:
            return cls()
        check_token(token)
        remember(token)
        return cls(Credential(None, token))

    @classmethod
    def from_env(cls, env: Mapping[str, str], *, required: bool) -> Credentials:
        """The tokens ``env`` holds; ``required`` and none at all is an ``AuthError`` now.

        Every token found is remembered for redaction; a per-org one is checked when its org
        is first used, so a malformed variable of an org not in this run stops nothing.
        """
        own = {
            name: value.strip()
            for name, value in env.items()
            if name.startswith(ORG_TOKEN_PREFIX) and value.strip()
        }
        found = find_token(env)
        if found is None and not own and required:
            raise AuthError(MISSING_TOKEN)
        default = None
        if found is not None:
            check_token(found[1], found[0])
            default = Credential(*found)
        for token in [*own.values(), *([default.token] if default else [])]:
            remember(token)
        return cls(default, own, required)

    def for_org(self, org: str) -> Credential | None:
        """The token for ``org``'s requests, checked; ``None`` to send none."""
        variable = org_token_variable(org)
        token = self.own.get(variable)
        if token:
            check_token(token, variable)
            return Credential(variable, token)
        if self.default is None and self.required:
            raise AuthError(
                f"no Socket API token for org {org!r}: set {variable}, or one of "
                f"{', '.join(TOKEN_ENV_VARS)} for every org (tokens are never taken from the "
                "command line)"
            )
        return self.default


@dataclass(frozen=True)
class Target:
    """Where requests go: a base URL, the tokens, a transport (``None``: network), the pacing."""

    base_url: str
    credentials: Credentials = Credentials()
    transport: httpx.BaseTransport | None = None
    rate: Rate | None = None


def resolve(api_url: str, env: Mapping[str, str], local: LocalTransport | None = None) -> Target:
    """Check ``--api-url``, find the tokens and the pacing; ``local:PATH`` is ``local(PATH)``.

    A loopback server (say, ``socket-triage emulator``) may run without auth, so there a missing
    token is left for the server to refuse with 401. Only a remote API is paced unless
    ``SOCKET_TRIAGE_RATE`` says otherwise (``http.pacing``).
    """
    endpoint = parse_endpoint(api_url)
    if endpoint.local_path is not None:
        if local is None:
            raise UsageError("--api-url local:PATH is not available for this command")
        rate = rate_from_env(env, remote=False)  # a bad value stops us before the file is opened
        return Target(LOCAL_BASE_URL, Credentials(), local(endpoint.local_path), rate)
    assert endpoint.base_url is not None  # parse_endpoint sets one of the two
    remote = not endpoint.loopback
    credentials = Credentials.from_env(env, required=remote)
    return Target(endpoint.base_url, credentials, rate=rate_from_env(env, remote=remote))


def environment_proxy(host: str) -> str | None:
    """The proxy that ``HTTPS_PROXY`` or ``ALL_PROXY`` names for ``host``, unless ``NO_PROXY``
    exempts it; ``None`` when there is none. Only http and https proxies are supported.
    """
    if not {name.lower() for name in os.environ} & {"https_proxy", "all_proxy"}:
        return None
    proxies = urllib.request.getproxies_environment()
    url = proxies.get("https") or proxies.get("all")
    if not url or urllib.request.proxy_bypass(host):
        return None
    url = url if "://" in url else f"http://{url}"
    if not url.lower().startswith(("http://", "https://")):
        raise UsageError(
            f"the proxy in HTTPS_PROXY or ALL_PROXY uses {url.split('://')[0]!r}: "
            "only http and https proxies are supported"
        )
    return url


def tls_context() -> ssl.SSLContext:
    """Certificate checks as httpx makes them: against ``SSL_CERT_FILE`` or ``SSL_CERT_DIR``
    when set, else certifi's roots. A setting that names no readable certificates is a
    ``UsageError`` naming the variable, before any request.
    """
    cafile, capath = os.environ.get("SSL_CERT_FILE"), os.environ.get("SSL_CERT_DIR")
    # OpenSSL reads a directory only when it looks up a certificate: check it now instead.
    if not cafile and capath and not (os.path.isdir(capath) and os.access(capath, os.R_OK)):
        raise UsageError(f"SSL_CERT_DIR {capath!r} is not a readable directory of CA certificates")
    try:
        return httpx.create_ssl_context()
    except OSError as exc:  # missing, a directory, or a file with no certificate (ssl.SSLError)
        source = f"SSL_CERT_FILE {cafile!r}" if cafile else "certifi's CA bundle"
        reason = "it holds no certificate" if isinstance(exc, ssl.SSLError) else exc.strerror
        raise UsageError(f"{source} cannot be read as CA certificates: {reason}") from None
