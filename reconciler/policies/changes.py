"""The changes of a policies plan, and their stable dict form.

Rule changes: ``create`` / ``update`` / ``delete`` / ``move``. Resolution changes: ``create`` /
``delete`` / ``replace`` (resolutions cannot be updated: a replace is a delete and a create,
shown as one change). Like ``triage.changes``, each holds ``existing`` (live, or None) and
``new`` (desired, or None), and ``to_dict()`` is the only form renderers and saved plans read;
``rule_change_from_dict`` / ``resolution_change_from_dict`` read it back.

Positions are 1-based: ``from`` counts the policy's live rules in evaluation order, ``to`` the
policy's rules in the files. A placement names its neighbour by rule *name*, the identity within
a policy, because the neighbour may be a rule created earlier in the same apply.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Literal

from reconciler.errors import Location, PlanFileError
from reconciler.vocab.policies.model import (
    DesiredPolicy,
    DesiredResolution,
    DesiredRule,
    LivePolicy,
    LiveResolution,
    LiveRule,
)
from reconciler.vocab.policies.selectors import VigilSelector
from reconciler.vocab.policies.wire import DEFAULT_POLICY_ID

RuleAction = Literal["create", "update", "delete", "move"]
ResolutionAction = Literal["create", "delete", "replace"]
PolicyAction = Literal["create", "update", "delete"]
KIND_RULE = "policy_rule"
KIND_RESOLUTION = "resolution"
KIND_POLICY = "policy"
# The ``policy_id`` of a rule change in a policy the same plan creates: the id is only known
# once that create has answered. No id the API hands out (a UUID, "default") starts so.
NEW_POLICY_REF = "new:"


def new_policy_ref(name: str) -> str:
    """The ``policy_id`` rule changes carry for the policy ``name`` that the plan creates."""
    return NEW_POLICY_REF + name


def created_policy_name(policy_id: str) -> str | None:
    """The name in a ``new_policy_ref``; None for the id of a policy that exists."""
    return policy_id.removeprefix(NEW_POLICY_REF) if policy_id.startswith(NEW_POLICY_REF) else None


EXPIRED = "expired"  # the reason of a delete of an entry past its date, as triage plans say


@dataclass(frozen=True)
class Placement:
    """Where a created or moved rule goes: after or before a named rule, or first/last.

    ``anchor_id`` is the neighbour's live id, or None when the neighbour is itself created
    earlier in the same apply (then its id is the one that create returned).
    """

    after: str | None = None
    before: str | None = None
    position: str | None = None
    anchor_id: str | None = None

    def to_dict(self) -> dict[str, str | None]:
        return {
            "after": self.after,
            "before": self.before,
            "position": self.position,
            "anchor_id": self.anchor_id,
        }


@dataclass(frozen=True)
class RuleChange:
    """One change to one policy's rules. ``api_note`` is the full note that will be sent."""

    action: RuleAction
    org: str
    policy_id: str
    existing: LiveRule | None
    new: DesiredRule | None
    api_note: str | None = None
    reason: str = ""
    from_position: int | None = None
    to_position: int | None = None
    placement: Placement | None = None

    @property
    def name(self) -> str:
        rule = self.new or self.existing
        assert rule is not None  # every change has at least one side
        return rule.name

    @property
    def selector(self) -> VigilSelector:
        rule = self.new or self.existing
        assert rule is not None
        return rule.selector

    @property
    def rule_id(self) -> str | None:
        return self.existing.id if self.existing else None

    def to_dict(self) -> dict[str, Any]:
        existing, new = self.existing, self.new
        return {
            "action": self.action,
            "kind": KIND_RULE,
            "org": self.org,
            "policy": self.policy_id,
            "name": self.name,
            "selector": self.selector.to_wire(),
            "label": f"{self.name}: {self.selector.describe()}",
            "broad": False,
            "uuid": self.rule_id,
            "reason": self.reason,
            "from": self.from_position,
            "to": self.to_position,
            "placement": self.placement.to_dict() if self.placement else None,
            "before": None
            if existing is None
            else {
                "name": existing.name,
                "selector": existing.selector.to_wire(),
                "action": existing.action,
                "note": existing.human_note,
                "created_at": existing.created_at,
                "updated_at": existing.updated_at,
            },
            "after": None
            if new is None
            else {
                "name": new.name,
                "selector": new.selector.to_wire(),
                "action": new.action,
                "note": new.note,
                "api_note": self.api_note,
                "source": str(new.location) if new.location else None,
                **_meta(new),
            },
        }


