"""Desired rules, as the rule files state them, and the date their expiry is judged by."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any

from reconciler.errors import Location
from reconciler.vocab.triage.selector import Selector


def utc_today() -> dt.date:
    """The date expiry is judged by: UTC, so a CI runner and a laptop agree."""
    return dt.datetime.now(dt.UTC).date()


@dataclass(frozen=True, slots=True)  # slots: 100k rules stay small
class Rule:
    """A desired rule, as a rule file states it."""

    org: str
    selector: Selector
    state: str
    note: str
    expires: dt.date | None = None
    owner: str | None = None
    ticket: str | None = None
    broad: bool = False
    location: Location | None = None

    def is_expired(self, today: dt.date) -> bool:
        """A rule whose ``expires`` date has passed counts as removed from the files."""
        return self.expires is not None and self.expires < today

    def to_post(self, note: str, uuid: str | None = None) -> dict[str, Any]:
        """One ``alertTriage`` entry (camelCase). ``note`` is the full note, trailer included."""
        entry: dict[str, Any] = {}
        if uuid is not None:
            entry["uuid"] = uuid
        entry.update(self.selector.to_camel())
        entry["state"] = self.state
        entry["note"] = note
        return entry
