"""The legacy triage family's tables: live rules, and the frozen copy reads see after the move.

When an org stops evaluating legacy triage (it moved to Alert Policies), Socket keeps answering
legacy reads "with a frozen copy". ``freeze`` takes that copy; reads of a moved org come from it,
so nothing done to the live table afterwards (seeding, a rollback's writes) shows through until
the org evaluates legacy triage again and ``thaw`` drops the copy.

Pages are read by key at any depth and in any order (``triage_keysets``); every write here runs
inside ``Keysets.changing``, so a write between pages shifts them exactly as ``OFFSET`` does.
"""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

from reconciler.emulator.database import Org, Store
from reconciler.emulator.database_schema import TRIAGE_COLUMNS
from reconciler.emulator.triage_keysets import STRIDE, Columns, Keysets, Listing
from reconciler.vocab.triage.wire import GET_FIELDS

LIVE = "triage_rules"
FROZEN = "triage_frozen"
_ALL_COLUMNS = ", ".join(("uuid", "org", *TRIAGE_COLUMNS, "created_at", "updated_at"))
# A rule in GET form, as JSON text built by SQLite: encoding it in Python (a dict per row, then
# ``json.dumps``) was three quarters of a page's cost. Every column is TEXT, so every value is a
# string or null either way. The org id is not a column: it is the one ``?``.
_GET_JSON = "json_object({}) AS item, created_at, updated_at, seq".format(
    ", ".join(f"'{name}', {'?' if name == 'organization_id' else name}" for name in GET_FIELDS)
)


class UnknownUuidError(Exception):
    """A write named a uuid that is not a rule of the org; nothing was changed."""

    def __init__(self, index: int, uuid: str) -> None:
        super().__init__(f"alertTriage[{index}]: no triage entry with uuid {uuid!r}")
        self.index = index
        self.uuid = uuid


class TriageRules:
    """Triage rules per org. Every public method is atomic and thread-safe."""

    def __init__(self, store: Store, *, stride: int = STRIDE) -> None:
        self.store = store
        self.keysets = Keysets(store, stride)

    def page(
        self, org: Org, *, sort: str, direction: str, limit: int, offset: int
    ) -> tuple[list[str], bool]:
        """One page of rules as GET-form JSON texts (frozen once the org moved), and whether
        more follow.

        The insertion sequence breaks ties, in the same direction, so the order is total and a
        rule never appears on two pages while nothing changes.
        """
        listing = Listing(org.slug, FROZEN if org.migrated else LIVE, sort, direction)
        rows = self.keysets.rows(listing, Columns(_GET_JSON, (org.id,)), offset, limit + 1)
        return [row[0] for row in rows[:limit]], len(rows) > limit

    def everything(self, org: Org) -> list[dict[str, Any]]:
        """Every live rule of ``org``, oldest first (what the org holds, frozen or not)."""
        rows = self.store.read(
            f"SELECT {_GET_JSON} FROM {LIVE} WHERE org = ? ORDER BY created_at, seq",
            (org.id, org.slug),
        )
        return [json.loads(row[0]) for row in rows]

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
