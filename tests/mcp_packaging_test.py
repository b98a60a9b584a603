"""The MCP SDK is an optional extra: the core install neither requires nor imports it."""

from __future__ import annotations

import re
import subprocess
import sys
import tomllib
from importlib import metadata
from pathlib import Path
from typing import Any

PYPROJECT = Path(__file__).resolve().parent.parent / "pyproject.toml"
SDK = "mcp"
_NAME = re.compile(r"^\s*([A-Za-z0-9][A-Za-z0-9._-]*)")


def _project() -> dict[str, Any]:
    with PYPROJECT.open("rb") as handle:
        project: dict[str, Any] = tomllib.load(handle)["project"]
    return project


def _name(requirement: str) -> str:
    found = _NAME.match(requirement)
    assert found, requirement
    return found.group(1).lower().replace("_", "-")


def test_mcp_is_only_an_optional_extra() -> None:
    project = _project()
    assert SDK not in {_name(r) for r in project["dependencies"]}
    assert [_name(r) for r in project["optional-dependencies"]["mcp"]] == [SDK]


def test_the_core_dependencies_do_not_pull_the_sdk_in() -> None:
    """Walk the installed core dependencies' own requirements (extras and markers aside)."""
    seen: set[str] = set()
    todo = [_name(r) for r in _project()["dependencies"]]
    while todo:
        name = todo.pop()
        if name in seen:
            continue
        seen.add(name)
        try:
            requires = metadata.requires(name) or []
        except metadata.PackageNotFoundError:
            continue
        todo += [_name(r) for r in requires if ";" not in r or "extra ==" not in r]
    assert SDK not in seen
    assert "mcp-types" not in seen


def _python(code: str, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-c", code, *args],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


def test_importing_the_package_never_imports_the_sdk() -> None:
    code = (
        "import pkgutil, sys, reconciler, reconciler.cli\n"
        "assert 'mcp' not in sys.modules, 'reconciler.cli imported mcp'\n"
        "for info in pkgutil.walk_packages(reconciler.__path__, 'reconciler.'):\n"
        "    __import__(info.name)\n"
        "print(sorted(m for m in sys.modules if m == 'mcp' or m.startswith('mcp.')))\n"
    )
    result = _python(code)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "[]"


BLOCK_SDK = """
import sys
class Block:
    def find_spec(self, name, path=None, target=None):
        if name == "mcp" or name.startswith("mcp."):
            raise ModuleNotFoundError(f"No module named {name!r}", name=name)
        return None
sys.meta_path.insert(0, Block())
from reconciler.cli import main
sys.argv = ["socket-triage", *sys.argv[1:]]
main()
"""


def test_without_the_extra_mcp_says_how_to_install_it() -> None:
    result = _python(BLOCK_SDK, "mcp", "--api-url", "local:unused.sqlite")
    assert result.returncode == 1, result.stderr
    assert result.stderr.strip().splitlines() == [
        "error: socket-triage mcp needs the MCP SDK, an optional extra: "
        "pip install 'socket-triage[mcp]' (or pipx inject socket-triage 'mcp>=2.3,<3')"
    ]
    assert result.stdout == ""


def test_explain_works_without_the_extra() -> None:
    examples = str(PYPROJECT.parent / "examples" / "triage")
    result = _python(BLOCK_SDK, "explain", examples, "--purl", "pkg:pypi/numpy@2.0.0",
                     "--alert-type", "hasNativeCode")  # fmt: skip
    assert result.returncode == 0, result.stderr
    assert "Result: ignore" in result.stdout


def test_a_root_that_is_not_a_directory_is_one_line(tmp_path: Path) -> None:
    missing = tmp_path / "missing"
    result = _python(BLOCK_SDK.replace("sys.meta_path.insert(0, Block())", ""), "mcp", "--root",
                     str(missing), "--api-url", "local:unused.sqlite")  # fmt: skip
    if "needs the MCP SDK" in result.stderr:  # the extra is not installed here
        return
    assert result.returncode == 1
    assert result.stderr.strip() == f"error: --root {missing}: No such file or directory"


def test_the_install_hint_pins_the_extra_s_range() -> None:
    from reconciler.commands.mcp import MCP_REQUIREMENT

    extras = tomllib.loads(PYPROJECT.read_text())["project"]["optional-dependencies"]
    assert extras["mcp"] == [MCP_REQUIREMENT]
