"""The legacy triage family's tables: live rules, and the frozen copy reads see after the move.

When an org stops evaluating legacy triage (it moved to Alert Policies), Socket keeps answering
legacy reads "with a frozen copy". ``freeze`` takes that copy; reads of a moved org come from it,
so nothing done to the live table afterwards (seeding, a rollback's writes) shows through until
the org evaluates legacy triage again and ``thaw`` drops the copy.

Listing pages by number (``LIMIT/OFFSET``) costs time in proportion to the offset: 61 ms at page
10,000 of a 1M-rule org. So ``page`` remembers where each page it served ended (``Keysets``) and
starts the next one from there by key, which costs the same at any depth; any write to the org
forgets them, so a write between pages shifts the pages exactly as ``OFFSET`` does.
"""

from __future__ import annotations

import contextlib
import sqlite3
import threading
from collections import Counter
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from reconciler.emulator.database import Org, Store
from reconciler.emulator.database_schema import TRIAGE_COLUMNS
from reconciler.triage.wire import GET_FIELDS

LIVE = "triage_rules"
FROZEN = "triage_frozen"
_SORTS = {"created_at": "created_at", "updated_at": "updated_at"}
_DIRECTIONS = {"asc": "ASC", "desc": "DESC"}
# How a row that sorts after (sort value, seq) compares, per direction.
_AFTER = {"asc": ">", "desc": "<"}
_ALL_COLUMNS = ", ".join(("uuid", "org", *TRIAGE_COLUMNS, "created_at", "updated_at"))
# SQLite's OFFSET is a signed 64-bit integer; any page beyond that is past the end anyway.
_MAX_OFFSET = 2**62
# Page ends remembered per listing; a walk past this starts over (one OFFSET page), bounding memory.
_MAX_KEYS = 100_000

Key = tuple[str, int]  # a row's (sort value, seq)
# What must not have changed for a remembered key to hold: the org's write version, the
# all-orgs (wipe) version, how many writes are under way, and SQLite's data_version (which
# moves when another connection, say another process on the same file, commits).
Snapshot = tuple[int, int, int, int]


@dataclass(frozen=True)
class Listing:
    """One order of one org's rules: every page request of it shares the remembered keys."""

    org: str
    table: str
    sort: str
    direction: str


class Keysets:
    """Where served pages ended, per listing, forgotten at any write to the org.

    A seqlock: a write bumps the org's version as it starts and again as it ends, and a read
    takes a snapshot before and after its query. Only a read that saw no write under way and
    the same snapshot on both sides may use or record a key, so a key never outlives the data
    it was read from, whatever the interleaving of threads.
    """

    def __init__(self, store: Store) -> None:
        self._store = store
        self._lock = threading.Lock()
        self._version: Counter[str | None] = Counter()
        self._writing: Counter[str | None] = Counter()
        self._keys: dict[str, tuple[Snapshot, dict[Listing, dict[int, Key]]]] = {}
        self.paths: Counter[str] = Counter()  # "keyset" or "offset": how pages were read

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
                self._keys.clear()
            else:
                self._keys.pop(org, None)

    def snapshot(self, org: str) -> Snapshot:
        data_version = int(self._store.read("PRAGMA data_version")[0][0])
        with self._lock:
            writing = self._writing[org] + self._writing[None]
            return self._version[org], self._version[None], writing, data_version

    def key_before(self, listing: Listing, snapshot: Snapshot, offset: int) -> Key | None:
        """The key of the row just before ``offset``, if served since ``snapshot`` began."""
        with self._lock:
            held = self._keys.get(listing.org)
            if snapshot[2] or held is None or held[0] != snapshot:
                return None
            return held[1].get(listing, {}).get(offset)

    def remember(self, listing: Listing, snapshot: Snapshot, offset: int, key: Key) -> None:
        with self._lock:
            held = self._keys.get(listing.org)
            if held is None or held[0] != snapshot:
                held = self._keys[listing.org] = (snapshot, {})
            ends = held[1].setdefault(listing, {})
            if len(ends) >= _MAX_KEYS:
                ends.clear()
            ends[offset] = key


