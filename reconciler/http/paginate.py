"""The paginator: every item of a paged listing, by page numbers or by opaque cursors.

It knows no endpoint. The API module hands it ``fetch``, which sends one request and returns a
``Page``: the items already converted (so raw answers are not all held at once), one key per item
(its identity), and the next-page marker exactly as the API sent it.

Guarantees, in both modes:
- each item once, by key, the first copy kept;
- a loop is an error: a page whose keys were all seen as a page before, a cursor sent twice,
  a ``nextPage`` that does not advance;
- the listing ends only at the end marker: an empty page that names a next page is followed;
- the number of pages is bounded by what the distinct items can need, plus a little slack, so a
  server that invents pages is stopped within a few pages, not after an hour.

Page numbers (``by_number``) address the list by offset, so a delete made while the list is read
shifts an item from a page not yet read onto one already read, and it is missed. A listing of
more than one page is therefore read again until two passes agree page for page; a listing that
keeps changing is refused. After page 1, up to ``concurrency`` pages are in flight, in waves
that double up to that width; reading past the end costs at most ``concurrency - 1`` requests,
fewer for a small listing, and none when the number of pages is known (a second pass, or an
``expected`` count).

Cursors (``by_cursor``) name the last item read, so concurrent deletes shift nothing; the pages
are read one after the other, as each cursor comes from the page before.
"""

from __future__ import annotations

import contextlib
import re
from collections.abc import Callable, Generator, Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass
from typing import Final, Generic, TypeVar

from reconciler.errors import PaginationError
from reconciler.http.body import short_repr

T = TypeVar("T")

# A server inventing pages of new items is stopped here (10 million items at 100 a page).
MAX_PAGES: Final = 100_000
# Reads of a changing listing before giving up.
MAX_PASSES: Final = 4
# Pages allowed beyond what the distinct items need: empty end pages, items seen twice.
SLACK: Final = 3
_DIGITS: Final = re.compile(r"[0-9]{1,9}")

OnPage = Callable[[int], None]


@dataclass(frozen=True)
class Page(Generic[T]):
    """One answer: converted items, their keys (same order), and the API's next marker.

    ``digest`` identifies the answer's bytes, so that a later read of the same page can be
    compared without decoding it (``b""`` when the fetcher has none).
    """

    items: tuple[T, ...]
    keys: tuple[str, ...]
    next: object
    digest: bytes = b""


def next_page_number(value: object) -> int | None:
    """A ``nextPage`` as APIs send it: an int, null, 0, or a numeric string. ``None``: the end.

    >>> [next_page_number(v) for v in (2, None, 0, "3", "0", "")]
    [2, None, None, 3, None, None]
    >>> next_page_number("٣")
    Traceback (most recent call last):
    ...
    ValueError: not a page number
    """
    if value is None or value == "":
        return None
    if isinstance(value, int) and not isinstance(value, bool) and value >= 0:
        return value or None
    if isinstance(value, str) and _DIGITS.fullmatch(value.strip()):
        return int(value) or None
    raise ValueError("not a page number")


def next_cursor(value: object) -> str | None:
    """An ``endCursor``: a non-empty string, or ``None`` at the end."""
    if value is None:
        return None
    if isinstance(value, str) and value:
        return value
    raise ValueError("not a cursor")


class _Unstable(Exception):
    """This pass saw the listing contradict itself; another pass may not."""


