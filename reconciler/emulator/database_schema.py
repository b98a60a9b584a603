"""The emulator database's schema, its version, and the steps that bring an old file forward.

A database is ours when its SQLite header carries ``APPLICATION_ID``; ``PRAGMA user_version``
is then its schema version. Version 1 is the layout shipped before versioning existed (tables
``orgs`` and ``rules``, header untouched), recognised by its tables. Each step in ``MIGRATIONS``
takes a database from version N to N+1 inside the caller's transaction; a new step and a bump of
``CURRENT_VERSION`` is all a schema change needs.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Callable
from typing import Final

from reconciler.vocab.triage.wire import SELECTOR_FIELDS

APPLICATION_ID: Final = 0x536B5472  # "SkTr"
CURRENT_VERSION: Final = 3

# Columns a triage write sets, in a fixed order for the SQL of the triage family.
TRIAGE_COLUMNS: Final[tuple[str, ...]] = (*SELECTOR_FIELDS, "note", "state")
_TRIAGE_BODY = f"""
    seq INTEGER PRIMARY KEY AUTOINCREMENT,
    uuid TEXT NOT NULL,
    org TEXT NOT NULL,
    {", ".join(f"{c} TEXT" for c in TRIAGE_COLUMNS)},
    created_at TEXT NOT NULL,
    updated_at TEXT NOT NULL
