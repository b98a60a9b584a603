"""Policies, rules and resolutions: as the files want them and as the API returns them.

Live values are parsed defensively: the schema marks most row fields required, but a null, a
missing field or a number where a string belongs must not crash a plan. Text fields read null as
"" (or keep ``None`` where null means something), ids are always ``str``, and a row that is not a
JSON object is an ``ApiError`` naming what was wrong. A live rule without an id can be neither
updated, moved nor deleted; ``addressable`` says so, and the diff keeps it out of every write.

Ownership is ``reconciler.notes``'s seal: a trailer is ours only when its seal matches the org and
the item's identity (``rule_seal_parts`` / ``resolution_seal_parts``), so a note copied onto
another rule, or into another org, is not ours.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from reconciler import notes
from reconciler.errors import ApiError, Location
from reconciler.vocab.policies.selectors import TooDeepError, VigilSelector
from reconciler.vocab.policies.wire import (
    APPLY_UNLABELED,
    DEFAULT_POLICY_ID,
    REASON_DEFAULT,
)


def rule_seal_parts(name: str, selector: VigilSelector) -> tuple[str, ...]:
    """What a policy rule's seal binds to, with its org: its kind, name and selector.

    Not the policy id: the default policy's id may change from "default" to a UUID when it is
    first customized (contract, unknown 5), which must not disown every rule in it.
    """
    return ("alert-policy-rule", name, selector.text)


def policy_seal_parts(name: str) -> tuple[str, ...]:
    """What a named policy's seal binds to, with its org: its kind and name (its identity)."""
    return ("alert-policy", name)


def resolution_seal_parts(selector: VigilSelector) -> tuple[str, ...]:
    """What a resolution's seal binds to, with its org: its kind and selector."""
    return ("alert-resolution", selector.text)


def timestamp_key(text: str) -> tuple[int, dt.datetime, str]:
    """A sort key for an API timestamp: parsed (naive means UTC), not compared as text, so
    "2026-01-01T20:00:00-05:00" sorts after "2026-01-02T00:00:00Z". Unparseable ones sort last.
    """
    try:
        when = dt.datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        return (1, dt.datetime.min.replace(tzinfo=dt.UTC), text)
    return (0, when if when.tzinfo else when.replace(tzinfo=dt.UTC), text)


def _row(item: object, what: str) -> Mapping[str, Any]:
    if not isinstance(item, Mapping):
        raise ApiError(f"the server sent a {what} that is not a JSON object: {item!r:.80}")
    return item


def _selector(row: Mapping[str, Any], what: str) -> VigilSelector:
    try:
        return VigilSelector.from_wire(row.get("vigil_selector"))
    except TooDeepError as exc:
        raise ApiError(f"the server sent a {what} with {exc}: {_text(row, 'id')!r:.80}") from None


def _text(item: Mapping[str, Any], key: str) -> str:
    value = item.get(key)
    return "" if value is None else str(value)


def _optional(item: Mapping[str, Any], key: str) -> str | None:
    value = item.get(key)
    return None if value is None else str(value)


def _flag(item: Mapping[str, Any], key: str, default: bool) -> bool:
    value = item.get(key)
    return value if isinstance(value, bool) else default


# --- live ----------------------------------------------------------------------------------------


@dataclass(frozen=True)
class LivePolicy:
    """An alert policy. The default policy has ``name`` None and may have id ``"default"``.

    ``description`` carries our provenance trailer when this tool wrote it; ``managed`` says a
    named policy was created by this tool (its trailer is sealed for its org and name).
    """

    id: str
    name: str | None
    apply_method: str = APPLY_UNLABELED
    baseline: str | None = None
    repository_ids: tuple[str, ...] = ()
    description: str | None = None
    repo_label_id: str | None = None
    created_at: str = ""
    updated_at: str = ""
    org: str = ""  # the org it was listed from; "" when unknown (then never ``managed``)

    @property
    def is_default(self) -> bool:
        return self.id == DEFAULT_POLICY_ID or self.apply_method == APPLY_UNLABELED

    @property
    def human_description(self) -> str:
        """The description without our provenance trailer: the part people wrote."""
        return notes.split(self.description or "")[0]

    @property
    def managed(self) -> bool:
        """True when this tool created the (named) policy: its trailer is sealed for it."""
        if self.is_default or self.name is None:
            return False
        return notes.sealed_for(self.description or "", self.org, policy_seal_parts(self.name))

    @classmethod
    def from_get(cls, item: object, org: str = "") -> LivePolicy:
        row = _row(item, "policy")
        repos = row.get("repository_ids")
        return cls(
            id=_text(row, "id"),
            name=_optional(row, "name"),
            apply_method=_text(row, "apply_method"),
            baseline=_optional(row, "baseline"),
            repository_ids=tuple(str(r) for r in repos) if isinstance(repos, list) else (),
            description=_optional(row, "description"),
            repo_label_id=_optional(row, "repo_label_id"),
            created_at=_text(row, "created_at"),
            updated_at=_text(row, "updated_at"),
            org=org,
        )


