"""``socket-triage mcp`` as a subprocess, driven over stdio by the official MCP client.

Each tool is called against the emulator: ``local:`` state in a temporary directory (the
database must read the same before and after: no tool writes), and a loopback emulator with a
read-only token (``triage:alerts-list`` only), whose write counters must stay at zero.
Skipped when the optional ``mcp`` extra is not installed.
"""

from __future__ import annotations

import json
import shutil
import sqlite3
import sys
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

import anyio
import pytest
from conftest import TEST_ORG

from reconciler.emulator import Emulator, embedded

pytest.importorskip("mcp")

from mcp import ClientSession, StdioServerParameters, stdio_client

EXAMPLES = Path(__file__).resolve().parent.parent / "examples" / "triage"
PROGRAM = str(Path(sys.executable).with_name("socket-triage"))
SECRET = "sktsec_mcp_test_secret_0123456789"
READ_ONLY = "sktsec_read_only_0123456789abcdef"
TOOLS = {"validate", "plan", "explain", "list_live_rules", "check_rule"}
LIVE = [
    {"package_type": "npm", "package_name": "lodash", "alert_type": "cve", "state": "ignore",
     "note": "clicked in the dashboard", "uuid": "dash-1"},
    {"package_type": "npm", "package_name": "esbuild", "alert_type": "installScripts",
     "state": "warn", "note": "older decision", "uuid": "dash-2"},
]  # fmt: skip
EXPLAIN = {
    "paths": ["rules"],
    "purl": "pkg:npm/lodash@4.17.20",
    "alert_type": "cve",
    "cvss": 6.5,
    "patch_available": True,
    "live": True,
}
CHECK = "package: pkg:npm/lodash@4.17.21\nalert_type: cve\nstate: ignore\nnote: patched\n"

Session = Callable[[ClientSession], Awaitable[None]]


@pytest.fixture
def workspace(tmp_path: Path) -> Path:
    shutil.copytree(EXAMPLES, tmp_path / "rules")
    return tmp_path


def _drive(workspace: Path, api_url: str, env: dict[str, str], body: Session, *extra: str) -> str:
    """Run ``body`` against a fresh server process; return what the server wrote to stderr."""
    log = workspace / "server-stderr.log"
    params = StdioServerParameters(
        command=PROGRAM, args=["mcp", "--api-url", api_url, *extra], env=env, cwd=str(workspace)
    )

    async def main() -> None:
        with log.open("w") as errlog:
            async with (
                stdio_client(params, errlog=errlog) as (read, write),
                ClientSession(read, write) as session,
            ):
                await session.initialize()
                await body(session)

    anyio.run(main)
    return log.read_text()


async def _call(session: ClientSession, name: str, arguments: dict[str, Any]) -> dict[str, Any]:
    result = await session.call_tool(name, arguments)
    assert not result.is_error, result.content
    data = result.structured_content
    assert isinstance(data, dict)
    text = result.content[0]
    assert json.loads(getattr(text, "text", "")) == data  # the text form says the same
    return data


def _dump(db: Path) -> list[str]:
    with sqlite3.connect(db) as conn:
        return list(conn.iterdump())


