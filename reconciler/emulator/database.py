"""The emulator's SQLite store: one versioned database, shared by every API family.

One connection guarded by one re-entrant lock serves every thread; SQLite would serialise the
writes anyway, and a single connection keeps ``:memory:`` databases shared. A file database uses
WAL so that a crash leaves the last committed write intact. Opening a file checks what it is
(``database_schema``): a new or empty file gets the current schema, an older emulator database is
migrated forward in one transaction, and anything else is refused with a ``StoreError``.

The family tables (``triage_store``, ``policies_store``) use ``read`` and ``transaction``; this
module owns only the orgs and their Alert Policies migration status.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import sqlite3
import threading
from collections.abc import Iterator, Sequence
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from reconciler.emulator import database_schema as schema
from reconciler.errors import UsageError

MEMORY = ":memory:"
_STAMP_FORMAT = "%Y-%m-%dT%H:%M:%S.%fZ"


class StoreError(UsageError):
    """The database file cannot be used: missing folder, not a database, or not ours."""


@dataclass(frozen=True)
class MigrationStatus:
    """An org's Alert Policies migration status, field for field as the API returns it."""

    state: str | None = None
    finalized_at: str | None = None
    deadline_at: str | None = None
    window_end_at: str | None = None
    deadline_admin_paused_at: str | None = None
    alert_policies_enabled: bool = False
    legacy_evaluation_enabled: bool = True

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


STATUS_COLUMNS = (
    "migration_state",
    "finalized_at",
    "deadline_at",
    "window_end_at",
    "deadline_admin_paused_at",
    "alert_policies_enabled",
    "legacy_evaluation_enabled",
)


@dataclass(frozen=True)
class Org:
    slug: str
    id: str
    status: MigrationStatus

    @property
    def migrated(self) -> bool:
        """Legacy triage no longer evaluates: its writes are refused and its reads frozen."""
        return not self.status.legacy_evaluation_enabled


def format_timestamp(moment: dt.datetime) -> str:
    """ISO-8601 UTC with microseconds; fixed width, so text order is time order."""
    return moment.astimezone(dt.UTC).strftime(_STAMP_FORMAT)


def parse_timestamp(text: str) -> dt.datetime:
    return dt.datetime.strptime(text, _STAMP_FORMAT).replace(tzinfo=dt.UTC)


