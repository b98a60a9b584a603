"""The network transport (``http.transport``, httpx over httpcore) on real loopback sockets.

Keep-alive reuse, connections the server closed, bodies in chunks and gzip, answers that never
come, answers on closing connections, interim answers, latin-1 headers, refused connections,
cookies and TLS, each as ``HttpClient`` sees them: what is retried, what is an unknown outcome,
and how many connections the server saw.
"""

from __future__ import annotations

import contextlib
import gzip
import json
import select
import shutil
import socket
import ssl
import struct
import subprocess
import threading
import time
from collections.abc import Callable
from pathlib import Path

import pytest
from raw_servers import Handler, raw_server, read_request

from reconciler.errors import ApiError, OutcomeUnknownError, ServerError
from reconciler.http.client import HttpClient
from reconciler.http.retry import RetryPolicy

RETRY = RetryPolicy(max_attempts=2, base_delay=0.0, max_delay=0.0, timeout=5.0)


def answer(body: bytes, *headers: str) -> bytes:
    head = ["HTTP/1.1 200 OK", "Content-Type: application/json", *headers]
    if not any(h.lower().startswith("transfer-encoding") for h in headers):
        head.append(f"Content-Length: {len(body)}")
    return ("\r\n".join(head) + "\r\n\r\n").encode() + body


class Recorder:
    """A keep-alive server: answers every request on a connection with ``reply``, counts both."""

    def __init__(self, reply: Callable[[int], bytes], *, close_after: int | None = None) -> None:
        self.reply = reply
        self.close_after = close_after
        self.connections = 0
        self.requests: list[bytes] = []
        self._lock = threading.Lock()

    def __call__(self, conn: socket.socket) -> None:
        with self._lock:
            self.connections += 1
        served = 0
        while self.close_after is None or served < self.close_after:
            try:
                head = read_request(conn)
            except OSError:
                return
            with self._lock:
                self.requests.append(head)
                number = len(self.requests)
            conn.sendall(self.reply(number))
            served += 1


def test_one_connection_carries_requests_one_after_another() -> None:
    server = Recorder(lambda n: answer(json.dumps({"n": n}).encode()))
    with raw_server(server) as url, HttpClient(url, "sktsec_connections_test_token") as http:
        got = [http.send("GET", "/orgs", params={"page": i}).response.json()["n"] for i in (1, 2)]
    assert got == [1, 2]
    assert server.connections == 1
    lines = server.requests[0].decode().split("\r\n")
    assert lines[0] == "GET /v0/orgs?page=1 HTTP/1.1"
    headers = dict(line.split(": ", 1) for line in lines[1:])
    assert headers["Host"] == url.split("/")[2]
    assert headers["Authorization"] == "Bearer sktsec_connections_test_token"
    assert headers["Accept"] == "application/json"
    assert headers["Accept-Encoding"] == "gzip, deflate"
    assert headers["User-Agent"].startswith("socket-triage/")


