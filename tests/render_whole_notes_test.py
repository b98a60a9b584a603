"""Plans show every note whole: wrapped in text, whole in Markdown and in the job summary.

The PR comment alone cuts notes (its 65,536 characters hold more rows that way), and says where
they are whole.
"""

from __future__ import annotations

import io
import re
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner
from render_test import TODAY

from reconciler.cli import cli
from reconciler.engine.plan import Plan
from reconciler.errors import Location
from reconciler.render import render_markdown, render_text
from reconciler.render.mdtable import row
from reconciler.render.text import change_lines
from reconciler.render.wrap import PLAIN_WIDTH
from reconciler.rules.model import Rule
from reconciler.triage.plan import diff
from reconciler.vocab.triage.selector import LiveRule, Selector

LONG = ("a reviewer approves this note, the audit trail, so reads it whole; " * 3)[
    :168
] + " end-of-note"
OLD = "the old reason, " * 6 + "end-of-old"


def test_the_note_is_180_characters() -> None:
    assert len(LONG) == 180 and len(OLD) > 100


def plan() -> Plan:
    def sel(name: str) -> Selector:
        return Selector(package_type="npm", package_name=name)

    desired = [
        Rule("acme", sel("new"), "ignore", LONG, location=Location("r.yaml", 3, 5)),
        Rule("acme", sel("changed"), "warn", LONG, location=Location("r.yaml", 9, 5)),
    ]
    live = [LiveRule("u-1", sel("changed"), "warn", OLD, "t1", "t1")]
    return Plan((diff("acme", desired, live, today=TODAY),))


def unwrapped(lines: list[str]) -> str:
    """The lines of one wrapped value joined back: continuation indents become one space."""
    return " ".join(line.strip() for line in lines)


@pytest.mark.parametrize("width", [40, PLAIN_WIDTH, 132])
def test_text_shows_a_180_character_note_whole_wrapped_to_the_width(width: int) -> None:
    out = io.StringIO()
    render_text(plan(), out, width=width)
    lines = out.getvalue().splitlines()
    start = next(i for i, line in enumerate(lines) if line.startswith('      note:  "'))
    end = next(i for i in range(start, len(lines)) if lines[i].endswith('end-of-note"'))
    assert unwrapped(lines[start : end + 1]) == f'note:  "{LONG}"'
    # The update: the old note, then an arrow and the new one, each whole.
    old = next(i for i, line in enumerate(lines) if line.startswith('      note: "the old'))
    arrow = next(i for i in range(old, len(lines)) if lines[i].startswith("          → "))
    assert unwrapped(lines[old:arrow]) == f'note: "{OLD}"'
    new_end = next(i for i in range(arrow, len(lines)) if lines[i].endswith('end-of-note"'))
    assert unwrapped(lines[arrow : new_end + 1]) == f'→ "{LONG}"'
    notes = [*lines[start : end + 1], *lines[old : new_end + 1]]
    assert max(len(line) for line in notes) <= width
    assert "…" not in out.getvalue()


def test_off_a_terminal_the_cli_wraps_at_80_columns(tmp_path: Path) -> None:
    rules = tmp_path / "acme.yaml"
    rules.write_text(
        f"org: acme\nrules:\n  - package: pkg:npm/a\n    state: warn\n    note: {LONG}\n"
    )
    result = CliRunner().invoke(cli, ["plan", str(rules), "--api-url", f"local:{tmp_path / 'db'}"])
    assert result.exit_code == 0, result.output
    lines = result.stdout.splitlines()
    start = next(i for i, line in enumerate(lines) if line.startswith('      note:  "'))
    note = lines[start : start + 3]
    assert max(len(line) for line in note) <= PLAIN_WIDTH < len(unwrapped(note))
    assert unwrapped(note) == f'note:  "{LONG}"'
    assert lines[start + 3].startswith("      from ")


def test_markdown_shows_a_180_character_note_whole() -> None:
    out = io.StringIO()
    render_markdown(plan(), out)
    text = out.getvalue()
    assert f"note: `{LONG}`" in text
    assert f"note: `{OLD}` → `{LONG}`" in text
    assert "…" not in text and "Notes longer than" not in text


def test_the_job_summary_is_whole_and_the_comment_says_where(tmp_path: Path) -> None:
    rules = tmp_path / "acme.yaml"
    rules.write_text(
        f"org: acme\nrules:\n  - package: pkg:npm/a\n    state: warn\n    note: {LONG}\n"
    )
    saved = tmp_path / "plan.json"
    runner = CliRunner()
    args = ["plan", str(rules), "--api-url", f"local:{tmp_path / 'db'}", "--out", str(saved)]
    assert runner.invoke(cli, args).exit_code == 0
    body, summary = tmp_path / "comment.md", tmp_path / "summary.md"
    args = ["comment", "--plan", str(saved), "--out", str(body), "--summary-out", str(summary)]
    assert runner.invoke(cli, [*args, "--artifact", "plan-1"]).exit_code == 0
    assert f"note: `{LONG}`" in summary.read_text()
    text = body.read_text()
    assert f"note: `{LONG[:119]}…`" in text
    assert re.search(
        r"^_Notes longer than 120 characters are cut here; every note is whole in the job "
        r"summary and in the `plan-1` artifact \(plan.json\)._$",
        text,
        re.MULTILINE,
    )


def test_a_comment_with_short_notes_says_nothing_about_cutting(tmp_path: Path) -> None:
    rules = tmp_path / "acme.yaml"
    rules.write_text("org: acme\nrules:\n  - package: pkg:npm/a\n    state: warn\n    note: n\n")
    saved = tmp_path / "plan.json"
    runner = CliRunner()
    args = ["plan", str(rules), "--api-url", f"local:{tmp_path / 'db'}", "--out", str(saved)]
    assert runner.invoke(cli, args).exit_code == 0
    body = tmp_path / "comment.md"
    assert runner.invoke(cli, ["comment", "--plan", str(saved), "--out", str(body)]).exit_code == 0
    assert "Notes longer than" not in body.read_text()


def policy_update() -> dict[str, Any]:
    return {
        "kind": "policy_rule",
        "action": "update",
        "label": "r1: npm/a",
        "uuid": "p-1",
        "before": {"action": "warn", "note": OLD},
        "after": {"action": "warn", "note": LONG, "source": "r.yaml:3:5"},
    }


def test_an_alert_policies_note_is_whole_too() -> None:
    lines = [line for line, _ in change_lines(policy_update(), 80)]
    arrow = next(i for i, line in enumerate(lines) if line.startswith("          → "))
    assert unwrapped(lines[1:arrow]) == f'note: "{OLD}"'
    assert unwrapped(lines[arrow:-1]) == f'→ "{LONG}"'
    assert max(len(line) for line in lines) <= 80
    assert f"`{OLD}` → `{LONG}`" in row(policy_update())
    assert f"`{LONG[:119]}…`" in row(policy_update(), 120)
