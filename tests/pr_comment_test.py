"""The PR comment and job summary at every size, made the way the Action makes them.

``socket-triage plan --out plan.json`` against the embedded emulator, then ``socket-triage
comment``: the renderer fits the whole document (plan, messages, footer) into GitHub's limits,
keeps rows whole, closes every tag, and names a place as holding the whole plan only when it
does.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from click.testing import CliRunner, Result

from reconciler.cli import cli
from reconciler.commands import comment as comment_command
from reconciler.render.markdown import (
    GITHUB_COMMENT_LIMIT,
    JOB_SUMMARY_LIMIT,
    CommentParts,
    build_comment,
    comment_marker,
)

ROWS = re.compile(r"^\| [+~-] (create|update|delete) \|.* \|$", re.MULTILINE)
NOTE = re.compile(r"_Cut to fit the size limit: showing ([\d,]+) of ([\d,]+) changes")
HEAD = "0123456789abcdef0123456789abcdef01234567"


def run(*args: str) -> Result:
    result = CliRunner().invoke(cli, list(args), catch_exceptions=False)
    assert result.exit_code in (0, 2), result.output
    return result


def rule_file(path: Path, count: int) -> Path:
    """``count`` rules; notes with emoji (one a ZWJ-free modifier pair), CJK, a backtick and a
    pipe, so that a cut inside a character, a code span or a row would show."""
    lines = ["org: acme", "rules:"]
    for i in range(count):
        lines += [
            f"  - package: pkg:npm/pkg-{i:05}",
            "    state: ignore",
            f'    note: "r{i} 🙂👍🏽 版 `c` | {"x" * (i % 9)}"',
        ]
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


@pytest.fixture(scope="module")
def big_plan(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A saved plan of 5,000 creates, made by ``plan --out`` as the Action makes it."""
    tmp = tmp_path_factory.mktemp("big")
    rules = rule_file(tmp / "acme.yaml", 5000)
    out = tmp / "plan.json"
    run("plan", str(rules), "--api-url", f"local:{tmp / 'db.sqlite'}", "--out", str(out))
    return out


def comment(tmp_path: Path, *args: str) -> tuple[str, str]:
    body, summary = tmp_path / "comment.md", tmp_path / "summary.md"
    run("comment", "--out", str(body), "--summary-out", str(summary), *args)
    return body.read_text(encoding="utf-8"), summary.read_text(encoding="utf-8")


def check_well_formed(text: str, limit: int) -> None:
    assert len(text.encode("utf-8")) <= limit  # bytes: never fewer than characters
    assert len(text.encode("utf-16-le")) // 2 < GITHUB_COMMENT_LIMIT or limit > GITHUB_COMMENT_LIMIT
    text.encode("utf-8")  # no lone surrogate
    opened = len(re.findall(r"<details( open)?>", text))
    assert opened == text.count("</details>")
    assert text.count("<summary>") == text.count("</summary>")
    for line in text.splitlines():
        if line.startswith("| "):
            assert line.endswith(" |"), line  # no row cut in two


def shown_and_total(text: str) -> tuple[int, int] | None:
    found = NOTE.search(text)
    return (int(found[1].replace(",", "")), int(found[2].replace(",", ""))) if found else None


def test_5000_changes_fit_a_comment_and_the_note_is_true(big_plan: Path, tmp_path: Path) -> None:
    body, summary = comment(
        tmp_path, "--plan", str(big_plan), "--head-sha", HEAD, "--artifact", "socket-triage-plan"
    )
    check_well_formed(body, GITHUB_COMMENT_LIMIT)
    assert len(body) < GITHUB_COMMENT_LIMIT
    rows = len(ROWS.findall(body))
    assert shown_and_total(body) == (rows, 5000)
    assert 100 < rows < 5000
    # The summary holds all 5,000 rows, so the comment may say so; and the footer is intact.
    check_well_formed(summary, JOB_SUMMARY_LIMIT)
    assert len(ROWS.findall(summary)) == 5000
    assert shown_and_total(summary) is None
    assert "The whole plan is in the job summary and in the `socket-triage-plan` artifact" in body
    assert body.rstrip().endswith("</sub>")
    assert "· head 0123456 ·" in body
    assert "| acme | 5000 | 0 | 0 | 0 |" in body