def test_every_tool_over_stdio_against_local_state_writes_nothing(workspace: Path) -> None:
    db = workspace / "state.sqlite"
    emulator = embedded(str(db))
    emulator.seed_rules(TEST_ORG, LIVE)
    emulator.close()
    before = _dump(db)
    seen: list[str] = []

    async def body(session: ClientSession) -> None:
        listed = await session.list_tools()
        assert {t.name for t in listed.tools} == TOOLS
        for tool in listed.tools:
            assert tool.annotations is not None and tool.annotations.read_only_hint, tool.name
            assert tool.annotations.destructive_hint is False
        checked = await _call(session, "validate", {"paths": ["rules"]})
        assert checked["ok"] and checked["rules"] == 15 and checked["orgs"] == ["acme"]
        plan = await _call(session, "plan", {"paths": ["rules"], "org": "acme"})
        (org,) = plan["orgs"]
        assert org["summary"]["create"] == 14 and org["summary"]["update"] == 1
        assert org["summary"]["delete"] == 1
        explained = await _call(session, "explain", EXPLAIN)
        assert explained["result"]["state"] == "warn"
        assert explained["matching"][0]["source"].startswith("rules/npm.yaml:")
        kinds = {d["kind"] for d in explained["live"]["disagreements"]}
        assert kinds == {"live-only", "files-only", "result"}
        live = await _call(session, "list_live_rules", {"org": "acme", "alert_type": "cve"})
        assert [r["uuid"] for r in live["rules"]] == ["dash-1"] and live["total"] == 2
        checked_rule = await _call(session, "check_rule", {"paths": ["rules"], "rule_yaml": CHECK})
        assert checked_rule["valid"] and checked_rule["placement"]["verified"]
        assert checked_rule["placement"]["file"] == "rules/npm.yaml"
        assert [c["action"] for c in checked_rule["changes"]] == ["create"]
        resources = await session.list_resources()
        uris = sorted(str(r.uri) for r in resources.resources)
        assert uris == [
            "socket-triage://docs/matching.md",
            "socket-triage://docs/rule-reference.md",
            "socket-triage://schema/triage-rules.schema.json",
        ]
        schema = await session.read_resource("socket-triage://schema/triage-rules.schema.json")
        assert "rules" in json.loads(getattr(schema.contents[0], "text", ""))["properties"]
        reference = await session.read_resource("socket-triage://docs/rule-reference.md")
        assert "`package_version`" in getattr(reference.contents[0], "text", "")
        seen.append("done")

    stderr = _drive(workspace, f"local:{db}", {"SOCKET_API_TOKEN": SECRET}, body)
    assert seen == ["done"]
    assert _dump(db) == before  # not one row written: every tool is read-only
    assert SECRET not in stderr


def test_paths_outside_the_working_directory_are_refused(workspace: Path) -> None:
    async def body(session: ClientSession) -> None:
        for path in ("/etc/passwd", "../", "/etc"):
            result = await session.call_tool("validate", {"paths": [path]})
            assert result.is_error
            message = getattr(result.content[0], "text", "")
            assert "outside the server's working directory" in message
            assert "root:" not in message  # nothing of /etc/passwd was read

    _drive(workspace, f"local:{workspace / 'state.sqlite'}", {}, body)


def test_root_sets_where_the_server_works(workspace: Path, tmp_path: Path) -> None:
    repo = tmp_path / "repo"
    repo.mkdir()
    shutil.move(str(workspace / "rules"), repo / "rules")

    async def body(session: ClientSession) -> None:
        found = await _call(session, "validate", {})
        assert found["ok"] and found["files"][0] == "./rules/go.yaml"
        outside = await session.call_tool("validate", {"paths": [str(workspace)]})
        assert outside.is_error

    _drive(workspace, f"local:{workspace / 'state.sqlite'}", {}, body, "--root", str(repo))


def test_a_read_only_token_is_enough_and_nothing_is_written(
    workspace: Path, emulator: Emulator, http_emulator: str
) -> None:
    emulator.add_token(READ_ONLY, TEST_ORG, ("triage:alerts-list",))
    emulator.seed_rules(TEST_ORG, LIVE)

    async def body(session: ClientSession) -> None:
        plan = await _call(session, "plan", {"paths": ["rules"]})
        assert plan["orgs"][0]["summary"]["create"] == 14
        explained = await _call(session, "explain", EXPLAIN)
        assert explained["live"]["state"] == "ignore"
        await _call(session, "list_live_rules", {"org": "acme"})
        checked = await _call(session, "check_rule", {"paths": ["rules"], "rule_yaml": CHECK})
        assert checked["changes_error"] is None
        failed = await session.call_tool("list_live_rules", {"org": "other"})
        assert failed.is_error
        assert READ_ONLY not in json.dumps([c.model_dump() for c in failed.content])

    _drive(workspace, http_emulator, {"SOCKET_API_TOKEN": READ_ONLY}, body)
    counters = emulator.counters()
    assert counters["calls"]["GET"] > 0
    assert counters["calls"]["POST"] == counters["calls"]["PUT"] == 0
    assert counters["calls"]["DELETE"] == 0
    for kind in ("entries", "policies", "policy_rules", "resolutions"):
        assert set(counters[kind].values()) == {0}, kind