@dataclass(frozen=True)
class ResolutionChange:
    """One change to the org's resolutions. ``api_comment`` is the full comment to send."""

    action: ResolutionAction
    org: str
    existing: LiveResolution | None
    new: DesiredResolution | None
    api_comment: str | None = None
    reason: str = ""

    @property
    def selector(self) -> VigilSelector:
        side = self.new or self.existing
        assert side is not None
        return side.selector

    @property
    def uuid(self) -> str | None:
        return self.existing.uuid if self.existing else None

    def to_dict(self) -> dict[str, Any]:
        existing, new = self.existing, self.new
        return {
            "action": self.action,
            "kind": KIND_RESOLUTION,
            "org": self.org,
            "selector": self.selector.to_wire(),
            "label": self.selector.describe(),
            "broad": False,
            "uuid": self.uuid,
            "reason": self.reason,
            "before": None
            if existing is None
            else {
                "reason": existing.reason,
                "reason_text": existing.reason_text,
                "comment": existing.human_comment,
                "created_at": existing.created_at,
                "updated_at": existing.updated_at,
            },
            "after": None
            if new is None
            else {
                "reason": new.reason,
                "reason_text": new.reason_text,
                "comment": new.comment,
                "api_comment": self.api_comment,
                "source": str(new.location) if new.location else None,
                **_meta(new),
            },
        }


@dataclass(frozen=True)
class PolicyObjectChange:
    """One change to a policy object itself: its description, baseline or repositories.

    ``body`` is exactly what is sent (snake_case): every field for a create, only the fields
    that change for an update (a partial update: 3.4), nothing for a delete. The slugs say the
    same for people: ``added`` / ``removed`` repositories of a create or update, and for a
    delete the repositories that go back to the default policy (``removed``) and how many live
    rules go with it (``takes_rules``).
    """

    action: PolicyAction
    org: str
    existing: LivePolicy | None
    new: DesiredPolicy | None
    body: Mapping[str, Any] = field(default_factory=dict)
    added: tuple[str, ...] = ()
    removed: tuple[str, ...] = ()
    takes_rules: int = 0
    reason: str = ""

    @property
    def name(self) -> str:
        """The policy's name: ``default`` for the default policy."""
        if self.new is not None:
            return self.new.name
        assert self.existing is not None  # every change has at least one side
        return self.existing.name or DEFAULT_POLICY_ID

    @property
    def policy_id(self) -> str:
        """The live id, or ``new_policy_ref(name)`` for a create."""
        return self.existing.id if self.existing else new_policy_ref(self.name)

    def to_dict(self) -> dict[str, Any]:
        existing, new = self.existing, self.new
        return {
            "action": self.action,
            "kind": KIND_POLICY,
            "org": self.org,
            "policy": self.policy_id,
            "name": self.name,
            "label": f"policy {self.name}",
            "broad": False,
            "uuid": existing.id if existing else None,
            "reason": self.reason,
            "body": dict(self.body),
            "added": list(self.added),
            "removed": list(self.removed),
            "takes_rules": self.takes_rules,
            "before": None
            if existing is None
            else {
                "name": existing.name,
                "description": existing.human_description,
                "api_description": existing.description,
                "baseline": existing.baseline,
                "apply_method": existing.apply_method,
                "repository_ids": list(existing.repository_ids),
                "created_at": existing.created_at,
                "updated_at": existing.updated_at,
            },
            "after": None
            if new is None
            else {
                "name": new.name,
                "description": new.description,
                "baseline": new.baseline,
                "repositories": list(new.repositories),
                "source": str(new.location) if new.location else None,
            },
        }


# The two requests of a replace, when they ended differently (``halves``).
CREATE_HALF = "the create half of a replace"
DELETE_HALF = "the delete half of a replace"


def halves(change: ResolutionChange) -> tuple[ResolutionChange, ResolutionChange]:
    """A replace as its two requests: the create of the new resolution, the delete of the old.

    A report and the audit log name these when only the create half holds, so that they say
    what the server holds (the new resolution, and the old one still there).
    """
    return (
        ResolutionChange("create", change.org, None, change.new, change.api_comment, CREATE_HALF),
        ResolutionChange("delete", change.org, change.existing, None, reason=DELETE_HALF),
    )


def _meta(new: DesiredRule | DesiredResolution) -> dict[str, str | None]:
    """The files' owner, ticket and expiry: shown with the change, never sent."""
    return {
        "owner": new.owner,
        "ticket": new.ticket,
        "expires": new.expires.isoformat() if new.expires else None,
    }


def _read_meta(after: dict[str, Any]) -> dict[str, Any]:
    expires = after.get("expires")
    return {
        "owner": after.get("owner"),
        "ticket": after.get("ticket"),
        "expires": dt.date.fromisoformat(expires) if expires else None,
    }


# --- reading a saved plan back -------------------------------------------------------------------


def _location(text: str | None) -> Location | None:
    if not text:
        return None
    file, _, column = text.rpartition(":")
    file, _, line = file.rpartition(":")
    return Location(file, int(line), int(column))


def _placement(data: dict[str, Any] | None) -> Placement | None:
    if data is None:
        return None
    return Placement(
        data.get("after"), data.get("before"), data.get("position"), data.get("anchor_id")
    )


