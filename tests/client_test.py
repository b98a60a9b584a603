from __future__ import annotations

import contextlib
import datetime as dt
import email.utils
import io
import logging
import threading
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any, Protocol

import httpx
import pytest
from conftest import TEST_TOKEN, TRANSPORT_BASE_URL
from http_fakes import Clock, Hook, Tamper, entry

from reconciler.api import TOKEN_ENV_VARS
from reconciler.emulator import Emulator, EmulatorTransport, Faults
from reconciler.engine.progress import rules_progress
from reconciler.errors import (
    ApiError,
    AuthError,
    BadRequestError,
    InsecureUrlError,
    NotFoundError,
    OutcomeUnknownError,
    RateLimitError,
    ReadOnlyError,
    ScopeError,
    ServerError,
    UsageError,
)
from reconciler.http.retry import RetryPolicy
from reconciler.triage.client import TriageClient
from reconciler.vocab.triage.wire import SCOPE_LIST, SCOPE_UPDATE
from reconciler.wiring import open_client

FAST = RetryPolicy(max_attempts=4, base_delay=0.0, max_delay=0.0, timeout=10.0)


class Connect(Protocol):
    def __call__(
        self,
        token: str | None = TEST_TOKEN,
        *,
        clock: Clock | None = None,
        retry: RetryPolicy = FAST,
    ) -> TriageClient: ...


def connector(emulator: Emulator, base_url: str | None, stack: contextlib.ExitStack) -> Connect:
    """Clients on the in-process transport (``base_url=None``) or a real loopback socket."""

    def make(
        token: str | None = TEST_TOKEN, *, clock: Clock | None = None, retry: RetryPolicy = FAST
    ) -> TriageClient:
        clock = clock or Clock()
        transport = EmulatorTransport(emulator) if base_url is None else None
        client = TriageClient(
            base_url or TRANSPORT_BASE_URL,
            token,
            transport=transport,
            retry=retry,
            sleep=clock.sleep,
            clock=clock,
        )
        stack.callback(client.close)
        return client

    return make


@pytest.fixture(params=["in-process", "loopback"])
def connect(request: pytest.FixtureRequest, emulator: Emulator) -> Iterator[Connect]:
    """Both ways. A loopback test costs ~0.5 s (server shutdown): use where the socket matters."""
    loopback = request.param == "loopback"
    base_url = str(request.getfixturevalue("http_emulator")) if loopback else None
    with contextlib.ExitStack() as stack:
        yield connector(emulator, base_url, stack)


@pytest.fixture
def local(emulator: Emulator) -> Iterator[Connect]:
    with contextlib.ExitStack() as stack:
        yield connector(emulator, None, stack)


def tampered(emulator: Emulator, hook: Hook, clock: Clock | None = None) -> TriageClient:
    clock = clock or Clock()
    return TriageClient(
        TRANSPORT_BASE_URL,
        TEST_TOKEN,
        transport=Tamper(emulator, hook),
        retry=FAST,
        sleep=clock.sleep,
        clock=clock,
    )


# --- retries ------------------------------------------------------------------------------


def test_retry_after_seconds_is_honoured_and_capped(connect: Connect, emulator: Emulator) -> None:
    clock = Clock()
    clock.hooks = [
        lambda: emulator.set_faults(Faults(rate_429=1.0, retry_after=3600)),
        lambda: emulator.set_faults(Faults()),
    ]
    emulator.set_faults(Faults(rate_429=1.0, retry_after=7))
    client = connect(clock=clock)
    assert client.list_rules("acme") == []
    assert clock.sleeps == [7.0, 60.0]
    assert client.calls == {"GET": 3}


@pytest.mark.parametrize(("ahead", "low", "high"), [(40, 37.0, 40.0), (3600, 60.0, 60.0)])
def test_retry_after_http_date_is_honoured(
    emulator: Emulator, ahead: int, low: float, high: float
) -> None:
    when = dt.datetime.now(dt.UTC) + dt.timedelta(seconds=ahead)
    date = email.utils.format_datetime(when, usegmt=True)
    answers = iter([429])

    def once_429(request: httpx.Request, forward: Callable[..., httpx.Response]) -> Any:
        status = next(answers, None)
        if status is None:
            return forward(request)
        return httpx.Response(status, headers={"Retry-After": date}, json={"error": {}})

    clock = Clock()
    assert tampered(emulator, once_429, clock).list_rules("acme") == []
    assert len(clock.sleeps) == 1
    assert low <= clock.sleeps[0] <= high


