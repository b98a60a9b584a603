"""What every renderer says the same way: change symbols, field changes, counts and summaries.

Renderers read only the ``to_dict()`` forms, so what is printed is what a saved plan holds.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, Final

if TYPE_CHECKING:  # annotations only: --version and validate need not load the engine
    from reconciler.engine.plan import Plan

SYMBOLS: Final = {"create": "+", "update": "~", "delete": "-"}

# The fields an update can change, in the order they are shown.
COMPARED_FIELDS: Final = ("note", "state")

# Annotations from the files, shown after the source: (label, key in the change's "after").
FACTS: Final = (("owner", "owner"), ("ticket", "ticket"), ("expires", "expires"))

# The reason the engine gives a delete whose rule passed its ``expires`` date. Such a delete is
# the files speaking, not drift in the dashboard, so every summary counts it apart.
EXPIRED: Final = "expired"


def field_changes(change: dict[str, Any]) -> list[tuple[str, Any, Any]]:
    """(field, before, after) for each compared field that an update changes.

    >>> field_changes({"before": {"state": "warn", "note": "x"},
    ...                "after": {"state": "block", "note": "x"}})
    [('state', 'warn', 'block')]
    """
    before, after = change["before"] or {}, change["after"] or {}
    return [
        (name, before.get(name), after.get(name))
        for name in COMPARED_FIELDS
        if before.get(name) != after.get(name)
    ]


def facts(change: dict[str, Any]) -> list[tuple[str, str]]:
    """(label, value) for the owner, ticket and expiry the files give a rule, where set."""
    after = change["after"] or {}
    return [(label, str(after[key])) for label, key in FACTS if after.get(key)]


def count(number: int, noun: str) -> str:
    """``number`` and ``noun``, plural unless the number is one.

    >>> count(1, "live rule"), count(5, "live rule")
    ('1 live rule', '5 live rules')
    """
    return f"{number} {noun}{'' if number == 1 else 's'}"


def is_expiry(change: dict[str, Any]) -> bool:
    """A delete of a live rule whose rule in the files passed its ``expires`` date."""
    return bool(change["action"] == "delete" and change["reason"] == EXPIRED)


def org_summary(org: dict[str, Any]) -> dict[str, int]:
    """An org plan's summary with ``expired``: how many of its deletes are expiries.

    >>> org_summary({"summary": {"create": 0, "update": 0, "delete": 2, "unchanged": 1},
    ...              "changes": [{"action": "delete", "reason": "expired"},
    ...                          {"action": "delete", "reason": "not in files"}]})
    {'create': 0, 'update': 0, 'delete': 2, 'unchanged': 1, 'expired': 1}
    """
    return {**org["summary"], EXPIRED: sum(1 for c in org["changes"] if is_expiry(c))}


def deletes(summary: dict[str, int]) -> str:
    """The delete count, with how many are expiries when any are: ``3 (2 expired)``."""
    expired = summary.get(EXPIRED, 0)
    return f"{summary['delete']} ({expired} expired)" if expired else str(summary["delete"])


def summary_line(summary: dict[str, int]) -> str:
    """``Plan: 1 to create, 0 to update, 2 to delete (1 expired), 5 unchanged.``

    >>> summary_line({"create": 1, "update": 0, "delete": 2, "unchanged": 5, "expired": 1})
    'Plan: 1 to create, 0 to update, 2 to delete (1 expired), 5 unchanged.'
    """
    expired = summary.get(EXPIRED, 0)
    # An Alert Policies org also moves rules and replaces resolutions.
    moves = ""
    if "move" in summary:
        moves = f"{summary['move']} to move, {summary['replace']} to replace, "
    return (
        f"Plan: {summary['create']} to create, {summary['update']} to update, {moves}"
        f"{summary['delete']} to delete{f' ({expired} expired)' if expired else ''}, "
        f"{summary['unchanged']} unchanged."
    )


def plan_dict(plan: Plan, *, fingerprint: bool = True) -> dict[str, Any]:
    """``plan.to_dict()`` with each org's summary counting its expiries (``org_summary``).

    The one document the JSON renderer prints and ``plan --out`` saves; a saved plan is read
    back by ``Plan.from_dict``, which takes its counts from the changes themselves. A renderer
    that does not show the fingerprint passes ``fingerprint=False`` (``OrgPlan.to_dict``).
    """
    data = plan.to_dict(fingerprint=fingerprint)
    for org in data["orgs"]:
        org["summary"] = org_summary(org)
    return data