@pytest.mark.parametrize("poll", [True, False], ids=["poll", "select"])
@pytest.mark.parametrize("says_so", [True, False])
def test_a_connection_the_server_closes_is_not_used_again(
    says_so: bool, poll: bool, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Answer one request per connection, then close: with "Connection: close", or silently,
    # as a server whose keep-alive ran out does. Either way no request fails or is retried,
    # also where there is no poll() (Windows) and select() tells.
    if not poll:
        monkeypatch.delattr(select, "poll")
    extra = ("Connection: close",) if says_so else ()
    server = Recorder(lambda n: answer(b"{}", *extra), close_after=1)
    with raw_server(server) as url, HttpClient(url, None, retry=RETRY) as http:
        for _ in range(3):
            http.send("GET", "/orgs")
            time.sleep(0.05)  # the server's close reaches us before the next request
    assert server.connections == 3
    assert http.calls == {"GET": 3}


def test_chunked_and_gzip_answers_are_read_whole() -> None:
    body = gzip.compress(json.dumps({"results": list(range(5000))}).encode())
    chunks = b"".join(b"%x\r\n%s\r\n" % (len(part), part) for part in _split(body, 1000))
    reply = answer(chunks + b"0\r\n\r\n", "Transfer-Encoding: chunked", "Content-Encoding: gzip")
    with raw_server(Recorder(lambda n: reply)) as url, HttpClient(url, None) as http:
        assert http.send("GET", "/orgs").response.json()["results"] == list(range(5000))


def _drop(conn: socket.socket) -> None:
    read_request(conn)  # and close without a word


def test_no_answer_is_retried_for_a_read_and_unknown_for_a_create() -> None:
    with raw_server(_drop) as url, HttpClient(url, None, retry=RETRY) as http:
        with pytest.raises(ServerError, match="GET failed after 2 attempts: RemoteProtocolError"):
            http.send("GET", "/orgs")
        with pytest.raises(OutcomeUnknownError, match="POST may or may not have been applied"):
            http.send("POST", "/orgs", body={"alertTriage": []}, idempotent=False)
    assert http.calls == {"GET": 2, "POST": 1}


def test_a_refused_connection_is_retried_even_for_a_create() -> None:
    # Nothing was sent, so a create may be tried again: it fails for the attempts, not as unknown.
    with socket.create_server(("127.0.0.1", 0)) as closed:
        port = closed.getsockname()[1]
    with (
        HttpClient(f"http://127.0.0.1:{port}/v0", None, retry=RETRY) as http,
        pytest.raises(ServerError, match="POST failed after 2 attempts: ConnectError"),
    ):
        http.send("POST", "/orgs", body={"alertTriage": []}, idempotent=False)
    assert http.calls == {"POST": 2}


@pytest.fixture(scope="module")
def certificate(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    if shutil.which("openssl") is None:
        pytest.skip("needs the openssl command to make a certificate")
    where = tmp_path_factory.mktemp("tls")
    cert, key = where / "cert.pem", where / "key.pem"
    subprocess.run(
        [
            *("openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1"),
            *("-keyout", str(key), "-out", str(cert), "-subj", "/CN=localhost"),
            *("-addext", "subjectAltName=DNS:localhost"),
        ],
        check=True,
        capture_output=True,
    )
    return cert, key


def test_https_verifies_the_server_certificate(
    certificate: tuple[Path, Path], monkeypatch: pytest.MonkeyPatch
) -> None:
    cert, key = certificate
    tls = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    tls.load_cert_chain(cert, key)
    server = Recorder(lambda n: answer(b'{"ok": true}'))
    monkeypatch.delenv("SSL_CERT_DIR", raising=False)
    for var in ("HTTPS_PROXY", "https_proxy", "ALL_PROXY", "all_proxy"):
        monkeypatch.delenv(var, raising=False)
    with raw_server(server, tls=tls, host="localhost") as url:
        monkeypatch.setenv("SSL_CERT_FILE", str(cert))  # trusted: the request is answered
        with HttpClient(url, None, retry=RETRY) as http:
            assert http.send("GET", "/orgs").response.json() == {"ok": True}
        monkeypatch.delenv("SSL_CERT_FILE")  # the public roots do not know it: never sent
        with (
            HttpClient(url, None, retry=RETRY) as http,
            pytest.raises(ServerError, match="CERTIFICATE_VERIFY_FAILED"),
        ):
            http.send("POST", "/orgs", body={"alertTriage": []}, idempotent=False)
    assert len(server.requests) == 1


# Larger than the 8 KB a buffered reader takes in with the headers (the hand-written pool on
# http.client once lost such answers).
BIG = json.dumps({"results": [{"uuid": f"u{i}", "note": "x" * 40} for i in range(400)]}).encode()


def _closing(head: bytes) -> Handler:
    def handle(conn: socket.socket) -> None:
        read_request(conn)
        conn.sendall(head + BIG)  # then the server closes, as the framing says it will

    return handle


@pytest.mark.parametrize(
    "head",
    [
        b"HTTP/1.1 201 Created\r\nConnection: close\r\nContent-Length: %d\r\n\r\n" % len(BIG),
        b"HTTP/1.0 201 Created\r\nContent-Length: %d\r\n\r\n" % len(BIG),
        b"HTTP/1.1 201 Created\r\nConnection: close\r\n\r\n",  # the body ends at EOF
    ],
    ids=["connection-close", "http-1.0", "close-delimited"],
)
def test_an_answer_on_a_closing_connection_is_read_whole(head: bytes) -> None:
    # The connection will close after the answer: the socket must stay open until the body is
    # read, or an applied create past 8 KB of answer would be reported as "may or may not have
    # been applied" (a read on a closed socket).
    with raw_server(_closing(head)) as url, HttpClient(url, None, retry=RETRY) as http:
        reply = http.send("POST", "/orgs/acme/triage", body={"alertTriage": []}, idempotent=False)
    assert reply.response.status_code == 201
    assert reply.response.content == BIG


def _early_hints(conn: socket.socket) -> None:
    # A 103 first, then (once the work is done) the real answer; a GET is answered at once.
    while True:
        try:
            head = read_request(conn)
        except OSError:
            return
        if head.startswith(b"POST"):
            conn.sendall(b"HTTP/1.1 103 Early Hints\r\nLink: </a>; rel=preload\r\n\r\n")
            time.sleep(0.3)
            body = b'{"created": true}'
            conn.sendall(b"HTTP/1.1 201 Created\r\nContent-Length: %d\r\n\r\n" % len(body) + body)
        else:
            body = b'{"results": [], "nextPage": null}'
            conn.sendall(b"HTTP/1.1 200 OK\r\nContent-Length: %d\r\n\r\n" % len(body) + body)


def test_an_informational_answer_is_skipped_not_taken_for_the_answer() -> None:
    # Taken for the answer, a 103 would report an applied create as refused ("unexpected
    # answer 103"), and a rerun would create it again.
    with raw_server(_early_hints) as url, HttpClient(url, None, retry=RETRY) as http:
        reply = http.send("POST", "/orgs/acme/triage", body={"alertTriage": []}, idempotent=False)
    assert (reply.response.status_code, reply.response.json()) == (201, {"created": True})


def test_a_connection_is_never_reused_with_an_answer_still_to_come() -> None:
    # After the 103 the connection goes back to the pool with the 201 still on its way: the
    # next request on it (here a page read) is handed the create's answer as its own.
    with raw_server(_early_hints) as url, HttpClient(url, None, retry=RETRY) as http:
        with contextlib.suppress(ApiError):
            http.send("POST", "/orgs/acme/triage", body={"alertTriage": []}, idempotent=False)
        page = http.send("GET", "/orgs/acme/triage").response
    assert (page.status_code, page.json()) == (200, {"results": [], "nextPage": None})


def _latin1_header(conn: socket.socket) -> None:
    read_request(conn)
    conn.sendall(
        b"HTTP/1.1 201 Created\r\nContent-Type: application/json\r\n"
        b"X-Served-By: caf\xc3\xa9\r\nContent-Length: 2\r\n\r\n{}"
    )


def test_a_header_value_beyond_ascii_is_no_traceback() -> None:
    # A header value beyond ASCII must reach the answer, not fail an encoding (a traceback,
    # after the create was applied).
    with raw_server(_latin1_header) as url, HttpClient(url, None, retry=RETRY) as http:
        reply = http.send("POST", "/orgs/acme/triage", body={"alertTriage": []}, idempotent=False)
    assert reply.response.status_code == 201
    assert reply.response.content == b"{}"


def _split(data: bytes, size: int) -> list[bytes]:
    return [data[i : i + size] for i in range(0, len(data), size)]


def _reset(conn: socket.socket) -> None:
    # The request is read whole, then the connection is reset (RST, not FIN): a write lost
    # after it was sent is a read failure, never a failure to connect.
    read_request(conn)
    conn.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))