class _Collect(Generic[T]):
    """The items of one pass, de-duplicated, with the checks every page goes through."""

    def __init__(self, what: str, per_page: int, on_page: OnPage | None, slack: int) -> None:
        self.what = what
        self.per_page = per_page
        self.on_page = on_page
        self.slack = slack
        self.items: list[T] = []
        self.seen: set[str] = set()
        self.pages: list[tuple[str, ...]] = []
        self.digests: list[bytes] = []
        self._page_sets: set[frozenset[str]] = set()  # of pages[:_indexed], built when needed
        self._indexed = 0

    def add(self, number: int, page: Page[T]) -> None:
        keys, seen = page.keys, self.seen
        fresh = seen.isdisjoint(keys)
        if not fresh:  # only a page sharing keys with the pages before can repeat one of them
            self._refuse_a_repeat(number, keys)
        self.pages.append(keys)
        self.digests.append(page.digest)
        if fresh and len(keys) == len(page.items):
            before = len(seen)
            seen.update(keys)
            if len(seen) - before == len(keys):  # the usual page: every item new, taken at once
                self.items.extend(page.items)
            else:  # a key twice on the page: back to one by one
                seen.difference_update(keys)
                self._add_first_copies(page)
        else:
            self._add_first_copies(page)
        if self.on_page is not None:
            self.on_page(len(self.items))
        needed = -(-len(seen) // self.per_page) or 1
        if number > needed + self.slack or number >= MAX_PAGES:
            raise PaginationError(
                f"the API sent {number} pages of {self.what} holding {len(seen)} distinct "
                f"items, which need {needed}: its paging does not end"
            )

    def _refuse_a_repeat(self, number: int, keys: tuple[str, ...]) -> None:
        # The key sets of the pages before, built on the first page that needs them: a listing
        # that never repeats a key (nearly all) builds none.
        self._page_sets.update(frozenset(p) for p in self.pages[self._indexed :] if p)
        self._indexed = len(self.pages)
        if keys and frozenset(keys) in self._page_sets:
            raise PaginationError(f"the API sent page {number} of {self.what} twice (a loop)")

    def _add_first_copies(self, page: Page[T]) -> None:
        for key, item in zip(page.keys, page.items, strict=True):
            if key not in self.seen:
                self.seen.add(key)
                self.items.append(item)


def by_number(
    fetch: Callable[[int], Page[T]],
    *,
    what: str,
    per_page: int,
    concurrency: int = 1,
    expected: int | None = None,
    confirm: bool = True,
    on_page: OnPage | None = None,
    digests: list[bytes] | None = None,
) -> list[T]:
    """Every item of a listing addressed by page numbers 1, 2, ..., consistent as a whole.

    ``what`` names the listing in messages ("org 'acme'"). With ``expected`` (the number of
    items the caller believes there are), exactly the pages those need are fetched at once, and
    a first pass that finds that many items is accepted; otherwise a listing of more than one
    page is read until two passes agree. ``confirm=False`` accepts the first complete pass: for
    a caller that reads the listing again before acting on it (apply re-lists before writing
    and compares), so the second pass here would be paid twice. ``digests``, if given, is
    filled with the pages' digests, in order, of the pass returned.
    """
    hint = 1 if expected is None else max(1, -(-expected // per_page))
    previous: list[tuple[str, ...]] | None = None
    trouble = ""
    for _ in range(MAX_PASSES):
        run: _Collect[T] = _Collect(what, per_page, on_page, SLACK)
        try:
            _read_pass(fetch, run, hint, max(1, concurrency))
        except _Unstable as exc:
            previous, trouble = None, str(exc)
            continue
        accepted = (
            not confirm
            or len(run.pages) == 1  # one page is one answer: a single instant of the listing
            or (previous is None and len(run.items) == expected)
            or run.pages == previous
        )
        if accepted:
            if digests is not None:
                digests[:] = run.digests
            return run.items
        previous, hint = run.pages, len(run.pages)
        trouble = "two passes disagreed"
    raise PaginationError(
        f"the listing of {what} kept changing while it was read ({trouble} in each of "
        f"{MAX_PASSES} tries); try again when it is not being changed"
    )


def _read_pass(fetch: Callable[[int], Page[T]], run: _Collect[T], hint: int, width: int) -> None:
    """Read pages in order into ``run`` until the end marker."""
    pages = _in_order(fetch, hint, width) if width > 1 else _one_by_one(fetch)
    with contextlib.closing(pages):  # settles the requests ahead at once, also on an error
        _follow(pages, run)


def _follow(pages: Iterator[tuple[int, Page[T]]], run: _Collect[T]) -> None:
    empty_at: int | None = None
    for number, page in pages:
        run.add(number, page)
        if page.keys and empty_at is not None:
            raise _Unstable(f"page {empty_at} was empty but items followed it")
        if not page.keys:
            empty_at = empty_at or number
        try:
            following = next_page_number(page.next)
        except ValueError:
            raise PaginationError(
                f"the API's nextPage {short_repr(page.next)} after page {number} of {run.what} "
                "is not a page number"
            ) from None
        if following is None:
            return
        if following <= number:
            raise PaginationError(
                f"the API's nextPage {short_repr(page.next)} after page {number} of {run.what} "
                "does not advance"
            )
        if following != number + 1:
            raise PaginationError(
                f"the API's nextPage {following} after page {number} of {run.what} skips pages"
            )


def _one_by_one(fetch: Callable[[int], Page[T]]) -> Generator[tuple[int, Page[T]]]:
    number = 1
    while True:
        yield number, fetch(number)
        number += 1


def _in_order(
    fetch: Callable[[int], Page[T]], hint: int, width: int
) -> Generator[tuple[int, Page[T]]]:
    """Pages 1, 2, ... in order, with up to ``width`` requests in flight.

    Pages 1..``hint`` are known to exist and are requested at once. Beyond them the window
    opens in waves that double (1, 2, 4, ... pages, each requested once the wave before was
    read and none of it was the end) until it is ``width`` wide, and then slides: a page is
    requested ``width - 1`` pages ahead of the one being read. A small org is so read with
    few requests past its end, a large one with the full width. The caller stops by leaving the
    loop; the requests already submitted are then waited for. They are the overshoot, at most
    ``width - 1`` requests and fixed by where the end is, never by timing (cancelling those not
    yet started would save little, as threads start long before an answer arrives).
    """
    pool = ThreadPoolExecutor(max_workers=width, thread_name_prefix="page")
    inflight: dict[int, Future[Page[T]]] = {}
    submitted, ceiling, wave = 0, hint, 1
    try:
        number = 1
        while True:
            if number > ceiling:  # the last wave was read, and the listing goes on
                wave = min(width, 2 * wave)
                ceiling += wave
            elif wave == width:
                ceiling = max(ceiling, number + width - 1)
            while len(inflight) < width and submitted < ceiling:
                submitted += 1
                inflight[submitted] = pool.submit(fetch, submitted)
            yield number, inflight.pop(number).result()
            number += 1
    finally:
        pool.shutdown(wait=True)


def by_cursor(
    fetch: Callable[[str | None], Page[T]],
    *,
    what: str,
    per_page: int,
    on_page: OnPage | None = None,
    slack: int = SLACK,
) -> list[T]:
    """Every item of a listing addressed by opaque cursors (``None`` asks for the first page).

    Only a null cursor ends it: an empty page with a cursor is followed, as the Alert Policies
    contract says. ``slack`` allows that many pages beyond what the distinct items need.
    """
    run: _Collect[T] = _Collect(what, per_page, on_page, slack)
    cursor: str | None = None
    sent: set[str] = set()
    number = 0
    while True:
        number += 1
        page = fetch(cursor)
        run.add(number, page)
        try:
            cursor = next_cursor(page.next)
        except ValueError:
            raise PaginationError(
                f"the API's cursor {short_repr(page.next)} after page {number} of {what} is not "
                "a cursor"
            ) from None
        if cursor is None:
            return run.items
        if cursor in sent:
            raise PaginationError(
                f"the API sent the same cursor twice while listing {what} (a loop)"
            )
        sent.add(cursor)
