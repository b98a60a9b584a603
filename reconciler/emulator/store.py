"""The emulator's state: orgs and triage rules in SQLite.

One connection guarded by one lock serves every thread; SQLite would serialise the writes anyway,
and a single connection keeps ``:memory:`` databases shared. A file database uses WAL so that a
crash leaves the last committed batch intact.
"""

from __future__ import annotations

import datetime as dt
import sqlite3
import threading
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from reconciler.triage.wire import GET_FIELDS, SELECTOR_FIELDS

# Columns a write sets, in a fixed order for the SQL below.
RULE_COLUMNS: tuple[str, ...] = (*SELECTOR_FIELDS, "note", "state")

_SCHEMA = f"""
CREATE TABLE IF NOT EXISTS orgs (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    slug TEXT NOT NULL UNIQUE,
    migrated INTEGER NOT NULL DEFAULT 0
);
CREATE TABLE IF NOT EXISTS rules (
    seq INTEGER PRIMARY KEY AUTOINCREMENT,
    uuid TEXT NOT NULL UNIQUE,
    org TEXT NOT NULL,
    {", ".join(f"{c} TEXT" for c in RULE_COLUMNS)},
    created_at TEXT NOT NULL,
    updated_at TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS rules_created ON rules (org, created_at, seq);
CREATE INDEX IF NOT EXISTS rules_updated ON rules (org, updated_at, seq);
"""

_SORTS = {"created_at": "created_at", "updated_at": "updated_at"}
_DIRECTIONS = {"asc": "ASC", "desc": "DESC"}


@dataclass(frozen=True)
class Org:
    slug: str
    id: str
    migrated: bool


class UnknownUuidError(Exception):
    """A write named a uuid that is not a rule of the org; nothing was changed."""

    def __init__(self, index: int, uuid: str) -> None:
        super().__init__(f"alertTriage[{index}]: no triage entry with uuid {uuid!r}")
        self.index = index
        self.uuid = uuid


