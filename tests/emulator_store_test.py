"""State in a SQLite file survives restarts; the schema version; embedded mode; seeding."""

from __future__ import annotations

import sqlite3
from collections.abc import Callable
from pathlib import Path

import httpx
import pytest
from click.testing import CliRunner

from reconciler.cli import cli
from reconciler.emulator import Emulator, EmulatorTransport, StoreError, database_schema, embedded
from reconciler.emulator.database_schema import APPLICATION_ID, CURRENT_VERSION
from reconciler.errors import UsageError


def test_rules_persist_across_restarts(tmp_path: Path) -> None:
    db = str(tmp_path / "state.sqlite")
    first = Emulator(db)
    first.add_token("sktsec_t", "acme")
    with httpx.Client(
        transport=EmulatorTransport(first),
        base_url="http://emu/v0",
        headers={"Authorization": "Bearer sktsec_t"},
    ) as api:
        api.post(
            "/orgs/acme/triage/alerts", json={"alertTriage": [{"alertKey": "k", "state": "ignore"}]}
        )
    before = first.rules("acme")
    first.close()
    second = Emulator(db)
    assert second.rules("acme") == before
    second.seed_rules("acme", [{"alert_key": "later"}])
    assert [r["alert_key"] for r in second.rules("acme")] == ["k", "later"]
    second.close()


def test_embedded_creates_parent_dirs_and_keeps_state(tmp_path: Path) -> None:
    path = tmp_path / "deep" / "dir" / "triage.sqlite"
    emu = embedded(str(path))
    with httpx.Client(transport=EmulatorTransport(emu), base_url="http://local/v0") as api:
        response = api.post(
            "/orgs/any/triage/alerts", json={"alertTriage": [{"alertKey": "k", "state": "ignore"}]}
        )
    assert response.status_code == 200
    emu.close()
    assert path.exists()
    again = embedded(str(path))
    assert [r["alert_key"] for r in again.rules("any")] == ["k"]
    again.close()


def test_seed_rules_takes_either_spelling_and_keeps_given_fields() -> None:
    emu = Emulator()
    emu.seed_rules(
        "acme",
        [
            {"uuid": "u-1", "package_name": "a", "fix_available": "available", "state": "warn"},
            {"packageName": "b", "kevs": "none", "createdAt": "2020-01-01T00:00:00.000000Z"},
        ],
    )
    first, second = emu.rules("acme")
    assert (second["uuid"], second["state"]) == ("u-1", "warn")
    assert second["fix_available"] == "available"
    assert (first["package_name"], first["kevs"], first["created_at"][:4]) == ("b", "none", "2020")
    assert first["organization_id"] == second["organization_id"]
    assert emu.counters()["entries"]["created"] == 0
    emu.close()


# The layout written before the store had a version (the old store.py's schema, verbatim).
V1_SCHEMA = """
CREATE TABLE IF NOT EXISTS orgs (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    slug TEXT NOT NULL UNIQUE,
    migrated INTEGER NOT NULL DEFAULT 0
);
CREATE TABLE IF NOT EXISTS rules (
    seq INTEGER PRIMARY KEY AUTOINCREMENT,
    uuid TEXT NOT NULL UNIQUE,
    org TEXT NOT NULL,
    package_type TEXT, package_namespace TEXT, package_name TEXT, package_version TEXT,
    alert_key TEXT, alert_type TEXT, cve_or_ghsa_id TEXT, fix_available TEXT,
    patch_available TEXT, reachability TEXT, kevs TEXT, cvss_score_cmp TEXT, note TEXT,
    state TEXT,
    created_at TEXT NOT NULL,
    updated_at TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS rules_created ON rules (org, created_at, seq);
CREATE INDEX IF NOT EXISTS rules_updated ON rules (org, updated_at, seq);
"""


def v1_database(path: Path) -> None:
    conn = sqlite3.connect(path)
    conn.executescript(V1_SCHEMA)
    conn.executemany("INSERT INTO orgs (slug, migrated) VALUES (?, ?)", [("acme", 0), ("gone", 1)])
    for org, key in (("acme", "a"), ("gone", "g")):
        conn.execute(
            "INSERT INTO rules (uuid, org, alert_key, fix_available, patch_available, "
            "reachability, kevs, note, state, created_at, updated_at) "
            "VALUES (?, ?, ?, '*', '*', '*', '*', '', 'ignore', ?, ?)",
            (f"u-{key}", org, key, "2024-01-01T00:00:00.000000Z", "2024-01-01T00:00:00.000000Z"),
        )
    conn.commit()
    conn.close()


def header(path: Path) -> tuple[int, int]:
    conn = sqlite3.connect(path)
    try:
        app = conn.execute("PRAGMA application_id").fetchone()[0]
        version = conn.execute("PRAGMA user_version").fetchone()[0]
    finally:
        conn.close()
    return app, version


def test_a_new_database_gets_the_current_version(tmp_path: Path) -> None:
    path = tmp_path / "new.sqlite"
    Emulator(str(path)).close()
    assert header(path) == (APPLICATION_ID, CURRENT_VERSION)
    Emulator(str(path)).close()  # reopening a current one changes nothing
    assert header(path) == (APPLICATION_ID, CURRENT_VERSION)


