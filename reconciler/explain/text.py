"""An explanation as a person reads it on a terminal; it reads only ``Explanation.to_dict()``.

Every value from the files or the server goes through ``terminal_safe``: a package name is
text from someone else, and a control sequence in it must not redraw what is shown.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any, Final

from reconciler.render.common import count
from reconciler.render.escape import terminal_safe

TARGET_NAMES: Final = {"triage": "legacy triage", "alert-policies": "Alert Policies"}
MATCHING_DOC: Final = "docs/matching.md"
# The option that states each fact, for "needs ..." (fields not listed are their own name).
OPTIONS: Final = {
    "package_type": "--purl",
    "package_namespace": "--purl",
    "package_name": "--purl",
    "package_version": "--purl",
    "alert_key": "--alert-key",
    "alert_type": "--alert-type",
    "cve_or_ghsa_id": "--cve",
    "fix_available": "--[no-]fix-available",
    "patch_available": "--[no-]patch-available",
    "reachability": "--reachability",
    "kevs": "--[no-]kev",
    "cvss_score_cmp": "--cvss",
}


def explanation_lines(data: dict[str, Any]) -> Iterator[str]:
    """The text form of ``Explanation.to_dict()``, one line at a time, safe for a terminal."""
    for line in _lines(data):
        yield terminal_safe(line)


def _lines(data: dict[str, Any]) -> Iterator[str]:
    yield f"Alert: {data['alert_label']}"
    yield f"Org {data['org']}, {TARGET_NAMES[data['target']]}: {data['precedence']}."
    yield ""
    if data["matching"]:
        yield "Matching rules, in the order applied:"
        for entry in data["matching"]:
            yield from _entry(entry)
    else:
        yield "No rule in the files matches this alert."
    yield ""
    yield _result(data["result"])
    if data["undecided"]:
        yield ""
        yield "Could also match, depending on facts not given:"
        for entry in data["undecided"]:
            yield from _entry(entry)
    if data["live"] is not None:
        yield ""
        yield from _live(data["org"], data["live"])


def _entry(entry: dict[str, Any]) -> Iterator[str]:
    rank = f"{entry['rank']}." if entry["rank"] else "-"
    head = f"  {rank} {entry['source']}  {entry['state']}  {entry['label']}"
    if entry["decides"]:
        head += "  <- decides"
    elif entry["skipped"]:
        head += f"  ({entry['skipped']}; does not decide)"
    yield head
    facts = [
        f"owner {entry['owner'] or '-'}",
        f"ticket {entry['ticket'] or '-'}",
        f"expires {entry['expires']}" if entry["expires"] else "no expiry",
    ]
    if entry["expired"]:
        facts[-1] = f"EXPIRED {entry['expires']}"
    if entry["needs"]:
        options = dict.fromkeys(OPTIONS.get(name, name) for name in entry["needs"])
        facts.append("needs " + ", ".join(options))
    if entry["would_outrank"]:
        facts.append("would decide instead if it matched")
    yield "     " + ", ".join(facts)


def _result(result: dict[str, Any]) -> str:
    if result["state"] is None:
        return "Result: no rule decides; the org's security policy applies."
    action = f" (action {result['action']})" if result["action"] else ""
    text = f"Result: {result['state']}{action}, from {result['source']}: {result['reason']}"
    if result["tie"]:
        text += f". Warning: a tie; Socket documents no precedence ({MATCHING_DOC})"
    elif result["by_model"]:
        text += f", by socket-triage's precedence model ({MATCHING_DOC})"
    return text + "."


def _live(org: str, live: dict[str, Any]) -> Iterator[str]:
    matching = len(live["matching"])
    verb = "matches" if matching == 1 else "match"
    decides = live["state"] or "nothing (no live rule matches)"
    found = f"{count(matching, 'live rule')} {verb}"
    yield f"Live in {org}: {found} this alert; the org decides {decides}."
    for rule in live["matching"]:
        yield f"  {rule['uuid'] or '(no uuid)'}  {rule['state']}  {rule['label']}"
    if live["undecided"]:
        verb = "depends" if live["undecided"] == 1 else "depend"
        yield f"  ({count(live['undecided'], 'more live rule')} {verb} on facts not given)"
    if not live["disagreements"]:
        yield "The files and the org agree for this alert."
        return
    yield "Where the files and the org disagree:"
    for item in live["disagreements"]:
        yield f"  - {item['kind']}: {item['message']}"
