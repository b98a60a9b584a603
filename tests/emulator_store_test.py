"""State in a SQLite file survives restarts; embedded mode; direct seeding."""

from __future__ import annotations

from pathlib import Path

import httpx

from reconciler.emulator import Emulator, EmulatorTransport, embedded


def test_rules_persist_across_restarts(tmp_path: Path) -> None:
    db = str(tmp_path / "state.sqlite")
    first = Emulator(db)
    first.add_token("sktsec_t", "acme")
    with httpx.Client(
        transport=EmulatorTransport(first),
        base_url="http://emu/v0",
        headers={"Authorization": "Bearer sktsec_t"},
    ) as api:
        api.post("/orgs/acme/triage/alerts", json={"alertTriage": [{"alertKey": "k"}]})
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
        response = api.post("/orgs/any/triage/alerts", json={"alertTriage": [{"alertKey": "k"}]})
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
