"""The legacy Triage API: list, upsert and delete an org's triage rules.

This module knows the endpoints, their paging (``page``/``nextPage``, 100 a page, oldest first),
which calls may be retried, and how refusals are worded (``statuses``); the HTTP layer below it
knows none of that. Every call names its org, so each carries that org's token
(``connect.Credentials``): one client serves a run over several orgs, with one connection pool,
one backoff gate and one pacer. ``open_client`` checks ``--api-url`` and finds the tokens and the
pacing; the transport for ``local:PATH`` comes from the caller (``wiring.open_client``
supplies the embedded emulator).
"""

from __future__ import annotations

import hashlib
import json
import os
import time
from collections.abc import Callable, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from functools import partial
from operator import itemgetter
from types import TracebackType
from typing import TYPE_CHECKING, Any, Final, TypeVar
from urllib.parse import quote

from reconciler.api import DEFAULT_CONCURRENCY
from reconciler.errors import ApiError, UsageError
from reconciler.http import waits
from reconciler.http.body import read_json, short_repr
from reconciler.http.client import HttpClient
from reconciler.http.connect import Credential, Credentials, LocalTransport, resolve
from reconciler.http.pacing import Pacer, Rate
from reconciler.http.paginate import OnPage, Page, by_number
from reconciler.http.retry import RetryPolicy
from reconciler.triage.statuses import names_org, refusal_error
from reconciler.vocab.triage.selector import Listing, LiveRule, from_get_page
from reconciler.vocab.triage.wire import MAX_BATCH, MAX_PER_PAGE, TRIAGE_ITEM_PATH, TRIAGE_PATH

if TYPE_CHECKING:
    import httpx

T = TypeVar("T")

# Turns one page's results into the listing's items, the whole page in one call.
Convert = Callable[[list[dict[str, Any]]], tuple[T, ...]]

_SCALARS: Final = frozenset((str, int, float, bool, type(None)))
_TEXT: Final = frozenset((str,))
_uuid: Final = itemgetter("uuid")

# A listing order: the API's (sort, direction). Listings read the oldest first, by creation,
# so that rules created meanwhile land after the pages read; the most recently updated first
# is how a verification finds what changed since a listing (``triage.recent``).
Order = tuple[str, str]
OLDEST_FIRST: Final[Order] = ("created_at", "asc")
RECENT_FIRST: Final[Order] = ("updated_at", "desc")