def test_a_reset_after_the_request_is_never_taken_for_never_sent() -> None:
    with (
        raw_server(_reset) as url,
        HttpClient(url, None, retry=RETRY) as http,
        pytest.raises(OutcomeUnknownError, match="POST may or may not have been applied"),
    ):
        http.send("POST", "/orgs", body={"alertTriage": []}, idempotent=False)
    assert http.calls == {"POST": 1}


def _switching(conn: socket.socket) -> None:
    read_request(conn)
    conn.sendall(b"HTTP/1.1 101 Switching Protocols\r\nUpgrade: h2c\r\nConnection: Upgrade\r\n\r\n")


def test_a_switch_of_protocol_is_no_answer() -> None:
    # Interim answers are skipped (see the 103 above); a 101 nobody asked for ends the
    # exchange, and whether a create was applied is unknown (not "refused with 101").
    with (
        raw_server(_switching) as url,
        HttpClient(url, None, retry=RETRY) as http,
        pytest.raises(OutcomeUnknownError, match="applied: RemoteProtocolError"),
    ):
        http.send("POST", "/orgs", body={"alertTriage": []}, idempotent=False)


def test_cookies_a_server_sets_are_never_sent_back() -> None:
    # One client carries every org's token: a cookie one answer sets must not ride along.
    server = Recorder(lambda n: answer(b"{}", "Set-Cookie: session=org-a; Path=/"))
    with raw_server(server) as url, HttpClient(url, None) as http:
        http.send("GET", "/orgs")
        http.send("GET", "/orgs")
    assert [b"cookie:" in head.lower() for head in server.requests] == [False, False]
