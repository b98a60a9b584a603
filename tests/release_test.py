"""What a release ships: the licence, a version the changelog describes, the workflow."""

from __future__ import annotations

import re
import tomllib
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
PROJECT = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))["project"]


def test_license_file_is_the_mit_licence_the_metadata_names() -> None:
    text = (ROOT / "LICENSE").read_text(encoding="utf-8")
    assert PROJECT["license"] == "MIT"
    assert text.startswith("MIT License\n")
    assert re.search(r"^Copyright \(c\) \d{4} the socket-triage authors$", text, re.MULTILINE)
    assert 'THE SOFTWARE IS PROVIDED "AS IS"' in text


def test_license_file_goes_into_the_sdist_and_the_wheel() -> None:
    # PEP 639: setuptools copies each listed file into the sdist and .dist-info/licenses/.
    assert PROJECT["license-files"] == ["LICENSE"]
    assert all((ROOT / name).is_file() for name in PROJECT["license-files"])
