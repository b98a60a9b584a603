"""SocketClient: the Socket Triage API over httpx, with paging, retries and plain errors.

Layers, outermost first (as in httpx): ``list_rules`` / ``upsert`` / ``delete`` → ``_send``
(shared backoff gate, counting, retry decisions) → httpx → transport. The transport is the one
seam tests replace, with the emulator's in-process transport.

What is retried:
- GET, DELETE and a POST whose entries all carry a ``uuid`` (pure updates) are idempotent: they
  are retried on 429, 5xx and any transport error.
- A POST that creates rules is retried only when it certainly never reached the server (429, or
  a failure to connect). Anything else may have created the rules, so it raises
  ``OutcomeUnknownError`` and the caller re-reads the org to find out.
- A 429 closes a gate shared by every thread using the client, until its Retry-After has passed.

The token is sent as ``Authorization: Bearer`` and never appears in a message or log line.
"""

from __future__ import annotations

import collections
import logging
import os
import threading
import time
from collections.abc import Callable, Mapping, Sequence
from types import TracebackType
from typing import Any, Final, NamedTuple
from urllib.parse import quote

import httpx

from reconciler import __version__
from reconciler.errors import (
    ApiError,
    OutcomeUnknownError,
    PaginationError,
    RateLimitError,
    ServerError,
    UsageError,
)
from reconciler.http.connect import parse_endpoint, require_token
from reconciler.http.retry import BackoffGate, RetryPolicy, backoff_delay, parse_retry_after
from reconciler.redact import redact
from reconciler.triage.statuses import error_for, server_message
from reconciler.triage.wire import MAX_BATCH, MAX_PER_PAGE, TRIAGE_ITEM_PATH, TRIAGE_PATH

log = logging.getLogger(__name__)

LOCAL_BASE_URL: Final = "http://emulator.local/v0"
# apply deletes from up to 8 threads through one client; leave headroom above that.
POOL_SIZE: Final = 16
# A server that keeps inventing new pages would otherwise be followed forever.
MAX_PAGES: Final = 100_000
# Failures that happen before a request leaves this machine: safe to retry even for a create.
_NEVER_SENT: Final = (httpx.ConnectError, httpx.ConnectTimeout, httpx.PoolTimeout)


class _Reply(NamedTuple):
    response: httpx.Response
    after_uncertain: bool  # an earlier attempt may have reached the server


