"""The benchmarks' own logic: scenario files, minimum calls, the request log and its phases.

No timing is asserted: these check that what the benchmarks count and compare is right.
"""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "bench"))

from e2e_server import LOG_PATH, LoggingEmulator
from harness import Call, Finished, phases
from scenario import ORG, TOKEN, Scenario, live_rule, seed_database, write_files

from reconciler.rules import loader
from reconciler.rules.model import utc_today
from reconciler.triage.plan import diff
from reconciler.vocab.triage.selector import LiveRule


def test_the_reference_minimum_is_241_calls() -> None:
    # 15 list pages + 8 POSTs of 100 + 200 DELETEs + 18 verification pages (issue 12).
    assert Scenario(live=1500, creates=500, updates=300, deletes=200).minimum_calls() == 241


def test_one_percent_splits_like_the_reference() -> None:
    assert Scenario.one_percent(100_000) == Scenario(100_000, 500, 300, 200)


def test_the_files_make_exactly_the_scenario_changes(tmp_path: Path) -> None:
    scenario = Scenario(live=2500, creates=7, updates=5, deletes=3)
    write_files(scenario, tmp_path / "rules")
    seed_database(scenario, tmp_path / "seed.db")
    emulator = LoggingEmulator(str(tmp_path / "seed.db"))
    try:
        live = [LiveRule.from_get(item, ORG) for item in emulator.rules(ORG)]
    finally:
        emulator.close()
    rules = loader.load([str(tmp_path / "rules")], today=utc_today()).orgs[ORG]
    plan = diff(ORG, rules.rules, live, today=utc_today(), prune=rules.prune)
    actions = [change.action for change in plan.changes]
    assert len(live) == scenario.live
    assert len(list((tmp_path / "rules").glob("*.yaml"))) == 3  # 1,000 rules a file
    assert (actions.count("create"), actions.count("update"), actions.count("delete")) == (7, 5, 3)


def test_the_server_logs_api_calls_only() -> None:
    emulator = LoggingEmulator(":memory:")
    emulator.seed_rules(ORG, [live_rule(0)])
    emulator.add_token(TOKEN, ORG)
    headers = {"Authorization": f"Bearer {TOKEN}"}
    try:
        path = f"/v0/orgs/{ORG}/triage/alerts"
        assert emulator.handle("GET", path, "page=1", headers, b"").status == 200
        emulator.handle("GET", "/_emulator/counters", "", {}, b"")
        logged = emulator.handle("GET", LOG_PATH, "", {}, b"")
    finally:
        emulator.close()
    assert len(emulator.log) == 1  # neither control call is logged
    start, end, method, target, status = emulator.log[0]
    assert (method, target, status) == ("GET", f"{path}?page=1", 200)
    assert start <= end
    assert b'"log"' in logged.body


def call(start: float, end: float, method: str) -> Call:
    return Call(start, end, method, "/v0/orgs/bench/triage/alerts", 200)


def test_phases_name_listing_writes_and_verification_and_add_up() -> None:
    run = Finished(seconds=2.0, cpu=1.0, rss_mb=40, code=0, started=100.0, ended=102.0, output="")
    log = [
        call(100.5, 100.6, "GET"),
        call(100.6, 100.7, "GET"),
        call(100.8, 100.9, "POST"),
        call(100.85, 100.95, "DELETE"),  # overlaps the POSTs: only its new time counts
        call(101.0, 101.1, "DELETE"),
        call(101.5, 101.6, "GET"),
    ]
    rows = phases(run, log)
    assert [name for name, _, _ in rows] == [
        "start-up: interpreter, imports, files, first connection",
        "listing GETs",
        "diff and render the plan",
        "POSTs",
        "DELETEs",
        "client work between DELETEs and verification GETs",
        "verification GETs",
        "after the last call: compare, print, exit",
    ]
    assert [count for _, _, count in rows] == [0, 2, 0, 1, 2, 0, 1, 0]
    assert sum(seconds for _, seconds, _ in rows) == pytest.approx(2.0)
    assert {name: s for name, s, _ in rows}["DELETEs"] == pytest.approx(0.2)
