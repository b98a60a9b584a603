"""HttpClient: one base URL, with a shared backoff gate, retries, deadlines and counting.

Layers, outermost first: an API module (``triage.client``) → ``HttpClient.send`` (gate,
counting, retry decisions) → one ``httpx.Client`` → its transport: ``transport.NetworkTransport``
on a network run, or the one given (the in-process emulator, a test's fault injector). This layer
knows no endpoint and no API: an answer that retrying cannot fix is handed, as a ``Refusal``, to a
callback from the API module, which words the error; the token is redacted from whatever comes
back.

What is retried:
- A call the caller marks ``idempotent`` (GET, DELETE, a POST that only updates) on 5xx and any
  transport error, up to ``RetryPolicy.max_attempts`` tries.
- Any other call (a POST that creates) only when it certainly never reached the server
  (``never_sent``: a failure to connect). Anything else may have been applied, so it raises
  ``OutcomeUnknownError`` and the caller re-reads to find out.
- A 429, for every call: the server refused before doing anything. It closes a gate shared by
  every thread of the client until its Retry-After has passed, and counts waiting time, not
  attempts, against ``RetryPolicy.max_wait``.

With a ``Pacer`` every attempt first takes a token from it, so the client keeps under the rate
limit rather than meeting 429s (``http.pacing``).

The token is sent as ``Authorization: Bearer`` and never appears in a message or log line. It is
the client's own, or one the caller picks per request (Socket tokens are per org, and an API
module knows which org a call is for).
"""

from __future__ import annotations

import collections
import http.cookiejar
import logging
import threading
import time
from collections.abc import Callable, Collection, Mapping
from dataclasses import dataclass
from types import TracebackType
from typing import Any, Final, NamedTuple
from urllib.parse import urlsplit

import httpx

from reconciler import __version__
from reconciler.errors import (
    ApiError,
    OutcomeUnknownError,
    RateLimitError,
    ServerError,
)
from reconciler.http import trace, waits
from reconciler.http.body import error_message
from reconciler.http.connect import check_token, environment_proxy, parse_endpoint, tls_context
from reconciler.http.pacing import Pacer
from reconciler.http.retry import BackoffGate, RetryPolicy, backoff_delay, parse_retry_after
from reconciler.http.transport import NetworkTransport, deadline
from reconciler.redact import redact, remember

log = logging.getLogger(__name__)

# Enough for the default concurrency; callers that run more threads pass their own pool size.
POOL_SIZE: Final = 16
# A 429 asking for no wait at all still pauses this long, so a server cannot make us spin.
MIN_RATE_WAIT: Final = 1.0
# A Retry-After longer than this is not the 600-a-minute rate limit but the hourly quota.
QUOTA_WAIT: Final = 120.0
# Failures before the request left this machine (no connection, none free in the pool): even a
# create may be sent again. httpcore raises these only while it connects (TCP, the proxy's
# tunnel, TLS), before a byte of the request is written; a connection lost after that is a
# ReadError, WriteError or RemoteProtocolError, and the request may have been applied.
NEVER_SENT: Final = (httpx.ConnectError, httpx.ConnectTimeout, httpx.PoolTimeout)


def never_sent(exc: httpx.RequestError) -> bool:
    """Whether ``exc`` means the request certainly never reached the server."""
    return isinstance(exc, NEVER_SENT)


class Reply(NamedTuple):
    response: httpx.Response
    after_uncertain: bool  # an earlier attempt may have reached the server


@dataclass(frozen=True)
class Refusal:
    """An answer that retrying will not fix, for the API module to word as an ``ApiError``.

    ``message`` is the server's own error text on one line, token already redacted.
    """

    method: str
    path: str
    status: int
    message: str
    details: Any = None

    @property
    def said(self) -> str:
        """The server's message as a message's tail, ``": ..."``; empty when it gave none."""
        return f": {self.message}" if self.message else ""


Refuse = Callable[[Refusal], ApiError]


def plain_refusal(refusal: Refusal) -> ApiError:
    """The wording used when the caller has none of its own."""
    return ApiError(
        f"unexpected answer {refusal.status} to {refusal.method} {refusal.path}{refusal.said}",
        refusal.status,
    )


