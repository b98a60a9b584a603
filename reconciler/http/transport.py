"""Tunnelling through a proxy: httpcore's proxy pool, with a total deadline per request.

Requests to the API's own host go through ``connections.Connections``. Through a proxy
(``HTTPS_PROXY``/``ALL_PROXY``, unless ``NO_PROXY`` exempts the host; see
``connect.environment_proxy``) httpcore does the CONNECT tunnel, and TLS inside TLS for an https
proxy; each read, write and connect is given at most the time left until the request's deadline
(``deadline.left``). Loopback never goes through a proxy.
"""

from __future__ import annotations

import ssl
from typing import Any

import httpcore
import httpx

from reconciler.http.deadline import left as _left


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


class ProxyTransport(httpx.HTTPTransport):
    """``httpx.HTTPTransport`` through the http(s) proxy ``proxy``, over a pool of ``pool_size``
    connections with deadlines, speaking TLS to the target with ``ssl_context``.
    """

    def __init__(self, *, pool_size: int, proxy: str, ssl_context: ssl.SSLContext) -> None:
        # HTTPTransport.__init__ is skipped: it would build a second SSL context; only the pool
        # is set.
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
            max_connections=pool_size,
            max_keepalive_connections=pool_size,
            keepalive_expiry=5.0,
            network_backend=_DeadlineBackend(),
        )
