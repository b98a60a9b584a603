"""Read YAML text into plain values that remember where each mapping, key and value started.

libyaml's C composer (``CSafeLoader.get_single_node``) keeps a start mark on every node; we walk
the node tree ourselves instead of using PyYAML's constructor. Each mapping and list keeps its
node, so the positions of its keys and items are read only when a finding needs them (building
them for 100k valid rules cost more than parsing). The walk is also where we catch what PyYAML
lets through silently: duplicate keys (it keeps the last), non-string keys, recursive aliases,
alias bombs and non-finite numbers (``.nan`` and ``.inf`` would switch a safety threshold off).

The result is JSON-shaped (``YMap``, ``YList``, str, int, float, bool, None) so the JSON Schema
sees exactly what an editor sees. Timestamps stay as their text: ``expires: 2027-03-01`` is the
string ``"2027-03-01"``, and the loader parses dates itself so a bad date is an error, not a crash.
"""

from __future__ import annotations

import math
import operator
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, Final

import yaml
from yaml.nodes import MappingNode, Node, ScalarNode, SequenceNode

_TAG = "tag:yaml.org,2002:"
_STR: Final = _TAG + "str"
_SEQ: Final = _TAG + "seq"
_MAP: Final = _TAG + "map"
_MERGE: Final = _TAG + "merge"
MAX_DEPTH: Final = 64
# Aliases may repeat a subtree; beyond this many expanded nodes we refuse ("billion laughs").
MAX_EXPANDED: Final = 2_000_000


def pack(line: int, column: int) -> int:
    """A 1-based position packed into one int, to keep per-field bookkeeping small."""
    return (line << 16) | min(column, 0xFFFF)


def unpack(pos: int) -> tuple[int, int]:
    """The (line, column) of a packed position."""
    return pos >> 16, pos & 0xFFFF


def _pos(node: Node) -> int:
    mark = node.start_mark  # pack() inlined: this runs for every key and value
    column = mark.column + 1
    return ((mark.line + 1) << 16) | (column if column < 0xFFFF else 0xFFFF)


class YMap(dict[str, Any]):
    """A YAML mapping. ``pos`` is where it starts; ``fields[key]`` is (key pos, value pos).

    ``fields`` is worked out from the YAML node on first use: most mappings of a valid file
    never need a position but their own, and a dict of tuples per mapping is most of the cost
    of reading 100k rules.
    """

    __slots__ = ("_fields", "_node", "pos")

    def __init__(self, pos: int, node: MappingNode | None = None) -> None:
        super().__init__()
        self.pos = pos
        self._node = node
        self._fields: dict[str, tuple[int, int]] | None = None if node is not None else {}

    @property
    def fields(self) -> dict[str, tuple[int, int]]:
        """(key pos, value pos) of each key; a key written twice counts where it last was."""
        if self._fields is None:
            pairs = self._node.value if self._node is not None else ()
            self._fields = {key.value: (_pos(key), _pos(value)) for key, value in pairs}
            self._node = None
        return self._fields

    @fields.setter
    def fields(self, fields: dict[str, tuple[int, int]]) -> None:
        self._fields, self._node = fields, None

    def key_pos(self, key: str) -> int:
        """Where ``key`` is written (the mapping's start if it is not)."""
        fields = self.fields
        return fields[key][0] if key in fields else self.pos

    def value_pos(self, key: str) -> int:
        """Where the value of ``key`` starts (the mapping's start if it is absent)."""
        fields = self.fields
        return fields[key][1] if key in fields else self.pos


class YList(list[Any]):
    """A YAML sequence. ``pos`` is where it starts; ``item_pos[i]`` is where item i starts."""

    __slots__ = ("_item_pos", "_node", "pos")

    def __init__(self, pos: int, node: SequenceNode | None = None) -> None:
        super().__init__()
        self.pos = pos
        self._node = node
        self._item_pos: list[int] | None = None if node is not None else []

    @property
    def item_pos(self) -> list[int]:
        """Where each item starts, worked out from the YAML node on first use."""
        if self._item_pos is None:
            items = self._node.value if self._node is not None else ()
            self._item_pos = [_pos(item) for item in items]
            self._node = None
        return self._item_pos