class UnknownUuidError(Exception):
    """A write named a uuid that is not a rule of the org; nothing was changed."""

    def __init__(self, index: int, uuid: str) -> None:
        super().__init__(f"alertTriage[{index}]: no triage entry with uuid {uuid!r}")
        self.index = index
        self.uuid = uuid


class TriageRules:
    """Triage rules per org. Every public method is atomic and thread-safe."""

    def __init__(self, store: Store) -> None:
        self.store = store
        self.keysets = Keysets(store)

    def page(
        self, org: Org, *, sort: str, direction: str, limit: int, offset: int
    ) -> tuple[list[dict[str, Any]], bool]:
        """One page of rules in GET form (frozen once the org moved), and whether more follow.

        The insertion sequence breaks ties, in the same direction, so the order is total and a
        rule never appears on two pages while nothing changes.
        """
        listing = Listing(org.slug, FROZEN if org.migrated else LIVE, sort, direction)
        rows = self._rows(listing, limit, offset)
        return [_to_get(row, org) for row in rows[:limit]], len(rows) > limit

    def _rows(self, listing: Listing, limit: int, offset: int) -> list[sqlite3.Row]:
        """``limit + 1`` rows from ``offset``: by key after the previous page's end if known."""
        column, order = _SORTS[listing.sort], _DIRECTIONS[listing.direction]
        select = f"SELECT * FROM {listing.table} WHERE org = ?"
        tail = f"ORDER BY {column} {order}, seq {order} LIMIT ?"
        by_offset = (
            f"{select} {tail} OFFSET ?",
            (listing.org, limit + 1, min(offset, _MAX_OFFSET)),
        )
        before = self.keysets.snapshot(listing.org)
        key = self.keysets.key_before(listing, before, offset) if offset else None
        if key is None:
            rows = self.store.read(*by_offset)
        else:
            (value, seq), count = key, limit + 1
            args = (listing.org, value, seq, count, listing.org, value, count, count)
            rows = self.store.read(_after_key(listing), args)
        quiet = not before[2] and self.keysets.snapshot(listing.org) == before
        if key is not None and not quiet:  # a write overlapped the key: answer as OFFSET does
            return self.store.read(*by_offset)
        self.keysets.paths["offset" if key is None else "keyset"] += 1
        if quiet and len(rows) > limit:
            last = rows[limit - 1]
            self.keysets.remember(listing, before, offset + limit, (last[column], last["seq"]))
        return rows

    def everything(self, org: Org) -> list[dict[str, Any]]:
        """Every live rule of ``org``, oldest first (what the org holds, frozen or not)."""
        rows = self.store.read(
            f"SELECT * FROM {LIVE} WHERE org = ? ORDER BY created_at, seq", (org.slug,)
        )
        return [_to_get(row, org) for row in rows]

    def write(
        self, org: Org, entries: Sequence[Mapping[str, Any]], new_uuids: Iterable[str]
    ) -> tuple[int, int]:
        """Create (no ``uuid``) or replace (``uuid``) each entry, all or nothing.

        Returns (created, updated). Raises ``UnknownUuidError`` and changes nothing when an
        entry's uuid is not a rule of ``org``.
        """
        fresh = iter(new_uuids)
        created = updated = 0
        with self.keysets.changing(org.slug), self.store.transaction() as conn:
            now = self.store.now()
            for index, entry in enumerate(entries):
                values = [entry.get(c) for c in TRIAGE_COLUMNS]
                uuid = entry.get("uuid")
                if uuid is None:
                    _insert(conn, LIVE, org.slug, next(fresh), values, now, now)
                    created += 1
                    continue
                sets = ", ".join(f"{c} = ?" for c in TRIAGE_COLUMNS)
                cursor = conn.execute(
                    f"UPDATE {LIVE} SET {sets}, updated_at = ? WHERE uuid = ? AND org = ?",
                    (*values, now, uuid, org.slug),
                )
                if cursor.rowcount != 1:
                    raise UnknownUuidError(index, uuid)
                updated += 1
        return created, updated

    def insert(self, org: Org, rows: Iterable[tuple[str, Mapping[str, Any], str, str]]) -> None:
        """Bulk insert (uuid, fields, created_at, updated_at) rows in one transaction."""
        with self.keysets.changing(org.slug), self.store.transaction() as conn:
            for uuid, fields, created_at, updated_at in rows:
                values = [fields.get(c) for c in TRIAGE_COLUMNS]
                _insert(conn, LIVE, org.slug, uuid, values, created_at, updated_at)

    def delete(self, org: Org, uuid: str) -> bool:
        with self.keysets.changing(org.slug), self.store.transaction() as conn:
            cursor = conn.execute(
                f"DELETE FROM {LIVE} WHERE uuid = ? AND org = ?", (uuid, org.slug)
            )
        return cursor.rowcount == 1

    def freeze(self, slug: str) -> None:
        """Copy the org's live rules into the frozen table that reads use after the move."""
        with self.keysets.changing(slug), self.store.transaction() as conn:
            conn.execute(f"DELETE FROM {FROZEN} WHERE org = ?", (slug,))
            conn.execute(
                f"INSERT INTO {FROZEN} ({_ALL_COLUMNS}) SELECT {_ALL_COLUMNS} FROM {LIVE} "
                "WHERE org = ? ORDER BY seq",
                (slug,),
            )

    def thaw(self, slug: str) -> None:
        with self.keysets.changing(slug), self.store.transaction() as conn:
            conn.execute(f"DELETE FROM {FROZEN} WHERE org = ?", (slug,))

    def wipe(self) -> None:
        """Remove every rule, live and frozen; orgs stay, so tokens keep working."""
        with self.keysets.changing(None), self.store.transaction() as conn:
            conn.execute(f"DELETE FROM {LIVE}")
            conn.execute(f"DELETE FROM {FROZEN}")