class SocketClient:
    """A thread-safe client for one Socket API base URL.

    ``token=None`` sends no ``Authorization`` header (the embedded emulator needs none); use
    ``open_client`` to check the URL and find the token the way the CLI does. Without a
    ``transport``, plain http to a non-loopback host is refused here as well.

    >>> from reconciler.emulator import EmulatorTransport, embedded
    >>> with SocketClient(LOCAL_BASE_URL, None,
    ...                   transport=EmulatorTransport(embedded(":memory:"))) as client:
    ...     client.list_rules("acme")
    []
    """

    def __init__(
        self,
        base_url: str,
        token: str | None,
        *,
        transport: httpx.BaseTransport | None = None,
        retry: RetryPolicy = RetryPolicy(),  # noqa: B008 - frozen, so sharing the default is safe
        sleep: Callable[[float], None] = time.sleep,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        if transport is None:
            parse_endpoint(base_url)  # raises InsecureUrlError before anything is sent
        headers = {"User-Agent": f"socket-triage/{__version__}", "Accept": "application/json"}
        if token:
            headers["Authorization"] = f"Bearer {token}"
        self._token = token
        self._retry = retry
        self._sleep = sleep
        self._gate = BackoffGate(sleep, clock)
        self._lock = threading.Lock()
        self._closers: list[Callable[[], None]] = []
        self.calls: collections.Counter[str] = collections.Counter()
        self._http = httpx.Client(
            base_url=base_url.rstrip("/"),
            headers=headers,
            transport=transport,
            timeout=httpx.Timeout(retry.timeout),
            limits=httpx.Limits(max_connections=POOL_SIZE, max_keepalive_connections=POOL_SIZE),
        )

    @property
    def total_calls(self) -> int:
        """API calls made so far, retries included."""
        with self._lock:
            return sum(self.calls.values())

    def list_rules(
        self, org: str, on_page: Callable[[int], None] | None = None
    ) -> list[dict[str, Any]]:
        """Every triage rule of ``org`` as the API's snake_case dicts, oldest first.

        Pages are read in ``created_at`` order, so a rule added meanwhile lands on a later page
        instead of shifting one already read. Rules are de-duplicated by uuid (first wins).
        ``on_page`` is called with the number of rules read so far after each page.
        """
        path = TRIAGE_PATH.format(org=_segment(org))
        rules: list[dict[str, Any]] = []
        seen_uuids: set[str] = set()
        seen_pages: list[frozenset[str]] = []
        page = 1
        for _ in range(MAX_PAGES):
            params = {"per_page": MAX_PER_PAGE, "sort": "created_at", "direction": "asc"}
            reply = self._send("GET", path, org=org, params={**params, "page": page})
            results, next_page = _page_body(reply.response, page)
            uuids = frozenset(str(item.get("uuid")) for item in results)
            if results and uuids in seen_pages:
                raise PaginationError(f"the API sent page {page} of org {org!r} twice (a loop)")
            seen_pages.append(uuids)
            for item in results:
                uuid = item.get("uuid")
                if uuid not in seen_uuids:
                    seen_uuids.add(str(uuid))
                    rules.append(item)
            if on_page is not None:
                on_page(len(rules))
            if not results or next_page in (None, 0):
                return rules
            if not isinstance(next_page, int) or isinstance(next_page, bool) or next_page <= page:
                raise PaginationError(
                    f"the API's nextPage {next_page!r} after page {page} of org {org!r} "
                    "does not advance"
                )
            page = next_page
        raise PaginationError(f"org {org!r} has more than {MAX_PAGES} pages of rules")

    def upsert(
        self, org: str, entries: Sequence[Mapping[str, Any]], *, force: bool = False
    ) -> None:
        """Send one POST of 1 to 100 camelCase ``alertTriage`` entries (``force`` for broad ones).

        Entries with a ``uuid`` update that rule; the rest create rules. A batch of pure updates
        is retried freely; one that creates is not, see the module docstring.
        """
        if not 1 <= len(entries) <= MAX_BATCH:
            raise UsageError(f"a POST carries 1 to {MAX_BATCH} entries, not {len(entries)}")
        self._send(
            "POST",
            TRIAGE_PATH.format(org=_segment(org)),
            org=org,
            params={"force": "true"} if force else None,
            body={"alertTriage": [dict(entry) for entry in entries]},
            idempotent=all(entry.get("uuid") for entry in entries),
            entries=entries,
        )

    def delete(self, org: str, uuid: str) -> bool:
        """Delete one rule. ``False`` if it was already gone (404).

        A 404 after an attempt that may have reached the server counts as ours: ``True``.
        """
        path = TRIAGE_ITEM_PATH.format(org=_segment(org), uuid=_segment(uuid))
        reply = self._send("DELETE", path, org=org, ok_404=True)
        return reply.response.status_code != 404 or reply.after_uncertain

    def close(self) -> None:
        """Close connections (and an embedded emulator opened by ``open_client``)."""
        self._http.close()
        for closer in self._closers:
            closer()
        self._closers.clear()

    def __enter__(self) -> SocketClient:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()

    def _send(
        self,
        method: str,
        path: str,
        *,
        org: str,
        params: Mapping[str, Any] | None = None,
        body: Any = None,
        idempotent: bool = True,
        entries: Sequence[Mapping[str, Any]] = (),
        ok_404: bool = False,
    ) -> _Reply:
        """One logical call: wait on the gate, send, and retry or raise as the failure allows."""
        uncertain = False
        for attempt in range(1, self._retry.max_attempts + 1):
            last = attempt == self._retry.max_attempts
            self._gate.wait()
            with self._lock:
                self.calls[method] += 1
            try:
                response = self._http.request(method, path, params=params, json=body)
            except httpx.RequestError as exc:
                self._check_transport_error(exc, method, idempotent, last)
                uncertain = uncertain or not isinstance(exc, _NEVER_SENT)
                self._pause(method, path, attempt, self._describe(exc))
                continue
            status = response.status_code
            if status == 429:
                self._on_rate_limited(response, method, path, attempt, last)
                continue
            if status >= 500:
                self._check_server_error(response, method, idempotent, last)
                uncertain = True
                self._pause(method, path, attempt, f"status {status}")
                continue
            if 200 <= status < 300 or (ok_404 and status == 404):
                return _Reply(response, uncertain)
            raise error_for(
                status, response.content, method=method, org=org, token=self._token, entries=entries
            )
        raise AssertionError("unreachable: the last attempt returns or raises")

    def _check_transport_error(
        self, exc: httpx.RequestError, method: str, idempotent: bool, last: bool
    ) -> None:
        if not idempotent and not isinstance(exc, _NEVER_SENT):
            raise OutcomeUnknownError(
                f"{method} may or may not have been applied: {self._describe(exc)}"
            ) from None
        if last:
            raise ServerError(
                f"{method} failed after {self._retry.max_attempts} attempts: {self._describe(exc)}"
            ) from None

    def _check_server_error(
        self, response: httpx.Response, method: str, idempotent: bool, last: bool
    ) -> None:
        status = response.status_code
        message = server_message(response.content)[0]
        said = redact(
            f"the server answered {status}" + (f": {message}" if message else ""), self._token
        )
        if not idempotent:
            raise OutcomeUnknownError(f"{method} may or may not have been applied: {said}", status)
        if last:
            raise ServerError(
                f"{method} failed after {self._retry.max_attempts} attempts: {said}", status
            )

    def _on_rate_limited(
        self, response: httpx.Response, method: str, path: str, attempt: int, last: bool
    ) -> None:
        if last:
            raise RateLimitError(
                f"the Socket API is still rate limiting (429) after "
                f"{self._retry.max_attempts} attempts; try again later",
                429,
            )
        delay = parse_retry_after(response.headers.get("Retry-After"))
        if delay is None:
            delay = backoff_delay(attempt, self._retry)
        delay = min(delay, self._retry.retry_after_cap)
        log.warning("%s %s: rate limited (429), every request waits %.1f s", method, path, delay)
        # Every thread pauses, this one included: the loop waits on the gate before its retry.
        self._gate.push(delay)

    def _pause(self, method: str, path: str, attempt: int, why: str) -> None:
        delay = backoff_delay(attempt, self._retry)
        next_try = f"attempt {attempt + 1} of {self._retry.max_attempts}"
        log.warning("%s %s: %s, retrying in %.1f s (%s)", method, path, why, delay, next_try)
        self._sleep(delay)

    def _describe(self, exc: httpx.RequestError) -> str:
        detail = str(exc) or "no detail"
        return redact(f"{type(exc).__name__}: {detail}", self._token)


def open_client(
    api_url: str,
    *,
    env: Mapping[str, str] | None = None,
    retry: RetryPolicy = RetryPolicy(),  # noqa: B008 - frozen
) -> SocketClient:
    """A client for ``--api-url``: https, http to loopback, or ``local:PATH``.

    ``local:PATH`` runs the embedded emulator on the SQLite file PATH, with no token. For a
    remote URL the token comes from the environment (``wire.TOKEN_ENV_VARS``, first non-empty
    wins) and its absence is an ``AuthError`` here, before any request.
    """
    endpoint = parse_endpoint(api_url)
    if endpoint.local_path is not None:
        from reconciler.emulator import EmulatorTransport, embedded

        emulator = embedded(endpoint.local_path)
        client = SocketClient(
            LOCAL_BASE_URL, None, transport=EmulatorTransport(emulator), retry=retry
        )
        client._closers.append(emulator.close)
        return client
    token = require_token(os.environ if env is None else env, endpoint)
    assert endpoint.base_url is not None  # parse_endpoint sets one of the two
    return SocketClient(endpoint.base_url, token, retry=retry)


def _segment(value: str) -> str:
    # An org slug or uuid is one path segment: "/" or "?" in it must not change the route.
    return quote(value, safe="")


def _page_body(response: httpx.Response, page: int) -> tuple[list[dict[str, Any]], Any]:
    try:
        payload = response.json()
    except ValueError:
        raise ApiError(f"page {page} of the rule list is not JSON", response.status_code) from None
    results = payload.get("results") if isinstance(payload, dict) else None
    if not isinstance(results, list) or not all(isinstance(r, dict) for r in results):
        raise ApiError(f"page {page} of the rule list has no results list", response.status_code)
    return results, payload.get("nextPage")
