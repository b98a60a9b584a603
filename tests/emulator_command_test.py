"""``socket-triage emulator`` on a database file: seeded once, its generated tokens kept."""

from __future__ import annotations

import json
import signal
import subprocess
import sys
from pathlib import Path

import httpx
import pytest
from click.testing import CliRunner

from reconciler.cli import cli
from reconciler.emulator import Emulator

SEED = {"orgs": {"acme": [{"alert_key": f"k{n}", "state": "ignore"} for n in range(9)]}}


def start(*args: str) -> tuple[list[str], list[str]]:
    """Run the command until it has announced itself; return its lines and acme's live keys."""
    code = "from reconciler.cli import main; main()"
    process = subprocess.Popen(
        [sys.executable, "-c", code, "emulator", "--port", "0", *args],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        assert process.stdout is not None
        lines: list[str] = []
        while line := process.stdout.readline():
            lines.append(line.rstrip("\n"))
            if line.startswith("Press Ctrl-C"):
                break
        url = lines[0].rsplit(" ", 1)[-1]
        token = lines[1].split(" token ", 1)[1].split(" ", 1)[0]
        with httpx.Client(base_url=url, auth=(token, "")) as api:
            listed = api.get("/orgs/acme/triage/alerts", params={"per_page": 100}).json()
        keys = [rule["alert_key"] for rule in listed["results"]]
    finally:
        process.send_signal(signal.SIGINT)
        _, err = process.communicate(timeout=20)
    assert process.returncode == 0, err
    return lines, keys


def token_line(lines: list[str]) -> str:
    (line,) = [line for line in lines if line.startswith("  org acme: token sktsec_emu_")]
    return line


@pytest.fixture
def seed(tmp_path: Path) -> Path:
    path = tmp_path / "seed.json"
    path.write_text(json.dumps(SEED), encoding="utf-8")
    return path


def test_a_restart_neither_seeds_again_nor_changes_the_token(tmp_path: Path, seed: Path) -> None:
    db = tmp_path / "state.db"
    args = ("--db", str(db), "--seed-file", str(seed))
    first, first_keys = start(*args)
    assert f"Seeded {db} from {seed}; a restart on {db} keeps its state" in "\n".join(first)
    runs = [start(*args) for _ in range(2)]
    for lines, keys in runs:
        assert sorted(keys) == sorted(first_keys) and len(keys) == 9  # not 18, not 27
        assert token_line(lines) == token_line(first)
        assert f"{db} was seeded from {seed} before: not seeding again" in "\n".join(lines)


def test_reseed_replaces_the_rules_and_says_so(tmp_path: Path, seed: Path) -> None:
    db = tmp_path / "state.db"
    first, _ = start("--db", str(db), "--seed-file", str(seed))
    seed.write_text(json.dumps({"orgs": {"acme": [{"alert_key": "new", "state": "ignore"}]}}))
    lines, keys = start("--db", str(db), "--seed-file", str(seed), "--reseed")
    assert keys == ["new"]
    assert f"Reseeded {db} from {seed}: its earlier rules" in "\n".join(lines)
    assert token_line(lines) == token_line(first)


def test_a_database_with_rules_from_elsewhere_is_not_seeded(tmp_path: Path, seed: Path) -> None:
    # Written by an older release's seeding, or through the API: no record of a seed file.
    db = tmp_path / "state.db"
    emulator = Emulator(str(db))
    emulator.seed_rules("acme", [{"alert_key": "x", "state": "ignore"}])
    emulator.close()
    lines, keys = start("--db", str(db), "--seed-file", str(seed))
    assert keys == ["x"]
    assert f"{db} was seeded before: not seeding again (--reseed replaces" in "\n".join(lines)


def test_an_in_memory_database_is_seeded_every_run_without_a_word(seed: Path) -> None:
    lines, keys = start("--seed-file", str(seed))
    assert len(keys) == 9
    assert not any("eeded" in line for line in lines)


def test_reseed_without_a_seed_file_is_one_line_exit_1() -> None:
    result = CliRunner().invoke(cli, ["emulator", "--port", "0", "--reseed"])
    assert result.exit_code == 1
    assert result.output.strip().splitlines() == [
        "error: --reseed: give the --seed-file to load again"
    ]