class TriageClient:
    """A thread-safe Triage API client for one base URL.

    ``token`` is one token for every org, ``None`` for none (the embedded emulator needs none),
    or ``Credentials`` choosing each org's token. ``rate`` paces every thread's requests. Use
    ``open_client`` to check a URL and find the tokens and pacing the way the CLI does.

    >>> from reconciler.emulator import EmulatorTransport, embedded
    >>> with TriageClient("http://emulator.local/v0", None,
    ...                   transport=EmulatorTransport(embedded(":memory:"))) as client:
    ...     client.list_rules("acme")
    []
    """

    def __init__(
        self,
        base_url: str,
        token: str | Credentials | None,
        *,
        transport: httpx.BaseTransport | None = None,
        retry: RetryPolicy = RetryPolicy(),  # noqa: B008 - frozen, so sharing the default is safe
        concurrency: int = DEFAULT_CONCURRENCY,
        rate: Rate | None = None,
        sleep: Callable[[float], None] = waits.sleep,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.concurrency = max(1, concurrency)
        self.rate = rate
        self.credentials = token if isinstance(token, Credentials) else Credentials.fixed(token)
        self.http = HttpClient(
            base_url,
            None,  # each call carries its org's token
            transport=transport,
            retry=retry,
            pool_size=self.concurrency,
            pacer=None if rate is None else Pacer(rate, sleep, clock),
            sleep=sleep,
            clock=clock,
        )

    @property
    def calls(self) -> Mapping[str, int]:
        """Requests sent so far by method, retries included."""
        return self.http.calls

    @property
    def total_calls(self) -> int:
        """Requests sent so far, retries included."""
        return self.http.total_calls

    def list_rules(
        self,
        org: str,
        on_page: OnPage | None = None,
        *,
        expected: int | None = None,
        confirm: bool = True,
    ) -> list[dict[str, Any]]:
        """Every triage rule of ``org`` as the API's snake_case dicts, oldest first.

        The listing is consistent: read again until two passes agree if the org changed while
        it was read, and refused if it keeps changing (see ``http.paginate``). ``expected`` is
        how many rules the caller believes there are (say, after an apply): then exactly the
        pages needed are fetched. ``confirm=False`` takes one pass as it is, for a caller that
        reads again before acting. ``on_page`` gets the number of rules read so far.
        """
        return self._list(org, tuple, on_page, expected, confirm)

    def live_rules(
        self,
        org: str,
        on_page: OnPage | None = None,
        *,
        expected: int | None = None,
        confirm: bool = True,
    ) -> list[LiveRule]:
        """``list_rules`` as ``LiveRule`` values, each page converted as it arrives."""
        return self._list(org, partial(from_get_page, org=org), on_page, expected, confirm)

    def listing(self, org: str, on_page: OnPage | None = None) -> Listing:
        """One pass over ``org``'s rules, not confirmed, with each page's digest.

        For a caller that confirms it later with ``unchanged`` (apply, right before writing).
        """
        digests: list[bytes] = []
        convert = partial(from_get_page, org=org)
        rules = self._list(org, convert, on_page, None, confirm=False, digests=digests)
        return Listing(tuple(rules), tuple(digests))

    def unchanged(self, org: str, pages: Sequence[bytes]) -> bool:
        """Whether every page of ``org``'s rules reads as the same bytes as ``pages`` did.

        Page 1 first, so that an API whose answers carry something that changes each time
        (a request id, a clock) costs one request, not a pass; then the rest at once.
        """
        digest = partial(self._page_digest, org, self.credentials.for_org(org))
        if not pages or digest(1) != pages[0]:
            return False
        numbers = range(2, len(pages) + 1)
        with ThreadPoolExecutor(max_workers=max(1, min(self.concurrency, len(numbers)))) as pool:
            read = pool.map(digest, numbers)
            return all(now == then for now, then in zip(read, pages[1:], strict=True))

    def page(self, org: str, number: int, *, order: Order = OLDEST_FIRST) -> Page[LiveRule]:
        """Page ``number`` of ``org``'s rules alone, in ``order`` (the listing reads them all)."""
        credential = self.credentials.for_org(org)
        return self._page(org, credential, partial(from_get_page, org=org), order, number)

    def upsert(
        self, org: str, entries: Sequence[Mapping[str, Any]], *, force: bool = False
    ) -> None:
        """Send one POST of 1 to 100 camelCase ``alertTriage`` entries (``force`` for broad ones).

        Entries with a ``uuid`` update that rule; the rest create rules. A batch of pure updates
        is retried freely; one that creates is not (see ``http.client``).
        """
        if not 1 <= len(entries) <= MAX_BATCH:
            raise UsageError(f"a POST carries 1 to {MAX_BATCH} entries, not {len(entries)}")
        credential = self.credentials.for_org(org)
        self.http.send(
            "POST",
            TRIAGE_PATH.format(org=_segment(org)),
            params={"force": "true"} if force else None,
            body={"alertTriage": [dict(entry) for entry in entries]},
            idempotent=all(entry.get("uuid") for entry in entries),
            refuse=partial(refusal_error, org=org, entries=entries, credential=credential),
            token=_token(credential),
        )

    def delete(self, org: str, uuid: str) -> bool:
        """Delete one rule. ``False`` if it was already gone (404).

        A 404 after an attempt that may have reached the server counts as ours: ``True``. A 404
        that names the org (unknown org, or another org's token) is an error, not "gone".
        """
        if not uuid:
            raise UsageError(f"a rule of org {org!r} without a uuid cannot be deleted")
        path = TRIAGE_ITEM_PATH.format(org=_segment(org), uuid=_segment(uuid))
        credential = self.credentials.for_org(org)
        refuse = partial(refusal_error, org=org, credential=credential)
        reply = self.http.send(
            "DELETE", path, accept=(404,), refuse=refuse, token=_token(credential)
        )
        if reply.response.status_code != 404:
            return True
        refusal = self.http.refusal(reply.response, "DELETE", path)
        if names_org(refusal):
            raise refuse(refusal)
        return reply.after_uncertain

    def close(self) -> None:
        """Close connections (and whatever the transport owns, such as an embedded emulator)."""
        self.http.close()

    def __enter__(self) -> TriageClient:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()

    def _list(
        self,
        org: str,
        convert: Convert[T],
        on_page: OnPage | None,
        expected: int | None,
        confirm: bool = True,
        digests: list[bytes] | None = None,
    ) -> list[T]:
        return by_number(
            partial(self._page, org, self.credentials.for_org(org), convert, OLDEST_FIRST),
            what=f"org {org!r}",
            per_page=MAX_PER_PAGE,
            concurrency=self.concurrency,
            expected=expected,
            confirm=confirm,
            on_page=on_page,
            digests=digests,
        )

    def _page(
        self,
        org: str,
        credential: Credential | None,
        convert: Convert[T],
        order: Order,
        number: int,
    ) -> Page[T]:
        response = self._get_page(org, credential, order, number)
        what = f"page {number} of the rules of org {org!r}"
        results, next_page = _results(response, what)
        return Page(convert(results), _keys(results), next_page, _digest(response.content))

    def _page_digest(self, org: str, credential: Credential | None, number: int) -> bytes:
        return _digest(self._get_page(org, credential, OLDEST_FIRST, number).content)

    def _get_page(
        self, org: str, credential: Credential | None, order: Order, number: int
    ) -> httpx.Response:
        params = {"per_page": MAX_PER_PAGE, "sort": order[0], "direction": order[1]}
        params["page"] = number
        reply = self.http.send(
            "GET",
            TRIAGE_PATH.format(org=_segment(org)),
            params=params,
            refuse=partial(refusal_error, org=org, credential=credential),
            token=_token(credential),
        )
        return reply.response


# The name the engine and commands used before the client was split into layers.
SocketClient = TriageClient


def open_client(
    api_url: str,
    *,
    local: LocalTransport | None,
    env: Mapping[str, str] | None = None,
    retry: RetryPolicy = RetryPolicy(),  # noqa: B008 - frozen
    concurrency: int = DEFAULT_CONCURRENCY,
) -> TriageClient:
    """A client for ``--api-url``: https, http to loopback, or ``local:PATH`` through ``local``.

    For a remote URL the tokens come from the environment: ``SOCKET_API_TOKEN_<ORG>`` for that
    org, else the first non-empty of ``api.TOKEN_ENV_VARS``. No token at all, or a malformed
    one, is an ``AuthError`` before any request; so is an org without a token, before its
    first request. ``SOCKET_TRIAGE_RATE`` sets the pacing (``http.pacing``).
    """
    target = resolve(api_url, os.environ if env is None else env, local)
    return TriageClient(
        target.base_url,
        target.credentials,
        transport=target.transport,
        retry=retry,
        concurrency=concurrency,
        rate=target.rate,
    )


def _digest(content: bytes) -> bytes:
    return hashlib.blake2b(content, digest_size=16).digest()


def _token(credential: Credential | None) -> str | None:
    return None if credential is None else credential.token


def _segment(value: str) -> str:
    # An org slug or uuid is one path segment: "/" or "?" in it must not change the route.
    return quote(value, safe="")


def _results(response: httpx.Response, what: str) -> tuple[list[dict[str, Any]], object]:
    """The ``results`` and ``nextPage`` of one page, each result a flat object."""
    payload = read_json(response.content, what, response.status_code)
    results = payload.get("results") if isinstance(payload, dict) else None
    if not isinstance(results, list):
        raise ApiError(f"{what} has no results list", response.status_code)
    _check_each(results, what, response.status_code)
    return results, payload.get("nextPage")


def _check_each(results: list[Any], what: str, status: int) -> None:
    for index, item in enumerate(results):
        if type(item) is not dict:
            raise ApiError(f"rule {index} on {what} is not an object", status)
        for field, value in item.items():
            if type(value) not in _SCALARS:  # JSON decodes to these exact types: no isinstance
                raise ApiError(
                    f"rule {index} on {what} has a nested value in {short_repr(field)}", status
                )


def _keys(results: list[dict[str, Any]]) -> tuple[str, ...]:
    """Each result's ``_key``; the uuids themselves when every result has one, as usual."""
    try:
        uuids = tuple(map(_uuid, results))
    except KeyError:
        return tuple(map(_key, results))
    if _TEXT.issuperset(map(type, uuids)) and all(uuids):
        return uuids
    return tuple(map(_key, results))


def _key(item: Mapping[str, Any]) -> str:
    """A rule's identity while paging: its uuid, or, as the spec allows none, its content."""
    uuid = item.get("uuid")
    if isinstance(uuid, str) and uuid:
        return uuid
    return "content:" + json.dumps(item, sort_keys=True, default=str)
