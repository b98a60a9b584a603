"""Loopback servers that misbehave on purpose, for the HTTP layer's tests over real sockets.

Each runs a handler on every accepted connection, in its own thread: trickle bytes, hold a
request, close without answering, speak TLS. They test the client's own network code, which the
in-process transport never reaches.
"""

from __future__ import annotations

import contextlib
import socket
import ssl
import threading
from collections.abc import Callable, Iterator

Handler = Callable[[socket.socket], None]


@contextlib.contextmanager
def raw_server(
    handle: Handler, *, tls: ssl.SSLContext | None = None, host: str = "127.0.0.1"
) -> Iterator[str]:
    """Serve ``handle`` on each connection; yields the base URL ending in ``/v0``."""
    listener = socket.create_server(("127.0.0.1", 0))
    listener.settimeout(0.2)
    stop = threading.Event()

    def serve() -> None:
        while not stop.is_set():
            try:
                conn, _ = listener.accept()
            except TimeoutError:
                continue
            threading.Thread(target=_run, args=(handle, conn, tls), daemon=True).start()

    thread = threading.Thread(target=serve, daemon=True)
    thread.start()
    scheme = "https" if tls else "http"
    try:
        yield f"{scheme}://{host}:{listener.getsockname()[1]}/v0"
    finally:
        stop.set()
        thread.join(5)
        listener.close()


def _run(handle: Handler, conn: socket.socket, tls: ssl.SSLContext | None) -> None:
    with contextlib.suppress(OSError):
        if tls is not None:
            conn.settimeout(5)
            conn = tls.wrap_socket(conn, server_side=True)
        with conn:
            handle(conn)


def read_request(conn: socket.socket) -> bytes:
    """The request's line and headers; its body (by Content-Length) is read and dropped.

    A server that closes with request bytes unread makes the kernel reset the connection,
    which can destroy an answer still on its way: a real server reads the whole request.
    """
    data = b""
    while b"\r\n\r\n" not in data:
        chunk = conn.recv(4096)
        if not chunk:
            raise OSError("closed")
        data += chunk
    head, _, body = data.partition(b"\r\n\r\n")
    length = 0
    for line in head.split(b"\r\n")[1:]:
        name, _, value = line.partition(b":")
        if name.strip().lower() == b"content-length":
            length = int(value)
    while len(body) < length:
        chunk = conn.recv(4096)
        if not chunk:
            raise OSError("closed")
        body += chunk
    return head