def calls_of(emulator: Emulator, method: str) -> int:
    count: int = emulator.counters()["calls"][method]
    return count


@pytest.mark.parametrize(
    ("method", "fault"),
    [
        ("GET", Faults(rate_500=1.0)),
        ("DELETE", Faults(rate_502=1.0)),
        ("POST", Faults(rate_500=1.0)),
    ],
)
def test_idempotent_calls_retry_5xx(
    connect: Connect, emulator: Emulator, fault: Faults, method: str
) -> None:
    emulator.seed_rules("acme", [entry("a")])
    uuid = emulator.rules("acme")[0]["uuid"]
    clock = Clock()
    clock.hooks = [lambda: emulator.set_faults(Faults())]
    client = connect(clock=clock)
    emulator.set_faults(fault)
    if method == "GET":
        assert len(client.list_rules("acme")) == 1
    elif method == "DELETE":
        assert client.delete("acme", uuid) is True
    else:
        client.upsert("acme", [entry("a", uuid=uuid, state="warn")])
        assert emulator.rules("acme")[0]["state"] == "warn"
    assert calls_of(emulator, method) == client.calls[method] == 2


@pytest.mark.parametrize(
    "fault", [Faults(rate_500=1.0), Faults(rate_502=1.0), Faults(rate_ambiguous=1.0)]
)
def test_a_create_that_may_have_landed_is_not_retried(
    connect: Connect, emulator: Emulator, fault: Faults
) -> None:
    emulator.set_faults(fault)
    client = connect()
    with pytest.raises(OutcomeUnknownError, match="may or may not have been applied"):
        client.upsert("acme", [entry("a")])
    assert calls_of(emulator, "POST") == client.total_calls == 1
    assert len(emulator.rules("acme")) == (1 if fault.rate_ambiguous else 0)


def test_a_rate_limited_create_is_retried(connect: Connect, emulator: Emulator) -> None:
    clock = Clock()
    clock.hooks = [lambda: emulator.set_faults(Faults())]
    emulator.set_faults(Faults(rate_429=1.0, retry_after=2))
    client = connect(clock=clock)
    client.upsert("acme", [entry("a")])
    assert calls_of(emulator, "POST") == 2
    assert len(emulator.rules("acme")) == 1


def test_an_ambiguous_update_and_delete_are_retried(connect: Connect, emulator: Emulator) -> None:
    emulator.seed_rules("acme", [entry("a"), entry("b")])
    first, second = (r["uuid"] for r in emulator.rules("acme"))
    clock = Clock()
    client = connect(clock=clock)
    emulator.set_faults(Faults(rate_ambiguous=1.0))
    clock.hooks = [lambda: emulator.set_faults(Faults())]
    client.upsert("acme", [entry("a", uuid=first, state="block")])
    emulator.set_faults(Faults(rate_ambiguous=1.0))
    clock.hooks = [lambda: emulator.set_faults(Faults())]
    assert client.delete("acme", second) is True  # the retry's 404 means the first one landed
    assert [(r["uuid"], r["state"]) for r in emulator.rules("acme")] == [(first, "block")]
    assert client.calls == {"POST": 2, "DELETE": 2}


def test_a_429_pauses_every_thread_sharing_the_client(emulator: Emulator) -> None:
    emulator.seed_rules("acme", [entry(f"pkg-{i}") for i in range(3)])
    uuids = [r["uuid"] for r in emulator.rules("acme")]
    clock = Clock()
    sleeps: list[tuple[str, float]] = []
    at_gate = threading.Semaphore(0)
    opened = threading.Event()
    results: dict[str, bool] = {}

    def work(name: str, uuid: str) -> threading.Thread:
        target = lambda: results.__setitem__(name, client.delete("acme", uuid))  # noqa: E731
        return threading.Thread(target=target, name=name)

    others = [work("t1", uuids[1]), work("t2", uuids[2])]

    def sleep(seconds: float) -> None:
        sleeps.append((threading.current_thread().name, seconds))
        if threading.current_thread().name != "first":
            at_gate.release()
            assert opened.wait(10)
            return
        emulator.set_faults(Faults())
        for thread in others:
            thread.start()
        for _ in others:  # both are paused at the gate before it opens
            assert at_gate.acquire(timeout=10)
        clock.now += seconds
        opened.set()

    client = TriageClient(
        TRANSPORT_BASE_URL,
        TEST_TOKEN,
        transport=EmulatorTransport(emulator),
        retry=FAST,
        sleep=sleep,
        clock=clock,
    )
    emulator.set_faults(Faults(rate_429=1.0, retry_after=7))
    first = work("first", uuids[0])
    first.start()
    for thread in [first, *others]:
        thread.join(10)
    assert sorted(sleeps) == [("first", 7.0), ("t1", 7.0), ("t2", 7.0)]
    assert results == {"first": True, "t1": True, "t2": True}
    assert client.calls == {"DELETE": 4}
    assert calls_of(emulator, "DELETE") == 4
    assert emulator.rules("acme") == []