@dataclass(frozen=True)
class Problem:
    """Something wrong in the YAML itself, at a packed position."""

    pos: int
    message: str


@dataclass
class Document:
    """The value of a file (``None`` when empty or unreadable) and the problems found.

    ``texts`` holds the source text of every scalar that YAML typed as a boolean or a number,
    by packed position, so that an error can say "YAML read 1.10 as a number". ``names`` and
    ``prose`` hold every string value (an aliased subtree's once): ``prose`` those of the keys
    ``read`` was given as prose, so that one search can clear a whole file of control characters.
    """

    root: Any
    problems: list[Problem] = field(default_factory=list)
    texts: dict[int, str] = field(default_factory=dict)
    names: list[str] = field(default_factory=list)
    prose: list[str] = field(default_factory=list)


def read(text: str, prose: frozenset[str] = frozenset()) -> Document:
    """Parse one YAML document. Never raises for bad input: problems are returned instead.

    String values of the keys in ``prose`` are collected in ``Document.prose``, the others in
    ``Document.names``.

    >>> doc = read("org: acme\\nrules: []\\n")
    >>> doc.root, doc.root.key_pos("rules") == pack(2, 1)
    ({'org': 'acme', 'rules': []}, True)
    """
    loader = _Loader(text)
    try:
        node = loader.get_single_node()
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        where = pack(mark.line + 1, mark.column + 1) if mark else pack(1, 1)
        parts = [p for p in (exc.context, exc.problem) if p]
        message = _tab_message(text, exc) or (
            "YAML syntax error: " + ", ".join(parts) + _quoting_hint(text, exc)
        )
        return Document(None, [Problem(where, message)])
    except yaml.reader.ReaderError as exc:  # a character YAML does not allow
        message = f"YAML error: {exc.reason} (U+{exc.character:04X})"
        return Document(None, [Problem(_reader_pos(text, exc), message)])
    except yaml.YAMLError as exc:
        return Document(None, [Problem(_reader_pos(text, exc), f"YAML error: {exc}")])
    finally:
        loader.dispose()
    if node is None:
        return Document(None)
    walker = _Walker(loader, prose)
    root = walker.value(node, 0)
    return Document(root, walker.problems, walker.texts, walker.names, walker.prose)


class _Loader(yaml.CSafeLoader):
    """libyaml's composer with PyYAML's tag resolution, minus its per-node overhead.

    The composer calls ``resolve`` for every node and ``descend_resolver`` and
    ``ascend_resolver`` around it; those two only serve path resolvers, which the safe loader
    has none of, so they are C built-ins that do nothing. ``resolve`` gives a plain scalar whose
    first character starts no implicit type (most keys and values) the string tag at once.
    """

    # Built-ins, not methods: two Python calls per node were 4% of reading 100k rules.
    descend_resolver = operator.is_  # type: ignore[assignment]  # (parent, index) -> ignored
    ascend_resolver = tuple  # type: ignore[assignment]  # () -> ignored

    def resolve(self, kind: type[Node], value: Any, implicit: tuple[bool, bool]) -> str:
        if kind is ScalarNode:
            if implicit[0]:
                for tag, regexp in _IMPLICIT.get(value[:1], ()):
                    if regexp.match(value):
                        return tag
            return _STR
        return _SEQ if kind is SequenceNode else _MAP


# The safe loader's implicit resolvers by first character ("" for the empty scalar).
# It has no resolver for "any first character" (key None), which ``resolve`` would miss.
_IMPLICIT: Final[dict[str | None, list[tuple[str, re.Pattern[str]]]]] = (
    yaml.SafeLoader.yaml_implicit_resolvers
)


# Characters that cannot start a plain YAML value, though rule values often do: ">=7.5" (a block
# scalar indicator), "@babel" and "`x`" (reserved), "%" (a directive), "|" (a literal block).
_NEEDS_QUOTES: Final = ">|@`%"