def rule_change_from_dict(data: dict[str, Any]) -> RuleChange:
    """Rebuild a rule change from ``RuleChange.to_dict()`` output (a saved plan)."""
    try:
        if data["kind"] != KIND_RULE or data["action"] not in (
            "create",
            "update",
            "delete",
            "move",
        ):
            raise ValueError(f"not a policy rule change: {data['kind']}/{data['action']}")
        before, after = data["before"], data["after"]
        existing = None
        if before is not None:
            existing = LiveRule(
                id=str(data["uuid"]),
                policy_id=str(data["policy"]),
                name=str(before["name"]),
                selector=VigilSelector.from_wire(before["selector"]),
                action=str(before["action"]),
                note=str(before["note"]),
                created_at=str(before.get("created_at") or ""),
                updated_at=str(before.get("updated_at") or ""),
            )
        new = None
        if after is not None:
            new = DesiredRule(
                name=str(after["name"]),
                selector=VigilSelector.from_wire(after["selector"]),
                action=str(after["action"]),
                note=str(after["note"]),
                policy=str(data["policy"]),
                location=_location(after.get("source")),
                **_read_meta(after),
            )
        return RuleChange(
            action=data["action"],
            org=str(data["org"]),
            policy_id=str(data["policy"]),
            existing=existing,
            new=new,
            api_note=after.get("api_note") if after else None,
            reason=str(data.get("reason") or ""),
            from_position=data.get("from"),
            to_position=data.get("to"),
            placement=_placement(data.get("placement")),
        )
    except (KeyError, TypeError, ValueError, AttributeError) as exc:
        raise PlanFileError(f"malformed policy rule change in plan file: {exc!r}") from None


def resolution_change_from_dict(data: dict[str, Any]) -> ResolutionChange:
    """Rebuild a resolution change from ``ResolutionChange.to_dict()`` output."""
    try:
        if data["kind"] != KIND_RESOLUTION or data["action"] not in ("create", "delete", "replace"):
            raise ValueError(f"not a resolution change: {data['kind']}/{data['action']}")
        selector = VigilSelector.from_wire(data["selector"])
        before, after = data["before"], data["after"]
        existing = None
        if before is not None:
            existing = LiveResolution(
                uuid=str(data["uuid"]),
                selector=selector,
                reason=str(before["reason"]),
                reason_text=before.get("reason_text"),
                comment=before.get("comment"),
                created_at=str(before.get("created_at") or ""),
                updated_at=str(before.get("updated_at") or ""),
            )
        new = None
        if after is not None:
            new = DesiredResolution(
                selector=selector,
                reason=str(after["reason"]),
                reason_text=after.get("reason_text"),
                comment=str(after.get("comment") or ""),
                location=_location(after.get("source")),
                **_read_meta(after),
            )
        return ResolutionChange(
            action=data["action"],
            org=str(data["org"]),
            existing=existing,
            new=new,
            api_comment=after.get("api_comment") if after else None,
            reason=str(data.get("reason") or ""),
        )
    except (KeyError, TypeError, ValueError, AttributeError) as exc:
        raise PlanFileError(f"malformed resolution change in plan file: {exc!r}") from None


def policy_change_from_dict(data: dict[str, Any]) -> PolicyObjectChange:
    """Rebuild a policy change from ``PolicyObjectChange.to_dict()`` output (a saved plan)."""
    try:
        if data["kind"] != KIND_POLICY or data["action"] not in ("create", "update", "delete"):
            raise ValueError(f"not a policy change: {data['kind']}/{data['action']}")
        before, after = data["before"], data["after"]
        existing = None
        if before is not None:
            existing = LivePolicy(
                id=str(data["uuid"]),
                name=before.get("name"),
                apply_method=str(before.get("apply_method") or ""),
                baseline=before.get("baseline"),
                repository_ids=tuple(str(r) for r in before.get("repository_ids") or ()),
                description=before.get("api_description"),
                created_at=str(before.get("created_at") or ""),
                updated_at=str(before.get("updated_at") or ""),
                org=str(data["org"]),
            )
        new = None
        if after is not None:
            new = DesiredPolicy(
                name=str(after["name"]),
                baseline=after.get("baseline"),
                description=str(after.get("description") or ""),
                repositories=tuple(str(r) for r in after.get("repositories") or ()),
                location=_location(after.get("source")),
            )
        body = data.get("body") or {}
        if not isinstance(body, dict):
            raise ValueError("body is not an object")
        return PolicyObjectChange(
            action=data["action"],
            org=str(data["org"]),
            existing=existing,
            new=new,
            body=body,
            added=tuple(str(r) for r in data.get("added") or ()),
            removed=tuple(str(r) for r in data.get("removed") or ()),
            takes_rules=int(data.get("takes_rules") or 0),
            reason=str(data.get("reason") or ""),
        )
    except (KeyError, TypeError, ValueError, AttributeError) as exc:
        raise PlanFileError(f"malformed policy change in plan file: {exc!r}") from None
