"""Live rules -> a rule file, so that an existing org can be adopted: export, plan, commit."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import yaml

from reconciler.engine.plan import group_live
from reconciler.triage.selector import LiveRule
from reconciler.triage.wire import SELECTOR_FIELDS

HEADER = (
    "# Exported by `socket-triage export` from the live triage rules of org {org}.\n"
    "# Every note needs a real reason: it is the audit trail.\n"
)


MISSING_NOTE = "TODO: say why this rule exists (it had no note in Socket)"


def rule_document(rule: LiveRule) -> dict[str, Any]:
    """One exported rule: set selector fields, state, the human note, and ``broad`` if needed."""
    doc: dict[str, Any] = {
        name: value
        for name, value in zip(SELECTOR_FIELDS, rule.selector, strict=True)
        if value is not None
    }
    doc["state"] = rule.state
    # The files require a reason; a live rule without one gets a placeholder to fill in (plan
    # then shows it as a note update, which is the honest state of affairs).
    doc["note"] = rule.human_note or MISSING_NOTE
    if rule.selector.is_broad:
        doc["broad"] = True
    return doc


def render_rule_file(org: str, live: Sequence[LiveRule]) -> str:
    """A rule file for ``org``: one rule per selector (the oldest, as plan keeps), sorted."""
    groups = group_live(live)
    keys = sorted(groups, key=lambda s: tuple(v or "" for v in s))
    dropped = sum(len(groups[k]) - 1 for k in keys)
    document = {"org": org, "rules": [rule_document(groups[k][0]) for k in keys]}
    text = HEADER.format(org=org)
    if dropped:
        text += f"# {dropped} duplicate live rules were left out; plan will delete them.\n"
    missing = sum(1 for k in keys if not groups[k][0].human_note)
    if missing:
        text += f"# {missing} rules had no note in Socket: replace each TODO with the reason.\n"
    return text + yaml.safe_dump(document, sort_keys=False, allow_unicode=True, width=100)
