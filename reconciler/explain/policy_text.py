"""An Alert Policies explanation as a person reads it; it reads only ``PolicyExplanation.to_dict``.

Every value from the files or the server goes through ``terminal_safe`` (``explanation_lines``
of ``explain.text`` does the same for legacy triage).
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from reconciler.render.common import count
from reconciler.render.escape import terminal_safe

SIDES = {"files": "In the files", "org": "Live in the org"}


def policy_lines(data: dict[str, Any]) -> Iterator[str]:
    """The text form of ``PolicyExplanation.to_dict()``, safe for a terminal."""
    for line in _lines(data):
        yield terminal_safe(line)


def _lines(data: dict[str, Any]) -> Iterator[str]:
    yield f"Alert: {data['alert_label']}"
    yield f"Org {data['org']}, Alert Policies ({data['target_reason']}): {data['precedence']}."
    yield from _view(data["files"])
    if data["live"] is not None:
        yield from _view(data["live"])
        yield ""
        if not data["differences"]:
            yield "The files and the org agree for this alert."
        else:
            yield "Where the files and the org differ:"
            for item in data["differences"]:
                yield f"  - {item['kind']}: {item['message']}"


def _view(view: dict[str, Any]) -> Iterator[str]:
    governing = view["governing"]
    yield ""
    baseline = governing["baseline"] or "not known"
    caveat = "" if governing["known"] else " (caveat)"
    yield (
        f"{SIDES[view['origin']]}: policy {governing['policy']!r} governs, baseline {baseline}"
        f"{caveat}: {governing['reason']}."
    )
    if view["rules"]:
        yield f"Rules that match or may match, of {view['evaluated']} in evaluation order:"
        for rule in view["rules"]:
            yield from _rule(rule)
    else:
        yield f"No rule of {view['evaluated']} in the policy matches this alert."
    if view["other_rules"]:
        others = count(view["other_rules"], "rule")
        yield f"  ({others} of other policies not evaluated: they govern other repositories)"
    for item in view["resolutions"]:
        yield from _resolution(item)
    yield f"Result: {view['decision']['text']}."


def _rule(rule: dict[str, Any]) -> Iterator[str]:
    label = rule["label"] or rule["name"]
    head = f"  {rule['position']}. {rule['source'] or rule['id'] or '-'}  {rule['action'] or '?'}"
    head += f"  {rule['name']!r}"
    if rule["label"]:
        head += f"  {label}"
    if rule["decides"]:
        head += "  <- decides"
    elif rule["skipped"]:
        head += f"  ({rule['skipped']}; does not decide)"
    else:
        head += f"  [{rule['answer']}]"
    yield head
    for reason in rule["reasons"]:
        yield f"     undecided: {reason}"
    if rule["hint"]:
        yield f"     {rule['hint']}"


def _resolution(item: dict[str, Any]) -> Iterator[str]:
    state = "hides this alert" if item["answer"] == "matched" else item["answer"]
    if item["skipped"]:
        state = f"{item['skipped']}; hides nothing"
    yield f"  resolution {item['source'] or item['id']}  {item['label']}: {state}"
    for reason in item["reasons"]:
        yield f"     undecided: {reason}"
