"""Direct HTTP/1.1 connections on the standard library's ``http.client``, kept for reuse.

This is the transport for every request that goes straight to the API's host (all but those
tunnelled through a proxy, see ``transport``). It replaces httpcore's pool there for CPU: at 16
threads, httpcore rescans every connection against every waiting request on each checkout and
release, and with h11 it costs about twice the CPU of ``http.client`` per 48 KB page; listing
100k rules is 1,000 such pages in one process, bound by that CPU.

Each connect, read and write gets at most the time left until the request's deadline
(``deadline.left``), so a server that trickles bytes cannot hold a request past its timeout.
Failures are ``TransportError``s named as httpx names them, split as ``HttpClient`` needs them:
``ConnectError`` and ``ConnectTimeout`` before anything was sent (``never_sent``), read, write,
protocol and decoding errors after. httpx is not imported here (see ``message``).
"""

from __future__ import annotations

import http.client
import io
import os
import select
import socket
import ssl
import threading
import time
import zlib
from collections.abc import Callable, Mapping
from typing import Final, NamedTuple
from urllib.parse import urlsplit

from reconciler.http.deadline import left
from reconciler.http.message import Answer, TransportError

# An idle connection older than this may have been closed by the server: open a new one instead.
KEEPALIVE: Final = 5.0


class _Expired(Exception):
    """The request's deadline passed before an operation could start."""


class Origin(NamedTuple):
    scheme: str
    host: str
    port: int


class Connections:
    """An ``Exchange`` over pooled ``http.client`` connections to the URL's own host.

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

    def send(
        self, method: str, url: str, headers: Mapping[str, str], body: bytes | None, timeout: float
    ) -> Answer:
        parts = urlsplit(url)
        if parts.scheme == "https" and self._ssl is None:
            raise TransportError("UnsupportedProtocol", "https needs TLS, which is not set up")
        port = parts.port or (443 if parts.scheme == "https" else 80)
        origin = Origin(parts.scheme, parts.hostname or "", port)
        target = f"{parts.path or '/'}?{parts.query}" if parts.query else parts.path or "/"
        connection = self._checkout(origin)
        try:
            answer = connection.exchange(method, target, parts.netloc, headers, body, timeout)
        except BaseException:
            connection.close()
            raise
        self._checkin(connection)
        return answer

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


class _Response(http.client.HTTPResponse):
    """``http.client``'s answer, skipping every interim (1xx) answer as h11 does, not only 100.

    An early hint (103) taken for the answer would report an applied create as refused, and
    leave the real answer on the connection for the next request to read as its own.
    """

    def _read_status(self) -> tuple[str, int, str]:
        while True:
            version, status, reason = super()._read_status()  # type: ignore[misc]
            if not (100 < status < 200) or status == 101:  # 100: begin() skips it itself
                return version, status, reason
            http.client.parse_headers(self.fp)  # the interim answer's headers, then the next


class _Connection(http.client.HTTPConnection):
    """One connection; ``connect`` opens it with deadlines and TLS, ``exchange`` uses it."""

    response_class = _Response

    def __init__(self, origin: Origin, ssl_context: ssl.SSLContext | None) -> None:
        super().__init__(origin.host, origin.port)
        self.origin = origin
        self.idle_since = 0.0
        self.timeout_each: float | None = None
        self._ssl = ssl_context if origin.scheme == "https" else None

    def exchange(
        self,
        method: str,
        target: str,
        host: str,
        headers: Mapping[str, str],
        body: bytes | None,
        timeout: float,
    ) -> Answer:
        """Send one request and read the whole answer."""
        self.timeout_each = timeout
        try:
            self.putrequest(method, target, skip_host=True, skip_accept_encoding=True)
            self.putheader("Host", host)
            for name, value in headers.items():
                self.putheader(name, value)
            if body is not None:
                self.putheader("Content-Length", str(len(body)))
            self.endheaders(body)
            response = self.getresponse()
            if response.status < 200:  # 101: a switch of protocol nobody asked for
                raise http.client.HTTPException(f"an interim answer {response.status} came last")
            content = response.read()
        except http.client.RemoteDisconnected:
            raise TransportError(
                "RemoteProtocolError", "Server disconnected without sending a response."
            ) from None
        except http.client.HTTPException as exc:  # a malformed, short or oversized answer
            raise TransportError("RemoteProtocolError", f"{type(exc).__name__}: {exc}") from None
        names = {name.lower(): value for name, value in response.getheaders()}
        return Answer(response.status, names, _decoded(content, names))

    def usable(self, now: float) -> bool:
        """Whether this idle connection can carry another request."""
        if self.sock is None or now - self.idle_since > KEEPALIVE:
            return False
        # An idle connection that reads as ready was closed (or written to) by the server.
        return not _readable(self.sock.fileno())

    def connect(self) -> None:
        raw = None
        try:
            raw = socket.create_connection((self.host, self.port), self.left("ConnectTimeout"))
            raw.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            sock = raw
            if self._ssl is not None:
                raw.settimeout(self.left("ConnectTimeout"))
                sock = self._ssl.wrap_socket(raw, server_hostname=self.host)
        except TimeoutError:
            _close(raw)
            raise TransportError(
                "ConnectTimeout", "timed out connecting", never_sent=True
            ) from None
        except (OSError, UnicodeError) as exc:  # refused, unreachable, unknown host (or one
            # that is no valid host name), TLS handshake or certificate
            _close(raw)
            raise TransportError("ConnectError", _said(exc), never_sent=True) from None
        except TransportError:
            _close(raw)
            raise
        self.sock = _DeadlineSocket(sock, self)

    def left(self, kind: str) -> float | None:
        """The timeout for one operation: what is left until the deadline, at most the
        request's timeout. ``kind`` names the failure once nothing is left."""
        try:
            return left(self.timeout_each, _Expired)
        except _Expired:
            raise TransportError(
                kind, "the request's deadline passed", never_sent=kind == "ConnectTimeout"
            ) from None


