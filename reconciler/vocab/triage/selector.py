"""The triage selector and live triage rules: identity and the API's wire spellings.

A rule is identified by its *selector*: the 12 selector fields after normalisation. Every
spelling of "any" (absent, null, "" and "*") becomes ``None``, so two rules that differ only in
how they say "any" are the same rule. The wire spellings (camelCase for POST, snake_case for GET,
``"*"`` or null for "any") come from the one table of fields, ``wire.SELECTOR``.
"""

from __future__ import annotations

import datetime as dt
import sys
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from operator import itemgetter
from typing import Any, Final, NamedTuple

from reconciler import notes
from reconciler.vocab.triage.wire import CAMEL_TO_SNAKE, SELECTOR, SELECTOR_FIELDS, WILDCARD


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
_CACHE_MAX: Final = 4096


def _shared(text: str | None) -> str | None:
    return text if text is None or len(text) > _SHORT else sys.intern(text)


class _Normals(dict[object, "str | None"]):
    """Short text as sent -> its normal form outside ``cvss_score_cmp``, shared by every rule.

    Most fields of a listing repeat a few values, and one dict lookup per field is cheaper than
    normalising again. Only ``str`` keys are kept (``True == 1`` must not find ``"1"``), and
    only short ones; once full it starts again, so values met late are kept too.
    """

    def __init__(self) -> None:
        super().__init__({None: None})

    def __missing__(self, value: object) -> str | None:
        if value.__class__ is not str:
            return _shared(normalise("", value))
        text = value.strip()
        if len(text) > _SHORT:
            return text  # a long name or id: unique, so neither shared nor kept
        normal = None if text in _ANY else sys.intern(text)
        if len(self) >= _CACHE_MAX:
            self.clear()
            self[None] = None
        self[value] = normal
        return normal


_ANY: Final = ("", WILDCARD)
_NORMALS: Final = _Normals()
_normal = _NORMALS.__getitem__


def _cvss_joined(selector: Selector) -> Selector:
    # The normal forms came from the cache, stripped: the cvss one may still hold inner spaces.
    cvss = selector.cvss_score_cmp
    joined = None if cvss is None else "".join(cvss.split())
    return selector if joined == cvss else selector._replace(cvss_score_cmp=_shared(joined))


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
        try:
            selector = tuple.__new__(cls, map(_normal, map(fields.get, SELECTOR_FIELDS)))
        except TypeError:  # an unhashable value (a rule file's list): normalise it as text
            return tuple.__new__(
                cls, (_shared(normalise(name, fields.get(name))) for name in SELECTOR_FIELDS)
            )
        return selector if selector.cvss_score_cmp is None else _cvss_joined(selector)

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
        """Parse one snake_case GET result of ``org`` (a page at once: ``from_get_page``)."""
        return from_get_page((item,), org)[0]

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


# The fields of a GET result a ``LiveRule`` reads besides the selector, and each read at once.
_RECORD: Final = ("uuid", "state", "note", "created_at", "updated_at")
_read_selector: Final = itemgetter(*SELECTOR_FIELDS)
_read_record: Final = itemgetter(*_RECORD)
_new: Final = object.__new__
_new_selector: Final = tuple.__new__


def _setter(name: str) -> Callable[[LiveRule, object], None]:
    # A slot's own setter: what the frozen __init__ calls, without its keyword parsing.
    setter: Callable[[LiveRule, object], None] = getattr(LiveRule, name).__set__
    return setter


_set_uuid, _set_selector, _set_state, _set_note, _set_created, _set_updated, _set_org = map(
    _setter, ("uuid", "selector", "state", "note", "created_at", "updated_at", "org")
)


def from_get_page(items: Iterable[Mapping[str, Any]], org: str = "") -> tuple[LiveRule, ...]:
    """``LiveRule.from_get`` of each GET result of ``org``: a page of a listing in one call.

    A listing converts every rule of an org, so this is its hot path: the fields are read by
    ``itemgetter`` (``get`` when a result leaves one out), the text fields skip ``str()`` when
    they are text already, and each rule is built through its slots, setting every field as
    the keyword ``__init__`` would (a test checks the two agree).
    """
    rules: list[LiveRule] = []
    for item in items:
        try:  # positional, in field order: 3x faster than keywords
            selector = _new_selector(Selector, map(_normal, _read_selector(item)))
        except (KeyError, TypeError):  # a field left out, or a value that is no JSON scalar
            selector = Selector.from_snake(item)
        if selector.cvss_score_cmp is not None:
            selector = _cvss_joined(selector)
        try:
            uuid, state, note, created, updated = _read_record(item)
        except KeyError:
            uuid, state, note, created, updated = map(item.get, _RECORD)
        rule = _new(LiveRule)
        _set_uuid(rule, uuid if uuid.__class__ is str else str(uuid or ""))
        _set_selector(rule, selector)
        _set_state(rule, sys.intern(str(state or "inherit")))
        _set_note(rule, note if note.__class__ is str else str(note or ""))
        _set_created(rule, created if created.__class__ is str else str(created or ""))
        _set_updated(rule, updated if updated.__class__ is str else str(updated or ""))
        _set_org(rule, org)
        rules.append(rule)
    return tuple(rules)


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


def parse_time(text: str) -> dt.datetime | None:
    """An API timestamp as an aware datetime (naive ones are UTC); ``None`` if unreadable.

    >>> parse_time("2026-01-01T10:00:00+02:00") < parse_time("2026-01-01T09:00:00.5Z")
    True
    """
    try:
        when = dt.datetime.fromisoformat(text.strip())
    except ValueError:
        return None
    return when if when.tzinfo else when.replace(tzinfo=dt.UTC)


def created_order(rule: LiveRule) -> tuple[int, float, str, str]:
    """Oldest first by the parsed ``created_at``; unreadable stamps after the readable ones.

    Comparing the text is wrong across time zones and fraction lengths (``...:00.5Z`` sorts
    after ``...:00.123456Z``), and the oldest copy is the one kept, so the stamps are parsed.
    """
    when = parse_time(rule.created_at)
    if when is None:
        return (1, 0.0, rule.created_at, rule.uuid)
    return (0, when.timestamp(), "", rule.uuid)


def group_live(live: Iterable[LiveRule]) -> dict[Selector, list[LiveRule]]:
    """Live rules by selector, oldest first within each selector."""
    groups: dict[Selector, list[LiveRule]] = {}
    for rule in live:
        groups.setdefault(rule.selector, []).append(rule)
    # Nearly every selector has one rule: sorting (and parsing its stamp) is for the others.
    return {
        key: sorted(rules, key=created_order) if len(rules) > 1 else rules
        for key, rules in groups.items()
    }


def selector_order(selector: Selector) -> tuple[str, ...]:
    return tuple(v or "" for v in selector)


def specificity(selector: Selector) -> tuple[int, int, int]:
    """(fields set, version kind: 2 exact / 1 prefix / 0 any, prefix length); larger first.

    >>> specificity(Selector(package_name="lodash", package_version="4.17.*"))
    (2, 1, 5)
    """
    version = selector.package_version
    fields = sum(value is not None for value in selector)
    if version is None:
        return fields, 0, 0
    if version.endswith(WILDCARD):
        return fields, 1, len(version) - 1
    return fields, 2, len(version)