def _quoting_hint(text: str, exc: yaml.MarkedYAMLError) -> str:
    """Say to quote the value when a syntax error comes from a value starting with one of them.

    >>> read("cvss_score_cmp: >=7\\n").problems[0].message.endswith("must be quoted: '>=7')")
    True
    """
    marks = [m for m in (exc.context_mark, exc.problem_mark) if m is not None]
    lines = text.splitlines()
    for mark in marks:
        line = lines[mark.line] if mark.line < len(lines) else ""
        start = mark.column
        if start < len(line) and line[start] in _NEEDS_QUOTES:
            word = line[start:]
            for stop in ",}]#":
                word = word.split(stop, 1)[0]
            word = word.strip().replace("'", "''")
            return f" (a value that starts with {line[start]!r} must be quoted: '{word}')"
    return ""


def _tab_message(text: str, exc: yaml.MarkedYAMLError) -> str | None:
    """The error for a tab used as indentation, which libyaml words as a character that
    "cannot start any token" or one that "violates indentation"; else ``None``.

    >>> read("org: acme\\nrules:\\n\\t- package: pkg:npm/a\\n").problems[0].message
    'YAML syntax error: tabs are not allowed for indentation; indent with spaces'
    """
    mark = exc.problem_mark
    lines = text.splitlines()
    if mark is None or mark.line >= len(lines):
        return None
    indent = lines[mark.line][: mark.column + 1]
    if not indent.endswith("\t") or indent.strip(" \t"):
        return None
    return "YAML syntax error: tabs are not allowed for indentation; indent with spaces"


def _reader_pos(text: str, exc: yaml.YAMLError) -> int:
    index = getattr(exc, "position", 0)
    index = index if isinstance(index, int) and 0 <= index <= len(text) else 0
    line = text.count("\n", 0, index) + 1
    return pack(line, index - (text.rfind("\n", 0, index) + 1) + 1)