@dataclass(frozen=True)
class LiveRepository:
    """One repository of the org, as the repository listing (getOrgRepoList) returns it.

    Files name repositories by ``slug``; policies hold their ``id``s (``repository_ids``).
    """

    id: str
    slug: str
    name: str = ""
    archived: bool = False

    @classmethod
    def from_get(cls, item: object) -> LiveRepository:
        row = _row(item, "repository")
        return cls(
            id=_text(row, "id"),
            slug=_text(row, "slug"),
            name=_text(row, "name"),
            archived=_flag(row, "archived", False),
        )


@dataclass(frozen=True)
class LiveRule:
    """A custom rule of one policy, as GET returns it. Its place is its index in the listing."""

    id: str
    policy_id: str
    name: str
    selector: VigilSelector
    action: str
    note: str = ""
    rank: str = ""
    created_at: str = ""
    updated_at: str = ""
    org: str = ""  # the org it was listed from; "" when unknown (then never ``managed``)

    @classmethod
    def from_get(cls, item: object, policy_id: str, org: str = "") -> LiveRule:
        """Parse one row. ``policy_id`` is the policy it was listed under: the row's own
        ``alert_policy_id`` is unknown for a default policy that was never customized."""
        row = _row(item, "policy rule")
        return cls(
            id=_text(row, "id"),
            policy_id=policy_id,
            name=_text(row, "name"),
            selector=_selector(row, "policy rule"),
            action=_text(row, "action"),
            note=_text(row, "note"),
            rank=_text(row, "rank"),
            created_at=_text(row, "created_at"),
            updated_at=_text(row, "updated_at"),
            org=org,
        )

    @property
    def addressable(self) -> bool:
        """Only a rule with an id can be updated, moved or deleted."""
        return bool(self.id)

    @property
    def human_note(self) -> str:
        """The note without our provenance trailer: the part people wrote and we compare."""
        return notes.split(self.note)[0]

    @property
    def managed(self) -> bool:
        """True when this tool wrote the rule: its trailer is sealed for its org and identity."""
        return notes.sealed_for(self.note, self.org, rule_seal_parts(self.name, self.selector))


@dataclass(frozen=True)
class LiveResolution:
    """An active alert resolution. ``comment`` carries our trailer when this tool wrote it."""

    uuid: str
    selector: VigilSelector
    reason: str
    reason_text: str | None = None
    comment: str | None = None
    created_at: str = ""
    updated_at: str = ""
    org: str = ""  # as LiveRule.org

    @classmethod
    def from_get(cls, item: object, org: str = "") -> LiveResolution:
        row = _row(item, "resolution")
        return cls(
            uuid=_text(row, "uuid"),
            selector=_selector(row, "resolution"),
            reason=_text(row, "reason") or REASON_DEFAULT,
            reason_text=_optional(row, "reason_text"),
            comment=_optional(row, "comment"),
            created_at=_text(row, "created_at"),
            updated_at=_text(row, "updated_at"),
            org=org,
        )

    @property
    def addressable(self) -> bool:
        return bool(self.uuid)

    @property
    def human_comment(self) -> str:
        return notes.split(self.comment or "")[0]

    @property
    def managed(self) -> bool:
        return notes.sealed_for(self.comment or "", self.org, resolution_seal_parts(self.selector))


