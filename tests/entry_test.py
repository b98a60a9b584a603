"""The console script answers ``--version`` itself, with the text click's option gives."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from click.testing import CliRunner

from reconciler.cli import cli

ROOT = Path(__file__).resolve().parent.parent


def test_version_says_what_click_says() -> None:
    probe = "import sys; sys.argv = ['socket-triage', '--version']\n"
    probe += "from reconciler.entry import main; main()"
    result = subprocess.run(
        [sys.executable, "-c", probe], cwd=ROOT, capture_output=True, text=True, check=True
    )
    assert result.stdout == CliRunner().invoke(cli, ["--version"]).output
