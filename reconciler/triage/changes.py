"""Create / Update / Delete: the changes a plan is made of, and their stable dict form.

Each change holds ``existing`` (the live rule, or None) and ``new`` (the desired rule, or None),
as octoDNS's changes do. ``to_dict()`` is the one form renderers and plan files read, and
``change_from_dict`` reads it back, so a saved plan applies exactly what was shown.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any, ClassVar

from reconciler.engine import planfields
from reconciler.errors import Location, PlanFileError
from reconciler.rules.model import Rule
from reconciler.vocab.triage.selector import LiveRule, Selector

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
                "api_note": existing.note,
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


def _location(text: str | None, where: str) -> Location | None:
    if not text:
        return None
    file, _, column = text.rpartition(":")
    file, _, line = file.rpartition(":")
    if not (file and line.isdigit() and column.isdigit()):
        raise PlanFileError(f"{where}.after.source must be FILE:LINE:COLUMN, not {text!r}")
    return Location(file, int(line), int(column))


# Which sides each action has: (before, after).
_SIDES: dict[str, tuple[bool, bool]] = {
    "create": (False, True),
    "update": (True, True),
    "delete": (True, False),
}


def _selector(data: dict[str, Any], where: str) -> Selector:
    fields = planfields.mapping(data.get("selector"), f"{where}.selector")
    for name in fields:
        planfields.optional_text(fields, name, f"{where}.selector")
    return Selector.from_snake(fields)


def _existing(data: dict[str, Any], org: str, selector: Selector, where: str) -> LiveRule:
    before = planfields.mapping(data.get("before"), f"{where}.before")
    # A rule without a uuid can be neither updated nor deleted: never accept one that claims to.
    uuid = planfields.text(data, "uuid", where)
    note = planfields.optional_text(before, "note", f"{where}.before") or ""
    return LiveRule(
        uuid=uuid,
        selector=selector,
        state=planfields.text(before, "state", f"{where}.before"),
        note=planfields.optional_text(before, "api_note", f"{where}.before") or note,
        created_at=planfields.optional_text(before, "created_at", f"{where}.before") or "",
        updated_at=planfields.optional_text(before, "updated_at", f"{where}.before") or "",
        org=org,
    )


def _new(data: dict[str, Any], org: str, selector: Selector, where: str) -> tuple[Rule, str]:
    after = planfields.mapping(data.get("after"), f"{where}.after")
    at = f"{where}.after"
    expires = planfields.optional_text(after, "expires", at)
    try:
        expiry = dt.date.fromisoformat(expires) if expires else None
    except ValueError:
        raise PlanFileError(f"{at}.expires must be a date (YYYY-MM-DD), not {expires!r}") from None
    rule = Rule(
        org=org,
        selector=selector,
        state=planfields.text(after, "state", at),
        note=planfields.optional_text(after, "note", at) or "",
        expires=expiry,
        owner=planfields.optional_text(after, "owner", at),
        ticket=planfields.optional_text(after, "ticket", at),
        broad=planfields.flag(data, "broad", where, default=False),
        location=_location(planfields.optional_text(after, "source", at), where),
    )
    return rule, planfields.text(after, "api_note", at)


def change_from_dict(data: Any, where: str = "change") -> Change:
    """Rebuild a change from ``Change.to_dict()`` output (a saved plan); check every field.

    ``where`` names the change in messages, such as ``orgs[0].changes[3]``.
    """
    data = planfields.mapping(data, where)
    action = planfields.text(data, "action", where)
    if action not in CHANGE_TYPES:
        raise PlanFileError(f"{where}.action must be create, update or delete, not {action!r}")
    has_before, has_after = _SIDES[action]
    for side, wanted in (("before", has_before), ("after", has_after)):
        if (data.get(side) is not None) is not wanted:
            state = "an object" if wanted else "null"
            raise PlanFileError(f"{where}.{side} must be {state} for a {action}")
    org = planfields.text(data, "org", where)
    selector = _selector(data, where)
    existing = _existing(data, org, selector, where) if has_before else None
    new, api_note = _new(data, org, selector, where) if has_after else (None, None)
    reason = data.get("reason", "")
    if not isinstance(reason, str):
        raise PlanFileError(f"{where}.reason must be a string, not {planfields.json_type(reason)}")
    return CHANGE_TYPES[action](
        org=org, existing=existing, new=new, api_note=api_note, reason=reason
    )
