"""The Markdown plan's pieces: the summary head, and each org's changes as table rows.

Everything that comes from the server or the files (selectors, notes, owners, uuids) is written
as a table-safe code span (``escape.table_code``), so that a live note cannot render Markdown,
links, images or ``@team`` mentions, and a selector reads exactly as written (``>=``, not
``&gt;=``). Only our own words are Markdown.

``markdown.py`` fits these pieces, with the Action's output, messages and footer, into a limit.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Final, NamedTuple

from reconciler.render import policyobjects, policyrows
from reconciler.render.common import (
    SYMBOLS,
    count,
    deletes,
    facts,
    field_changes,
    is_expiry,
    org_summary,
    summary_line,
)
from reconciler.render.escape import one_line, table_code, terminal_safe

# Where a PR comment cuts a note (its 65,536 characters hold more rows that way); the job
# summary and ``plan --format markdown`` show every note whole.
NOTE_LIMIT: Final = 120
WARNINGS_SHOWN: Final = 20
TABLE_HEAD: Final = ("| change | selector | what | source |", "|---|---|---|---|")


class Row(NamedTuple):
    """One change's table row, and whether a note in it was cut to the note limit."""

    text: str
    cut: bool = False


@dataclass(frozen=True)
class OrgBlock:
    """One org's changes: the ``<details>`` opening lines, then one table row per change."""

    opening: tuple[str, ...]
    rows: tuple[Row, ...]


def _note(text: Any, limit: int | None) -> str:
    return table_code(one_line(None if text is None else str(text), limit)) or "(none)"


def _what(change: dict[str, Any], limit: int | None) -> str:
    action, after = change["action"], change["after"]
    if action == "create":
        parts = [f"state: {table_code(after['state'])}", f"note: {_note(after['note'], limit)}"]
    elif action == "update":
        parts = [
            f"{name}: {_note(old, limit)} → {_note(new, limit)}"
            for name, old, new in field_changes(change)
        ]
    else:
        parts = [f"reason: {table_code(change['reason'])}"]
        parts += [f"note: {_note(change['before']['note'], limit)}"] if change["before"] else []
    notes = [f"{label}: {table_code(value)}" for label, value in facts(change)]
    if notes:
        parts.append(" · ".join(notes))
    return "<br>".join(parts)


def _source(change: dict[str, Any]) -> str:
    after = change["after"] or {}
    if after.get("source"):
        return table_code(after["source"])
    # A delete has no file behind it; name the live rule it removes.
    return f"live {table_code(change['uuid'])}" if change["uuid"] else ""


def row(change: dict[str, Any], note_limit: int | None = None) -> str:
    """One change as a table row; every value from outside is a code span. Notes are whole,
    or cut to ``note_limit`` characters."""
    if policyobjects.is_policy_object(change):  # an Alert Policies policy itself
        return policyobjects.markdown_row(change, note_limit)
    if policyrows.is_policy_change(change):  # an Alert Policies rule or resolution
        return policyrows.markdown_row(change, note_limit)
    action = change["action"]
    selector = table_code(change["label"])
    if change["broad"]:
        selector += "<br>broad"
    what = _what(change, note_limit)
    return f"| {SYMBOLS[action]} {action} | {selector} | {what} | {_source(change)} |"


def _row(change: dict[str, Any], note_limit: int | None) -> Row:
    text = row(change, note_limit)
    return Row(text, note_limit is not None and text != row(change))


def head(data: dict[str, Any]) -> list[str]:
    """The summary table, then unsafe warnings, expiries and warnings: always shown whole."""
    lines = ["| org | create | update | delete | unchanged |", "|---|---:|---:|---:|---:|"]
    for org in data["orgs"]:
        s = org_summary(org)
        lines.append(
            f"| {terminal_safe(org['org'])} | {s['create']} | {s['update']} | {deletes(s)} "
            f"| {s['unchanged']} |"
        )
    for org in data["orgs"]:  # GitHub's red alert, not a grey quote: apply will refuse
        for reason in org["unsafe"]:
            lines += [
                "",
                "> [!CAUTION]",
                f"> **Unsafe:** {terminal_safe(reason)}; apply needs `--force`.",
            ]
    targets = [(org["org"], line) for org in data["orgs"] for line in policyrows.target_lines(org)]
    if targets:  # which API each org was planned on, and why
        lines += ["", *(f"- {table_code(org)} {table_code(line)}" for org, line in targets)]
    for org in data["orgs"]:
        lines += _left_alone(org) + _warnings(org)
    expired = sum(1 for org in data["orgs"] for c in org["changes"] if is_expiry(c))
    if expired:
        lines += [
            "",
            f"**Expired:** {expired} of the deletes {'is a rule' if expired == 1 else 'are rules'}"
            " whose `expires` date has passed, not drift: apply removes "
            f"{'it' if expired == 1 else 'them'}.",
        ]
    if not data["has_changes"]:
        lines += ["", "No changes. The live triage rules match the files."]
    return lines


def _left_alone(org: dict[str, Any]) -> list[str]:
    """The engine's ``unmanaged`` list (``prune: false``: live rules the files do not declare
    and this tool did not create), counted: the head is never cut, so no list here."""
    unmanaged = len(org.get("unmanaged", []))
    if not unmanaged:
        return []
    return [
        "",
        f"> **Left alone:** {count(unmanaged, 'unmanaged live rule')} of "
        f"{terminal_safe(org['org'])} (`prune: false`); the files do not declare them.",
    ]


def _warnings(org: dict[str, Any]) -> list[str]:
    """The plan's own warnings (live rules without a uuid), at most ``WARNINGS_SHOWN``."""
    shown = org.get("warnings", [])[:WARNINGS_SHOWN]
    lines = ["", *(f"> **Warning:** {table_code(one_line(w))}" for w in shown)] if shown else []
    more = len(org.get("warnings", [])) - len(shown)
    return [*lines, f"> … and {count(more, 'more warning')}; see the job log."] if more else lines


def _org_rows(org: dict[str, Any], note_limit: int | None) -> tuple[Row, ...]:
    """The org's change rows; the repositories whose governing policy changes right after the
    policy changes (which come first), a row each."""
    moves = [Row(text) for text in policyobjects.move_rows(org)]
    rows: list[Row] = []
    for change in org["changes"]:
        if moves and not policyobjects.is_policy_object(change):
            rows += moves
            moves = []
        rows.append(_row(change, note_limit))
    return (*rows, *moves)


def org_blocks(data: dict[str, Any], note_limit: int | None = None) -> list[OrgBlock]:
    """A block per org with changes, in org order; notes whole, or cut to ``note_limit``."""
    return [
        OrgBlock(
            opening=(
                f"<details><summary>{terminal_safe(org['org'])}: "
                f"{summary_line(org_summary(org))}</summary>",
                "",
                *TABLE_HEAD,
            ),
            rows=_org_rows(org, note_limit),
        )
        for org in data["orgs"]
        if org["changes"]
    ]
