"""``socket-triage comment``: the pull-request comment and the job summary, fitted to GitHub.

The Action runs this after ``validate`` and ``plan`` (or ``apply``), so that the renderer, not
shell or JavaScript, decides what a too-large document leaves out. It writes the job summary
first (1 MiB), then the comment (65,536 characters), and the comment names the job summary as
holding the whole plan only when the summary really does. The job summary shows every note
whole; the comment cuts notes at ``NOTE_LIMIT`` characters, to hold more rows, and says so.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any, Final

import click

from reconciler import __version__
from reconciler.commands import check_output_file, write_output
from reconciler.commands.options import click_command, option
from reconciler.errors import PlanFileError, UsageError
from reconciler.exits import EXIT_CHANGES, EXIT_EXPIRED, EXIT_OK
from reconciler.render.common import plan_dict
from reconciler.render.escape import table_code
from reconciler.render.markdown import (
    GITHUB_COMMENT_LIMIT,
    JOB_SUMMARY_LIMIT,
    CommentParts,
    build_comment,
    comment_marker,
)
from reconciler.render.mdtable import NOTE_LIMIT
from reconciler.wiring import read_plan

# Exit codes after which the messages are warnings (folded), not the reason the run failed.
QUIET_EXITS: Final = frozenset({EXIT_OK, EXIT_CHANGES, EXIT_EXPIRED})
_SHA: Final = re.compile(r"[0-9a-fA-F]{7,64}")


def _read_plan(path: str) -> dict[str, Any]:
    try:
        data = json.loads(Path(path).read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise PlanFileError(f"--plan {path}: cannot read a JSON plan: {exc}") from None
    try:
        return plan_dict(read_plan(data))
    except PlanFileError as exc:
        raise PlanFileError(f"--plan {path}: {exc}") from None


def _read_text(path: str | None, option: str) -> str:
    if path is None:
        return ""
    try:
        return Path(path).read_text(encoding="utf-8", errors="replace")
    except OSError as exc:
        raise UsageError(f"{option} {path}: cannot read: {exc.strerror or exc}") from None


def footer(head_sha: str | None, exit_code: int | None, artifact: str | None) -> tuple[str, ...]:
    """The facts on the last line: the tool, the PR head commit, the exit code, the artifact.

    >>> footer("0123456789abcdef", 2, "plan-1")[1:]
    ('head 0123456', 'exit code 2', 'plan.json: artifact `plan-1`')
    """
    items = [f"socket-triage {__version__}"]
    if head_sha:
        if not _SHA.fullmatch(head_sha):
            raise UsageError(f"--head-sha {head_sha!r}: not a commit SHA (7 to 64 hex digits)")
        items.append(f"head {head_sha[:7]}")
    if exit_code is not None:
        items.append(f"exit code {exit_code}")
    if artifact:
        items.append(f"plan.json: artifact {table_code(artifact)}")
    return tuple(items)


def run(
    *,
    plan_file: str | None,
    title: str,
    output_file: str | None,
    messages_file: str | None,
    exit_code: int | None,
    head_sha: str | None,
    marker_key: str,
    artifact: str | None,
    out: str,
    summary_out: str | None,
    validation_failed: bool = False,
) -> int:
    """Write the comment to ``out`` and, if asked, the job summary to ``summary_out``."""
    target = check_output_file(out, "--out")
    summary_target = check_output_file(summary_out, "--summary-out") if summary_out else None
    data = _read_plan(plan_file) if plan_file else None
    artifact_place = (f"the {table_code(artifact)} artifact (plan.json)",) if artifact else ()
    parts = CommentParts(
        title=title,
        marker=comment_marker(marker_key),
        output=_read_text(output_file, "--output"),
        messages=_read_text(messages_file, "--messages"),
        messages_open=exit_code not in QUIET_EXITS,
        footer=footer(head_sha, exit_code, artifact),
        full_plan_in=artifact_place,
        validation_failed=validation_failed,
    )
    places = notes_in = artifact_place
    if summary_target is not None:
        summary = build_comment(data, parts, JOB_SUMMARY_LIMIT)  # every note whole
        write_output(summary_target, summary.text, "--summary-out")
        notes_in = ("the job summary", *artifact_place)
        if summary.whole_plan:
            places = notes_in
    in_comment = replace(parts, full_plan_in=places, note_limit=NOTE_LIMIT, notes_whole_in=notes_in)
    comment = build_comment(data, in_comment, GITHUB_COMMENT_LIMIT)
    write_output(target, comment.text, "--out")
    click.echo(
        f"Comment: {comment.shown} of {comment.total} changes shown"
        f"{'' if comment.whole_plan else ' (cut to fit)'}; marker {parts.marker}",
        err=True,
    )
    return EXIT_OK


@dataclass(frozen=True)
class Options:
    """``comment``'s command line, in ``--help`` order."""

    plan_file: str | None = option(
        "--plan",
        type=click.Path(dir_okay=False),
        help="The saved plan (plan --out); leave out when validation failed or for apply.",
    )
    title: str = option("--title", default="socket-triage plan", show_default=True)
    output_file: str | None = option(
        "--output",
        type=click.Path(dir_okay=False),
        help="A command's report to show open (apply's).",
    )
    messages_file: str | None = option(
        "--messages",
        type=click.Path(dir_okay=False),
        help="Messages (stderr) to show; folded unless --exit-code says the run failed.",
    )
    exit_code: int | None = option("--exit-code", type=int, help="The exit code of the run shown.")
    head_sha: str | None = option("--head-sha", help="The commit the plan is for (the PR head).")
    marker_key: str = option(
        "--marker-key",
        default="",
        help="Text (say, the org and paths) whose digest goes in the hidden marker, so that each "
        "org and path set keeps its own comment.",
    )
    artifact: str | None = option(
        "--artifact", help="The name of the artifact that holds plan.json."
    )
    out: str = option(
        "--out", required=True, type=click.Path(dir_okay=False), help="The comment body."
    )
    summary_out: str | None = option(
        "--summary-out",
        type=click.Path(dir_okay=False),
        help="Also write the job summary (up to 1 MiB) here.",
    )
    validation_failed: bool = option(
        "--validation-failed",
        is_flag=True,
        help="The rule files did not validate: head the comment with that.",
    )


@click_command("comment", Options)
def command(given: Options) -> int:
    """Write the PR comment (and job summary) for a run, cut to fit GitHub's limits."""
    return run(
        plan_file=given.plan_file,
        title=given.title,
        output_file=given.output_file,
        messages_file=given.messages_file,
        exit_code=given.exit_code,
        head_sha=given.head_sha,
        marker_key=given.marker_key,
        artifact=given.artifact,
        out=given.out,
        summary_out=given.summary_out,
        validation_failed=given.validation_failed,
    )
