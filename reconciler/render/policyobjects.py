"""Alert Policies policy objects as plan lines: what each create, update and delete does, and
each repository whose governing policy changes.

A change here is ``PolicyObjectChange.to_dict()`` (kind ``policy``); the repository lines are
the org document's ``repository_moves`` (``objects.repository_moves``), which the JSON plan
carries as they are. Names, descriptions and slugs come from the files or the server: the text
lines go through ``terminal_safe`` whole, the table cells are code spans (``table_code``).

>>> list(text_lines({"kind": "policy", "action": "update", "name": "default", "body":
...     {"baseline": "comprehensive"}, "before": {"baseline": "balanced"}, "after": {}}))
[('  ~ policy default: baseline balanced -> comprehensive', 'yellow')]
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any, Final

from reconciler.render.escape import one_line, table_code, terminal_safe

KIND: Final = "policy"
SYMBOLS: Final = {"create": "+", "update": "~", "delete": "-"}
COLOURS: Final = {"create": "green", "update": "yellow", "delete": "red"}
MOVE_COLOUR: Final = "cyan"


def is_policy_object(change: dict[str, Any]) -> bool:
    return change.get("kind") == KIND


def baseline(value: Any) -> str:
    """A baseline as the files spell it: ``none`` for null."""
    return "none" if value is None else str(value)


def _quoted(value: Any, limit: int | None = None) -> str:
    return "'" + one_line(None if value is None else str(value), limit) + "'"


def _listed(slugs: list[str]) -> str:
    return ", ".join(slugs)


def _repositories(slugs: list[str]) -> str:
    return f"repositories {_listed(slugs)}" if slugs else "no repositories"


def parts(change: dict[str, Any], limit: int | None = None) -> list[str]:
    """What the change does, in words: one part per changed field or consequence.

    Descriptions are whole, or cut to ``limit`` characters.
    """
    action, body = change["action"], change.get("body") or {}
    before, after = change.get("before") or {}, change.get("after") or {}
    if action == "create":
        found = [f"baseline {baseline(after.get('baseline'))}"]
        found.append(_repositories(list(after.get("repositories") or ())))
        if after.get("description"):
            found.append(f"description {_quoted(after['description'], limit)}")
        return found
    if action == "delete":
        rules = int(change.get("takes_rules") or 0)
        taken = f"its {rules} rule{'' if rules == 1 else 's'} and " if rules else ""
        found = [f"deletes {taken}its repository label"]
        removed = list(change.get("removed") or ())
        if removed:
            word = "repository" if len(removed) == 1 else "repositories"
            verb = "goes" if len(removed) == 1 else "go"
            found.append(f"{word} {_listed(removed)} {verb} back to the default policy")
        return found
    found = []
    if "baseline" in body:
        found.append(f"baseline {baseline(before.get('baseline'))} -> {baseline(body['baseline'])}")
    if "description" in body:
        old, new = before.get("description"), after.get("description")
        found.append(f"description {_quoted(old, limit)} -> {_quoted(new, limit)}")
    if change.get("added"):
        found.append(f"adds {_repositories(list(change['added']))}")
    if change.get("removed"):
        found.append(f"removes {_repositories(list(change['removed']))}")
    return found


def _source(change: dict[str, Any]) -> str | None:
    after = change.get("after") or {}
    return str(after["source"]) if after.get("source") else None


def head(change: dict[str, Any]) -> str:
    """``+ policy backend: baseline comprehensive, repositories api (acme.yaml:5:5)``; not
    yet made terminal safe."""
    action = change["action"]
    separator = "; " if action != "create" else ", "
    line = f"{SYMBOLS[action]} policy {change['name']}: {separator.join(parts(change))}"
    source = _source(change)
    return f"{line} ({source})" if source and action == "create" else line


def text_lines(change: dict[str, Any]) -> Iterator[tuple[str, str]]:
    """(line, colour) for one policy change: one line, the values whole."""
    yield terminal_safe(f"  {head(change)}"), COLOURS[change["action"]]


def move_text(move: dict[str, Any]) -> str:
    """``  ~ repository api: policy frontend -> backend``, terminal safe."""
    return terminal_safe(
        f"  ~ repository {move['repository']}: policy {move['from']} -> {move['to']}"
    )


def move_lines(org: dict[str, Any]) -> list[tuple[str, str]]:
    """(line, colour) for each repository of ``org`` whose governing policy changes."""
    return [(move_text(m), MOVE_COLOUR) for m in org.get("repository_moves") or ()]


def markdown_row(change: dict[str, Any], limit: int | None = None) -> str:
    """One policy change as a plan table row (``change | selector | what | source``)."""
    action = change["action"]
    what = "<br>".join(_cell(part) for part in parts(change, limit))
    source = _source(change)
    where = table_code(source) if source else ""
    if not where and change.get("uuid"):
        where = f"live {table_code(str(change['uuid']))}"
    subject = table_code(f"policy {change['name']}")
    return f"| {SYMBOLS[action]} {action} | {subject} | {what} | {where} |"


def _cell(part: str) -> str:
    """A part of what a change does, as one code span: it holds names and descriptions."""
    return table_code(part)


def move_rows(org: dict[str, Any]) -> list[str]:
    """One table row per repository of ``org`` whose governing policy changes."""
    return [
        f"| ~ repository | {table_code('repository ' + str(m['repository']))} | "
        f"policy {table_code(str(m['from']))} → {table_code(str(m['to']))} |  |"
        for m in org.get("repository_moves") or ()
    ]
