"""Direct HTTP/1.1 connections on the standard library's ``http.client``, kept for reuse.

This is the transport for every request that goes straight to the API's host (all but those
tunnelled through a proxy, see ``transport``). It replaces httpcore's pool there for CPU: at 16
threads, httpcore rescans every connection against every waiting request on each checkout and
release, and with h11 it costs about twice the CPU of ``http.client`` per 48 KB page; listing
100k rules is 1,000 such pages in one process, bound by that CPU.

Each connect, read and write gets at most the time left until the request's deadline
(``deadline.left``), so a server that trickles bytes cannot hold a request past its timeout.
Failures are raised as httpx's exceptions, split as ``HttpClient`` needs them: ``ConnectError``
and ``ConnectTimeout`` before anything was sent, read and write errors and protocol errors after.
"""

from __future__ import annotations

import http.client
import io
import select
import socket
import ssl
import threading
import time
from typing import Final, NamedTuple

import httpx

from reconciler.http.deadline import left

# An idle connection older than this may have been closed by the server: open a new one instead.
KEEPALIVE: Final = 5.0

Timeouts = dict[str, float | None]


class Origin(NamedTuple):
    scheme: str
    host: str
    port: int


class DirectTransport(httpx.BaseTransport):
    """An httpx transport over pooled ``http.client`` connections to the URL's own host.

    Up to ``pool_size`` idle connections are kept; more may be open at once when more threads
    send, as each thread needs its own. ``ssl_context`` is ``None`` for plain http (loopback
    only, see ``connect``): an https URL is then refused rather than sent in the clear.
    """

    def __init__(self, *, pool_size: int, ssl_context: ssl.SSLContext | None) -> None:
        self._pool_size = max(1, pool_size)
        self._ssl = ssl_context
        self._idle: list[_Connection] = []
        self._lock = threading.Lock()
        self._closed = False

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        url = request.url
        if url.scheme == "https" and self._ssl is None:
            raise httpx.UnsupportedProtocol("https needs TLS, which this transport has none of")
        origin = Origin(url.scheme, url.host, url.port or (443 if url.scheme == "https" else 80))
        timeouts: Timeouts = request.extensions.get("timeout") or {}
        connection = self._checkout(origin)
        try:
            status, headers, body = connection.exchange(request, timeouts)
        except BaseException:
            connection.close()
            raise
        self._checkin(connection)
        return httpx.Response(status, headers=headers, content=body, request=request)

    def close(self) -> None:
        with self._lock:
            self._closed = True
            idle, self._idle = self._idle, []
        for connection in idle:
            connection.close()

    def _checkout(self, origin: Origin) -> _Connection:
        now = time.monotonic()
        stale: list[_Connection] = []
        found = None
        with self._lock:
            while self._idle and found is None:
                connection = self._idle.pop()  # the most recent: the least likely to be stale
                if connection.origin == origin and connection.usable(now):
                    found = connection
                else:
                    stale.append(connection)
        for connection in stale:
            connection.close()
        return found or _Connection(origin, self._ssl)

    def _checkin(self, connection: _Connection) -> None:
        if connection.sock is None:  # the server said it would close it
            return
        with self._lock:
            if not self._closed and len(self._idle) < self._pool_size:
                connection.idle_since = time.monotonic()
                self._idle.append(connection)
                return
        connection.close()


class _Connection(http.client.HTTPConnection):
    """One connection; ``connect`` opens it with deadlines and TLS, ``exchange`` uses it."""

    def __init__(self, origin: Origin, ssl_context: ssl.SSLContext | None) -> None:
        super().__init__(origin.host, origin.port)
        self.origin = origin
        self.idle_since = 0.0
        self.timeouts: Timeouts = {}
        self._ssl = ssl_context if origin.scheme == "https" else None

    def exchange(
        self, request: httpx.Request, timeouts: Timeouts
    ) -> tuple[int, list[tuple[str, str]], bytes]:
        """Send ``request`` and read the whole answer: status, headers and (raw) body."""
        self.timeouts = timeouts
        try:
            self.putrequest(
                request.method,
                request.url.raw_path.decode("ascii"),
                skip_host=True,  # httpx's Request carries Host, and the other headers to send
                skip_accept_encoding=True,
            )
            for name, value in request.headers.raw:
                self.putheader(name, value)
            self.endheaders(request.content or None)
            response = self.getresponse()
            body = response.read()
        except http.client.RemoteDisconnected:
            raise httpx.RemoteProtocolError(
                "Server disconnected without sending a response."
            ) from None
        except http.client.HTTPException as exc:  # a malformed, short or oversized answer
            raise httpx.RemoteProtocolError(f"{type(exc).__name__}: {exc}") from None
        return response.status, response.getheaders(), body

    def usable(self, now: float) -> bool:
        """Whether this idle connection can carry another request."""
        if self.sock is None or now - self.idle_since > KEEPALIVE:
            return False
        # An idle connection that reads as ready was closed (or written to) by the server.
        poll = select.poll()
        poll.register(self.sock.fileno(), select.POLLIN)
        return not poll.poll(0)

    def connect(self) -> None:
        connect = self.timeouts.get("connect")
        raw = None
        try:
            raw = socket.create_connection(
                (self.host, self.port), left(connect, httpx.ConnectTimeout)
            )
            raw.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            sock = raw
            if self._ssl is not None:
                raw.settimeout(left(connect, httpx.ConnectTimeout))
                sock = self._ssl.wrap_socket(raw, server_hostname=self.host)
        except TimeoutError:
            _close(raw)
            raise httpx.ConnectTimeout("timed out connecting") from None
        except OSError as exc:  # refused, unreachable, unknown host, TLS handshake or certificate
            _close(raw)
            raise httpx.ConnectError(str(exc) or type(exc).__name__) from None
        except httpx.ConnectTimeout:
            _close(raw)
            raise
        self.sock = _DeadlineSocket(sock, self)


class _DeadlineSocket:
    """What ``http.client`` needs of a socket, each operation bounded by the deadline."""

    def __init__(self, sock: socket.socket, connection: _Connection) -> None:
        self._sock = sock
        self._connection = connection

    def sendall(self, data: bytes) -> None:
        try:
            self._sock.settimeout(left(self._connection.timeouts.get("write"), httpx.WriteTimeout))
            self._sock.sendall(data)  # the timeout bounds the whole call
        except TimeoutError:
            raise httpx.WriteTimeout("timed out sending the request") from None
        except OSError as exc:
            raise httpx.WriteError(str(exc) or type(exc).__name__) from None

    def makefile(self, mode: str) -> io.BufferedReader:
        return io.BufferedReader(_Reader(self._sock, self._connection))

    def fileno(self) -> int:
        return self._sock.fileno()

    def close(self) -> None:
        self._sock.close()


class _Reader(io.RawIOBase):
    def __init__(self, sock: socket.socket, connection: _Connection) -> None:
        self._sock = sock
        self._connection = connection

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: memoryview) -> int:  # type: ignore[override]
        try:
            self._sock.settimeout(left(self._connection.timeouts.get("read"), httpx.ReadTimeout))
            return self._sock.recv_into(buffer)
        except TimeoutError:
            raise httpx.ReadTimeout("timed out reading the answer") from None
        except OSError as exc:
            raise httpx.ReadError(str(exc) or type(exc).__name__) from None


def _close(sock: socket.socket | None) -> None:
    if sock is not None:
        sock.close()