class _DeadlineSocket:
    """What ``http.client`` needs of a socket, each operation bounded by the deadline.

    As with the standard socket, ``close`` waits for the files made from it: ``http.client``
    closes its connection as soon as an answer says the server will close, before the body is
    read from the response's file.
    """

    def __init__(self, sock: socket.socket, connection: _Connection) -> None:
        self._sock = sock
        self._connection = connection
        self._files = 0
        self._closing = False

    def sendall(self, data: bytes) -> None:
        try:
            self._sock.settimeout(self._connection.left("WriteTimeout"))
            self._sock.sendall(data)  # the timeout bounds the whole call
        except TimeoutError:
            raise TransportError("WriteTimeout", "timed out sending the request") from None
        except OSError as exc:
            raise TransportError("WriteError", _said(exc)) from None

    def makefile(self, mode: str) -> io.BufferedReader:
        self._files += 1
        return io.BufferedReader(_Reader(self._sock, self._connection, self._file_closed))

    def fileno(self) -> int:
        return self._sock.fileno()

    def close(self) -> None:
        self._closing = True
        if not self._files:
            self._sock.close()

    def _file_closed(self) -> None:
        self._files -= 1
        if self._closing and not self._files:
            self._sock.close()


class _Reader(io.RawIOBase):
    def __init__(
        self, sock: socket.socket, connection: _Connection, on_close: Callable[[], None]
    ) -> None:
        self._sock = sock
        self._connection = connection
        self._on_close: Callable[[], None] | None = on_close

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: memoryview) -> int:  # type: ignore[override]
        try:
            self._sock.settimeout(self._connection.left("ReadTimeout"))
            return self._sock.recv_into(buffer)
        except TimeoutError:
            raise TransportError("ReadTimeout", "timed out reading the answer") from None
        except OSError as exc:
            raise TransportError("ReadError", _said(exc)) from None

    def close(self) -> None:
        super().close()
        on_close, self._on_close = self._on_close, None
        if on_close is not None:
            on_close()


def _decoded(content: bytes, headers: Mapping[str, str]) -> bytes:
    """The body without the gzip or deflate coding the server applied (we offer both)."""
    coding = headers.get("content-encoding", "").strip().lower()
    try:
        if coding in ("gzip", "x-gzip"):
            return zlib.decompress(content, 16 + zlib.MAX_WBITS)
        if coding == "deflate":  # zlib-wrapped as the RFC says, or raw as some servers send it
            try:
                return zlib.decompress(content)
            except zlib.error:
                return zlib.decompress(content, -zlib.MAX_WBITS)
    except zlib.error as exc:
        raise TransportError("DecodingError", f"the {coding} body does not decode: {exc}") from None
    return content  # identity, or a coding we never offered: as httpx does, left as sent


def tls_context() -> ssl.SSLContext:
    """Certificate checks against ``SSL_CERT_FILE`` or ``SSL_CERT_DIR`` if set, else certifi's
    roots: what httpx would use."""
    if os.environ.get("SSL_CERT_FILE"):
        return ssl.create_default_context(cafile=os.environ["SSL_CERT_FILE"])
    if os.environ.get("SSL_CERT_DIR"):
        return ssl.create_default_context(capath=os.environ["SSL_CERT_DIR"])
    import certifi

    return ssl.create_default_context(cafile=certifi.where())


def _readable(fd: int) -> bool:
    """Whether ``fd`` has something to read (or reached its end), without waiting."""
    if hasattr(select, "poll"):  # any descriptor number; select() stops at FD_SETSIZE
        poll = select.poll()
        poll.register(fd, select.POLLIN)
        return bool(poll.poll(0))
    return bool(select.select([fd], [], [], 0)[0])  # Windows has no poll()


def _said(exc: Exception) -> str:
    return str(exc) or type(exc).__name__


def _close(sock: socket.socket | None) -> None:
    if sock is not None:
        sock.close()