class _Walker:
    """Builds values from nodes, sharing aliased subtrees and recording problems."""

    def __init__(self, loader: yaml.CSafeLoader, prose: frozenset[str]) -> None:
        self.loader = loader
        self.prose_keys = prose
        self.problems: list[Problem] = []
        self.memo: dict[int, Any] = {}
        self.sizes: dict[int, int] = {}
        self.active: set[int] = set()
        self.expanded = 0
        self.texts: dict[int, str] = {}
        self.names: list[str] = []
        self.prose: list[str] = []
        self.scalars: dict[str, Callable[[ScalarNode], Any]] = {
            _TAG + "str": lambda n: n.value,
            _TAG + "null": lambda n: None,
            _TAG + "bool": lambda n: yaml.constructor.SafeConstructor.bool_values[n.value.lower()],
            _TAG + "int": loader.construct_yaml_int,
            _TAG + "float": loader.construct_yaml_float,
            _TAG + "timestamp": lambda n: n.value,
        }

    def problem(self, node: Node, message: str) -> None:
        self.problems.append(Problem(_pos(node), message))

    def value(self, node: Node, depth: int) -> Any:
        key = id(node)
        if key in self.memo:  # an alias: the same subtree again
            self.expanded += self.sizes.get(key, 1)
            return self.memo[key]
        if key in self.active:
            self.problem(
                node, "a YAML alias refers to itself; recursive structures are not allowed"
            )
            return None
        if depth > MAX_DEPTH or self.expanded > MAX_EXPANDED:
            self.problem(node, "document nests too deeply or expands too far through aliases")
            return None
        before = self.expanded
        self.active.add(key)
        try:
            if isinstance(node, ScalarNode):
                result = self.scalar(node)
                if type(result) is str:
                    self.names.append(result)
            elif isinstance(node, SequenceNode):
                result = self.sequence(node, depth)
            elif isinstance(node, MappingNode):
                result = self.mapping(node, depth)
            else:  # the composer makes only the three kinds above
                result = None
        finally:
            self.active.discard(key)
        self.expanded += 1
        self.memo[key] = result
        self.sizes[key] = self.expanded - before
        return result

    def scalar(self, node: ScalarNode) -> Any:
        tag = node.tag
        if tag == _STR:  # by far the most common: skip the lookup
            return node.value
        build = self.scalars.get(tag)
        if build is None:
            self.problem(node, f"unsupported YAML tag {tag!r}; use plain values")
            return node.value
        try:
            value = build(node)
        except (ValueError, KeyError, OverflowError, IndexError):  # "!!int ''", 0b2, ...
            return node.value
        if isinstance(value, (bool, int, float)):
            self.texts[_pos(node)] = node.value
            if isinstance(value, float) and not math.isfinite(value):
                self.problem(node, f"{node.value} is not a finite number")
        return value

    def child(self, node: Node, depth: int, strings: list[str]) -> Any:
        """A value node, its strings added to ``strings``: scalars directly (no alias
        bookkeeping needed: an alias of a scalar is a copy as small as the alias), the rest
        via ``value``."""
        if type(node) is ScalarNode:
            self.expanded += 1
            if node.tag == _STR:
                value = node.value
            else:
                value = self.scalar(node)
                if type(value) is not str:
                    return value
            strings.append(value)
            return value
        return self.value(node, depth + 1)

    def sequence(self, node: SequenceNode, depth: int) -> YList:
        if node.tag != _SEQ:
            self.problem(node, f"unsupported YAML tag {node.tag!r}; use a plain list")
        result = YList(_pos(node), node)
        names = self.names
        for item in node.value:
            result.append(self.child(item, depth, names))
        return result

    def mapping(self, node: MappingNode, depth: int) -> YMap:
        if node.tag != _MAP:
            self.problem(node, f"unsupported YAML tag {node.tag!r}; use a plain mapping")
        result = YMap(_pos(node), node)
        names, prose, prose_keys = self.names, self.prose, self.prose_keys
        problems, expanded = len(self.problems), self.expanded
        for key_node, value_node in node.value:
            if type(key_node) is not ScalarNode or key_node.tag == _MERGE:
                # Rare: merge keys or odd keys. Start again on the careful path (strings
                # collected so far are collected again, which changes nothing).
                del self.problems[problems:]
                self.expanded = expanded
                return self.merged_mapping(node, depth)
            # The key's text, not its YAML 1.1 type: "on:" or "1:" is a field name, not a value.
            name = key_node.value
            if name in result:
                self.duplicate(node, key_node)
            if type(value_node) is ScalarNode and value_node.tag == _STR:  # ``child``, inlined
                value = value_node.value
                (prose if name in prose_keys else names).append(value)
                self.expanded += 1
            else:
                value = self.child(value_node, depth, prose if name in prose_keys else names)
            result[name] = value
        return result

    def duplicate(self, node: MappingNode, key_node: ScalarNode) -> None:
        name = key_node.value
        previous = key_node
        for key, _ in node.value:  # the nearest earlier one: a third says where the second was
            if key is key_node:
                break
            if key.value == name:
                previous = key
        line = previous.start_mark.line + 1
        self.problem(key_node, f"duplicate key {name!r} (first on line {line})")

    def merged_mapping(self, node: MappingNode, depth: int) -> YMap:
        self.check_duplicates(node)
        try:
            self.loader.flatten_mapping(node)  # resolves "<<: *anchor" merge keys
        except yaml.MarkedYAMLError as exc:
            self.problem(node, f"bad YAML merge key: {exc.problem}")
        result = YMap(_pos(node))
        for key_node, value_node in node.value:
            if not isinstance(key_node, ScalarNode) or key_node.tag == _MERGE:
                if key_node.tag != _MERGE:
                    self.problem(key_node, "mapping keys must be plain strings")
                continue
            name = key_node.value  # merged keys come first, so the mapping's own keys win
            strings = self.prose if name in self.prose_keys else self.names
            result[name] = self.child(value_node, depth, strings)
            result.fields[name] = (_pos(key_node), _pos(value_node))
        return result

    def check_duplicates(self, node: MappingNode) -> None:
        seen: dict[str, Node] = {}
        for key_node, _ in node.value:
            if not isinstance(key_node, ScalarNode) or key_node.tag == _MERGE:
                continue
            first = seen.setdefault(key_node.value, key_node)
            if first is not key_node:
                line = first.start_mark.line + 1
                self.problem(key_node, f"duplicate key {key_node.value!r} (first on line {line})")
