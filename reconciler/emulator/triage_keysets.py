"""Where each triage listing's rows are, by key, so a page at any depth is one index seek.

Listing pages by number (``LIMIT/OFFSET``) costs time in proportion to the offset: 6 ms at row
100,000, 60 ms at row 1,000,000. Parallel clients ask for pages out of order, so remembering
where the previous page ended is not enough. ``Keysets`` holds, per listing, the key (sort
value, seq) of every ``STRIDE``-th row: the "strides". Page N's first row is then at most
``STRIDE - 1`` rows after a stride, found by one short seek. The strides are found as pages are
served (a page of ``STRIDE`` rows ends on one) or walked forward from the last known one, one
seek per stride, when a page beyond them is asked for: O(rows) once per listing, then O(page)
for every page in any order. At 1M rules a listing holds 10,000 keys.

Any write to the org forgets its strides, so a write between pages shifts the pages exactly as
``OFFSET`` does. A seqlock decides when a key may be used or recorded: a write bumps the org's
version as it starts and again as it ends, and a read takes a snapshot before and after its
queries. Only a read that saw no write under way and the same snapshot on both sides may use
or record a key, so a key never outlives the data it was read from, whatever the interleaving.
"""

from __future__ import annotations

import contextlib
import threading
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

from reconciler.emulator.database import Store

# One key per this many rows: a page starts at most this many rows past a key, and a page of
# this many rows (the largest) ends on one. 10,000 keys at 1M rules.
STRIDE = 100
_SORTS = {"created_at": "created_at", "updated_at": "updated_at"}
_DIRECTIONS = {"asc": "ASC", "desc": "DESC"}
# How a row that sorts after (sort value, seq) compares, per direction.
_AFTER = {"asc": ">", "desc": "<"}
# SQLite's OFFSET is a signed 64-bit integer; any page beyond that is past the end anyway.
_MAX_OFFSET = 2**62
Key = tuple[str, int]  # a row's (sort value, seq)
# What must not have changed for a remembered key to hold: the org's write version, the
# all-orgs (wipe) version, how many writes are under way, and SQLite's data_version (which
# moves when another connection, say another process on the same file, commits).
Snapshot = tuple[int, int, int, int]


@dataclass(frozen=True)
class Listing:
    """One order of one org's rules: every page request of it shares the strides."""

    org: str
    table: str
    sort: str
    direction: str

    @property
    def column(self) -> str:
        return _SORTS[self.sort]

    @property
    def order(self) -> str:
        way = _DIRECTIONS[self.direction]
        return f"ORDER BY {self.column} {way}, seq {way}"


@dataclass(frozen=True)
class Columns:
    """What a query selects: ``sql``, with ``params`` for its ``?``.

    A page's columns include ``created_at``, ``updated_at`` and ``seq`` by name, so that the
    page that read a row can record its key.
    """

    sql: str
    params: tuple[Any, ...] = ()

    def select(self) -> str:
        return f"SELECT {self.sql}"


_SEQ = Columns("seq")


@dataclass
class Strides:
    """``keys[i]`` is the key of row ``(i + 1) * stride - 1``; ``end`` the row count, once seen.

    Only appended to while its snapshot holds; a write replaces it rather than changing it, so
    a reader holding it may index it without a lock.
    """

    keys: list[Key] = field(default_factory=list)
    end: int | None = None


