"""The generic HTTP layer over real sockets: deadlines, pool size, TLS, tokens, hostile bodies.

The servers here are loopback sockets that misbehave on purpose (trickle bytes, hold requests
until enough connections are open), or the emulator itself.
"""

from __future__ import annotations

import gc
import logging
import socket
import ssl
import threading
import time
from collections.abc import Callable
from pathlib import Path

import httpx
import pytest
from click.testing import CliRunner
from conftest import TEST_ORG, TEST_TOKEN, TRANSPORT_BASE_URL
from http_fakes import Clock, Forward, Tamper
from raw_servers import Handler, raw_server, read_request

from reconciler.cli import cli
from reconciler.emulator import Emulator, EmulatorTransport
from reconciler.errors import ApiError, BadRequestError, OutcomeUnknownError, ServerError
from reconciler.http.client import HttpClient, never_sent
from reconciler.http.retry import RetryPolicy
from reconciler.redact import redact


def trickle(payload: bytes, every: float = 0.05) -> Handler:
    """Answer with ``payload`` one byte at a time: each byte well within the read timeout."""

    def handle(conn: socket.socket) -> None:
        read_request(conn)
        for byte in payload:
            conn.sendall(bytes([byte]))
            time.sleep(every)

    return handle


HEAD = b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: 400\r\n\r\n"


@pytest.mark.parametrize(
    "payload", [HEAD + b"[" + b" " * 398 + b"]", b"HTTP/1.1 200 OK\r\n" + b"X-Slow: y\r\n" * 80]
)
def test_timeout_is_a_deadline_for_the_whole_request(payload: bytes) -> None:
    # Each byte arrives 0.05 s after the last, far inside the 0.5 s timeout, so only a deadline
    # for the request as a whole ends it; without one an attempt would take 20 s or more.
    retry = RetryPolicy(max_attempts=2, base_delay=0.0, max_delay=0.0, timeout=0.5)
    with raw_server(trickle(payload)) as url, HttpClient(url, None, retry=retry) as http:
        started = time.monotonic()
        with pytest.raises(ServerError, match="GET failed after 2 attempts: ReadTimeout"):
            http.send("GET", "/slow")
        elapsed = time.monotonic() - started
    assert elapsed < 3.0
    assert http.calls == {"GET": 2}