@dataclass(frozen=True)
class MigrationStatus:
    """The org's move from legacy triage to Alert Policies (contract 3.15).

    Missing booleans take the conservative reading: policies not writable, legacy still live.
    """

    state: str | None = None
    finalized_at: str | None = None
    deadline_at: str | None = None
    window_end_at: str | None = None
    deadline_admin_paused_at: str | None = None
    alert_policies_enabled: bool = False
    legacy_evaluation_enabled: bool = True

    @classmethod
    def from_get(cls, item: object) -> MigrationStatus:
        row = _row(item, "migration status")
        return cls(
            state=_optional(row, "state"),
            finalized_at=_optional(row, "finalized_at"),
            deadline_at=_optional(row, "deadline_at"),
            window_end_at=_optional(row, "window_end_at"),
            deadline_admin_paused_at=_optional(row, "deadline_admin_paused_at"),
            alert_policies_enabled=_flag(row, "alert_policies_enabled", False),
            legacy_evaluation_enabled=_flag(row, "legacy_evaluation_enabled", True),
        )

    @property
    def enrolled(self) -> bool:
        return self.state is not None

    def to_dict(self) -> dict[str, Any]:
        """The seven status fields, as GET returns them (``from_get`` reads this back)."""
        return {
            "state": self.state,
            "finalized_at": self.finalized_at,
            "deadline_at": self.deadline_at,
            "window_end_at": self.window_end_at,
            "deadline_admin_paused_at": self.deadline_admin_paused_at,
            "alert_policies_enabled": self.alert_policies_enabled,
            "legacy_evaluation_enabled": self.legacy_evaluation_enabled,
        }

    @property
    def policies_writable(self) -> bool:
        """Real policy and rule writes succeed (before this they answer 409)."""
        return self.alert_policies_enabled

    @property
    def legacy_writable(self) -> bool:
        """Legacy triage writes succeed (after the move they answer 409 / 405)."""
        return self.legacy_evaluation_enabled


@dataclass(frozen=True)
class Translation:
    """One legacy entry the server translated: send ``body`` to ``path`` with ``method``."""

    index: int
    target: str
    method: str
    path: str
    body: Mapping[str, Any]


@dataclass(frozen=True)
class Untranslatable:
    """One legacy entry with no equivalent; ``reason`` is safe to show to users."""

    index: int
    code: str
    reason: str


def parse_translate(answer: object) -> tuple[list[Translation], list[Untranslatable]]:
    """Read a translate answer; a row without an integer ``index`` is an ``ApiError``."""
    row = _row(answer, "translate answer")
    done: list[Translation] = []
    failed: list[Untranslatable] = []
    for item in row.get("translations") or []:
        entry = _row(item, "translation")
        body = entry.get("body")
        done.append(
            Translation(
                index=_index(entry),
                target=_text(entry, "target"),
                method=_text(entry, "method") or "POST",
                path=_text(entry, "path"),
                body=body if isinstance(body, Mapping) else {},
            )
        )
    for item in row.get("untranslatable") or []:
        entry = _row(item, "untranslatable entry")
        failed.append(Untranslatable(_index(entry), _text(entry, "code"), _text(entry, "reason")))
    return done, failed


def _index(entry: Mapping[str, Any]) -> int:
    index = entry.get("index")
    if not isinstance(index, int) or isinstance(index, bool) or index < 0:
        raise ApiError(f"the server sent a translation without a valid index: {index!r:.40}")
    return index


# --- desired -------------------------------------------------------------------------------------


@dataclass(frozen=True)
class DesiredPolicy:
    """A policy as the files declare it (``policies:``). ``name`` is the identity; the default
    policy is declared as ``name: default`` and governs no listed repositories.

    ``baseline`` is the preset, None for the "none" preset (the API's ``baseline: null``).
    ``description`` is the human part only; the trailer is added when the plan is made.
    ``repositories`` are repository slugs as written, each at ``repository_locations[i]``.
    """

    name: str
    baseline: str | None
    description: str = ""
    repositories: tuple[str, ...] = ()
    location: Location | None = None
    repository_locations: tuple[Location, ...] = ()

    @property
    def is_default(self) -> bool:
        return self.name == DEFAULT_POLICY_ID


@dataclass(frozen=True)
class DesiredRule:
    """A policy rule as the files state it. Its place is its index among its policy's rules.

    ``policy`` names the policy as the file does: ``"default"``, a policy name or a policy id.
    ``note`` is the human note only; the trailer is added when the plan is made.
    """

    name: str
    selector: VigilSelector
    action: str
    note: str = ""
    policy: str = DEFAULT_POLICY_ID
    location: Location | None = None
    expires: dt.date | None = None  # metadata from the files: never sent
    owner: str | None = None
    ticket: str | None = None

    def is_expired(self, today: dt.date) -> bool:
        """Past its ``expires`` date, a rule counts as removed from the files."""
        return self.expires is not None and self.expires < today


@dataclass(frozen=True)
class DesiredResolution:
    """A resolution as the files state it. Identity is the selector (resolutions are org-wide)."""

    selector: VigilSelector
    reason: str = REASON_DEFAULT
    reason_text: str | None = None
    comment: str = ""
    location: Location | None = None
    expires: dt.date | None = None  # metadata from the files: never sent
    owner: str | None = None
    ticket: str | None = None

    def is_expired(self, today: dt.date) -> bool:
        return self.expires is not None and self.expires < today
