"""Many rule files are parsed in two processes, with the same result as one after the other."""

from __future__ import annotations

import datetime as dt
import glob
import os
import threading
from pathlib import Path

import pytest

from reconciler.errors import ConfigError, Diagnostic
from reconciler.rules import loader, parsing, rulefile
from reconciler.rules.rulefile import FileRules
from reconciler.rules.ruleset import RuleSet

TODAY = dt.date(2026, 11, 28)
EVERY_FIXTURE = sorted(glob.glob("tests/fixtures/*.yaml")) + sorted(glob.glob("examples/**/*.y*ml"))


def outcome(paths: list[str]) -> RuleSet | list[Diagnostic]:
    try:
        return loader.load(paths, today=TODAY)
    except ConfigError as exc:
        return list(exc.diagnostics)


@pytest.fixture
def pids(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """Every process that parses a file appends its pid here (a forked child inherits this)."""
    record = tmp_path / "pids"
    parse = rulefile.parse

    def parse_and_record(
        file: str, text: str, today: dt.date
    ) -> tuple[FileRules, list[Diagnostic]]:
        with record.open("a") as out:
            out.write(f"{os.getpid()}\n")
        return parse(file, text, today)

    monkeypatch.setattr(rulefile, "parse", parse_and_record)
    return record


def test_every_fixture_loads_the_same_in_two_processes(
    pids: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    one = [outcome([path]) for path in EVERY_FIXTURE] + [outcome(EVERY_FIXTURE)]
    assert set(pids.read_text().split()) == {str(os.getpid())}
    pids.unlink()
    monkeypatch.setattr(parsing, "PARALLEL_BYTES", 0)
    two = [outcome([path]) for path in EVERY_FIXTURE] + [outcome(EVERY_FIXTURE)]
    assert two == one
    assert len(set(pids.read_text().split())) == 2  # this process and a forked child


def test_errors_keep_their_files_and_order_across_the_split(
    tmp_path: Path, pids: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(parsing, "PARALLEL_BYTES", 0)
    good = "org: acme\nrules:\n  - package_name: left-pad\n    state: ignore\n    note: why\n"
    (tmp_path / "a.yaml").write_text(good)
    (tmp_path / "b.yaml").write_text("org: acme\nrules:\n  - state: nope\n")
    (tmp_path / "c.yaml").write_bytes(b"org: acme\nrules: []\nnote: \xff\n")
    (tmp_path / "d.yaml").write_text(good.replace("left-pad", "right-pad").replace("why", "x"))
    found = outcome([str(tmp_path)])
    assert isinstance(found, list)
    where = [(Path(d.location.file).name, d.location.line) for d in found]
    assert where == sorted(where)
    assert ("b.yaml", 3) in where and ("c.yaml", 3) in where
    assert len(set(pids.read_text().split())) == 2


def test_rules_keep_the_order_of_their_files(
    tmp_path: Path, pids: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    for number in range(6):
        rules = "".join(
            f"  - package_name: pkg-{number}-{i}\n    state: ignore\n    note: why\n"
            for i in range(10)
        )
        (tmp_path / f"rules-{number}.yaml").write_text(f"org: acme\nrules:\n{rules}")
    serial = loader.load([str(tmp_path)], today=TODAY)
    monkeypatch.setattr(parsing, "PARALLEL_BYTES", 0)
    split = loader.load([str(tmp_path)], today=TODAY)
    assert split == serial
    names = [r.selector.package_name for r in split.orgs["acme"].rules]
    assert names == [f"pkg-{n}-{i}" for n in range(6) for i in range(10)]
    assert len(set(pids.read_text().split())) == 2


@pytest.fixture
def split(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> tuple[list[str], RuleSet]:
    """Four small rule files, what one process makes of them, and splitting from 0 bytes on."""
    for number in range(4):
        rule = f"  - package_name: pkg-{number}\n    state: ignore\n    note: why\n"
        (tmp_path / f"rules-{number}.yaml").write_text(f"org: acme\nrules:\n{rule}")
    paths = [str(tmp_path)]
    serial = loader.load(paths, today=TODAY)
    monkeypatch.setattr(parsing, "PARALLEL_BYTES", 0)
    return paths, serial


def test_without_fork_the_files_are_parsed_here(
    split: tuple[list[str], RuleSet], pids: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    paths, serial = split

    def refuse() -> int:
        raise BlockingIOError(11, "Resource temporarily unavailable")

    monkeypatch.setattr(os, "fork", refuse)
    assert loader.load(paths, today=TODAY) == serial
    assert set(pids.read_text().split()) == {str(os.getpid())}


def test_a_child_that_fails_has_its_share_parsed_here(
    split: tuple[list[str], RuleSet], pids: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    paths, serial = split
    here, parse = os.getpid(), rulefile.parse

    def fails_in_the_child(
        file: str, text: str, today: dt.date
    ) -> tuple[FileRules, list[Diagnostic]]:
        if os.getpid() != here:
            raise MemoryError("as if the child ran out of memory")
        return parse(file, text, today)

    monkeypatch.setattr(rulefile, "parse", fails_in_the_child)
    assert loader.load(paths, today=TODAY) == serial


def test_a_process_with_other_threads_does_not_fork(
    split: tuple[list[str], RuleSet], pids: Path
) -> None:
    """A fork copies locks other threads hold (the MCP server reads stdin on one)."""
    paths, _ = split
    release = threading.Event()
    other = threading.Thread(target=release.wait)
    other.start()
    try:
        loader.load(paths, today=TODAY)
    finally:
        release.set()
        other.join()
    assert set(pids.read_text().split()) == {str(os.getpid())}