def format_timestamp(moment: dt.datetime) -> str:
    """ISO-8601 UTC with microseconds; fixed width, so text order is time order."""
    return moment.astimezone(dt.UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


class Store:
    """Orgs and rules. Every public method is atomic and thread-safe."""

    def __init__(self, db: str = ":memory:") -> None:
        self._lock = threading.RLock()
        self._conn = sqlite3.connect(db, check_same_thread=False, isolation_level=None)
        self._conn.row_factory = sqlite3.Row
        if db != ":memory:":
            self._conn.execute("PRAGMA journal_mode=WAL")
            self._conn.execute("PRAGMA busy_timeout=5000")
        self._conn.executescript(_SCHEMA)
        self._last_stamp = ""

    def close(self) -> None:
        with self._lock:
            self._conn.close()

    def now(self) -> str:
        """A timestamp later than any this store handed out before, so updates always sort last."""
        with self._lock:
            stamp = format_timestamp(dt.datetime.now(dt.UTC))
            if stamp <= self._last_stamp:
                last = dt.datetime.strptime(self._last_stamp, "%Y-%m-%dT%H:%M:%S.%fZ")
                stamp = format_timestamp(last.replace(tzinfo=dt.UTC) + dt.timedelta(microseconds=1))
            self._last_stamp = stamp
            return stamp

    def add_org(self, slug: str, *, migrated: bool = False) -> None:
        with self._lock:
            self._conn.execute(
                "INSERT INTO orgs (slug, migrated) VALUES (?, ?) "
                "ON CONFLICT (slug) DO UPDATE SET migrated = excluded.migrated",
                (slug, int(migrated)),
            )

    def org(self, slug: str) -> Org | None:
        with self._lock:
            row = self._conn.execute(
                "SELECT id, slug, migrated FROM orgs WHERE slug = ?", (slug,)
            ).fetchone()
        return None if row is None else Org(row["slug"], str(row["id"]), bool(row["migrated"]))

    def page(
        self, org: Org, *, sort: str, direction: str, limit: int, offset: int
    ) -> tuple[list[dict[str, Any]], bool]:
        """One page of rules in GET form, and whether more follow.

        The insertion sequence breaks ties, in the same direction, so the order is total and a
        rule never appears on two pages while nothing changes.
        """
        column, order = _SORTS[sort], _DIRECTIONS[direction]
        with self._lock:
            rows = self._conn.execute(
                f"SELECT * FROM rules WHERE org = ? ORDER BY {column} {order}, seq {order} "
                "LIMIT ? OFFSET ?",
                (org.slug, limit + 1, offset),
            ).fetchall()
        return [_to_get(row, org) for row in rows[:limit]], len(rows) > limit

    def write(
        self, org: Org, entries: Sequence[Mapping[str, Any]], new_uuids: Iterable[str]
    ) -> tuple[int, int]:
        """Create (no ``uuid``) or replace (``uuid``) each entry, all or nothing.

        Returns (created, updated). Raises ``UnknownUuidError`` and changes nothing when an
        entry's uuid is not a rule of ``org``.
        """
        fresh = iter(new_uuids)
        created = updated = 0
        with self._lock:
            now = self.now()
            self._conn.execute("BEGIN IMMEDIATE")
            try:
                for index, entry in enumerate(entries):
                    values = [entry.get(c) for c in RULE_COLUMNS]
                    uuid = entry.get("uuid")
                    if uuid is None:
                        self._insert(org.slug, next(fresh), values, now)
                        created += 1
                        continue
                    sets = ", ".join(f"{c} = ?" for c in RULE_COLUMNS)
                    cursor = self._conn.execute(
                        f"UPDATE rules SET {sets}, updated_at = ? WHERE uuid = ? AND org = ?",
                        (*values, now, uuid, org.slug),
                    )
                    if cursor.rowcount != 1:
                        raise UnknownUuidError(index, uuid)
                    updated += 1
            except BaseException:
                self._conn.execute("ROLLBACK")
                raise
            self._conn.execute("COMMIT")
        return created, updated

    def insert(self, org: Org, rows: Iterable[tuple[str, Mapping[str, Any], str, str]]) -> None:
        """Bulk insert (uuid, fields, created_at, updated_at) rows in one transaction."""
        with self._lock:
            self._conn.execute("BEGIN IMMEDIATE")
            try:
                for uuid, fields, created_at, updated_at in rows:
                    values = [fields.get(c) for c in RULE_COLUMNS]
                    self._insert(org.slug, uuid, values, created_at, updated_at)
            except BaseException:
                self._conn.execute("ROLLBACK")
                raise
            self._conn.execute("COMMIT")

    def _insert(
        self, org: str, uuid: str, values: list[Any], created_at: str, updated_at: str = ""
    ) -> None:
        columns = ", ".join(("uuid", "org", *RULE_COLUMNS, "created_at", "updated_at"))
        marks = ", ".join("?" * (len(RULE_COLUMNS) + 4))
        self._conn.execute(
            f"INSERT INTO rules ({columns}) VALUES ({marks})",
            (uuid, org, *values, created_at, updated_at or created_at),
        )

    def delete(self, org: Org, uuid: str) -> bool:
        with self._lock:
            cursor = self._conn.execute(
                "DELETE FROM rules WHERE uuid = ? AND org = ?", (uuid, org.slug)
            )
        return cursor.rowcount == 1

    def wipe(self) -> None:
        """Remove every rule; orgs stay, so tokens keep working."""
        with self._lock:
            self._conn.execute("DELETE FROM rules")


def _to_get(row: sqlite3.Row, org: Org) -> dict[str, Any]:
    item = {name: row[name] for name in GET_FIELDS if name != "organization_id"}
    item["organization_id"] = org.id
    return {name: item[name] for name in GET_FIELDS}
