"""The MCP explain tool under Alert Policies: the same answer as the CLI, bounded and confined."""

from __future__ import annotations

import json
import sqlite3
import sys
from pathlib import Path
from typing import Any

import anyio
import pytest

from reconciler.emulator import embedded
from reconciler.errors import UsageError
from reconciler.mcp.bounds import finish
from reconciler.mcp.tools import Tools

FILES = """\
org: acme
target: alert-policies
policies:
  - name: default
    baseline: balanced
  - name: backend
    baseline: comprehensive
    repositories: [api]
policy_rules:
  - name: backend criticals
    policy: backend
    vigil_selector: {finding.severity: critical}
    action: error
  - name: backend malware
    policy: backend
    vigil_selector: {finding.alertType: malware}
    action: warn
resolutions:
  - vigil_selector: {artifact.name: lodash, location.manifest: docs/package.json}
    reason: false_positive
    comment: docs only
"""
ALERT = {"purl": "pkg:npm/lodash@1.0.0", "alert_type": "malware"}


@pytest.fixture
def root(tmp_path: Path) -> Path:
    (tmp_path / "rules").mkdir()
    (tmp_path / "rules" / "acme.yaml").write_text(FILES)
    return tmp_path


@pytest.fixture
def state(tmp_path: Path) -> Path:
    return tmp_path / "state.sqlite"


@pytest.fixture
def tools(root: Path, state: Path) -> Tools:
    return Tools(api_url=f"local:{state}", root=root)


def _explain(tools: Tools, live: bool = False, **where: str | None) -> dict[str, Any]:
    return tools.explain(["rules"], org="acme", alert=ALERT, target=None, live=live, where=where)


def test_the_tool_answers_with_the_governing_policy_and_first_match(tools: Tools) -> None:
    found = _explain(tools, repo="api", severity="high")
    files = found["files"]
    assert files["governing"]["policy"] == "backend"
    assert files["decision"]["kind"] == "rule"
    assert files["decision"]["rule_source"].endswith("rules/acme.yaml:14:5")
    assert files["decision"]["action"] == "warn"
    assert found["live"] is None and found["warnings"] == []
    undecided = _explain(tools, repo="api")  # no severity: the earlier rule may match
    assert undecided["files"]["decision"]["kind"] == "undecided"
    assert undecided["files"]["rules"][0]["reasons"] == [
        "the alert does not supply finding.severity (--severity)"
    ]


def test_the_manifest_decides_the_resolution(tools: Tools) -> None:
    hidden = _explain(tools, repo="api", severity="high", manifest="docs/package.json")
    assert hidden["files"]["decision"]["kind"] == "resolution"
    assert hidden["files"]["decision"]["hidden_by"].endswith("rules/acme.yaml:19:5")
    other = _explain(tools, repo="api", severity="high", manifest="package.json")
    assert other["files"]["decision"]["kind"] == "rule"
    assert other["files"]["resolutions"] == []  # not matched: not shown


def test_the_tool_reads_the_live_org(tools: Tools, state: Path) -> None:
    emulator = embedded(str(state))
    emulator.add_org("acme")
    emulator.set_migration_state("acme", "accepted")
    (api,) = emulator.seed_repos("acme", ["api"])
    backend = emulator.seed_policy(
        "acme", "backend", baseline="comprehensive", repository_ids=[api["id"]]
    )
    emulator.seed_policy_rules(
        "acme",
        [{"name": "backend malware", "vigil_selector": {"finding.alertType": "malware"},
          "action": "warn", "note": "n"}],
        policy=backend["id"],
    )  # fmt: skip
    emulator.close()
    before = _dump(state)
    found = _explain(tools, live=True, repo="api", severity="high")
    assert found["live"]["governing"]["policy"] == "backend"
    assert found["live"]["decision"]["action"] == "warn"
    assert found["differences"] == []
    assert _dump(state) == before  # read-only: nothing written


def _dump(db: Path) -> list[str]:
    """Every row; not AUTOINCREMENT counters, which the emulator's lazily made default policy
    moves on a read (the same for plan: the rows themselves stay as they are)."""
    with sqlite3.connect(db) as conn:
        return [line for line in conn.iterdump() if "sqlite_sequence" not in line]


def test_confinement_and_bad_facts(tools: Tools) -> None:
    with pytest.raises(UsageError, match="outside the server's working directory"):
        tools.explain(["/etc"], org=None, alert=ALERT, target=None, live=False, where={})
    with pytest.raises(UsageError, match="--repo is empty"):
        _explain(tools, repo=" ")
    with pytest.raises(UsageError, match="control character"):
        _explain(tools, manifest="a\x1b[2Jb")


def test_the_result_passes_the_bounds(tools: Tools) -> None:
    found = finish(_explain(tools, repo="api", severity="high"))
    assert json.loads(json.dumps(found))["files"]["governing"]["policy"] == "backend"


def test_the_stdio_tool_takes_repo_severity_and_manifest(root: Path, state: Path) -> None:
    pytest.importorskip("mcp")
    from mcp import ClientSession, StdioServerParameters, stdio_client

    program = str(Path(sys.executable).with_name("socket-triage"))
    params = StdioServerParameters(
        command=program, args=["mcp", "--api-url", f"local:{state}"], env={}, cwd=str(root)
    )
    seen: dict[str, Any] = {}

    async def main() -> None:
        async with (
            stdio_client(params) as (read, write),
            ClientSession(read, write) as session,
        ):
            await session.initialize()
            listed = await session.list_tools()
            (tool,) = [t for t in listed.tools if t.name == "explain"]
            seen["inputs"] = set(tool.input_schema["properties"])
            result = await session.call_tool(
                "explain", {"paths": ["rules"], **ALERT, "repo": "api", "severity": "critical"}
            )
            seen["data"] = result.structured_content

    anyio.run(main)
    assert {"severity", "repo", "manifest"} <= seen["inputs"]
    files = seen["data"]["files"]
    assert files["decision"]["rule_source"] == "rules/acme.yaml:10:5"
    assert files["decision"]["action"] == "error"
