"""The debug trace: one log line per attempt, and its headers and bodies one level deeper.

``--debug`` (or ``SOCKET_TRIAGE_DEBUG=1``) logs at ``DEBUG`` one line per request and its
answer: method, path and query, status (or the failure), time taken, attempt, and the request
id the server sent back, if any, which is what a bug report needs. ``--debug --debug`` (or
``SOCKET_TRIAGE_DEBUG=2``) logs at ``TRACE`` the headers and bodies too. Every line is
redacted: the token in any spelling (``redact``), and the value of every header that carries
a credential, whatever it holds.
"""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING, Final

from reconciler.redact import redact

if TYPE_CHECKING:  # annotations only: the CLI reads TRACE at start-up, before any request
    import httpx

log = logging.getLogger(__name__)

TRACE: Final = 5  # below DEBUG: headers and bodies
logging.addLevelName(TRACE, "TRACE")
# Headers whose value is a credential or may carry one: never shown, whatever they hold.
SECRET_HEADERS: Final = frozenset(
    {"authorization", "proxy-authorization", "cookie", "set-cookie", "x-api-key"}
)
# Headers an API gateway uses for the id of a request, in the order they are looked for.
REQUEST_ID_HEADERS: Final = ("x-request-id", "x-amzn-requestid", "cf-ray", "x-trace-id")
# A body is shown up to this many characters; a listing page can be megabytes.
BODY_SHOWN: Final = 4000


def answered(
    request: httpx.Request, response: httpx.Response, seconds: float, attempt: int
) -> None:
    """Log one attempt that got an answer."""
    if not log.isEnabledFor(logging.DEBUG):
        return
    found = next((response.headers[h] for h in REQUEST_ID_HEADERS if h in response.headers), "")
    said = f", request id {found}" if found else ""
    _line(request, f"{response.status_code} in {_ms(seconds)} (attempt {attempt}{said})")
    if log.isEnabledFor(TRACE):
        _exchange("request", request.headers, request.content)
        _exchange("answer", response.headers, response.content)


def failed(request: httpx.Request, error: httpx.RequestError, seconds: float, attempt: int) -> None:
    """Log one attempt that got no answer."""
    if not log.isEnabledFor(logging.DEBUG):
        return
    what = f"{type(error).__name__}: {error}" if str(error) else type(error).__name__
    _line(request, f"{what} after {_ms(seconds)} (attempt {attempt})")
    if log.isEnabledFor(TRACE):
        _exchange("request", request.headers, request.content)


def _line(request: httpx.Request, outcome: str) -> None:
    url = request.url
    where = (url.netloc + url.raw_path).decode("ascii", "replace")
    log.debug("%s", redact(f"{request.method} {url.scheme}://{where} -> {outcome}"))


def _exchange(side: str, headers: httpx.Headers, body: bytes) -> None:
    shown = [
        f"{name}: {'<redacted>' if name.lower() in SECRET_HEADERS else value}"
        for name, value in headers.items()
    ]
    text = redact(body.decode("utf-8", "replace"))  # before the cut, which could halve a token
    if len(text) > BODY_SHOWN:
        text = f"{text[:BODY_SHOWN]}... ({len(body):,} bytes in all)"
    lines = [f"{side} headers: {'; '.join(shown)}"] + ([f"{side} body: {text}"] if body else [])
    for line in lines:
        log.log(TRACE, "%s", redact(line))


def _ms(seconds: float) -> str:
    """``"12 ms"``.

    >>> _ms(0.0123)
    '12 ms'
    """
    return f"{seconds * 1000:.0f} ms"
