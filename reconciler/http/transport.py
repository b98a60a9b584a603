"""The network transport: httpcore's connection pool, with a total deadline per request.

Socket timeouts apply to each operation, so a server that trickles one byte just under every
read timeout could hold a request for ever. ``HttpClient`` sets a deadline around each attempt
(``deadline``, per thread), and the pool's network backend gives every connect, TLS handshake,
read and write at most the time left until it; past it the operation fails as httpcore's own
timeouts do (``ConnectTimeout``, ``ReadTimeout``, ``WriteTimeout``).

This needs the pool built with that backend (``httpcore.ConnectionPool(network_backend=...)``,
or ``httpcore.HTTPProxy`` for a proxy), which ``httpx.HTTPTransport`` does not offer: so
``NetworkTransport`` is the small ``httpx.BaseTransport`` that httpx's own would be, over such a
pool, with httpcore's failures raised as the httpx exceptions of the same name.

``ClosingTransport`` lets a transport release what it owns when the client closes it (the
embedded emulator's database).
"""

from __future__ import annotations

import contextlib
import ssl
import threading
import time
from collections.abc import Callable, Iterator
from typing import Any, Final

import httpcore
import httpx

# An idle connection older than this may have been closed by the server: open a new one instead.
KEEPALIVE: Final = 5.0

_local = threading.local()


@contextlib.contextmanager
def deadline(seconds: float) -> Iterator[None]:
    """Within the block, this thread's network I/O must finish ``seconds`` from now."""
    _local.until = time.monotonic() + seconds
    try:
        yield
    finally:
        _local.until = None


def _left(timeout: float | None, expired: type[Exception]) -> float | None:
    """The smaller of an operation's own timeout and the time left until the deadline.

    Raises ``expired`` once the deadline has passed.
    """
    until: float | None = getattr(_local, "until", None)
    if until is None:
        return timeout
    remaining = until - time.monotonic()
    if remaining <= 0:
        raise expired("the request's deadline passed")
    return remaining if timeout is None else min(timeout, remaining)


class _Stream(httpcore.NetworkStream):
    def __init__(self, inner: httpcore.NetworkStream) -> None:
        self._inner = inner

    def read(self, max_bytes: int, timeout: float | None = None) -> bytes:
        return self._inner.read(max_bytes, _left(timeout, httpcore.ReadTimeout))

    def write(self, buffer: bytes, timeout: float | None = None) -> None:
        self._inner.write(buffer, _left(timeout, httpcore.WriteTimeout))

    def close(self) -> None:
        self._inner.close()

    def start_tls(
        self,
        ssl_context: ssl.SSLContext,
        server_hostname: str | None = None,
        timeout: float | None = None,
    ) -> httpcore.NetworkStream:
        left = _left(timeout, httpcore.ConnectTimeout)
        return _Stream(self._inner.start_tls(ssl_context, server_hostname, left))

    def get_extra_info(self, info: str) -> Any:
        return self._inner.get_extra_info(info)


class _DeadlineBackend(httpcore.NetworkBackend):
    def __init__(self) -> None:
        self._inner = httpcore.SyncBackend()

    def connect_tcp(
        self,
        host: str,
        port: int,
        timeout: float | None = None,
        local_address: str | None = None,
        socket_options: Any = None,
    ) -> httpcore.NetworkStream:
        left = _left(timeout, httpcore.ConnectTimeout)
        try:
            stream = self._inner.connect_tcp(host, port, left, local_address, socket_options)
        except UnicodeError as exc:  # a host name the resolver cannot encode: not an OSError
            raise httpcore.ConnectError(f"the host name {host!r} is not valid: {exc}") from None
        return _Stream(stream)

    def connect_unix_socket(
        self, path: str, timeout: float | None = None, socket_options: Any = None
    ) -> httpcore.NetworkStream:
        left = _left(timeout, httpcore.ConnectTimeout)
        return _Stream(self._inner.connect_unix_socket(path, left, socket_options))

    def sleep(self, seconds: float) -> None:
        self._inner.sleep(seconds)


