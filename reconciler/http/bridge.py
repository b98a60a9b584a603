"""httpx transports behind ``HttpClient``: the in-process emulator, tests' fault injectors and
the proxy tunnel all speak httpx; here they become an ``Exchange``.

Only runs that use such a transport import httpx (a network run without a proxy never does).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping

import httpx

from reconciler.http.message import Answer, TransportError

# Failures that happen before a request leaves this machine: safe to retry even for a create.
_NEVER_SENT = (httpx.ConnectError, httpx.ConnectTimeout, httpx.PoolTimeout)


class HttpxExchange:
    """Sends each request through an httpx ``transport`` and reads its answer whole."""

    def __init__(self, transport: httpx.BaseTransport) -> None:
        self._transport = transport

    def send(
        self, method: str, url: str, headers: Mapping[str, str], body: bytes | None, timeout: float
    ) -> Answer:
        request = httpx.Request(
            method,
            url,
            headers=headers,
            content=body,
            extensions={"timeout": httpx.Timeout(timeout).as_dict()},
        )
        try:
            response = self._transport.handle_request(request)
            try:
                content = response.read()
            finally:
                response.close()  # the connection goes back to the pool
        except httpx.RequestError as exc:
            never_sent = isinstance(exc, _NEVER_SENT)
            raise TransportError(type(exc).__name__, str(exc), never_sent=never_sent) from None
        headers_read = {name.lower(): value for name, value in response.headers.items()}
        return Answer(response.status_code, headers_read, content)

    def close(self) -> None:
        self._transport.close()


class ClosingTransport(httpx.BaseTransport):
    """A transport that also releases something it owns (say, a database) when closed."""

    def __init__(self, inner: httpx.BaseTransport, on_close: Callable[[], None]) -> None:
        self._inner = inner
        self._on_close = on_close

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        return self._inner.handle_request(request)

    def close(self) -> None:
        try:
            self._inner.close()
        finally:
            self._on_close()
