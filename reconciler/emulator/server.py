"""The HTTP front end: a stdlib ``ThreadingHTTPServer`` over ``Emulator.handle``.

HTTP/1.1 with keep-alive and Content-Length on every answer. An ambiguous write (``drop=True``)
closes the connection without a byte of answer, which is what a client sees when a proxy or
server dies after the commit.
"""

from __future__ import annotations

import contextlib
import socket
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import unquote, urlsplit

from reconciler.api import API_PREFIX
from reconciler.emulator.core import Emulator
from reconciler.emulator.responses import ApiFailure


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    # Shutdown must not wait for idle keep-alive connections; ``close_connections`` ends them.
    block_on_close = False

    def __init__(self, address: tuple[str, int], emulator: Emulator) -> None:
        if ":" in address[0]:
            self.address_family = socket.AF_INET6
        self.emulator = emulator
        self._open: set[socket.socket] = set()
        self._open_lock = threading.Lock()
        super().__init__(address, _Handler)

    def track(self, sock: socket.socket, *, active: bool) -> None:
        with self._open_lock:
            (self._open.add if active else self._open.discard)(sock)

    def close_connections(self) -> None:
        with self._open_lock:
            for sock in self._open:
                with contextlib.suppress(OSError):
                    sock.shutdown(socket.SHUT_RDWR)
            self._open.clear()


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server_version = "socket-triage-emulator"
    timeout = 60  # an idle keep-alive connection is closed after this many seconds
    # Headers and body are buffered and go out in one write when the answer is complete
    # (``handle_one_request`` flushes): one system call and one wake-up of the client per
    # answer, not two. Nagle stays off, so a small answer is not held back either.
    wbufsize = 256 * 1024
    disable_nagle_algorithm = True
    server: _Server

    def setup(self) -> None:
        super().setup()
        self.server.track(self.connection, active=True)

    def finish(self) -> None:
        with contextlib.suppress(OSError):
            super().finish()
        self.server.track(self.connection, active=False)

    def handle_expect_100(self) -> bool:
        """``100 Continue`` must reach the client now: it waits for it before sending a body."""
        answered = super().handle_expect_100()
        self.wfile.flush()
        return answered

    def log_message(self, format: str, *args: Any) -> None:
        """Quiet: tests and the CLI print what matters themselves."""

    def do_GET(self) -> None:
        self._answer()

    def do_POST(self) -> None:
        self._answer()

    def do_DELETE(self) -> None:
        self._answer()

    def do_PUT(self) -> None:
        self._answer()

    def do_PATCH(self) -> None:
        self._answer()

    def do_HEAD(self) -> None:
        self._answer()

    def do_OPTIONS(self) -> None:
        self._answer()

    def send_error(self, code: int, message: str | None = None, explain: str | None = None) -> None:
        """The stdlib's own refusals (bad request line, unknown method) in Socket's JSON shape.

        An unknown method is answered 405, as the API answers a method a path does not have.
        """
        status = 405 if code == 501 else code
        response = ApiFailure(status, message or explain or "Bad request").response()
        self.close_connection = True
        with contextlib.suppress(OSError):
            self.send_response(status)
            for name, value in response.headers.items():
                self.send_header(name, value)
            self.send_header("Connection", "close")
            self.end_headers()
            if self.command != "HEAD" and code >= 200 and code not in (204, 304):
                self.wfile.write(response.body)

    def _answer(self) -> None:
        try:
            body = self._body()
        except ValueError:
            self.close_connection = True  # the framing is lost; the next request cannot be read
            response = ApiFailure(400, "Malformed Content-Length or chunked body").response()
        else:
            parts = urlsplit(self.path)
            response = self.server.emulator.handle(
                self.command, unquote(parts.path), parts.query, dict(self.headers.items()), body
            )
        if response.drop:
            self.close_connection = True
            return
        self.send_response(response.status)
        for name, value in response.headers.items():
            self.send_header(name, value)
        self.end_headers()
        if self.command != "HEAD":  # a HEAD answer has the headers of the GET, never a body
            self.wfile.write(response.body)

    def _body(self) -> bytes:
        if "chunked" in self.headers.get("Transfer-Encoding", "").lower():
            return self._chunked()
        length = int(self.headers.get("Content-Length") or 0)
        return self.rfile.read(length) if length > 0 else b""

    def _chunked(self) -> bytes:
        chunks: list[bytes] = []
        while True:
            size = int(self.rfile.readline().split(b";")[0].strip() or b"0", 16)
            if size == 0:
                while self.rfile.readline() not in (b"\r\n", b"\n", b""):
                    pass
                return b"".join(chunks)
            chunks.append(self.rfile.read(size))
            self.rfile.readline()


@contextlib.contextmanager
def serve(emulator: Emulator, host: str = "127.0.0.1", port: int = 0) -> Iterator[str]:
    """Serve ``emulator`` over HTTP in a background thread; yield the base URL (``.../v0``).

    >>> with serve(Emulator()) as url:  # doctest: +SKIP
    ...     httpx.get(f"{url}/orgs/acme/triage/alerts")
    """
    server = _Server((host, port), emulator)
    thread = threading.Thread(
        target=server.serve_forever, args=(0.05,), name="emulator-http", daemon=True
    )
    thread.start()
    bound_host, bound_port = str(server.server_address[0]), int(server.server_address[1])
    shown = f"[{bound_host}]" if ":" in bound_host else bound_host
    try:
        yield f"http://{shown}:{bound_port}{API_PREFIX}"
    finally:
        server.shutdown()
        server.close_connections()
        server.server_close()
        thread.join()
