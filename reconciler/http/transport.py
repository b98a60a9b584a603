"""The network transport: a pooled httpx transport whose every request has a total deadline.

httpx's timeouts apply to each socket operation, so a server that trickles one byte at a time
can hold a request for ever. Here each read, write and connect is given at most the time left
until the request's deadline (set by ``deadline`` around one attempt, per thread), so one attempt
ends within ``timeout`` seconds however the server paces its bytes.

Plain http (loopback only, see ``connect``) gets no SSL context at all: building one loads the CA
bundle, 20-35 ms of start-up for nothing. https honours ``HTTPS_PROXY``/``ALL_PROXY`` and
``NO_PROXY`` as httpx would; loopback never goes through a proxy.
"""

from __future__ import annotations

import contextlib
import os
import threading
import time
from collections.abc import Iterator
from typing import Any

import httpcore
import httpx

from reconciler.errors import UsageError

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
    """The smaller of an operation's own timeout and the time left until the deadline."""
    until: float | None = getattr(_local, "until", None)
    if until is None:
        return timeout
    left = until - time.monotonic()
    if left <= 0:
        raise expired("the request's deadline passed")
    return left if timeout is None else min(timeout, left)


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
        ssl_context: Any,
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
        return _Stream(self._inner.connect_tcp(host, port, left, local_address, socket_options))

    def connect_unix_socket(
        self, path: str, timeout: float | None = None, socket_options: Any = None
    ) -> httpcore.NetworkStream:
        left = _left(timeout, httpcore.ConnectTimeout)
        return _Stream(self._inner.connect_unix_socket(path, left, socket_options))

    def sleep(self, seconds: float) -> None:
        self._inner.sleep(seconds)


class NetworkTransport(httpx.HTTPTransport):
    """``httpx.HTTPTransport`` over a pool of ``pool_size`` connections with deadlines.

    ``tls=False`` (plain http to loopback) builds no SSL context; an https URL through such a
    transport would fail, as it should. ``proxy`` is an http(s) proxy URL to tunnel through.
    """

    def __init__(self, *, pool_size: int, tls: bool, proxy: str | None = None) -> None:
        # HTTPTransport.__init__ would build an SSL context unconditionally; only the pool is set.
        ssl_context = httpx.create_ssl_context() if tls else None
        limits: dict[str, Any] = {
            "max_connections": pool_size,
            "max_keepalive_connections": pool_size,
            "keepalive_expiry": 5.0,
            "network_backend": _DeadlineBackend(),
        }
        if proxy is None:
            self._pool = httpcore.ConnectionPool(ssl_context=ssl_context, **limits)
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
            **limits,
        )


def environment_proxy(host: str) -> str | None:
    """The proxy that ``HTTPS_PROXY`` or ``ALL_PROXY`` names for ``host``, unless ``NO_PROXY``
    exempts it; ``None`` when there is none. Only http and https proxies are supported.
    """
    if not {name.lower() for name in os.environ} & {"https_proxy", "all_proxy"}:
        return None  # the common case, without importing urllib.request (and email with it)
    import urllib.request

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