def _after_key(listing: Listing) -> str:
    """The rows after a key (sort value, seq), best first, up to ``?`` of them.

    One statement, so it reads one state. The rows that tie on the sort value and the rows past
    it are two index seeks; the row value ``(column, seq) > (?, ?)`` seeks on the column alone and
    then walks every tie, which is the cost of ``OFFSET`` again when many rules share a time.
    """
    column, order, after = (
        _SORTS[listing.sort],
        _DIRECTIONS[listing.direction],
        _AFTER[listing.direction],
    )
    where = f"SELECT * FROM {listing.table} WHERE org = ? AND {column}"
    by = f"ORDER BY {column} {order}, seq {order} LIMIT ?"
    ties = f"{where} = ? AND seq {after} ? ORDER BY seq {order} LIMIT ?"
    return f"SELECT * FROM ({ties}) UNION ALL SELECT * FROM ({where} {after} ? {by}) {by}"


def _insert(
    conn: sqlite3.Connection,
    table: str,
    org: str,
    uuid: str,
    values: list[Any],
    created_at: str,
    updated_at: str,
) -> None:
    marks = ", ".join("?" * (len(TRIAGE_COLUMNS) + 4))
    conn.execute(
        f"INSERT INTO {table} ({_ALL_COLUMNS}) VALUES ({marks})",
        (uuid, org, *values, created_at, updated_at or created_at),
    )


def _to_get(row: sqlite3.Row, org: Org) -> dict[str, Any]:
    item = {name: row[name] for name in GET_FIELDS if name != "organization_id"}
    item["organization_id"] = org.id
    return {name: item[name] for name in GET_FIELDS}