class HttpClient:
    """A thread-safe client for one base URL.

    ``token=None`` sends no ``Authorization`` header. Without a ``transport`` requests go over
    the network, and plain http to a non-loopback host is refused here as well as in ``connect``.
    ``pool_size`` should be at least the number of threads that share the client. ``pacer``
    paces every attempt of every thread.
    """

    def __init__(
        self,
        base_url: str,
        token: str | None,
        *,
        transport: httpx.BaseTransport | None = None,
        retry: RetryPolicy = RetryPolicy(),  # noqa: B008 - frozen, so sharing the default is safe
        pool_size: int = POOL_SIZE,
        pacer: Pacer | None = None,
        sleep: Callable[[float], None] = waits.sleep,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        headers = {
            "User-Agent": f"socket-triage/{__version__}",
            "Accept": "application/json",
            # Not httpx's default, which grows with the decoders installed (br, zstd).
            "Accept-Encoding": "gzip, deflate",
        }
        if token:
            check_token(token)
            remember(token)
            headers["Authorization"] = f"Bearer {token}"
        self._token = token
        self._retry = retry
        self._sleep = sleep
        self._gate = BackoffGate(sleep, clock)
        self._pacer = pacer
        self._lock = threading.Lock()
        self.calls: collections.Counter[str] = collections.Counter()
        self._base_url = base_url.rstrip("/")
        if transport is None:
            transport = _network(base_url, max(1, pool_size))
        self._client = httpx.Client(
            headers=headers,
            # No cookies: one client carries the calls of every org, each with its own token,
            # and a cookie set in answer to one org's call must not ride along with another's.
            cookies=http.cookiejar.CookieJar(
                http.cookiejar.DefaultCookiePolicy(allowed_domains=[])
            ),
            timeout=retry.timeout,
            # Proxies come from ``connect.environment_proxy`` for the one host this client
            # talks to, and CA settings from ``connect.tls_context``.
            trust_env=False,
            transport=transport,
        )

    def pacer_limit(self) -> int | None:
        """Requests the pacer allows in any minute now (None: not paced)."""
        return None if self._pacer is None else self._pacer.limit

    @property
    def total_calls(self) -> int:
        """Requests sent so far, retries included."""
        with self._lock:
            return sum(self.calls.values())

    def send(
        self,
        method: str,
        path: str,
        *,
        params: Mapping[str, Any] | None = None,
        body: Any = None,
        idempotent: bool = True,
        accept: Collection[int] = (),
        refuse: Refuse = plain_refusal,
        token: str | None = None,
        counted: bool = True,
    ) -> Reply:
        """One logical call: pace, wait on the gate, send, and retry or raise as failures allow.

        A 2xx answer, or one whose status is in ``accept``, is returned; any other answer that
        retrying cannot fix is raised as ``refuse`` words it. ``token`` is sent instead of the
        client's own; it must be ``remember``ed (``connect.Credentials`` does that) so that
        messages hide it. ``counted=False`` leaves the call out of ``calls`` (a free one, such
        as the quota).
        """
        uncertain = False
        failures = throttled = 0
        waited = 0.0
        request = self._client.build_request(
            method,
            self._base_url + path,
            params=params,
            json=body,
            headers={"Authorization": f"Bearer {token}"} if token else None,
        )
        while True:
            try:
                waited += self._wait_turn()
            except waits.Interrupted:
                if uncertain:  # an earlier attempt may have been applied: not "never sent"
                    raise KeyboardInterrupt from None
                raise
            with self._lock:
                self.calls[method] += counted
            attempt, started = failures + throttled + 1, time.perf_counter()  # for the trace
            try:
                with deadline(self._retry.timeout):
                    response = self._client.send(request)
            except httpx.RequestError as exc:  # a transport failure, or a body that won't decode
                trace.failed(request, exc, time.perf_counter() - started, attempt)
                failures += 1
                self._check_transport_error(exc, method, idempotent, failures)
                uncertain = uncertain or not never_sent(exc)
                self._pause(method, path, failures, self._describe(exc), uncertain)
                continue
            # httpx binds the answer's stream back to the answer, a reference cycle: with the
            # bytes read in its place, a page is freed as soon as it is parsed, also where the
            # cyclic collector is paused (as during listings).
            response.stream = httpx.ByteStream(response.content)
            trace.answered(request, response, time.perf_counter() - started, attempt)
            status = response.status_code
            if status == 429:
                throttled += 1
                self._on_rate_limited(response, method, path, throttled, waited)
                continue
            if status >= 500:
                failures += 1
                self._check_server_error(response, method, idempotent, failures)
                uncertain = True
                self._pause(method, path, failures, f"status {status}", uncertain)
                continue
            if 200 <= status < 300 or status in accept:
                return Reply(response, uncertain)
            raise self._refused(refuse, response, method, path)

    def _wait_turn(self) -> float:
        """Pace, then wait on the gate; the seconds the gate held us (``waits.Interrupted`` on
        an interrupt: the request was not sent)."""
        if self._pacer is not None:
            self._pacer.acquire()  # self-imposed: not counted against the 429 budget
        return self._gate.wait()  # after pacing, so a 429 meanwhile is still honoured

    def close(self) -> None:
        """Close connections, and whatever the transport owns."""
        self._client.close()

    def __enter__(self) -> HttpClient:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()

    def refusal(self, response: httpx.Response, method: str, path: str) -> Refusal:
        """``response`` as a ``Refusal``: the server's message on one line, token redacted."""
        message, details = error_message(response.content)
        return Refusal(method, path, response.status_code, redact(message, self._token), details)

    def _refused(
        self, refuse: Refuse, response: httpx.Response, method: str, path: str
    ) -> ApiError:
        error = refuse(self.refusal(response, method, path))
        error.args = (redact(str(error), self._token), *error.args[1:])
        return error

    def _check_transport_error(
        self, exc: httpx.RequestError, method: str, idempotent: bool, failures: int
    ) -> None:
        if not idempotent and not never_sent(exc):
            raise OutcomeUnknownError(
                f"{method} may or may not have been applied: {self._describe(exc)}"
            ) from None
        if failures >= self._retry.max_attempts:
            raise ServerError(
                f"{method} failed after {self._retry.max_attempts} attempts: {self._describe(exc)}"
            ) from None

    def _check_server_error(
        self, response: httpx.Response, method: str, idempotent: bool, failures: int
    ) -> None:
        status = response.status_code
        message = error_message(response.content)[0]
        said = redact(
            f"the server answered {status}" + (f": {message}" if message else ""), self._token
        )
        if not idempotent:
            raise OutcomeUnknownError(f"{method} may or may not have been applied: {said}", status)
        if failures >= self._retry.max_attempts:
            raise ServerError(
                f"{method} failed after {self._retry.max_attempts} attempts: {said}", status
            )

    def _on_rate_limited(
        self, response: httpx.Response, method: str, path: str, throttled: int, waited: float
    ) -> None:
        asked = parse_retry_after(response.headers.get("Retry-After"))
        delay = backoff_delay(throttled, self._retry) if asked is None else asked
        delay = max(MIN_RATE_WAIT, min(delay, self._retry.retry_after_cap))
        budget = self._retry.max_wait
        if waited + delay > budget:
            more = f"; it asks for {_duration(asked)} more" if asked else ""
            # The minute's rate never asks for more than a minute: this is the hour's quota.
            spent = asked is not None and asked > QUOTA_WAIT
            raise RateLimitError(
                f"the Socket API is still rate limiting (429) after {_duration(waited)} of "
                f"waiting{more}, and a call waits at most {_duration(budget)}; "
                + (
                    "the token's hourly quota is likely spent; try again once it refills"
                    if spent
                    else "try again later"
                ),
                429,
            )
        self._warn(
            "%s %s: rate limited (429), every request waits %s (%s of at most %s waited so far)",
            method,
            path,
            _duration(delay),
            _duration(waited),
            _duration(budget),
            rate_limited=delay,
        )
        # Every thread pauses, this one included: the loop waits on the gate before its retry.
        self._gate.push(delay)
        if self._pacer is not None:
            self._pacer.slow_down()

    def _pause(self, method: str, path: str, failures: int, why: str, uncertain: bool) -> None:
        delay = backoff_delay(failures, self._retry)
        next_try = f"attempt {failures + 1} of {self._retry.max_attempts}"
        self._warn("%s %s: %s, retrying in %.1f s (%s)", method, path, why, delay, next_try)
        try:
            self._sleep(delay)
        except waits.Interrupted:
            if uncertain:  # the failed attempt may have been applied
                raise KeyboardInterrupt from None
            raise

    def _warn(self, template: str, *args: object, rate_limited: float | None = None) -> None:
        # ``rate_limited`` lets a progress display count 429 waits instead of printing each.
        extra = None if rate_limited is None else {"rate_limited": rate_limited}
        log.warning("%s", redact(template % args, self._token), extra=extra)

    def _describe(self, exc: httpx.RequestError) -> str:
        """The failure, naming the host: a proxy, a DNS name or a port may be what is wrong."""
        said = str(exc)
        name, host = type(exc).__name__, urlsplit(self._base_url).netloc
        return redact(f"{name}: {said} ({host})" if said else f"{name} ({host})", self._token)


def _network(base_url: str, pool_size: int) -> NetworkTransport:
    """The transport to ``base_url`` over the network: TLS for https, through the proxy the
    environment names for its host, if any. Plain http (loopback only, see ``connect``) takes
    no proxy and needs no SSL context."""
    endpoint = parse_endpoint(base_url)  # InsecureUrlError before anything is sent
    url = urlsplit(endpoint.base_url or base_url)
    if url.scheme != "https":
        return NetworkTransport(pool_size=pool_size, ssl_context=None)
    proxy = environment_proxy(url.hostname or "")
    return NetworkTransport(pool_size=pool_size, ssl_context=tls_context(), proxy=proxy)


def _duration(seconds: float | None) -> str:
    """``"7.0 s"``, ``"2.5 min"``, ``"2.5 h"``: a wait as a person reads it.

    >>> [_duration(s) for s in (7, 150, 9000)]
    ['7.0 s', '2.5 min', '2.5 h']
    """
    seconds = seconds or 0.0
    if seconds < 120:
        return f"{seconds:.1f} s"
    if seconds < 7200:
        return f"{seconds / 60:.1f} min"
    return f"{seconds / 3600:.1f} h"
