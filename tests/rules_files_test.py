"""Finding rule files: nothing is skipped silently, as a file not read looks like rules deleted."""

from __future__ import annotations

import datetime as dt
import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from reconciler.errors import ConfigError
from reconciler.rules import loader

TODAY = dt.date(2026, 11, 28)


def rule_file(path: Path, name: str) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(f"org: acme\nrules:\n  - {{package_name: {name}, state: ignore, note: n}}\n")
    return path


def names(directory: Path) -> list[str]:
    rules = loader.load([str(directory)], today=TODAY).orgs["acme"].rules
    return sorted(rule.selector.package_name or "" for rule in rules)


def errors_of(directory: Path) -> list[str]:
    with pytest.raises(ConfigError) as info:
        loader.load([str(directory)], today=TODAY)
    return [str(d) for d in info.value.diagnostics]


def test_rule_files_in_a_symlinked_directory_are_read(tmp_path: Path) -> None:
    rule_file(tmp_path / "rules/own.yaml", "own")
    rule_file(tmp_path / "shared/team/team.yaml", "team")
    (tmp_path / "rules/team").symlink_to(tmp_path / "shared/team", target_is_directory=True)
    assert names(tmp_path / "rules") == ["own", "team"]


def test_link_loops_and_second_links_are_walked_once(tmp_path: Path) -> None:
    rule_file(tmp_path / "rules/sub/a.yaml", "a")
    (tmp_path / "rules/sub/up").symlink_to(tmp_path / "rules", target_is_directory=True)
    (tmp_path / "rules/again").symlink_to(tmp_path / "rules/sub", target_is_directory=True)
    (tmp_path / "rules/self").symlink_to(tmp_path / "rules/self")  # resolves to nothing
    found = errors_of(tmp_path / "rules")
    assert found == [f"{tmp_path}/rules/self: broken symbolic link: its target does not exist"]
    (tmp_path / "rules/self").unlink()
    assert names(tmp_path / "rules") == ["a"]  # once: no "same selector" error


def test_a_broken_link_is_an_error_not_a_skip(tmp_path: Path) -> None:
    rule_file(tmp_path / "rules/a.yaml", "a")
    (tmp_path / "rules/team").symlink_to(tmp_path / "unmounted/team")
    (tmp_path / "rules/b.yaml").symlink_to(tmp_path / "gone.yaml")
    assert errors_of(tmp_path / "rules") == [
        f"{tmp_path}/rules/b.yaml: cannot read: No such file or directory",
        f"{tmp_path}/rules/team: broken symbolic link: its target does not exist",
    ]


def test_a_file_name_that_is_not_utf8_is_an_error_naming_it(tmp_path: Path) -> None:
    rule_file(tmp_path / "rules/a.yaml", "a")
    try:
        (Path(os.fsdecode(bytes(tmp_path / "rules") + b"/caf\xe9.yaml"))).write_text("org: acme\n")
    except OSError:
        pytest.skip("this file system refuses names that are not UTF-8")
    assert errors_of(tmp_path / "rules") == [
        f"{tmp_path}/rules/caf\\xe9.yaml: file name is not valid UTF-8; rename the file"
    ]


@pytest.fixture
def unreadable(monkeypatch: pytest.MonkeyPatch) -> Iterator[list[Path]]:
    """Paths made unreadable: by permissions, and for root (who reads anyway) by refusing."""
    paths: list[Path] = []
    real_scandir, real_open = os.scandir, open

    def scandir(path: Any) -> Any:
        if Path(path) in paths:
            raise PermissionError(13, "Permission denied", str(path))
        return real_scandir(path)

    def refuse_open(file: Any, *args: Any, **kwargs: Any) -> Any:
        if Path(file) in paths:
            raise PermissionError(13, "Permission denied", str(file))
        return real_open(file, *args, **kwargs)

    monkeypatch.setattr(os, "scandir", scandir)
    monkeypatch.setattr(loader, "open", refuse_open, raising=False)
    yield paths
    for path in paths:
        path.chmod(0o755)


def test_unreadable_directories_and_files_are_errors(
    tmp_path: Path, unreadable: list[Path]
) -> None:
    rule_file(tmp_path / "rules/a.yaml", "a")
    rule_file(tmp_path / "rules/locked/b.yaml", "b")
    secret = rule_file(tmp_path / "rules/secret.yaml", "c")
    for path in (tmp_path / "rules/locked", secret):
        path.chmod(0)
        unreadable.append(path)
    assert errors_of(tmp_path / "rules") == [
        f"{tmp_path}/rules/locked: cannot read directory: Permission denied",
        f"{tmp_path}/rules/secret.yaml: cannot read: Permission denied",
    ]


def test_a_missing_path_names_the_path_without_a_line(tmp_path: Path) -> None:
    assert errors_of(tmp_path / "nope") == [f"{tmp_path}/nope: no such file or directory"]