class Store:
    """The database. Every public method is atomic and thread-safe."""

    def __init__(self, db: str = MEMORY) -> None:
        self.path = db
        self._lock = threading.RLock()
        self._depth = 0
        self._last_stamp = ""
        self._conn = _connect(db)
        try:
            self._prepare(db)
        except sqlite3.OperationalError as exc:
            self._conn.close()
            raise StoreError(f"{db}: cannot use the emulator database ({exc})") from None
        except sqlite3.DatabaseError as exc:
            self._conn.close()
            raise StoreError(f"{db}: not an emulator database ({exc})") from None
        except StoreError:
            self._conn.close()
            raise

    def _prepare(self, db: str) -> None:
        if db != MEMORY:
            self._conn.execute("PRAGMA journal_mode=WAL")
            self._conn.execute("PRAGMA busy_timeout=5000")
        with self.transaction() as conn:
            version = _version(conn, db)
            if version == 0:
                schema.run_script(conn, schema.CURRENT_SCHEMA)
            else:
                for step in range(version, schema.CURRENT_VERSION):
                    schema.MIGRATIONS[step](conn, self.now())
            conn.execute(f"PRAGMA application_id = {schema.APPLICATION_ID}")
            conn.execute(f"PRAGMA user_version = {schema.CURRENT_VERSION}")

    def close(self) -> None:
        with self._lock:
            self._conn.close()

    @contextlib.contextmanager
    def transaction(self, *, rehearse: bool = False) -> Iterator[sqlite3.Connection]:
        """One write transaction; nested uses join the outer one.

        ``rehearse=True`` rolls back even on success: a dry run does the real write, so its
        answer is exactly what a real write would give, and then keeps none of it.
        """
        with self._lock:
            if self._depth:
                assert not rehearse, "a rehearsal must be the outermost transaction"
                self._depth += 1
                try:
                    yield self._conn
                finally:
                    self._depth -= 1
                return
            self._conn.execute("BEGIN IMMEDIATE")
            self._depth = 1
            try:
                yield self._conn
            except BaseException:
                self._conn.execute("ROLLBACK")
                raise
            else:
                self._conn.execute("ROLLBACK" if rehearse else "COMMIT")
            finally:
                self._depth = 0

    def read(self, sql: str, params: Sequence[Any] = ()) -> list[sqlite3.Row]:
        with self._lock:
            return self._conn.execute(sql, params).fetchall()

    def now(self) -> str:
        """A timestamp later than any this store handed out before, so updates always sort last."""
        with self._lock:
            stamp = format_timestamp(dt.datetime.now(dt.UTC))
            if stamp <= self._last_stamp:
                later = parse_timestamp(self._last_stamp) + dt.timedelta(microseconds=1)
                stamp = format_timestamp(later)
            self._last_stamp = stamp
            return stamp

    def add_org(self, slug: str) -> Org:
        """The org, created (not enrolled in any migration) if it is new."""
        with self.transaction() as conn:
            conn.execute(
                "INSERT INTO orgs (slug) VALUES (?) ON CONFLICT (slug) DO NOTHING", (slug,)
            )
        found = self.org(slug)
        assert found is not None
        return found

    def org(self, slug: str) -> Org | None:
        rows = self.read(
            f"SELECT id, slug, {', '.join(STATUS_COLUMNS)} FROM orgs WHERE slug = ?", (slug,)
        )
        if not rows:
            return None
        row = rows[0]
        status = MigrationStatus(
            row["migration_state"],
            row["finalized_at"],
            row["deadline_at"],
            row["window_end_at"],
            row["deadline_admin_paused_at"],
            bool(row["alert_policies_enabled"]),
            bool(row["legacy_evaluation_enabled"]),
        )
        return Org(row["slug"], str(row["id"]), status)

    def set_status(self, slug: str, status: MigrationStatus) -> None:
        values = list(status.to_dict().values())
        sets = ", ".join(f"{column} = ?" for column in STATUS_COLUMNS)
        with self.transaction() as conn:
            conn.execute(f"UPDATE orgs SET {sets} WHERE slug = ?", (*values, slug))


def _connect(db: str) -> sqlite3.Connection:
    if db != MEMORY:
        target = Path(db)
        if target.is_dir():
            raise StoreError(f"{db}: is a directory, not an emulator database file")
        if not target.parent.is_dir():
            raise StoreError(f"{db}: folder {str(target.parent)!r} does not exist")
    try:
        conn = sqlite3.connect(db, check_same_thread=False, isolation_level=None)
    except sqlite3.Error as exc:
        raise StoreError(f"{db}: cannot open the emulator database ({exc})") from None
    conn.row_factory = sqlite3.Row
    return conn


def _version(conn: sqlite3.Connection, db: str) -> int:
    """The schema version of an open database: 0 for a new one. Refuses what is not ours."""
    application_id = conn.execute("PRAGMA application_id").fetchone()[0]
    version = int(conn.execute("PRAGMA user_version").fetchone()[0])
    tables = {
        row[0]
        for row in conn.execute("SELECT name FROM sqlite_master WHERE type = 'table'")
        if not str(row[0]).startswith("sqlite_")
    }
    if application_id == schema.APPLICATION_ID:
        if version > schema.CURRENT_VERSION:
            raise StoreError(
                f"{db}: emulator database schema version {version} is newer than this "
                f"socket-triage supports ({schema.CURRENT_VERSION}); upgrade socket-triage "
                "or use another file"
            )
        return version
    if application_id != 0 or version != 0:
        raise StoreError(f"{db}: not an emulator database (another application's SQLite file)")
    if not tables:
        return 0
    columns = tuple(row[1] for row in conn.execute("PRAGMA table_info(orgs)"))
    if tables == schema.LEGACY_TABLES and columns == schema.LEGACY_ORG_COLUMNS:
        return 1
    shown = ", ".join(sorted(tables)[:3])
    raise StoreError(f"{db}: not an emulator database (it holds other tables: {shown})")