def test_an_unversioned_database_is_migrated_forward_keeping_everything(tmp_path: Path) -> None:
    path = tmp_path / "old.sqlite"
    v1_database(path)
    emu = Emulator(str(path), require_auth=False)
    assert header(path) == (APPLICATION_ID, CURRENT_VERSION)
    assert [r["alert_key"] for r in emu.rules("acme")] == ["a"]
    assert emu.migration_status("acme")["state"] is None
    moved = emu.migration_status("gone")
    assert (moved["state"], moved["legacy_evaluation_enabled"]) == ("accepted", False)
    with httpx.Client(transport=EmulatorTransport(emu), base_url="http://local/v0") as api:
        frozen = api.get("/orgs/gone/triage/alerts").json()["results"]
        assert [r["uuid"] for r in frozen] == ["u-g"]
        rule = {"name": "r", "vigil_selector": {"finding.alertType": "cve"}, "action": "warn"}
        assert api.post("/orgs/gone/alert-policies/default/rules", json=rule).status_code == 201
        assert api.get("/orgs/acme/alert-policies").json()["items"][0]["id"] == "default"
    emu.close()


def test_a_failed_migration_leaves_the_old_file_as_it_was(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = tmp_path / "old.sqlite"
    v1_database(path)

    def broken(conn: sqlite3.Connection, now: str) -> None:
        conn.execute("ALTER TABLE rules RENAME TO triage_rules")
        raise sqlite3.OperationalError("disk on fire")

    monkeypatch.setitem(database_schema.MIGRATIONS, 1, broken)
    with pytest.raises(StoreError, match="disk on fire"):
        Emulator(str(path))
    assert header(path) == (0, 0)
    monkeypatch.undo()
    assert [r["alert_key"] for r in Emulator(str(path)).rules("acme")] == ["a"]


def test_a_newer_database_is_refused_with_one_line(tmp_path: Path) -> None:
    path = tmp_path / "future.sqlite"
    Emulator(str(path)).close()
    conn = sqlite3.connect(path)
    conn.execute(f"PRAGMA user_version = {CURRENT_VERSION + 1}")
    conn.close()
    with pytest.raises(
        StoreError,
        match=rf"version {CURRENT_VERSION + 1} is newer than this socket-triage supports",
    ):
        Emulator(str(path))


@pytest.mark.parametrize(
    ("make", "words"),
    [
        (lambda p: p.write_bytes(b"hello, not sqlite " * 100), "not an emulator database"),
        (lambda p: p.mkdir(), "is a directory"),
        (lambda p: _foreign(p, "CREATE TABLE cats (name TEXT)"), "other tables: cats"),
        (lambda p: _foreign(p, "PRAGMA application_id = 7"), "another application"),
    ],
)
def test_what_is_not_an_emulator_database_is_refused(
    tmp_path: Path, make: Callable[[Path], object], words: str
) -> None:
    path = tmp_path / "state.sqlite"
    make(path)
    openers: list[Callable[[str], Emulator]] = [Emulator, embedded]
    for opener in openers:
        with pytest.raises(StoreError, match=words) as caught:
            opener(str(path))
        assert isinstance(caught.value, UsageError)
        assert "\n" not in str(caught.value)


def _foreign(path: Path, statement: str) -> None:
    conn = sqlite3.connect(path)
    conn.execute(statement)
    conn.execute("CREATE TABLE IF NOT EXISTS t (x)")
    conn.commit()
    conn.close()


def test_emulator_db_in_a_missing_folder_is_one_line_exit_1(tmp_path: Path) -> None:
    db = tmp_path / "missing" / "state.sqlite"
    result = CliRunner().invoke(cli, ["emulator", "--port", "0", "--db", str(db)])
    assert result.exit_code == 1
    assert result.output.strip().splitlines() == [
        f"error: {db}: folder {str(db.parent)!r} does not exist"
    ]


@pytest.mark.parametrize("kind", ["directory", "not-a-database", "under-a-file"])
def test_local_api_url_that_cannot_hold_state_is_one_line_exit_1(tmp_path: Path, kind: str) -> None:
    target = tmp_path / "state"
    if kind == "directory":
        target.mkdir()
    elif kind == "not-a-database":
        target.write_text("rules: []\n" * 200)
    else:
        target.write_text("x")
        target = target / "inner.sqlite"
    rules = tmp_path / "acme.yaml"
    rules.write_text("org: acme\nrules:\n  - package_name: x\n    state: ignore\n    note: n\n")
    result = CliRunner().invoke(cli, ["plan", str(rules), "--api-url", f"local:{target}"])
    assert result.exit_code == 1, result.output
    (line,) = result.output.strip().splitlines()
    assert line.startswith("error: ") and str(target) in line


def test_a_version_2_database_gains_the_repository_table_keeping_everything(
    tmp_path: Path,
) -> None:
    path = tmp_path / "v2.sqlite"
    emu = Emulator(str(path), require_auth=False)
    emu.set_migration_state("acme", "accepted")
    emu.seed_policy("acme", "backend")
    emu.close()
    conn = sqlite3.connect(path)  # take it back to what version 2 wrote
    conn.execute("DROP TABLE repositories")
    conn.execute("PRAGMA user_version = 2")
    conn.commit()
    conn.close()
    reopened = Emulator(str(path), require_auth=False)
    assert header(path) == (APPLICATION_ID, CURRENT_VERSION) == (APPLICATION_ID, 3)
    assert [p["name"] for p in reopened.alert_policies("acme")] == [None, "backend"]
    assert reopened.repositories("acme") == []
    (api,) = reopened.seed_repos("acme", ["api"])
    reopened.close()
    again = Emulator(str(path), require_auth=False)
    assert again.repositories("acme") == [api]
    again.reset()  # repositories are the org's setup: a reset keeps them
    assert again.repositories("acme") == [api]
    again.close()
