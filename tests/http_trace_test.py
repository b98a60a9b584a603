"""The debug trace (``http.trace``): one line per attempt, headers and bodies one level deeper,
never a token in any spelling; and a connection error names the host."""

from __future__ import annotations

import base64
import logging
import re
import socket
from urllib.parse import quote

import httpx
import pytest
from conftest import TEST_ORG, TEST_TOKEN

from reconciler.emulator import Emulator, EmulatorTransport
from reconciler.errors import ServerError
from reconciler.http import trace
from reconciler.http.client import HttpClient
from reconciler.http.retry import RetryPolicy
from reconciler.redact import remember, spellings

SECRET = "not-socket-shaped-Secret/0123456789"
RETRY = RetryPolicy(max_attempts=2, base_delay=0.0, max_delay=0.0, timeout=5.0)


def lines(caplog: pytest.LogCaptureFixture) -> list[str]:
    return [r.getMessage() for r in caplog.records if r.name == trace.__name__]


def test_one_line_per_answer_with_the_request_id(
    emulator: Emulator, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG, logger=trace.__name__)
    with HttpClient(
        "http://emulator.test/v0", TEST_TOKEN, transport=EmulatorTransport(emulator)
    ) as http:
        http.send("GET", f"/orgs/{TEST_ORG}/triage/alerts", params={"page": 1})
    (line,) = lines(caplog)
    assert re.fullmatch(
        r"GET http://emulator\.test/v0/orgs/acme/triage/alerts\?page=1 -> 200 in \d+ ms "
        r"\(attempt 1(, request id \S+)?\)",
        line,
    ), line


def test_headers_and_bodies_only_at_trace_and_never_a_secret(
    caplog: pytest.LogCaptureFixture,
) -> None:
    remember(SECRET)
    basic = base64.b64encode(f"{SECRET}:".encode()).decode()
    request = httpx.Request(
        "POST",
        f"https://api.example/v0/orgs/acme?key={quote(SECRET, safe='')}",
        headers={"Authorization": f"Basic {basic}", "Proxy-Authorization": SECRET},
        json={"note": SECRET},
    )
    body = ("x" * (trace.BODY_SHOWN - 10) + SECRET + "y" * 100).encode()  # across the cut
    response = httpx.Response(
        201, headers={"X-Request-Id": "req-7", "X-Echo": SECRET}, content=body
    )
    caplog.set_level(logging.DEBUG, logger=trace.__name__)
    trace.answered(request, response, 0.012, 2)
    assert lines(caplog) == [
        "POST https://api.example/v0/orgs/acme?key=sktsec_*** -> 201 in 12 ms "
        "(attempt 2, request id req-7)"
    ]
    caplog.clear()
    caplog.set_level(trace.TRACE, logger=trace.__name__)
    trace.answered(request, response, 0.012, 2)
    shown = "\n".join(lines(caplog))
    assert "authorization: <redacted>" in shown and "proxy-authorization: <redacted>" in shown
    assert 'request body: {"note":"sktsec_***"}' in shown
    assert f"... ({len(body):,} bytes in all)" in shown
    leaked = [form for form in spellings(SECRET) if form in shown]
    assert leaked == []
    assert SECRET[:12] not in shown  # no piece of it either, where the body was cut


def test_a_connection_error_names_the_host(caplog: pytest.LogCaptureFixture) -> None:
    with socket.create_server(("127.0.0.1", 0)) as closed:
        port = closed.getsockname()[1]
    caplog.set_level(logging.DEBUG, logger=trace.__name__)
    with (
        HttpClient(f"http://127.0.0.1:{port}/v0", None, retry=RETRY) as http,
        pytest.raises(ServerError) as info,
    ):
        http.send("GET", "/orgs")
    assert re.fullmatch(
        rf"GET failed after 2 attempts: ConnectError: .+ \(127\.0\.0\.1:{port}\)", str(info.value)
    )
    assert [line.split(" -> ")[0] for line in lines(caplog)] == [
        f"GET http://127.0.0.1:{port}/v0/orgs"
    ] * 2
    assert lines(caplog)[1].endswith("(attempt 2)")