# --- errors -------------------------------------------------------------------------------


def test_exhausted_retries_raise_server_errors(connect: Connect, emulator: Emulator) -> None:
    client = connect(retry=RetryPolicy(max_attempts=3, base_delay=0.0, max_delay=0.0))
    emulator.set_faults(Faults(rate_500=1.0))
    with pytest.raises(ServerError, match="after 3 attempts: the server answered 500") as info:
        client.delete("acme", "some-uuid")
    assert info.value.status == 500
    assert client.calls == {"DELETE": 3}


def test_a_429_spends_waiting_time_not_attempts(local: Connect, emulator: Emulator) -> None:
    # Ten 429s of 30 s each: far more answers than --max-attempts 2, well within 15 minutes.
    clock = Clock()
    clock.hooks = [lambda: None] * 9 + [lambda: emulator.set_faults(Faults())]
    emulator.set_faults(Faults(rate_429=1.0, retry_after=30))
    client = local(clock=clock, retry=RetryPolicy(max_attempts=2, base_delay=0.0))
    assert client.list_rules("acme") == []
    assert clock.sleeps == [30.0] * 10
    assert client.calls == {"GET": 11}


def test_429s_give_up_once_the_waiting_would_pass_the_budget(
    local: Connect, emulator: Emulator, caplog: pytest.LogCaptureFixture
) -> None:
    clock = Clock()
    emulator.set_faults(Faults(rate_429=1.0, retry_after=40))
    client = local(clock=clock, retry=RetryPolicy(max_attempts=50, max_wait=100.0))
    with pytest.raises(RateLimitError) as info:
        client.list_rules("acme")
    assert str(info.value) == (
        "the Socket API is still rate limiting (429) after 80.0 s of waiting; it asks for "
        "40.0 s more, and a call waits at most 100.0 s; try again later"
    )
    assert clock.sleeps == [40.0, 40.0]
    assert client.calls == {"GET": 3}
    assert "every request waits 40.0 s (40.0 s of at most 100.0 s waited so far)" in caplog.text


ERRORS: list[tuple[str, str, type[ApiError], int, str]] = [
    # (setup, call, error, status, message fragment)
    ("bad-token", "list", AuthError, 401, "invalid or missing"),
    ("list-only", "create", ScopeError, 403, f"lacks the {SCOPE_UPDATE} scope"),
    ("list-only", "delete", ScopeError, 403, f"lacks the {SCOPE_UPDATE} scope"),
    ("update-only", "list", ScopeError, 403, f"lacks the {SCOPE_LIST} scope"),
    ("other-org", "list", NotFoundError, 404, "org 'nope' was not found, or the token belongs"),
    ("migrated", "create", ReadOnlyError, 409, "moved to Socket's Alert Policies"),
    ("migrated", "delete", ReadOnlyError, 405, "triage is read-only there"),
    ("", "bad-entry", BadRequestError, 400, "[entry 1 (npm/left-pad alert_type=criticalCVE)]"),
    ("", "unknown-uuid", NotFoundError, 404, "no longer exists (404)"),
]