def test_a_cut_summary_is_never_named_as_holding_the_plan(
    big_plan: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(comment_command, "JOB_SUMMARY_LIMIT", 200_000)
    body, summary = comment(tmp_path, "--plan", str(big_plan), "--artifact", "plan-a")
    check_well_formed(summary, 200_000)
    assert shown_and_total(summary) == (len(ROWS.findall(summary)), 5000)
    assert "job summary" not in body
    assert "The whole plan is in the `plan-a` artifact (plan.json)." in body


def test_without_an_artifact_or_summary_the_note_says_how_to_get_the_plan(
    big_plan: Path, tmp_path: Path
) -> None:
    out = tmp_path / "c.md"
    run("comment", "--plan", str(big_plan), "--out", str(out))
    body = out.read_text(encoding="utf-8")
    assert "Run `socket-triage plan` for the whole plan." in body
    assert "artifact" not in body and "job summary" not in body


def test_huge_messages_are_budgeted_in_not_appended(big_plan: Path, tmp_path: Path) -> None:
    messages = tmp_path / "stderr.txt"
    messages.write_text(
        "".join(f"rules/x.yaml:{i}:1: warning: note 🙂 {i}\n" for i in range(50_000)),
        encoding="utf-8",
    )
    body, summary = comment(
        tmp_path, "--plan", str(big_plan), "--messages", str(messages), "--exit-code", "2"
    )
    for text, limit in ((body, GITHUB_COMMENT_LIMIT), (summary, JOB_SUMMARY_LIMIT)):
        check_well_formed(text, limit)
        assert "<details>\n<summary>Messages</summary>" in text  # warnings only: folded
        assert re.search(r"… and [\d,]+ more lines; the job log has them all\.", text)
        assert "lines of output left out" in text
    assert len(ROWS.findall(body)) > 100  # the messages took at most half


def test_validation_failure_shows_the_errors_open(tmp_path: Path) -> None:
    messages = tmp_path / "validate.txt"
    messages.write_text("triage/a.yaml:3:5: state: 'nope' is not one of ...\n", encoding="utf-8")
    body, _ = comment(
        tmp_path,
        "--title",
        "socket-triage: validation failed",
        "--messages",
        str(messages),
        "--exit-code",
        "1",
        "--marker-key",
        "acme\ntriage",
    )
    assert body.startswith(f"{comment_marker('acme' + chr(10) + 'triage')}\n")
    assert "### socket-triage: validation failed" in body
    assert "<details open>\n<summary>Messages</summary>" in body
    assert "state: 'nope'" in body
    assert "_Cut" not in body


def test_each_org_and_path_set_has_its_own_marker() -> None:
    assert comment_marker("acme\ntriage") == comment_marker("acme\ntriage")
    assert len({comment_marker(k) for k in ("acme\ntriage", "beta\ntriage", "acme\nother")}) == 3


def test_a_lone_surrogate_from_the_server_is_written_escaped(tmp_path: Path) -> None:
    data = {
        "has_changes": True,
        "orgs": [
            {
                "org": "acme",
                "summary": {"create": 0, "update": 0, "delete": 1, "unchanged": 0},
                "unsafe": [],
                "changes": [
                    {
                        "action": "delete",
                        "label": "npm/half\ud83d",
                        "broad": False,
                        "uuid": "u-1",
                        "reason": "not in files",
                        "before": {"note": "cut \udc4d here"},
                        "after": None,
                    }
                ],
            }
        ],
    }
    text = build_comment(data, CommentParts(), GITHUB_COMMENT_LIMIT).text
    text.encode("utf-8")  # would raise on a lone surrogate
    assert "`npm/half\\ud83d`" in text


def test_unmanaged_rules_and_plan_warnings_are_in_the_head() -> None:
    # The engine's "unmanaged" list (prune: false) is shown when an org plan carries it.
    data = {
        "has_changes": False,
        "orgs": [
            {
                "org": "acme",
                "summary": {"create": 0, "update": 0, "delete": 0, "unchanged": 2},
                "unsafe": [],
                "changes": [],
                "unmanaged": [{"uuid": "u-1", "label": "npm/a", "state": "warn"}] * 3,
                "warnings": [f"live rule npm/w{i} has no uuid" for i in range(25)],
            }
        ],
    }
    text = build_comment(data, CommentParts(), GITHUB_COMMENT_LIMIT).text
    assert "> **Left alone:** 3 unmanaged live rules of acme (`prune: false`)" in text
    assert "> **Warning:** `live rule npm/w19 has no uuid`" in text
    assert "npm/w20" not in text
    assert "> … and 5 more warnings; see the job log." in text


def test_an_unsafe_plan_is_a_caution_alert() -> None:
    reason = "3 of 10 live rules (30%) would be updated or deleted, over the 20% threshold"
    data = {
        "has_changes": True,
        "orgs": [
            {
                "org": "acme",
                "summary": {"create": 0, "update": 0, "delete": 3, "unchanged": 7},
                "unsafe": [reason],
                "changes": [],
            }
        ],
    }
    lines = build_comment(data, CommentParts(), GITHUB_COMMENT_LIMIT).text.splitlines()
    at = lines.index("> [!CAUTION]")
    assert lines[at - 1 : at + 2] == [
        "",
        "> [!CAUTION]",
        f"> **Unsafe:** {reason}; apply needs `--force`.",
    ]


def test_a_failed_validation_is_the_headline(tmp_path: Path) -> None:
    messages = tmp_path / "validate.txt"
    messages.write_text("triage/a.yaml:3:5: error: state: 'nope' is not one of ...\n")
    args = ("--title", "socket-triage plan: acme", "--messages", str(messages))
    body, summary = comment(tmp_path, *args, "--exit-code", "1", "--validation-failed")
    for text in (body, summary):
        assert text.splitlines()[1:5] == [
            "### Validation failed · socket-triage plan: acme",
            "",
            "> [!CAUTION]",
            "> The rule files have errors, listed under Messages; nothing was planned.",
        ]
        assert "<details open>\n<summary>Messages</summary>" in text
    plain, _ = comment(tmp_path, *args, "--exit-code", "1")
    assert plain.splitlines()[1] == "### socket-triage plan: acme"
    assert "Validation failed" not in plain
