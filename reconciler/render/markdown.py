"""The Markdown plan and the PR comment: one document, fitted whole into a size limit.

A GitHub comment holds at most 65,536 characters and a job summary 1 MiB, so the renderer, not
the Action, decides what is cut. Everything around the plan (the Action's output, the messages
and the footer) is budgeted in before a single change row is placed; rows are kept or left out
whole, so a cut never falls inside a code span, a row or a character, and every ``<details>`` that
is opened is closed. When rows are left out, a note says how many and where the whole plan is.

Sizes are counted in UTF-8 bytes: never fewer than GitHub's characters (counted as code points
or as UTF-16 units), and exactly what the job summary limit counts.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Final, TextIO

from reconciler.render import mdtable
from reconciler.render.common import count, plan_dict
from reconciler.render.escape import terminal_safe

if TYPE_CHECKING:  # annotations only: --version and validate need not load the engine
    from reconciler.engine.plan import Plan

GITHUB_COMMENT_LIMIT: Final = 65_536
JOB_SUMMARY_LIMIT: Final = 1_048_576
COMMENT_MARKER: Final = "<!-- socket-triage-plan -->"
DEFAULT_TITLE: Final = "socket-triage plan"
FAILED: Final = (
    "> [!CAUTION]\n> The rule files have errors, listed under Messages; nothing was planned."
)
_BACKTICKS: Final = re.compile("`+")


def comment_marker(key: str = "") -> str:
    """The hidden first line that finds a comment again: one per org and path set.

    >>> comment_marker()
    '<!-- socket-triage-plan -->'
    >>> comment_marker("acme\\ntriage")
    '<!-- socket-triage-plan 46fa911e5fe24767 -->'
    """
    if not key:
        return COMMENT_MARKER
    digest = hashlib.sha256(key.encode("utf-8", "surrogateescape")).hexdigest()[:16]
    return f"<!-- socket-triage-plan {digest} -->"


@dataclass(frozen=True)
class CommentParts:
    """What surrounds the plan in a comment or a job summary; every part is budgeted in.

    ``output`` is a command's own report (apply's), shown open; ``messages`` are its stderr,
    folded unless ``messages_open`` (an error); ``footer`` items end the document on one line;
    ``full_plan_in`` names the places that really hold the whole plan, for the cut note.
    Notes are whole unless ``note_limit`` (the PR comment's), when a line says they are cut and
    names ``notes_whole_in``, the places that hold them whole. ``validation_failed`` heads the
    document with that, not with the command's title alone.
    """

    title: str = DEFAULT_TITLE
    marker: str = COMMENT_MARKER
    output: str = ""
    messages: str = ""
    messages_open: bool = False
    footer: tuple[str, ...] = ()
    full_plan_in: tuple[str, ...] = ()
    note_limit: int | None = None
    notes_whole_in: tuple[str, ...] = ()
    validation_failed: bool = False


@dataclass(frozen=True)
class Comment:
    """A fitted document, with what was left out of it."""

    text: str
    shown: int
    total: int
    lines_left_out: int = 0

    @property
    def whole_plan(self) -> bool:
        """Every change row is in the text."""
        return self.shown == self.total


def size(text: str) -> int:
    """Bytes in UTF-8: at least GitHub's character count, exactly the summary limit's unit."""
    return len(text.encode("utf-8", "surrogatepass"))


def _cost(lines: Sequence[str]) -> int:
    return sum(size(line) + 1 for line in lines)


def _fence(lines: Sequence[str]) -> str:
    """A backtick fence longer than any backtick run in ``lines`` (CommonMark 4.5), at least 3."""
    longest = max((len(run) for line in lines for run in _BACKTICKS.findall(line)), default=0)
    return "`" * max(3, longest + 1)


def _more(lines: int) -> str:
    return f"… and {lines:,} more lines; the job log has them all."


def _block(text: str, summary: str | None, budget: int, *, open_: bool) -> tuple[list[str], int]:
    """``text`` as a fenced block (in ``<details>`` when ``summary``), whole lines within budget.

    Returns the lines and how many text lines were left out; no lines at all when not even the
    frame fits.
    """
    lines = [terminal_safe(line) for line in text.rstrip("\n").split("\n")] if text else []
    if not lines:
        return [], 0
    fence = _fence(lines)
    frame = ["", fence, fence]
    if summary is not None:
        frame = ["", "<details open>" if open_ else "<details>", f"<summary>{summary}</summary>",
                 "", fence, fence, "</details>"]  # fmt: skip
    room = budget - _cost(frame) - _cost([_more(len(lines))])
    kept: list[str] = []
    for line in lines:
        room -= _cost([line])
        if room < 0:
            break
        kept.append(line)
    left_out = len(lines) - len(kept)
    if not kept:
        return [], left_out
    if left_out:
        kept.append(_more(left_out))
    at = frame.index(fence) + 1
    return [*frame[:at], *kept, *frame[at:]], left_out


def _rows(blocks: Sequence[mdtable.OrgBlock], budget: int) -> tuple[list[str], int, bool]:
    """Each org's ``<details>`` table, whole rows while they fit, always closed; the lines, how
    many rows they hold, and whether a note in one was cut. Once one row is left out, no later
    org is started."""
    closing = ["", "</details>"]
    lines: list[str] = []
    shown, cut = 0, False
    for block in blocks:
        opening = ["", *block.opening]
        budget -= _cost(opening) + _cost(closing)
        if budget < _cost([row.text for row in block.rows[:1]]):
            break
        lines += opening
        fitted = 0
        for row in block.rows:
            budget -= _cost([row.text])
            if budget < 0:
                break
            lines.append(row.text)
            cut = cut or row.cut
            fitted += 1
        lines += closing
        shown += fitted
        if fitted < len(block.rows):
            break
    return lines, shown, cut


def _notes_cut(limit: int, places: Sequence[str]) -> str:
    """Where the notes a PR comment cuts are whole.

    >>> _notes_cut(120, ("the job summary",))
    '_Notes longer than 120 characters are cut here; every note is whole in the job summary._'
    """
    where = f"in {' and in '.join(places)}" if places else "in `socket-triage plan`"
    return f"_Notes longer than {limit} characters are cut here; every note is whole {where}._"


def _cut_note(shown: int, total: int, left_out: int, places: Sequence[str]) -> str:
    """What was left out and where the whole plan is; only places that really hold it.

    >>> _cut_note(10, 5000, 0, ("the job summary", "the `plan` artifact"))
    '_Cut to fit the size limit: showing 10 of 5,000 changes. The whole plan is in the job summary and in the `plan` artifact._'
    >>> _cut_note(3, 3, 2, ())
    '_Cut to fit the size limit: 2 lines of output left out._'
    """  # noqa: E501 - a doctest's expected output is one line
    parts, where = [], ""
    if shown < total:
        parts.append(f"showing {shown:,} of {total:,} changes")
        where = (
            f" The whole plan is in {' and in '.join(places)}."
            if places
            else " Run `socket-triage plan` for the whole plan."
        )
    if left_out:
        parts.append(f"{count(left_out, 'line')} of output left out")
    return f"_Cut to fit the size limit: {'; '.join(parts)}.{where}_"


def build_comment(data: dict[str, Any] | None, parts: CommentParts, limit: int) -> Comment:
    """The document for ``data`` (a plan's ``to_dict()`` form, or None when there is no plan)
    and ``parts``, in at most ``limit`` bytes of UTF-8.

    Order: marker, title, summary head; the output; the messages; each org's changes; the line
    on cut notes; the cut note; the footer. The head, the notes' line, the cut note and the
    footer are reserved first; the output and the
    messages get at most half of what is left when there are changes to show, and the change
    rows get the rest.
    """
    head = [parts.marker, f"### {terminal_safe(parts.title)}"]
    if parts.validation_failed:
        head = [parts.marker, f"### Validation failed · {terminal_safe(parts.title)}", "", FAILED]
    if data is not None:
        head += ["", *mdtable.head(data)]
    footer = ["", f"<sub>{terminal_safe(' · '.join(parts.footer))}</sub>"] if parts.footer else []
    blocks = mdtable.org_blocks(data, parts.note_limit) if data is not None else []
    total = sum(len(b.rows) for b in blocks)
    worst_note = _cut_note(0, total, 10**9, parts.full_plan_in)
    notes = (
        [] if parts.note_limit is None else ["", _notes_cut(parts.note_limit, parts.notes_whole_in)]
    )
    budget = limit - _cost(head) - _cost(footer) - _cost(["", worst_note]) - _cost(notes)
    if budget < 0:
        raise ValueError(f"a limit of {limit} bytes cannot hold the plan's summary")
    share = budget // 2 if total else budget
    output, out_cut = _block(parts.output, None, share, open_=True)
    messages, msg_cut = _block(
        parts.messages, "Messages", share - _cost(output), open_=parts.messages_open
    )
    rows, shown, cut = _rows(blocks, budget - _cost(output) - _cost(messages))
    lines = [*head, *output, *messages, *rows, *(notes if cut else [])]
    if shown < total or out_cut or msg_cut:
        lines += ["", _cut_note(shown, total, out_cut + msg_cut, parts.full_plan_in)]
    text = "\n".join([*lines, *footer]) + "\n"
    assert size(text) <= limit, (size(text), limit)
    return Comment(text, shown, total, out_cut + msg_cut)


def render_markdown(
    plan: Plan, out: TextIO, *, colour: bool = False, limit: int = GITHUB_COMMENT_LIMIT
) -> None:
    """Summary table, warnings, then a ``<details>`` table per org, fitted to ``limit`` bytes."""
    del colour  # Markdown has no colour; the parameter makes every renderer callable alike
    out.write(build_comment(plan_dict(plan, fingerprint=False), CommentParts(), limit).text)