@pytest.mark.parametrize(("setup", "call", "error", "status", "fragment"), ERRORS)
def test_each_refusal_maps_to_its_error(
    local: Connect,
    emulator: Emulator,
    setup: str,
    call: str,
    error: type[ApiError],
    status: int,
    fragment: str,
) -> None:
    token, org = TEST_TOKEN, "acme"
    if setup in ("list-only", "update-only"):
        token = f"sktsec_{setup.replace('-', '_')}"
        emulator.add_token(token, "acme", [SCOPE_LIST if setup == "list-only" else SCOPE_UPDATE])
    token = "sktsec_unknown_42" if setup == "bad-token" else token
    org = "nope" if setup == "other-org" else org
    emulator.add_org("acme", migrated=setup == "migrated")
    client = local(token)
    actions: dict[str, Callable[[], object]] = {
        "list": lambda: client.list_rules(org),
        "create": lambda: client.upsert(org, [entry("a")]),
        "delete": lambda: client.delete(org, "some-uuid"),
        "bad-entry": lambda: client.upsert(org, [entry("a"), entry("left-pad", state="mute")]),
        "unknown-uuid": lambda: client.upsert(org, [entry("a", uuid="gone")]),
    }
    with pytest.raises(error) as info:
        actions[call]()
    assert info.value.status == status
    assert fragment in str(info.value)
    assert "\n" not in str(info.value)
    assert client.total_calls == 1  # none of these is retried
    if status == 401:
        assert all(name in str(info.value) for name in TOKEN_ENV_VARS)


def refuse_with(status: int, message: str) -> Hook:
    def hook(request: httpx.Request, forward: Callable[..., httpx.Response]) -> Any:
        return httpx.Response(status, json={"error": {"message": message, "details": None}})

    return hook


@pytest.mark.parametrize(
    ("status", "message", "call", "error", "wording"),
    [
        (403, "Insufficient max quota for API method", "list", ApiError, "quota is too small"),
        (403, "Organization not allowed", "create", ScopeError, "does not allow the token"),
        (403, "Forbidden", "list", ScopeError, f"lacks the {SCOPE_LIST} scope needed to list"),
        (404, "Not found", "update", NotFoundError, "a rule to update no longer exists (404)"),
        (404, "Organization not found", "update", NotFoundError, "org 'acme' was not found"),
        (404, "Organization not found", "delete", NotFoundError, "org 'acme' was not found"),
        (404, "Not found", "create", NotFoundError, "org 'acme' was not found"),
    ],
)
def test_refusals_are_worded_from_the_server_message(
    emulator: Emulator,
    status: int,
    message: str,
    call: str,
    error: type[ApiError],
    wording: str,
) -> None:
    client = tampered(emulator, refuse_with(status, message))
    actions: dict[str, Callable[[], object]] = {
        "list": lambda: client.list_rules("acme"),
        "create": lambda: client.upsert("acme", [entry("a")]),
        "update": lambda: client.upsert("acme", [entry("a", uuid="deleted-meanwhile")]),
        "delete": lambda: client.delete("acme", "some-uuid"),
    }
    with pytest.raises(ApiError) as info:
        actions[call]()
    assert type(info.value) is error
    assert wording in str(info.value)
    assert message in str(info.value)


def test_an_update_of_a_rule_deleted_since_the_listing_says_so(
    local: Connect, emulator: Emulator
) -> None:
    emulator.seed_rules("acme", [entry("a")])
    client = local()
    (rule,) = client.list_rules("acme")
    assert client.delete("acme", rule["uuid"]) is True  # someone else, in the dashboard
    with pytest.raises(NotFoundError) as info:
        client.upsert("acme", [entry("a", uuid=rule["uuid"], state="warn")])
    assert "a rule to update no longer exists (404)" in str(info.value)
    assert "deleted since the rules were listed" in str(info.value)
    assert "[entry 0 (npm/a alert_type=criticalCVE)]" in str(info.value)
    assert "org 'acme' was not found" not in str(info.value)


def test_a_rule_without_a_uuid_is_never_deleted(local: Connect) -> None:
    client = local()
    with pytest.raises(UsageError, match="without a uuid cannot be deleted"):
        client.delete("acme", "")
    assert client.total_calls == 0


def test_delete_of_a_rule_already_gone_returns_false(local: Connect) -> None:
    assert local().delete("acme", "00000000-0000-0000-0000-000000000000") is False


@pytest.mark.parametrize("count", [0, 101])
def test_upsert_refuses_empty_or_oversized_batches(local: Connect, count: int) -> None:
    client = local()
    with pytest.raises(UsageError, match=f"1 to 100 entries, not {count}"):
        client.upsert("acme", [entry(f"p{i}") for i in range(count)])
    assert client.total_calls == 0