"""

# Version 1: what databases written before versioning hold.
LEGACY_TABLES: Final = frozenset({"orgs", "rules"})
LEGACY_ORG_COLUMNS: Final = ("id", "slug", "migrated")

_TRIAGE_TABLES = f"""
CREATE TABLE triage_frozen ({_TRIAGE_BODY});
CREATE INDEX triage_frozen_created ON triage_frozen (org, created_at, seq);
CREATE INDEX triage_frozen_updated ON triage_frozen (org, updated_at, seq);
"""

_POLICY_TABLES = """
CREATE TABLE alert_policies (
    seq INTEGER PRIMARY KEY AUTOINCREMENT,
    org TEXT NOT NULL,
    id TEXT NOT NULL,
    is_default INTEGER NOT NULL DEFAULT 0,
    name TEXT,
    description TEXT,
    repo_label_id TEXT,
    repository_ids TEXT NOT NULL DEFAULT '[]',
    baseline TEXT,
    created_by TEXT,
    updated_by TEXT,
    created_at TEXT,
    updated_at TEXT,
    UNIQUE (org, id)
);
CREATE UNIQUE INDEX alert_policies_one_default ON alert_policies (org) WHERE is_default = 1;
CREATE TABLE policy_rules (
    seq INTEGER PRIMARY KEY AUTOINCREMENT,
    id TEXT NOT NULL UNIQUE,
    policy INTEGER NOT NULL,
    rank TEXT NOT NULL,
    name TEXT NOT NULL,
    vigil_selector TEXT NOT NULL,
    action TEXT NOT NULL,
    note TEXT,
    created_by TEXT,
    updated_by TEXT,
    created_at TEXT NOT NULL,
    updated_at TEXT NOT NULL,
    UNIQUE (policy, rank)
);
CREATE TABLE alert_resolutions (
    seq INTEGER PRIMARY KEY AUTOINCREMENT,
    uuid TEXT NOT NULL UNIQUE,
    org TEXT NOT NULL,
    reason TEXT NOT NULL,
    reason_text TEXT,
    comment TEXT,
    vigil_selector TEXT NOT NULL,
    resolved_by TEXT,
    created_at TEXT NOT NULL,
    updated_at TEXT NOT NULL
);
CREATE INDEX alert_resolutions_created ON alert_resolutions (org, created_at, seq);
"""

# Version 3: the org's repositories (the repository listing; policies scope them by id).
# Slugs are not unique: Socket does not say they are, and a plan must cope when two share one.
_REPO_TABLES = """
CREATE TABLE repositories (
    seq INTEGER PRIMARY KEY AUTOINCREMENT,
    org TEXT NOT NULL,
    id TEXT NOT NULL UNIQUE,
    slug TEXT NOT NULL,
    name TEXT NOT NULL,
    description TEXT,
    homepage TEXT,
    html_url TEXT,
    visibility TEXT NOT NULL,
    archived INTEGER NOT NULL DEFAULT 0,
    default_branch TEXT,
    workspace TEXT NOT NULL DEFAULT '',
    head_full_scan_id TEXT,
    created_at TEXT NOT NULL,
    updated_at TEXT NOT NULL
);
CREATE INDEX repositories_created ON repositories (org, created_at, seq);
"""

CURRENT_SCHEMA: Final = f"""
CREATE TABLE orgs (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    slug TEXT NOT NULL UNIQUE,
    migration_state TEXT,
    finalized_at TEXT,
    deadline_at TEXT,
    window_end_at TEXT,
    deadline_admin_paused_at TEXT,
    alert_policies_enabled INTEGER NOT NULL DEFAULT 0,
    legacy_evaluation_enabled INTEGER NOT NULL DEFAULT 1
);
CREATE TABLE triage_rules ({_TRIAGE_BODY}, UNIQUE (uuid));
CREATE INDEX triage_rules_created ON triage_rules (org, created_at, seq);
CREATE INDEX triage_rules_updated ON triage_rules (org, updated_at, seq);
{_TRIAGE_TABLES}
{_POLICY_TABLES}
{_REPO_TABLES}
"""


def run_script(conn: sqlite3.Connection, script: str) -> None:
    """Run ``;``-separated statements in the current transaction (``executescript`` commits)."""
    for statement in script.split(";"):
        if statement.strip():
            conn.execute(statement)


def _v1_to_v2(conn: sqlite3.Connection, now: str) -> None:
    """Split ``migrated`` into the migration status and add the Alert Policies tables.

    An org marked ``migrated`` becomes ``accepted`` (policies on, legacy off) with its triage
    rules frozen as they stand, which is what the old flag meant.
    """
    script = f"""
    ALTER TABLE rules RENAME TO triage_rules;
    DROP INDEX IF EXISTS rules_created;
    DROP INDEX IF EXISTS rules_updated;
    CREATE INDEX triage_rules_created ON triage_rules (org, created_at, seq);
    CREATE INDEX triage_rules_updated ON triage_rules (org, updated_at, seq);
    ALTER TABLE orgs ADD COLUMN migration_state TEXT;
    ALTER TABLE orgs ADD COLUMN finalized_at TEXT;
    ALTER TABLE orgs ADD COLUMN deadline_at TEXT;
    ALTER TABLE orgs ADD COLUMN window_end_at TEXT;
    ALTER TABLE orgs ADD COLUMN deadline_admin_paused_at TEXT;
    ALTER TABLE orgs ADD COLUMN alert_policies_enabled INTEGER NOT NULL DEFAULT 0;
    ALTER TABLE orgs ADD COLUMN legacy_evaluation_enabled INTEGER NOT NULL DEFAULT 1;
    {_TRIAGE_TABLES}
    {_POLICY_TABLES}
    """
    run_script(conn, script)
    conn.execute(
        "UPDATE orgs SET migration_state = 'accepted', finalized_at = ?, "
        "alert_policies_enabled = 1, legacy_evaluation_enabled = 0 WHERE migrated = 1",
        (now,),
    )
    columns = ", ".join(("uuid", "org", *TRIAGE_COLUMNS, "created_at", "updated_at"))
    conn.execute(
        f"INSERT INTO triage_frozen ({columns}) SELECT {columns} FROM triage_rules "
        "WHERE org IN (SELECT slug FROM orgs WHERE migrated = 1) ORDER BY seq"
    )
    conn.execute("ALTER TABLE orgs DROP COLUMN migrated")


def _v2_to_v3(conn: sqlite3.Connection, now: str) -> None:
    """Add the repository table; an org of an older file has no repositories yet."""
    del now  # nothing to stamp: no row is written
    run_script(conn, _REPO_TABLES)


# from-version -> the step to from-version + 1
MIGRATIONS: Final[dict[int, Callable[[sqlite3.Connection, str], None]]] = {
    1: _v1_to_v2,
    2: _v2_to_v3,
}