class Keysets:
    """The strides of each listing, per org, forgotten at any write to the org."""

    def __init__(self, store: Store, stride: int = STRIDE) -> None:
        self._store = store
        self.stride = stride
        self._lock = threading.Lock()
        # Walks forward are serialised: two pages past the strides would walk the same rows.
        self.walking = threading.Lock()
        self._version: Counter[str | None] = Counter()
        self._writing: Counter[str | None] = Counter()
        self._held: dict[str, tuple[Snapshot, dict[Listing, Strides]]] = {}
        # How pages were read ("keyset" or "offset") and strides walked ("walked"): for tests.
        self.paths: Counter[str] = Counter()

    @contextlib.contextmanager
    def changing(self, org: str | None) -> Iterator[None]:
        """Around a write to ``org`` (``None``: every org)."""
        self._mark(org, 1)
        try:
            yield
        finally:
            self._mark(org, -1)

    def _mark(self, org: str | None, step: int) -> None:
        with self._lock:
            self._version[org] += 1
            self._writing[org] += step
            if org is None:
                self._held.clear()
            else:
                self._held.pop(org, None)

    def snapshot(self, org: str) -> Snapshot:
        data_version = int(self._store.read("PRAGMA data_version")[0][0])
        with self._lock:
            writing = self._writing[org] + self._writing[None]
            return self._version[org], self._version[None], writing, data_version

    def rows(self, listing: Listing, columns: Columns, offset: int, count: int) -> list[Any]:
        """``count`` rows of ``listing`` from ``offset``: what ``LIMIT/OFFSET`` gives.

        By key when the strides reach ``offset`` (walking them there first if need be), by
        ``OFFSET`` near the start, while a write is under way, or when one overlapped the read.
        """
        before = self.snapshot(listing.org)
        strides = self._strides(listing, before)
        keyed = strides is not None and offset >= self.stride
        if keyed:
            assert strides is not None
            rows = self._by_key(listing, columns, strides, offset, count)
        else:
            rows = rows_from(self._store, listing, columns, min(offset, _MAX_OFFSET), count)
        quiet = not before[2] and self.snapshot(listing.org) == before
        if keyed and not quiet:  # a write overlapped the keys: answer as OFFSET does now
            rows = rows_from(self._store, listing, columns, min(offset, _MAX_OFFSET), count)
            keyed = False
        self.paths["keyset" if keyed else "offset"] += 1
        if quiet and strides is not None:
            self._note(listing, strides, offset, rows)
        return rows

    def _by_key(
        self, listing: Listing, columns: Columns, strides: Strides, offset: int, count: int
    ) -> list[Any]:
        """``count`` rows from ``offset``, sought from the stride before them."""
        index, skip = divmod(offset, self.stride)
        if len(strides.keys) < index and strides.end is None:
            self._walk(listing, strides, index)
        if strides.end is not None and offset >= strides.end:
            return []
        key: Key | None = strides.keys[index - 1]
        if skip and key is not None:
            key = key_after(self._store, listing, key, skip)[0]
        return [] if key is None else rows_after(self._store, listing, columns, key, count)

    def _walk(self, listing: Listing, strides: Strides, index: int) -> None:
        """Find the strides up to ``index`` (or the end), one short seek each.

        If a write comes meanwhile, the keys found may not hold, but they go only into the
        strides of the snapshot before it, which no later read shares, and the reader that
        walked sees the write and answers by ``OFFSET``.
        """
        with self.walking:
            with self._lock:  # pages served meanwhile append keys (``_note``): start from ours
                known = len(strides.keys)
                start = strides.keys[known - 1] if known else None
            found: list[Key] = []
            end = None
            while known + len(found) < index and strides.end is None:
                last = found[-1] if found else start
                if last is None:
                    key, follow = first_key(self._store, listing, self.stride - 1)
                else:
                    key, follow = key_after(self._store, listing, last, self.stride)
                if key is None:
                    end = (known + len(found)) * self.stride + follow
                    break
                found.append(key)
            with self._lock:
                strides.keys.extend(found[len(strides.keys) - known :])
                strides.end = strides.end if end is None else end
            self.paths["walked"] += len(found)

    def _strides(self, listing: Listing, snapshot: Snapshot) -> Strides | None:
        """The listing's strides as of ``snapshot``; ``None`` while a write is under way.

        A snapshot other than the held one starts a new, empty set, which only readers of that
        same snapshot share (a write's snapshot never comes back: versions only grow).
        """
        if snapshot[2]:
            return None
        with self._lock:
            held = self._held.get(listing.org)
            if held is None or held[0] != snapshot:
                held = self._held[listing.org] = (snapshot, {})
            return held[1].setdefault(listing, Strides())

    def _note(self, listing: Listing, strides: Strides, offset: int, rows: list[Any]) -> None:
        """Record the next strides if a page read in the strides' snapshot passed over them."""
        column = listing.column
        with self._lock:
            while True:
                position = (len(strides.keys) + 1) * self.stride - 1 - offset
                if not 0 <= position < len(rows):
                    return
                strides.keys.append((rows[position][column], rows[position]["seq"]))