def test_the_pool_holds_as_many_connections_as_threads(emulator: Emulator) -> None:
    # The server answers only once 24 requests are open at the same time: more than the old
    # fixed pool of 16 could ever hold.
    width = 24
    everyone = threading.Barrier(width, timeout=5)

    def hold(conn: socket.socket) -> None:
        read_request(conn)
        try:
            everyone.wait()
            conn.sendall(HEAD.replace(b"400", b"2") + b"{}")
        except threading.BrokenBarrierError:
            conn.sendall(b"HTTP/1.1 503 Busy\r\nContent-Length: 0\r\n\r\n")

    retry = RetryPolicy(max_attempts=1, timeout=10.0)
    statuses: list[int] = []
    with (
        raw_server(hold) as url,
        HttpClient(url, None, retry=retry, pool_size=width) as http,
    ):

        def one() -> None:
            statuses.append(http.send("GET", "/hold").response.status_code)

        threads = [threading.Thread(target=one) for _ in range(width)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(10)
    assert statuses == [200] * width


def test_plain_http_and_in_process_transports_build_no_ssl_and_take_no_proxy(
    monkeypatch: pytest.MonkeyPatch, emulator: Emulator, http_emulator: str
) -> None:
    def refuse(*args: object, **kwargs: object) -> None:
        raise AssertionError("an SSL context was built")

    monkeypatch.setattr(httpx, "create_ssl_context", refuse)
    monkeypatch.setattr(ssl, "create_default_context", refuse)
    # A proxy from the environment must not capture loopback or in-process requests.
    monkeypatch.setenv("ALL_PROXY", "http://127.0.0.1:9")
    monkeypatch.delenv("NO_PROXY", raising=False)
    monkeypatch.delenv("no_proxy", raising=False)
    for http in (
        HttpClient(http_emulator, TEST_TOKEN),
        HttpClient(TRANSPORT_BASE_URL, TEST_TOKEN, transport=EmulatorTransport(emulator)),
    ):
        with http:
            path = f"/orgs/{TEST_ORG}/triage/alerts"
            assert http.send("GET", path).response.json()["results"] == []


@pytest.mark.parametrize(("no_proxy", "tunnelled"), [("", True), ("localhost", False)])
def test_https_goes_through_the_proxy_the_environment_names(
    monkeypatch: pytest.MonkeyPatch, no_proxy: str, tunnelled: bool
) -> None:
    seen: list[bytes] = []

    def proxy(conn: socket.socket) -> None:
        seen.append(conn.recv(4096).split(b"\r\n")[0])
        conn.sendall(b"HTTP/1.1 403 Forbidden\r\nContent-Length: 0\r\n\r\n")

    retry = RetryPolicy(max_attempts=1, timeout=2.0)
    with raw_server(proxy) as url:
        monkeypatch.setenv("HTTPS_PROXY", url.removesuffix("/v0"))
        monkeypatch.setenv("NO_PROXY", no_proxy)
        # Port 1 is closed: bypassing the proxy fails to connect, without leaving the machine.
        target = "https://localhost:1/v0"
        with HttpClient(target, TEST_TOKEN, retry=retry) as http, pytest.raises(ServerError):
            http.send("GET", "/orgs")
    assert seen == ([b"CONNECT localhost:1 HTTP/1.1"] if tunnelled else [])


# --- tokens ---------------------------------------------------------------------------------

BAD_TOKENS = [
    ("sktsec_abc\ndef_tail_secret", "a line break at character 11"),
    ("sktsec_abc\u00e9def_tail_secret", "a non-ASCII character at character 11"),
    ("sktsec_abc def_tail_secret", "a space at character 11"),
    ("sktsec_abc\x1bdef_tail_secret", "a control character at character 11"),
    ("short", "too short to be a Socket API token (5 characters"),
]


@pytest.mark.parametrize(("token", "why"), BAD_TOKENS)
def test_a_malformed_token_is_refused_before_any_request_without_showing_it(
    tmp_path: Path, token: str, why: str
) -> None:
    rules = tmp_path / "acme.yaml"
    rules.write_text(
        "org: acme\nrules:\n  - package_type: npm\n    package_name: a\n"
        "    state: ignore\n    note: n\n"
    )
    result = CliRunner().invoke(
        cli,
        ["plan", str(rules), "--api-url", "https://api.socket.dev/v0"],
        env={"SOCKET_API_TOKEN": token, "NO_COLOR": "1"},
    )
    assert result.exit_code == 1, result.output
    assert f"error: SOCKET_API_TOKEN has {why}" in result.output or why in result.output
    assert "the token is not shown" in result.output
    assert "tail_secret" not in result.output
    assert "Traceback" not in result.output


def echo(transform: Callable[[str], str], status: int) -> Callable[..., httpx.Response]:
    """A server that quotes the Authorization header back, spelled by ``transform``."""

    def hook(request: httpx.Request, forward: Forward) -> httpx.Response:
        token = request.headers["authorization"].removeprefix("Bearer ")
        said = f"refused credentials {transform(token)}"
        return httpx.Response(status, json={"error": {"message": said, "details": None}})

    return hook


@pytest.mark.parametrize(
    "transform",
    [
        lambda t: t,
        lambda t: httpx.URL("http://x/", params={"t": t}).query.decode(),
        lambda t: __import__("base64").b64encode(f"{t}:".encode()).decode(),
        lambda t: __import__("json").dumps(t),
    ],
)
@pytest.mark.parametrize("status", [400, 503])
def test_the_exact_token_is_hidden_in_errors_and_retry_warnings_whatever_its_shape(
    emulator: Emulator,
    caplog: pytest.LogCaptureFixture,
    transform: Callable[[str], str],
    status: int,
) -> None:
    token = "Plain.Token~Without+Prefix"
    caplog.set_level(logging.WARNING)
    retry = RetryPolicy(max_attempts=2, base_delay=0.0, max_delay=0.0)
    transport = Tamper(emulator, echo(transform, status))
    http = HttpClient(
        TRANSPORT_BASE_URL, token, transport=transport, retry=retry, sleep=Clock().sleep
    )
    with http, pytest.raises(ApiError) as info:
        http.send("GET", "/anything")
    text = str(info.value) + caplog.text
    assert "sktsec_***" in text
    assert transform(token) not in text
    assert "Token~Without" not in text
    # The CLI's last line of defence hides it too, without being handed it.
    assert token not in redact(f"error: {token}")


@pytest.mark.parametrize(
    "body",
    [
        b"[" * 100_000,
        b'{"error": {"message": "bad", "details": ' + b"[" * 50_000 + b"]" * 50_000 + b"}}",
        b'{"error": {"message": ' + b"[" * 900 + b"]" * 900 + b"}}",
    ],
)
def test_deeply_nested_error_bodies_are_api_errors(emulator: Emulator, body: bytes) -> None:
    def hook(request: httpx.Request, forward: Forward) -> httpx.Response:
        return httpx.Response(400, content=body)

    http = HttpClient(TRANSPORT_BASE_URL, TEST_TOKEN, transport=Tamper(emulator, hook))
    with http, pytest.raises(ApiError) as info:
        http.send("POST", "/x", idempotent=False, refuse=lambda r: BadRequestError(r.message, 400))
    assert isinstance(info.value, BadRequestError)
    assert len(str(info.value)) <= 300


@pytest.mark.parametrize(
    ("failure", "unsent"),
    [
        (httpx.ConnectError, True),
        (httpx.ConnectTimeout, True),
        (httpx.PoolTimeout, True),
        (httpx.ReadError, False),
        (httpx.ReadTimeout, False),
        (httpx.WriteError, False),
        (httpx.WriteTimeout, False),
        (httpx.RemoteProtocolError, False),
        (httpx.ProxyError, False),
        (httpx.DecodingError, False),
    ],
)
def test_only_a_failure_to_connect_counts_as_never_sent(
    emulator: Emulator, failure: type[httpx.RequestError], unsent: bool
) -> None:
    # The one place that decides it: a create is tried again only when it never left.
    def hook(request: httpx.Request, forward: Forward) -> httpx.Response:
        raise failure("scripted", request=request)

    assert never_sent(failure("scripted")) is unsent
    retry = RetryPolicy(max_attempts=2, base_delay=0.0, max_delay=0.0)
    transport = Tamper(emulator, hook)
    expected = ServerError if unsent else OutcomeUnknownError
    with (
        HttpClient(TRANSPORT_BASE_URL, TEST_TOKEN, transport=transport, retry=retry) as http,
        pytest.raises(expected, match=f"POST .*{failure.__name__}: scripted"),
    ):
        http.send("POST", "/x", body={}, idempotent=False)
    assert http.calls == {"POST": 2 if unsent else 1}


def test_an_answer_is_freed_without_the_cyclic_collector(emulator: Emulator) -> None:
    # Listings pause the cyclic collector: an answer caught in a reference cycle would keep its
    # page's bytes until the listing ends (50 MB more at 100k rules).
    http = HttpClient(TRANSPORT_BASE_URL, TEST_TOKEN, transport=EmulatorTransport(emulator))
    with http:
        gc.collect()
        gc.disable()
        try:
            for _ in range(20):
                http.send("GET", f"/orgs/{TEST_ORG}/triage/alerts")
            assert gc.collect() == 0
        finally:
            gc.enable()
