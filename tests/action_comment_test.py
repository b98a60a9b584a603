"""The Action's comment script (action/comment.js) under node, with a mocked ``github``.

It must edit only a comment that this token's identity wrote and whose first line is this org
and path set's marker, create one otherwise, and never cut or post an oversized body. Skipped
when node is not installed.
"""

from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest

from reconciler.render.markdown import comment_marker

ROOT = Path(__file__).resolve().parent.parent
SCRIPT = ROOT / "action" / "comment.js"
NODE = shutil.which("node")

pytestmark = pytest.mark.skipif(NODE is None, reason="node is not installed")

# A mocked Octokit: the scenario's comments and identity in, every write call out.
HARNESS = r"""
const [script, scenarioJson] = process.argv.slice(1);
const scenario = JSON.parse(scenarioJson);
const calls = [];
const log = { warnings: [], failed: [] };
const github = {
  rest: {
    users: {
      getAuthenticated: async () => {
        if (!scenario.login) throw new Error('Resource not accessible by integration');
        return { data: { login: scenario.login } };
      },
    },
    issues: {
      listComments: 'listComments',
      updateComment: async (args) => { calls.push(['update', args.comment_id, args.body]); },
      createComment: async (args) => {
        if (scenario.readOnly) throw new Error('Resource not accessible by integration');
        calls.push(['create', args.issue_number, args.body]);
      },
    },
  },
  paginate: async (method, args) => {
    if (method !== 'listComments' || args.issue_number !== 7) throw new Error('bad paginate');
    return scenario.comments;
  },
};
const core = {
  info: () => {},
  warning: (m) => log.warnings.push(m),
  setFailed: (m) => log.failed.push(m),
};
const context = { repo: { owner: 'acme', repo: 'rules' }, issue: { number: 7 } };
require(script)({ github, context, core, bodyFile: scenario.bodyFile, author: scenario.author })
  .then((outcome) => console.log(JSON.stringify({ outcome, calls, ...log })));
"""

BOT = "github-actions[bot]"
ACME = comment_marker("acme\ntriage")
OTHER = comment_marker("other\ntriage")


def post(tmp_path: Path, body: str, comments: list[dict[str, Any]], **scenario: Any) -> Any:
    body_file = tmp_path / "comment.md"
    body_file.write_text(body, encoding="utf-8")
    scenario |= {"bodyFile": str(body_file), "comments": comments}
    assert NODE is not None
    done = subprocess.run(
        [NODE, "-e", HARNESS, str(SCRIPT), json.dumps(scenario)],
        capture_output=True,
        text=True,
        check=True,
        timeout=60,
    )
    return json.loads(done.stdout)


def comment(id_: int, login: str, body: str) -> dict[str, Any]:
    return {"id": id_, "user": {"login": login}, "body": body}


def test_creates_a_comment_when_there_is_none(tmp_path: Path) -> None:
    result = post(tmp_path, f"{ACME}\n### plan\n", [])
    assert result["outcome"] == "created"
    assert result["calls"] == [["create", 7, f"{ACME}\n### plan\n"]]


def test_updates_the_bots_own_comment_for_the_same_org_and_paths(tmp_path: Path) -> None:
    comments = [comment(1, BOT, f"{OTHER}\nother org"), comment(2, BOT, f"{ACME}\nold plan")]
    result = post(tmp_path, f"{ACME}\nnew plan", comments)
    assert result["calls"] == [["update", 2, f"{ACME}\nnew plan"]]


def test_never_edits_a_human_comment_that_starts_with_the_marker(tmp_path: Path) -> None:
    comments = [comment(1, "mallory", f"{ACME}\nI quoted your marker")]
    result = post(tmp_path, f"{ACME}\nplan", comments)
    assert result["calls"] == [["create", 7, f"{ACME}\nplan"]]


def test_another_orgs_comment_is_left_alone(tmp_path: Path) -> None:
    result = post(tmp_path, f"{ACME}\nplan", [comment(1, BOT, f"{OTHER}\nother org")])
    assert [call[0] for call in result["calls"]] == ["create"]


def test_the_old_unkeyed_marker_is_not_a_prefix_match(tmp_path: Path) -> None:
    result = post(tmp_path, f"{ACME}\nplan", [comment(1, BOT, "<!-- socket-triage-plan -->\nx")])
    assert [call[0] for call in result["calls"]] == ["create"]


def test_a_personal_token_updates_its_own_users_comment(tmp_path: Path) -> None:
    comments = [comment(1, BOT, f"{ACME}\nby the bot"), comment(2, "alice", f"{ACME}\nby alice")]
    result = post(tmp_path, f"{ACME}\nplan", comments, login="alice")
    assert result["calls"] == [["update", 2, f"{ACME}\nplan"]]


def test_an_author_given_by_input_wins(tmp_path: Path) -> None:
    comments = [comment(5, "triage-app[bot]", f"{ACME}\nold")]
    result = post(tmp_path, f"{ACME}\nplan", comments, author="triage-app[bot]")
    assert result["calls"] == [["update", 5, f"{ACME}\nplan"]]


def test_an_oversized_body_is_refused_not_cut(tmp_path: Path) -> None:
    result = post(tmp_path, f"{ACME}\n" + "x" * 65_536, [])
    assert (result["outcome"], result["calls"]) == ("refused", [])
    assert "over GitHub's 65536" in result["failed"][0]


def test_a_body_without_the_marker_is_refused(tmp_path: Path) -> None:
    result = post(tmp_path, "### plan\n", [])
    assert (result["outcome"], result["calls"]) == ("refused", [])


def test_a_read_only_token_warns_instead_of_failing(tmp_path: Path) -> None:
    result = post(tmp_path, f"{ACME}\nplan", [], readOnly=True)
    assert result["outcome"] == "failed"
    assert result["failed"] == []
    assert "Could not post the plan comment" in result["warnings"][0]
