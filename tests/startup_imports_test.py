"""Start-up stays cheap: what a triage-only command does not need, it does not import.

Each check runs in a new interpreter, since this one has long since imported everything.
The schema's fast check is what keeps jsonschema out, so it is checked here against jsonschema on
every fixture and example: it may send a valid file to jsonschema, never pass an invalid one.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from reconciler.rules import ruleschema, yamlnodes

ROOT = Path(__file__).resolve().parent.parent
EXAMPLES = ROOT / "examples" / "triage"
POLICY_FIXTURE = ROOT / "tests" / "fixtures" / "policies" / "bad-action.yaml"
HEAVY = ("jsonschema", "reconciler.policies", "httpx")
ALL_FILES = sorted(
    str(p.relative_to(ROOT))
    for pattern in ("tests/fixtures/**/*.yaml", "examples/**/*.yaml")
    for p in ROOT.glob(pattern)
)


def loaded_after(code: str) -> list[str]:
    """The heavy packages (``HEAVY``) in ``sys.modules`` after a new interpreter runs ``code``."""
    probe = f"{code}\nimport sys, json\nprint(json.dumps(sorted(sys.modules)))"
    result = subprocess.run(
        [sys.executable, "-c", probe], cwd=ROOT, capture_output=True, text=True, check=True
    )
    modules: list[str] = json.loads(result.stdout.splitlines()[-1])
    return [m for m in modules if m in HEAVY or m.startswith("reconciler.policies.")]


def test_importing_the_cli_and_validate_loads_neither_jsonschema_nor_policies() -> None:
    assert loaded_after("import reconciler.cli, reconciler.commands.validate") == []


def test_validating_the_triage_examples_loads_neither_jsonschema_nor_policies() -> None:
    code = (
        "from click.testing import CliRunner\n"
        "from reconciler.cli import cli\n"
        f"result = CliRunner().invoke(cli, ['validate', {str(EXAMPLES)!r}])\n"
        "assert result.exit_code == 0, result.output\n"
    )
    assert loaded_after(code) == []


def test_a_file_with_schema_errors_or_policies_still_loads_what_it_needs() -> None:
    code = (
        "from click.testing import CliRunner\n"
        "from reconciler.cli import cli\n"
        f"result = CliRunner().invoke(cli, ['validate', {str(POLICY_FIXTURE)!r}])\n"
        "assert result.exit_code == 1, result.output\n"
    )
    found = loaded_after(code)
    assert "jsonschema" in found
    assert "reconciler.policies.checks" in found


def test_the_whole_file_fast_check_compiles_and_passes_the_examples() -> None:
    fast_file, fast_rule = ruleschema._fast_checks()
    assert fast_file is not None and fast_rule is not None
    for path in sorted(EXAMPLES.glob("*.yaml")):
        assert fast_file(yamlnodes.read(path.read_text()).root), path


@pytest.mark.parametrize("path", ALL_FILES)
def test_the_fast_check_never_passes_what_jsonschema_rejects(path: str) -> None:
    root = yamlnodes.read((ROOT / path).read_text()).root
    fast_file, _ = ruleschema._fast_checks()
    assert fast_file is not None
    if fast_file(root):
        assert ruleschema.full_findings(root) == []
    assert ruleschema.findings(root) == ruleschema.full_findings(root)


def test_version_is_answered_before_the_cli_is_imported_and_says_what_click_says() -> None:
    from click.testing import CliRunner

    from reconciler.cli import cli

    probe = (
        "import sys; sys.argv = ['socket-triage', '--version']\n"
        "from reconciler.entry import main; main()\n"
        "print(sorted(m for m in sys.modules if m == 'click' or m.startswith('reconciler.c')))"
    )
    result = subprocess.run(
        [sys.executable, "-c", probe], cwd=ROOT, capture_output=True, text=True, check=True
    )
    answer, loaded = result.stdout.splitlines()
    assert loaded == "[]"  # neither click nor the CLI, nor any command
    assert answer + "\n" == CliRunner().invoke(cli, ["--version"]).output