# httpcore's failures and their httpx namesakes; the most specific class of an error wins.
_AS_HTTPX: Final[dict[type[Exception], type[httpx.TransportError]]] = {
    httpcore.ConnectTimeout: httpx.ConnectTimeout,
    httpcore.ReadTimeout: httpx.ReadTimeout,
    httpcore.WriteTimeout: httpx.WriteTimeout,
    httpcore.PoolTimeout: httpx.PoolTimeout,
    httpcore.TimeoutException: httpx.TimeoutException,
    httpcore.ConnectError: httpx.ConnectError,
    httpcore.ReadError: httpx.ReadError,
    httpcore.WriteError: httpx.WriteError,
    httpcore.NetworkError: httpx.NetworkError,
    httpcore.RemoteProtocolError: httpx.RemoteProtocolError,
    httpcore.LocalProtocolError: httpx.LocalProtocolError,
    httpcore.ProtocolError: httpx.ProtocolError,
    httpcore.ProxyError: httpx.ProxyError,
    httpcore.UnsupportedProtocol: httpx.UnsupportedProtocol,
}


@contextlib.contextmanager
def _as_httpx(request: httpx.Request) -> Iterator[None]:
    try:
        yield
    except Exception as exc:
        kind = next((_AS_HTTPX[k] for k in type(exc).__mro__ if k in _AS_HTTPX), None)
        if kind is None:
            raise
        raise kind(str(exc) or type(exc).__name__, request=request) from exc


class _Body(httpx.SyncByteStream):
    def __init__(self, inner: Any, request: httpx.Request) -> None:
        self._inner = inner
        self._request = request

    def __iter__(self) -> Iterator[bytes]:
        with _as_httpx(self._request):
            yield from self._inner

    def close(self) -> None:
        self._inner.close()


class NetworkTransport(httpx.BaseTransport):
    """Requests over the network, each bounded by the thread's ``deadline``.

    Keeps up to ``pool_size`` idle connections (more may be open while more threads send).
    ``ssl_context`` checks https servers (``None`` for a plain-http client, which needs none);
    ``proxy`` is the http(s) proxy to tunnel through, if any (``connect.environment_proxy``).
    """

    def __init__(
        self, *, pool_size: int, ssl_context: ssl.SSLContext | None, proxy: str | None = None
    ) -> None:
        shared: dict[str, Any] = {
            "max_connections": None,
            "max_keepalive_connections": max(1, pool_size),
            "keepalive_expiry": KEEPALIVE,
            "network_backend": _DeadlineBackend(),
        }
        self._pool: httpcore.ConnectionPool | httpcore.HTTPProxy
        if proxy is None:
            self._pool = httpcore.ConnectionPool(ssl_context=ssl_context, **shared)
            return
        via = httpx.Proxy(proxy)
        self._pool = httpcore.HTTPProxy(
            proxy_url=httpcore.URL(
                scheme=via.url.raw_scheme,
                host=via.url.raw_host,
                port=via.url.port,
                target=via.url.raw_path,
            ),
            proxy_auth=via.raw_auth,
            proxy_headers=via.headers.raw,
            ssl_context=ssl_context,
            proxy_ssl_context=via.ssl_context,
            **shared,
        )

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        assert isinstance(request.stream, httpx.SyncByteStream)
        core = httpcore.Request(
            method=request.method,
            url=httpcore.URL(
                scheme=request.url.raw_scheme,
                host=request.url.raw_host,
                port=request.url.port,
                target=request.url.raw_path,
            ),
            headers=request.headers.raw,
            content=request.stream,
            extensions=request.extensions,
        )
        with _as_httpx(request):
            response = self._pool.handle_request(core)
        return httpx.Response(
            status_code=response.status,
            headers=response.headers,
            stream=_Body(response.stream, request),
            extensions=response.extensions,
        )

    def close(self) -> None:
        self._pool.close()


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