def rows_from(
    store: Store, listing: Listing, columns: Columns, offset: int, count: int
) -> list[Any]:
    """``count`` rows from ``offset``, by ``OFFSET``: one statement."""
    return store.read(
        f"{columns.select()} FROM {listing.table} WHERE org = ? {listing.order} LIMIT ? OFFSET ?",
        (*columns.params, listing.org, count, offset),
    )


def rows_after(store: Store, listing: Listing, columns: Columns, key: Key, count: int) -> list[Any]:
    """Up to ``count`` rows after ``key``.

    The rows that tie on the sort value and the rows past it are two index seeks. The row value
    ``(column, seq) > (?, ?)`` would seek on the column alone and then walk every tie, which is
    the cost of ``OFFSET`` again when many rules share a time; a ``UNION ALL`` of the two
    statements would sort both halves in a temporary tree. Two statements may read two states:
    the caller's snapshot check refuses that.
    """
    value, seq = key
    ties = store.read(*_ties(listing, columns, (value, seq), count))
    if len(ties) == count:
        return ties
    return ties + store.read(*_past(listing, columns, value, count - len(ties), 0))


def first_key(store: Store, listing: Listing, position: int) -> tuple[Key | None, int]:
    """The key of row ``position`` (from 0), or ``None`` and how many rows there are."""
    select = f"FROM {listing.table} WHERE org = ? {listing.order} LIMIT ?"
    found = store.read(
        f"SELECT {listing.column}, seq {select} OFFSET ?", (listing.org, 1, position)
    )
    if found:
        return (found[0][0], found[0][1]), position + 1
    count = store.read(f"SELECT count(*) FROM (SELECT 1 {select})", (listing.org, position))
    return None, int(count[0][0])


def key_after(store: Store, listing: Listing, key: Key, steps: int) -> tuple[Key | None, int]:
    """The key ``steps`` (at least 1) rows after ``key``, or ``None`` and how many rows follow."""
    value, seq = key
    ties = store.read(*_ties(listing, _SEQ, (value, seq), steps))
    if len(ties) == steps:
        return (value, ties[-1][0]), steps
    rest = steps - len(ties)
    found = store.read(*_past(listing, Columns(f"{listing.column}, seq"), value, 1, rest - 1))
    if found:
        return (found[0][0], found[0][1]), steps
    sql, args = _past(listing, _SEQ, value, rest, 0)
    return None, len(ties) + int(store.read(f"SELECT count(*) FROM ({sql})", args)[0][0])


def _ties(listing: Listing, columns: Columns, key: Key, count: int) -> tuple[str, tuple[Any, ...]]:
    column, after = listing.column, _AFTER[listing.direction]
    order = _DIRECTIONS[listing.direction]
    sql = (
        f"{columns.select()} FROM {listing.table} WHERE org = ? AND {column} = ? "
        f"AND seq {after} ? ORDER BY seq {order} LIMIT ?"
    )
    return sql, (*columns.params, listing.org, *key, count)


def _past(
    listing: Listing, columns: Columns, value: str, count: int, skip: int
) -> tuple[str, tuple[Any, ...]]:
    column, after = listing.column, _AFTER[listing.direction]
    sql = (
        f"{columns.select()} FROM {listing.table} WHERE org = ? AND {column} {after} ? "
        f"{listing.order} LIMIT ? OFFSET ?"
    )
    return sql, (*columns.params, listing.org, value, count, skip)
