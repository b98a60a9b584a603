"""Alert Policies changes and the target each org was planned on, as text lines and table rows.

The text and Markdown renderers hand a change here when its ``kind`` says it is a policy rule
or a resolution (``policies.changes``): those have ``action`` instead of ``state``, positions
for a ``move``, and a ``replace`` for a resolution (the API cannot update one). ``target_lines``
is what every org's plan says first: the target used, why, and the migration when enrolled.
Like every renderer, this reads only ``to_dict()`` forms.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any, Final

from reconciler.render.escape import one_line, table_code, terminal_safe
from reconciler.render.wrap import change_lines, field_lines

KINDS: Final = ("policy_rule", "resolution")
SYMBOLS: Final = {"create": "+", "update": "~", "move": "↕", "replace": "-/+", "delete": "-"}
COLOURS: Final = {
    "create": "green",
    "update": "yellow",
    "move": "cyan",
    "replace": "yellow",
    "delete": "red",
}
# How a rule change names a policy the same plan creates (``policies.changes.new_policy_ref``).
NEW_POLICY: Final = "new:"
# The fields an update or a replace can change, in the order they are shown.
RULE_FIELDS: Final = ("selector", "action", "note")
RESOLUTION_FIELDS: Final = ("reason", "reason_text", "comment")


def is_policy_change(change: dict[str, Any]) -> bool:
    return change.get("kind") in KINDS


def _fields(change: dict[str, Any]) -> tuple[str, ...]:
    return RULE_FIELDS if change["kind"] == "policy_rule" else RESOLUTION_FIELDS


def _shown(change: dict[str, Any]) -> list[str]:
    """The fields a create shows: all but the selector, which its label already says."""
    return [name for name in _fields(change) if name != "selector"]


def changed_fields(change: dict[str, Any]) -> list[tuple[str, Any, Any]]:
    """(field, before, after) for each field an update or replace changes.

    >>> changed_fields({"kind": "policy_rule", "before": {"action": "warn", "note": "x"},
    ...                 "after": {"action": "error", "note": "x"}})
    [('action', 'warn', 'error')]
    """
    before, after = change["before"] or {}, change["after"] or {}
    return [
        (name, before.get(name), after.get(name))
        for name in _fields(change)
        if before.get(name) != after.get(name)
    ]


def label(change: dict[str, Any]) -> str:
    """What the change is about: ``rule NAME: SELECTOR`` or ``resolution SELECTOR``."""
    kind = "rule" if change["kind"] == "policy_rule" else "resolution"
    return f"{kind} {change['label']}"


def placement(change: dict[str, Any]) -> str:
    """Where a created or moved rule goes: ``position 3 → 1, after 'a'``.

    >>> placement({"action": "move", "from": 3, "to": 1,
    ...            "placement": {"after": None, "before": "b", "position": None}})
    "position 3 → 1, before 'b'"
    """
    to, place = change.get("to"), change.get("placement") or {}
    where = f"position {change['from']} → {to}" if change["action"] == "move" else f"position {to}"
    if place.get("after"):
        where += f", after {place['after']!r}"
    elif place.get("before"):
        where += f", before {place['before']!r}"
    elif place.get("position"):
        where += f", {place['position']}"
    return where


def policy_name(change: dict[str, Any]) -> str:
    """The policy a rule change is in: its id, or for a policy the same plan creates its name
    (its id is known once the create answers).

    >>> policy_name({"policy": "new:backend"}), policy_name({"policy": "default"})
    ('backend (created by this plan)', 'default')
    """
    policy = str(change["policy"])
    if policy.startswith(NEW_POLICY):
        return f"{policy.removeprefix(NEW_POLICY)} (created by this plan)"
    return policy


def _facts(change: dict[str, Any]) -> str:
    after = change["after"] or {}
    parts = [f"from {after['source']}"] if after.get("source") else []
    parts += [f"{key}: {after[key]}" for key in ("owner", "ticket", "expires") if after.get(key)]
    return "  ".join(parts)


def text_lines(change: dict[str, Any], width: int) -> Iterator[tuple[str, str]]:
    """(line, colour) pairs for one policy change; the first is its head. Values are whole,
    wrapped to ``width`` columns."""
    action = change["action"]
    head = f"  {SYMBOLS[action]} {terminal_safe(label(change))}"
    if change["uuid"]:
        head += f"  [{terminal_safe(change['uuid'])}]"
    yield head, COLOURS[action]
    after = change["after"] or {}
    if action == "create":
        for name in _shown(change):
            if after.get(name):
                yield from ((line, "") for line in field_lines("      ", name, after[name], width))
    elif action in ("update", "replace"):
        for name, old, new in changed_fields(change):
            yield from ((line, "") for line in change_lines("      ", name, old, new, width))
    else:
        reason = change["reason"] if action == "delete" else "order"
        yield f"      reason: {terminal_safe(reason)}", ""
    if change["kind"] == "policy_rule" and action in ("create", "move"):
        yield terminal_safe(f"      {placement(change)} in policy {policy_name(change)}"), ""
    facts = _facts(change)
    if facts:
        yield terminal_safe("      " + facts), ""


def markdown_row(change: dict[str, Any], limit: int | None = None) -> str:
    """One policy change as a row of the plan table (``change | selector | what | source``);
    values whole, or cut to ``limit`` characters."""
    action = change["action"]
    after = change["after"] or {}
    if action == "create":
        parts = [
            f"{name}: {_code(after[name], limit)}" for name in _shown(change) if after.get(name)
        ]
    elif action in ("update", "replace"):
        parts = [
            f"{n}: {_code(old, limit)} → {_code(new, limit)}"
            for n, old, new in changed_fields(change)
        ]
    else:
        parts = [f"reason: {table_code(change['reason'] or 'order')}"]
    if change["kind"] == "policy_rule" and action in ("create", "move"):
        parts.append(table_code(placement(change)))
    source = table_code(after["source"]) if after.get("source") else ""
    if not source and change["uuid"]:
        source = f"live {table_code(change['uuid'])}"
    what = "<br>".join(parts)
    return f"| {SYMBOLS[action]} {action} | {table_code(label(change))} | {what} | {source} |"


def _code(value: Any, limit: int | None) -> str:
    text = value if isinstance(value, str) else "" if value is None else repr(value)
    return table_code(one_line(text, limit)) or "(none)"


def target_lines(org: dict[str, Any]) -> list[str]:
    """``target: T (why)`` and, when the org is enrolled, ``migration: ...``; none without."""
    if not org.get("target_reason"):
        return []
    lines = [f"target: {org['target']} ({org['target_reason']})"]
    migration = migration_line(org.get("migration"))
    if migration:
        lines.append(f"migration: {migration}")
    return lines


def migration_line(status: dict[str, Any] | None) -> str | None:
    """The migration state, deadline and window end, or None when the org is not enrolled.

    >>> migration_line({"state": "pending", "deadline_at": "2026-07-01T00:00:00Z",
    ...                 "window_end_at": "2026-07-01T00:00:00Z"})
    'state pending, deadline 2026-07-01T00:00:00Z, window ends 2026-07-01T00:00:00Z'
    """
    if not status or status.get("state") is None:
        return None
    parts = [f"state {status['state']}"]
    for key, words in (
        ("finalized_at", "finalized"),
        ("deadline_at", "deadline"),
        ("deadline_admin_paused_at", "deadline paused"),
        ("window_end_at", "window ends"),
    ):
        if status.get(key):
            parts.append(f"{words} {status[key]}")
    return ", ".join(parts)