def test_broad_triage_needs_force(local: Connect, emulator: Emulator) -> None:
    broad = {"alertType": "criticalCVE", "state": "ignore", "note": "n"}
    client = local()
    with pytest.raises(BadRequestError):
        client.upsert("acme", [broad])
    client.upsert("acme", [broad], force=True)
    assert len(emulator.rules("acme")) == 1


# --- redaction ----------------------------------------------------------------------------


def echo_token(status: int) -> Hook:
    def hook(request: httpx.Request, forward: Callable[..., httpx.Response]) -> Any:
        said = f"bad credentials {request.headers['authorization']} for {request.url}"
        return httpx.Response(status, json={"error": {"message": said, "details": None}})

    return hook


def reset_echoing_token(request: httpx.Request, forward: Callable[..., httpx.Response]) -> Any:
    raise httpx.ReadError(f"reset while sending {request.headers['authorization']}")


@pytest.mark.parametrize("token", [TEST_TOKEN, "plain-secret-without-prefix"])
@pytest.mark.parametrize(
    ("hook", "call"),
    [
        (echo_token(400), "upsert"),
        (echo_token(401), "list"),
        (echo_token(500), "list"),
        (echo_token(502), "upsert"),
        (reset_echoing_token, "list"),
        (reset_echoing_token, "upsert"),
    ],
)
def test_the_token_never_appears_in_errors_or_logs(
    emulator: Emulator, caplog: pytest.LogCaptureFixture, token: str, hook: Hook, call: str
) -> None:
    emulator.add_token(token, "acme")
    caplog.set_level(logging.DEBUG)
    client = TriageClient(
        TRANSPORT_BASE_URL, token, transport=Tamper(emulator, hook), retry=FAST, sleep=Clock().sleep
    )
    with pytest.raises(ApiError) as info:
        if call == "list":
            client.list_rules("acme")
        else:
            client.upsert("acme", [entry("a")])
    text = str(info.value) + caplog.text
    assert "Bearer" in text or "sktsec_***" in text or "reset" in text
    assert token not in text
    assert "sktsec_test" not in text


# --- connecting ---------------------------------------------------------------------------


@pytest.mark.parametrize("url", ["http://api.socket.dev/v0", "http://192.168.1.4:8080/v0"])
def test_plain_http_to_a_remote_host_is_refused_before_any_request(url: str) -> None:
    with pytest.raises(InsecureUrlError, match="https is required"):
        TriageClient(url, TEST_TOKEN)
    with pytest.raises(InsecureUrlError, match="https is required"):
        open_client(url, env={"SOCKET_API_TOKEN": TEST_TOKEN})


def test_open_client_needs_a_token_for_a_remote_api() -> None:
    with pytest.raises(AuthError, match="SOCKET_API_TOKEN, SOCKET_API_KEY"):
        open_client("https://api.socket.dev/v0", env={})


def test_open_client_reads_the_first_token_from_the_environment(http_emulator: str) -> None:
    env = {"SOCKET_SECURITY_API_KEY": "sktsec_other", "SOCKET_CLI_API_TOKEN": TEST_TOKEN}
    with open_client(http_emulator, env=env) as client:
        assert client.list_rules("acme") == []
    env["SOCKET_API_KEY"] = "sktsec_not_known"
    with open_client(http_emulator, env=env) as client, pytest.raises(AuthError):
        client.list_rules("acme")


def test_local_path_runs_the_embedded_emulator_and_persists(tmp_path: Path) -> None:
    url = f"local:{tmp_path / 'state' / 'triage.db'}"
    with open_client(url, env={}) as client:
        client.upsert("acme", [entry("a")])
    with open_client(url, env={}) as client:
        rules = client.list_rules("acme")
    assert [r["package_name"] for r in rules] == ["a"]


class Tty:
    def __init__(self) -> None:
        self.written: list[str] = []

    def isatty(self) -> bool:
        return True

    def write(self, text: str) -> int:
        self.written.append(text)
        return len(text)

    def flush(self) -> None:
        pass


def test_progress_is_drawn_only_on_a_tty(local: Connect, emulator: Emulator) -> None:
    emulator.seed_rules("acme", [entry(f"pkg-{i}") for i in range(150)])
    with rules_progress(stream=io.StringIO()) as on_page:
        assert on_page is None
    tty = Tty()
    with rules_progress(stream=tty) as on_page:  # type: ignore[arg-type]
        assert on_page is not None
        local().list_rules("acme", on_page=on_page)
    assert "150" in "".join(tty.written)
