"""Rules that expire soon, as text, JSON or Markdown (``socket-triage expiring``).

An ``Expiring`` row is built from a rule in the files; the renderers read only ``to_dict()``,
like the plan renderers. The Markdown form is an issue body for a scheduled job, fitted whole
rows at a time into GitHub's 65,536-character limit.
"""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from types import MappingProxyType
from typing import Any, Final, TextIO

from reconciler.render.common import count
from reconciler.render.escape import one_line, table_code, terminal_safe
from reconciler.render.markdown import GITHUB_COMMENT_LIMIT, size
from reconciler.rules.model import Rule

EXPIRING_MARKER: Final = "<!-- socket-triage-expiring -->"


@dataclass(frozen=True)
class Report:
    """The rules of ``rules`` that expire on or before ``today + within`` days, soonest first."""

    today: dt.date
    within: int
    rules: tuple[Rule, ...]

    @classmethod
    def of(cls, rules: Sequence[Rule], today: dt.date, within: int) -> Report:
        horizon = today + dt.timedelta(days=within)
        chosen = [r for r in rules if r.expires is not None and r.expires <= horizon]
        chosen.sort(key=lambda r: (r.expires, r.org, tuple(v or "" for v in r.selector)))
        return cls(today, within, tuple(chosen))

    def to_dict(self) -> dict[str, Any]:
        return {
            "today": self.today.isoformat(),
            "within_days": self.within,
            "rules": [self._row(rule) for rule in self.rules],
        }

    def _row(self, rule: Rule) -> dict[str, Any]:
        assert rule.expires is not None
        return {
            "org": rule.org,
            "selector": rule.selector.to_dict(),
            "label": rule.selector.describe(),
            "state": rule.state,
            "note": rule.note,
            "expires": rule.expires.isoformat(),
            "days_left": (rule.expires - self.today).days,
            # A rule counts as removed from the files the day after its date (Rule.is_expired).
            "expired": rule.is_expired(self.today),
            "owner": rule.owner,
            "ticket": rule.ticket,
            "source": str(rule.location) if rule.location else None,
        }


def when(row: dict[str, Any]) -> str:
    """``expired 2026-11-01``, ``expires today``, ``expires 2026-12-01 (in 3 days)``.

    >>> when({"expired": False, "days_left": 1, "expires": "2026-12-01"})
    'expires 2026-12-01 (in 1 day)'
    """
    if row["expired"]:
        return f"expired {row['expires']} (apply removes it)"
    if row["days_left"] == 0:
        return f"expires {row['expires']} (its last day)"
    return f"expires {row['expires']} (in {count(row['days_left'], 'day')})"


def headline(data: dict[str, Any]) -> str:
    rows = data["rules"]
    expired = sum(1 for r in rows if r["expired"])
    if not rows:
        return f"No rule expires within {count(data['within_days'], 'day')}."
    gone = f" ({expired} already expired)" if expired else ""
    return f"{count(len(rows), 'rule')} expiring within {count(data['within_days'], 'day')}{gone}."


def render_text(report: Report, out: TextIO) -> None:
    data = report.to_dict()
    for row in data["rules"]:
        facts = [f"{k}: {row[k]}" for k in ("owner", "ticket") if row[k]]
        facts += [f"from {row['source']}"] if row["source"] else []
        line = f"{row['org']}  {row['label']}  {row['state']}  {when(row)}  {'  '.join(facts)}"
        out.write(terminal_safe(line.rstrip()) + "\n")
    out.write(headline(data) + "\n")


def render_json(report: Report, out: TextIO) -> None:
    json.dump(report.to_dict(), out, indent=2, sort_keys=True)
    out.write("\n")


def _md_row(row: dict[str, Any]) -> str:
    cells = [
        table_code(row["expires"]) + (" (expired)" if row["expired"] else ""),
        table_code(row["org"]),
        table_code(row["label"]),
        table_code(row["state"]),
        table_code(one_line(row["note"], 120)),
        table_code(row["owner"] or ""),
        table_code(row["ticket"] or ""),
        table_code(row["source"] or ""),
    ]
    return f"| {' | '.join(cells)} |"


def render_markdown(report: Report, out: TextIO, *, limit: int = GITHUB_COMMENT_LIMIT) -> None:
    """An issue body: the headline, then a table, whole rows while they fit ``limit`` bytes."""
    data = report.to_dict()
    head = [EXPIRING_MARKER, "### Triage rules expiring soon", "", headline(data)]
    if data["rules"]:
        head += [
            "",
            "| expires | org | selector | state | note | owner | ticket | source |",
            "|---|---|---|---|---|---|---|---|",
        ]
    rows = [_md_row(row) for row in data["rules"]]
    note = f"_Cut to fit: showing {{}} of {len(rows):,} rules; run `socket-triage expiring`._"
    budget = limit - size("\n".join(head)) - size(note.format(len(rows))) - 8
    kept: list[str] = []
    for row in rows:
        budget -= size(row) + 1
        if budget < 0:
            break
        kept.append(row)
    tail = ["", note.format(f"{len(kept):,}")] if len(kept) < len(rows) else []
    out.write("\n".join([*head, *kept, *tail]) + "\n")


EXPIRING_RENDERERS: Final[Mapping[str, Callable[[Report, TextIO], None]]] = MappingProxyType(
    {"text": render_text, "json": render_json, "markdown": render_markdown}
)
