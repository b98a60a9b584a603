"""Create / Update / Delete: the changes a plan is made of, and their stable dict form.

Each change holds ``existing`` (the live rule, or None) and ``new`` (the desired rule, or None),
as octoDNS's changes do. ``to_dict()`` is the one form renderers and plan files read, and
``change_from_dict`` reads it back, so a saved plan applies exactly what was shown.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any, ClassVar

from reconciler.errors import Location, PlanFileError
from reconciler.rules.model import Rule
from reconciler.triage.selector import LiveRule, Selector

ACTION_ORDER: dict[str, int] = {"create": 0, "update": 1, "delete": 2}


@dataclass(frozen=True)
class Change:
    """One change to one org's live rules. ``api_note`` is the full note that will be sent."""

    action: ClassVar[str] = ""

    org: str
    existing: LiveRule | None
    new: Rule | None
    api_note: str | None = None
    reason: str = ""

    @property
    def selector(self) -> Selector:
        rule = self.new or self.existing
        assert rule is not None  # every change has at least one side
        return rule.selector

    @property
    def uuid(self) -> str | None:
        return self.existing.uuid if self.existing else None

    @property
    def broad(self) -> bool:
        """Broad rules must be sent with ``force=true``."""
        return self.selector.is_broad

    def sort_key(self) -> tuple[tuple[str, ...], int, str]:
        return (
            tuple(v or "" for v in self.selector),
            ACTION_ORDER[self.action],
            self.uuid or "",
        )

    def entry(self) -> dict[str, Any]:
        """The camelCase POST entry for a create or update."""
        assert self.new is not None and self.api_note is not None
        return self.new.to_post(self.api_note, uuid=self.uuid)

    def to_dict(self) -> dict[str, Any]:
        existing = self.existing
        new = self.new
        return {
            "action": self.action,
            "org": self.org,
            "selector": self.selector.to_dict(),
            "label": self.selector.describe(),
            "broad": self.broad,
            "uuid": self.uuid,
            "reason": self.reason,
            "before": None
            if existing is None
            else {
                "state": existing.state,
                "note": existing.human_note,
                "created_at": existing.created_at,
                "updated_at": existing.updated_at,
            },
            "after": None
            if new is None
            else {
                "state": new.state,
                "note": new.note,
                "api_note": self.api_note,
                "source": str(new.location) if new.location else None,
                "owner": new.owner,
                "ticket": new.ticket,
                "expires": new.expires.isoformat() if new.expires else None,
            },
        }


@dataclass(frozen=True)
class Create(Change):
    action: ClassVar[str] = "create"


@dataclass(frozen=True)
class Update(Change):
    action: ClassVar[str] = "update"


@dataclass(frozen=True)
class Delete(Change):
    action: ClassVar[str] = "delete"


CHANGE_TYPES: dict[str, type[Change]] = {cls.action: cls for cls in (Create, Update, Delete)}


def _location(text: str | None) -> Location | None:
    if not text:
        return None
    file, _, rest = text.rpartition(":")
    file, _, line = file.rpartition(":")
    return Location(file, int(line), int(rest))


def change_from_dict(data: dict[str, Any]) -> Change:
    """Rebuild a change from ``Change.to_dict()`` output (a saved plan)."""
    try:
        cls = CHANGE_TYPES[data["action"]]
        selector = Selector.from_snake(data["selector"])
        before, after = data["before"], data["after"]
        existing = None
        if before is not None:
            existing = LiveRule(
                uuid=data["uuid"],
                selector=selector,
                state=before["state"],
                note=before["note"],
                created_at=before.get("created_at", ""),
                updated_at=before.get("updated_at", ""),
            )
        new = None
        if after is not None:
            expires = after.get("expires")
            new = Rule(
                org=data["org"],
                selector=selector,
                state=after["state"],
                note=after["note"],
                expires=dt.date.fromisoformat(expires) if expires else None,
                owner=after.get("owner"),
                ticket=after.get("ticket"),
                broad=bool(data.get("broad")),
                location=_location(after.get("source")),
            )
        return cls(
            org=data["org"],
            existing=existing,
            new=new,
            api_note=after.get("api_note") if after else None,
            reason=data.get("reason", ""),
        )
    except (KeyError, TypeError, ValueError, AttributeError) as exc:
        raise PlanFileError(f"malformed change in plan file: {exc!r}") from None
