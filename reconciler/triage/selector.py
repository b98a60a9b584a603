"""The triage selector and live triage rules: identity and the API's wire spellings.

A rule is identified by its *selector*: the 12 selector fields after normalisation. Every
spelling of "any" (absent, null, "" and "*") becomes ``None``, so two rules that differ only in
how they say "any" are the same rule. The wire spellings (camelCase for POST, snake_case for GET,
``"*"`` or null for "any") come from the one table of fields, ``wire.SELECTOR``.
"""

from __future__ import annotations

import sys
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Final, NamedTuple

from reconciler.engine import notes
from reconciler.triage.wire import CAMEL_TO_SNAKE, SELECTOR, SELECTOR_FIELDS, WILDCARD


def normalise(field: str, value: object) -> str | None:
    """Return the canonical form of one selector value; ``None`` means "any".

    >>> normalise("package_name", "*") is None
    True
    >>> normalise("cvss_score_cmp", ">= 7.5")
    '>=7.5'
    """
    if value is None:
        return None
    text = (value if value.__class__ is str else str(value)).strip()
    if not text or text == WILDCARD:
        return None
    if field == "cvss_score_cmp":
        return "".join(text.split())
    return text


# Short values are the repeated ones (npm, cve, "1.*"); names and ids are longer and unique.
_SHORT: Final = 16
# Short text as sent -> its normal form, shared by every rule that sends it: most fields of a
# listing repeat a few values, and a lookup is cheaper than normalising again. Bounded, as
# short package names are many and need no cache.
_SEEN: dict[str, str | None] = {}
_SEEN_MAX: Final = 4096
_CVSS: Final = "cvss_score_cmp"  # the one field whose normal form is not its stripped text


def _shared(text: str | None) -> str | None:
    return text if text is None or len(text) > _SHORT else sys.intern(text)


class Selector(NamedTuple):
    """The selector key: which alerts a rule applies to.

    The fields are those of ``wire.SELECTOR``, in its order (a test checks). Build a selector
    by keyword or with ``from_snake``, never from a parallel list by position.
    """

    package_type: str | None = None
    package_namespace: str | None = None
    package_name: str | None = None
    package_version: str | None = None
    alert_key: str | None = None
    alert_type: str | None = None
    cve_or_ghsa_id: str | None = None
    fix_available: str | None = None
    patch_available: str | None = None
    reachability: str | None = None
    kevs: str | None = None
    cvss_score_cmp: str | None = None

    @classmethod
    def from_snake(cls, fields: Mapping[str, object]) -> Selector:
        """Build from snake_case fields (a rule file or a GET result), normalising each.

        Values that repeat across rules (types, enum values, versions) are interned: a listing
        of 100k rules would otherwise hold a copy of each per rule.
        """
        get = fields.get
        values: list[str | None] = []
        for name in SELECTOR_FIELDS:
            value = get(name)
            if value is None:
                values.append(None)
            elif value.__class__ is str and name != _CVSS and len(value) <= _SHORT:
                found = _SEEN.get(value, "")  # "" is never a normal form: it means "any"
                if found == "":
                    found = _shared(normalise(name, value))
                    if len(_SEEN) < _SEEN_MAX:
                        _SEEN[value] = found
                values.append(found)
            else:
                values.append(_shared(normalise(name, value)))
        return tuple.__new__(cls, values)  # positional, in field order: 3x faster than keywords

    @property
    def is_broad(self) -> bool:
        """Broad triage has no alert key and no package name; the API needs ``force=true``."""
        return self.alert_key is None and self.package_name is None

    def to_snake(self) -> dict[str, str | None]:
        """The GET spelling: "any" is ``"*"`` for the enum fields and ``None`` for the rest."""
        return {
            field.name: field.any_wire if value is None else value
            for field, value in zip(SELECTOR, self, strict=True)
        }

    def to_camel(self) -> dict[str, str | None]:
        """The POST spelling of the selector fields."""
        return {
            field.post: field.any_wire if value is None else value
            for field, value in zip(SELECTOR, self, strict=True)
        }

    def purl(self) -> str:
        """A short, human label such as ``npm/@babel/traverse@7.*`` (``*`` where unset)."""
        ptype = self.package_type or "*"
        name = self.package_name or "*"
        if self.package_namespace:
            name = f"{self.package_namespace}/{name}"
        version = f"@{self.package_version}" if self.package_version else ""
        return f"{ptype}/{name}{version}"

    def describe(self) -> str:
        """One line naming the package and every set non-package field, for plans and logs."""
        parts = [self.purl()]
        for field, value in zip(SELECTOR, self, strict=True):
            if value is not None and not field.package:  # the purl shows the package fields
                parts.append(f"{field.name}={value}")
        return " ".join(parts)

    def to_dict(self) -> dict[str, str | None]:
        """Only the set fields, snake_case; the stable form for JSON plans and audit logs."""
        return {k: v for k, v in zip(SELECTOR_FIELDS, self, strict=True) if v is not None}


@dataclass(frozen=True, slots=True)  # slots: an org may list 100k of them
class LiveRule:
    """An existing rule of ``org``, as the API's GET returns it."""

    uuid: str
    selector: Selector
    state: str
    note: str
    created_at: str = ""
    updated_at: str = ""
    org: str = ""  # the org slug it was listed from; "" when unknown (then never ``managed``)

    @classmethod
    def from_get(cls, item: Mapping[str, Any], org: str = "") -> LiveRule:
        """Parse one snake_case GET result of ``org``."""
        return cls(
            uuid=str(item.get("uuid") or ""),
            selector=Selector.from_snake(item),
            state=sys.intern(str(item.get("state") or "inherit")),
            note=str(item.get("note") or ""),
            created_at=str(item.get("created_at") or ""),
            updated_at=str(item.get("updated_at") or ""),
            org=org,
        )

    @property
    def human_note(self) -> str:
        """The note without our provenance trailer: the part people wrote and we compare."""
        return notes.split(self.note)[0]

    @property
    def managed(self) -> bool:
        """True when this tool wrote the rule: its trailer is sealed for its org and selector.

        A bare marker, an unsealed trailer from an older version, or a note copied from another
        rule is not enough (see ``notes``).
        """
        return notes.sealed_for(self.note, self.org, self.selector)


def post_to_snake(entry: Mapping[str, Any]) -> dict[str, Any]:
    """Rename a camelCase POST entry's keys to the snake_case GET spelling."""
    return {CAMEL_TO_SNAKE.get(key, key): value for key, value in entry.items()}


@dataclass(frozen=True)
class Listing:
    """One reading of an org's live rules, with a digest of each page as the API sent it.

    Reading the same pages again and finding the same bytes proves, without decoding them, that
    the org did not change and that this reading was consistent (``TriageClient.unchanged``).
    """

    rules: tuple[LiveRule, ...]
    pages: tuple[bytes, ...]
