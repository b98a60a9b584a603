"""Vigil selectors: a canonical, hashable form; validation with paths; the "covers" relation.

A selector is a JSON object whose keys are dotted fields under ``finding.``, ``location.`` or
``artifact.``, AND-ed together; a value is a literal (equality) or ``{"$in": [...]}`` (contract
section 5). Files may use only those two forms. Live selectors may hold anything the server
accepts (``$or`` and operators nobody has documented), so ``VigilSelector`` keeps any JSON value
and compares it structurally.

Canonical form, so that spelling never causes an update: keys sorted; an ``$in`` list de-duplicated
and sorted; a one-element ``$in`` becomes its literal (the same set of alerts).

"Covers": selector A covers selector B when every alert B matches, A matches too. We only claim it
when it is certain from the structure: every key of A is in B, and for each such key A's value
admits every value B's admits (a literal admits itself, ``$in`` its members). An operator we do not
understand admits nothing except an identical value. So a reported shadow is always real; some real
shadows (through undocumented operators) go unreported.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from functools import cached_property
from typing import Any, Final

from reconciler import text
from reconciler.vocab.policies.wire import (
    ARTIFACT_TYPES,
    KNOWN_FIELDS,
    OP_IN,
    RESOLUTION_ONLY_FIELDS,
    SELECTOR_NAMESPACES,
    UNKNOWN_ALLOW_EMPTY_SELECTOR,
    UNKNOWN_FILE_OPERATORS,
    UNKNOWN_RULE_ALLOWS_REPO,
)

Path = tuple[str | int, ...]
_LITERALS: Final = (str, int, float, bool)
# Deeper than any selector a person writes (a field, an operator, a list: 3), far below what
# Python's recursion allows: a deeper value is refused before anything walks it.
MAX_DEPTH: Final = 64


class TooDeepError(ValueError):
    """A selector nested deeper than ``MAX_DEPTH``: nothing walks it."""


def nesting(value: object) -> int:
    """How deeply ``value`` nests objects and lists, counted without recursion.

    >>> nesting({"finding.alertType": {"$in": ["a", "b"]}})
    3
    """
    deepest, stack = 0, [(value, 1)]
    while stack:
        item, depth = stack.pop()
        if isinstance(item, Mapping):
            children: Sequence[object] = list(item.values())
        elif isinstance(item, list | tuple):
            children = item
        else:
            continue
        deepest = max(deepest, depth)
        if deepest > MAX_DEPTH:
            break
        stack += [(child, depth + 1) for child in children]
    return deepest


@dataclass(frozen=True, order=True)
class Problem:
    """One thing wrong with a value. ``path`` leads from the checked node to the culprit."""

    path: Path
    message: str
    severity: str = "error"  # "error" or "warning"


def _token(value: Any) -> str:
    return json.dumps(value, sort_keys=True, separators=(",", ":"))


def _canonical(value: Any) -> Any:
    if isinstance(value, Mapping):
        out = {str(k): _canonical(v) for k, v in value.items()}
        members = out.get(OP_IN)
        if len(out) == 1 and isinstance(members, list):
            unique = sorted({_token(m): m for m in members}.items())
            if len(unique) == 1:
                return unique[0][1]
            return {OP_IN: [m for _, m in unique]}
        return dict(sorted(out.items()))
    if isinstance(value, list | tuple):
        return [_canonical(v) for v in value]
    return value


@dataclass(frozen=True, order=True)
class VigilSelector:
    """A selector in canonical form. Equal selectors match the same alerts by construction.

    >>> a = VigilSelector.from_wire({"artifact.type": {"$in": ["pypi", "npm", "npm"]}})
    >>> a.text
    '{"artifact.type":{"$in":["npm","pypi"]}}'
    >>> a == VigilSelector.from_wire({"artifact.type": {"$in": ["npm", "pypi"]}})
    True
    """

    text: str

    @classmethod
    def from_wire(cls, value: object) -> VigilSelector:
        """From a GET answer or a rule file; any JSON value is kept (validation is separate).

        ``TooDeepError`` when it nests deeper than ``MAX_DEPTH``.
        """
        if nesting(value) > MAX_DEPTH:
            raise TooDeepError(f"a vigil_selector nested more than {MAX_DEPTH} levels deep")
        return cls(_token(_canonical(value)))

    def to_wire(self) -> Any:
        """The body value to send: the canonical form."""
        return json.loads(self.text)

    @cached_property
    def fields(self) -> dict[str, Any]:
        """Field -> canonical value; empty when the selector is not an object."""
        value = self.to_wire()
        return value if isinstance(value, dict) else {}

    def describe(self) -> str:
        """One line for plans and logs: ``artifact.name=lodash finding.alertType in (a, b)``."""
        value = self.to_wire()
        if not isinstance(value, dict):
            return self.text
        parts = []
        for key, item in value.items():
            if isinstance(item, dict) and set(item) == {OP_IN}:
                parts.append(f"{key} in ({', '.join(str(m) for m in item[OP_IN])})")
            elif isinstance(item, str):
                parts.append(f"{key}={item}")
            else:
                parts.append(f"{key}={_token(item)}")
        return " ".join(parts) or "(every alert)"


# --- validation --------------------------------------------------------------------------------


def check_selector(value: object, *, for_rule: bool) -> list[Problem]:
    """Every problem with a selector as a rule file states it, each with its path.

    ``for_rule`` refuses fields that only resolutions may use (``location.repo``).

    >>> check_selector({"artifact.name": "lodash", "repo": "x"}, for_rule=True)
    [Problem(path=('repo',), message="field 'repo' is not under finding., location. or artifact.", severity='error')]
    """  # noqa: E501
    if not isinstance(value, Mapping):
        return [Problem((), "vigil_selector must be a mapping of field to value")]
    if not value and not UNKNOWN_ALLOW_EMPTY_SELECTOR:
        return [Problem((), "vigil_selector is empty: it would match every alert; name a field")]
    problems: list[Problem] = []
    for key, item in value.items():
        problems.extend(_check_key(key, for_rule))
        problems.extend(_check_value(str(key), item))
    return problems


def _check_key(key: object, for_rule: bool) -> list[Problem]:
    if not isinstance(key, str):
        return [Problem((str(key),), f"field {key!r} must be a string")]
    prefix = next((p for p in SELECTOR_NAMESPACES if key.startswith(p)), None)
    rest = key[len(prefix) :] if prefix else ""
    if prefix is None or not rest or any(not part for part in rest.split(".")):
        return [Problem((key,), f"field {key!r} is not under finding., location. or artifact.")]
    if any(c.isspace() or not c.isprintable() for c in key):
        return [Problem((key,), f"field {key!r} contains whitespace or a control character")]
    if for_rule and key in RESOLUTION_ONLY_FIELDS and not UNKNOWN_RULE_ALLOWS_REPO:
        return [
            Problem(
                (key,),
                f"{key} is for resolutions only: a rule's repositories come from its policy",
            )
        ]
    if key not in KNOWN_FIELDS:
        known = ", ".join(sorted(KNOWN_FIELDS))
        return [Problem((key,), f"{key} is not a documented field ({known})", "warning")]
    return []


def _check_value(key: str, item: object) -> list[Problem]:
    if isinstance(item, Mapping):
        ops = sorted(str(op) for op in item)
        if len(ops) != 1 or ops[0] not in UNKNOWN_FILE_OPERATORS:
            return [
                Problem(
                    (key,),
                    f"{key}: unsupported operator {', '.join(ops) or '{}'}; "
                    "a value is a string or {$in: [strings]}",
                )
            ]
        members = item[OP_IN]
        if not isinstance(members, list) or not members:
            return [Problem((key, OP_IN), f"{key}: $in needs a non-empty list of strings")]
        problems: list[Problem] = []
        seen: set[str] = set()
        for index, member in enumerate(members):
            path: Path = (key, OP_IN, index)
            problems.extend(_check_literal(key, member, path))
            if isinstance(member, str) and member in seen:
                problems.append(Problem(path, f"{key}: {member!r} is listed twice", "warning"))
            seen.add(str(member))
        return problems
    return _check_literal(key, item, (key,))


def _check_literal(key: str, item: object, path: Path) -> list[Problem]:
    if not isinstance(item, str):
        hint = "; quote it" if isinstance(item, int | float | bool) else ""
        return [Problem(path, f"{key}: {item!r} must be a string{hint}")]
    if text.control_character(item) is not None:
        return [Problem(path, f"{key}: value contains a control character")]
    unstable = text.unstable(item)  # a selector is an identity too (a resolution's, a shadow's)
    if unstable is not None:
        return [Problem(path, f"{key}: {unstable}")]
    if key == "artifact.type" and item not in ARTIFACT_TYPES:
        known = ", ".join(ARTIFACT_TYPES)
        return [Problem(path, f"artifact.type {item!r} is not a known type ({known})", "warning")]
    return []


# --- covers and shadowing ----------------------------------------------------------------------


def _admits(value: Any) -> frozenset[str] | None:
    """The literal values a field value admits, as tokens; None for an operator we do not know."""
    if isinstance(value, _LITERALS) or value is None:
        return frozenset({_token(value)})
    if isinstance(value, dict) and set(value) == {OP_IN} and isinstance(value[OP_IN], list):
        members = value[OP_IN]
        if members and all(isinstance(m, _LITERALS) or m is None for m in members):
            return frozenset(_token(m) for m in members)
    return None


def covers(a: VigilSelector, b: VigilSelector) -> bool:
    """True when every alert ``b`` matches is certainly matched by ``a`` (see the module doc).

    >>> broad = VigilSelector.from_wire({"finding.alertType": {"$in": ["cve", "criticalCVE"]}})
    >>> narrow = VigilSelector.from_wire({"finding.alertType": "cve", "artifact.name": "x"})
    >>> covers(broad, narrow), covers(narrow, broad)
    (True, False)
    """
    if a == b:
        return True
    fa, fb = a.fields, b.fields
    if not fa and a.text != "{}":
        return False  # not an object: only identity is certain
    for key, va in fa.items():
        if key not in fb:
            return False
        vb = fb[key]
        if va == vb:
            continue
        sa, sb = _admits(va), _admits(vb)
        if sa is None or sb is None or not sb <= sa:
            return False
    return True


@dataclass(frozen=True)
class Shadow:
    """Rule ``index`` can never match: the earlier rule ``by`` covers it (input indexes)."""

    index: int
    by: int


@dataclass
class _Group:
    """Earlier selectors sharing one key set, with an inverted index per key."""

    keys: frozenset[str]
    # key -> token -> indexes whose value at key admits that token ("v:") or equals it ("x:").
    postings: dict[str, dict[str, set[int]]] = field(default_factory=dict)

    def add(self, index: int, fields: Mapping[str, Any]) -> None:
        for key in self.keys:
            by_token = self.postings.setdefault(key, {})
            for token in _tokens(fields[key]):
                by_token.setdefault(token, set()).add(index)

    def first_cover(self, fields: Mapping[str, Any], members: set[int]) -> int | None:
        """The earliest member whose value admits everything ``fields`` admits, on every key."""
        if not self.keys:
            return min(members)  # an empty selector covers everything
        postings: list[set[int]] = []
        for key in self.keys:
            by_token = self.postings.get(key, {})
            for token in _tokens(fields[key]):
                found = by_token.get(token)
                if not found:
                    return None
                postings.append(found)
        postings.sort(key=len)  # intersect from the smallest: cheap when names differ
        candidates = set(postings[0])
        for found in postings[1:]:
            candidates &= found
            if not candidates:
                return None
        return min(candidates)


def _tokens(value: Any) -> list[str]:
    """Index tokens: "v:" one per admitted literal, or "x:" the whole value when opaque."""
    admitted = _admits(value)
    if admitted is None:
        return [f"x:{_token(value)}"]
    return [f"v:{t}" for t in sorted(admitted)]


def find_shadowed(selectors: Sequence[VigilSelector]) -> list[Shadow]:
    """Every selector that an earlier one covers, with the earliest such cover.

    Input is one policy's rules in evaluation (file) order. Indexed by key set and value, so a
    policy with thousands of rules costs about as much as reading them.

    >>> s = [VigilSelector.from_wire(v) for v in (
    ...     {"finding.alertType": "cve"},
    ...     {"finding.alertType": "cve", "artifact.name": "x"},
    ...     {"artifact.name": "x"})]
    >>> find_shadowed(s)
    [Shadow(index=1, by=0)]
    """
    groups: dict[frozenset[str], tuple[_Group, set[int]]] = {}
    opaque: list[int] = []  # selectors that are not objects: only an identical one covers them
    shadows: list[Shadow] = []
    for index, selector in enumerate(selectors):
        fields = selector.fields
        if not fields and selector.text != "{}":
            earlier = next((i for i in opaque if selectors[i] == selector), None)
            if earlier is not None:
                shadows.append(Shadow(index, earlier))
            opaque.append(index)
            continue
        keys = frozenset(fields)
        found = [
            group.first_cover(fields, members)
            for group_keys, (group, members) in groups.items()
            if group_keys <= keys
        ]
        hits = [i for i in found if i is not None]
        if hits:
            shadows.append(Shadow(index, min(hits)))
        group, members = groups.setdefault(keys, (_Group(keys), set()))
        group.add(index, fields)
        members.add(index)
    return shadows
