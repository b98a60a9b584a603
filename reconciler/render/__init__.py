"""Renderers: text (Terraform-like), JSON (versioned document) and Markdown (a PR comment).

Each takes a Plan and a file handle and reads only ``to_dict()`` forms, so what is printed is
exactly what a saved plan holds.
"""

from __future__ import annotations

import html
import json
from collections.abc import Iterable
from typing import Any, TextIO

import click
from deepdiff import DeepDiff

from reconciler.engine.plan import Plan

GITHUB_COMMENT_LIMIT = 65_536
COMMENT_MARKER = "<!-- socket-triage-plan -->"
SYMBOLS = {"create": "+", "update": "~", "delete": "-"}
COLOURS = {"create": "green", "update": "yellow", "delete": "red"}


def field_changes(change: dict[str, Any]) -> list[tuple[str, Any, Any]]:
    """(field, before, after) for each compared field an update changes, via deepdiff."""
    before, after = change["before"] or {}, change["after"] or {}
    old = {"state": before.get("state"), "note": before.get("note")}
    new = {"state": after.get("state"), "note": after.get("note")}
    delta = DeepDiff(old, new).get("values_changed", {})
    rows = []
    for path, values in delta.items():
        name = path.removeprefix("root['").removesuffix("']")
        rows.append((name, values["old_value"], values["new_value"]))
    return sorted(rows)


def summary_line(summary: dict[str, int]) -> str:
    return (
        f"Plan: {summary['create']} to create, {summary['update']} to update, "
        f"{summary['delete']} to delete, {summary['unchanged']} unchanged."
    )


def _short(text: str | None, limit: int = 120) -> str:
    flat = " ".join((text or "").split())
    return flat if len(flat) <= limit else flat[: limit - 1] + "…"


def _text_change(change: dict[str, Any]) -> Iterable[tuple[str, str]]:
    """(line, colour action) pairs for one change."""
    action = change["action"]
    head = f"  {SYMBOLS[action]} {change['label']}"
    if change["uuid"]:
        head += f"  [{change['uuid']}]"
    if change["broad"]:
        head += "  (broad)"
    yield head, action
    after = change["after"]
    if action == "create":
        yield f"      state: {after['state']}", ""
        yield f'      note:  "{_short(after["note"])}"', ""
    elif action == "update":
        for name, old, new in field_changes(change):
            yield f'      {name}: "{_short(old, 60)}" → "{_short(new, 60)}"', ""
    else:
        yield f"      reason: {change['reason']}", ""
    if after and after.get("source"):
        owner = f"  owner: {after['owner']}" if after.get("owner") else ""
        yield f"      from {after['source']}{owner}", ""


def render_text(plan: Plan, out: TextIO, *, colour: bool = False) -> None:
    """Terraform-like: + create, ~ update with before → after, - delete; a summary per org."""
    for org in plan.to_dict()["orgs"]:
        click.echo(f"Org {org['org']} ({org['existing']} live rules):", file=out, color=colour)
        for change in org["changes"]:
            for line, action in _text_change(change):
                styled = click.style(line, fg=COLOURS[action]) if action and colour else line
                click.echo(styled, file=out, color=colour)
        for reason in org["unsafe"]:
            warning = f"  ! UNSAFE: {reason}; apply needs --force"
            click.echo(click.style(warning, fg="red", bold=True) if colour else warning, file=out)
        click.echo(summary_line(org["summary"]), file=out, color=colour)


def render_json(plan: Plan, out: TextIO) -> None:
    """The versioned plan document (also what ``--out`` saves)."""
    json.dump(plan.to_dict(), out, indent=2, sort_keys=True)
    out.write("\n")


def _cell(text: Any) -> str:
    # Notes are user text: keep them from closing the table or the <details> block.
    cell = _short(str(text) if text is not None else "", 80)
    return html.escape(cell, quote=False).replace("|", "\\|")


def _markdown_row(change: dict[str, Any]) -> str:
    if change["action"] == "update":
        what = "<br>".join(f"{n}: {_cell(o)} → {_cell(v)}" for n, o, v in field_changes(change))
    elif change["action"] == "create":
        what = f"state: {_cell(change['after']['state'])}<br>{_cell(change['after']['note'])}"
    else:
        what = _cell(change["reason"])
    source = (change["after"] or {}).get("source") or ""
    return (
        f"| {SYMBOLS[change['action']]} {change['action']} | `{_cell(change['label'])}` "
        f"| {what} | {_cell(source)} |"
    )


def render_markdown(plan: Plan, out: TextIO, *, limit: int = GITHUB_COMMENT_LIMIT) -> None:
    """Summary first, then each org's changes in a collapsible table, cut to fit ``limit``."""
    data = plan.to_dict()
    head = [COMMENT_MARKER, "### socket-triage plan", ""]
    head += ["| org | create | update | delete | unchanged |", "|---|---:|---:|---:|---:|"]
    for org in data["orgs"]:
        s = org["summary"]
        head.append(
            f"| {org['org']} | {s['create']} | {s['update']} | {s['delete']} | {s['unchanged']} |"
        )
    for org in data["orgs"]:
        head.extend(f"> **Unsafe:** {reason}; apply needs `--force`." for reason in org["unsafe"])
    if not data["has_changes"]:
        head += ["", "No changes. The live triage rules match the files."]
    body: list[str] = []
    for org in data["orgs"]:
        if not org["changes"]:
            continue
        body += ["", f"<details><summary>{org['org']}: {summary_line(org['summary'])}</summary>"]
        body += ["", "| change | selector | what | source |", "|---|---|---|---|"]
        body += [_markdown_row(c) for c in org["changes"]]
        body += ["", "</details>"]
    out.write(_fit("\n".join(head), body, limit) + "\n")


def _fit(head: str, body: list[str], limit: int) -> str:
    """Keep whole lines of ``body`` while the comment stays under ``limit`` characters."""
    note = "\n\n_The plan is truncated to fit a GitHub comment; see the plan artifact._"
    closing = "\n</details>"
    text, size, inside = [head], len(head), False
    for line in body:
        if size + len(line) + 1 + len(note) + len(closing) >= limit:
            if inside:
                text.append(closing)
            return "\n".join(text) + note
        text.append(line)
        size += len(line) + 1
        if line.startswith("<details>"):
            inside = True
        elif line == "</details>":
            inside = False
    return "\n".join(text)
