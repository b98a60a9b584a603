"""The ``$schema`` line of exported, migrated and example files points at a released schema.

A relative path (``../../schemas``) breaks once a file is copied into another repository, so
every file names the schema the release workflow attaches to the GitHub release of its version.
A version bump fails these tests until the examples and the README name the new release.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from reconciler import __version__
from reconciler.render.migratefile import HEADER as MIGRATED
from reconciler.triage.export import HEADER as EXPORTED
from reconciler.triage.export import SCHEMA_URL

ROOT = Path(__file__).resolve().parent.parent
RELEASES = "https://github.com/socket-triage/socket-triage/releases/download"
LINE = f"# yaml-language-server: $schema={SCHEMA_URL}\n"


def test_the_url_is_this_versions_release_asset() -> None:
    assert f"{RELEASES}/v{__version__}/triage-rules.schema.json" == SCHEMA_URL


def test_the_release_attaches_the_schema_the_url_names() -> None:
    workflow = (ROOT / ".github/workflows/release.yml").read_text()
    assert "reconciler/schemas/*.json" in workflow
    assert (ROOT / "reconciler/schemas" / SCHEMA_URL.rsplit("/", 1)[1]).is_file()


@pytest.mark.parametrize("header", [EXPORTED, MIGRATED], ids=["export", "migrate"])
def test_written_files_start_with_the_release_url(header: str) -> None:
    assert header.startswith(LINE)


@pytest.mark.parametrize(
    "path", sorted((ROOT / "examples/triage").glob("*.yaml")), ids=lambda p: p.name
)
def test_examples_name_the_released_schema(path: Path) -> None:
    assert path.read_text().startswith(LINE)


def test_the_readme_example_names_the_released_schema() -> None:
    readme = (ROOT / "README.md").read_text()
    assert LINE in readme
    assert "$schema=../" not in readme
