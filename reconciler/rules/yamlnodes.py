"""Read YAML text into plain values that remember where each mapping, key and value started.

libyaml's C composer (``CSafeLoader.get_single_node``) keeps a start mark on every node, so
positions cost nothing extra; we then walk the node tree ourselves instead of using PyYAML's
constructor. That walk is also where we catch what PyYAML lets through silently: duplicate keys
(it keeps the last), non-string keys, recursive aliases, alias bombs and non-finite numbers
(``.nan`` and ``.inf`` would switch a safety threshold off).

The result is JSON-shaped (``YMap``, ``YList``, str, int, float, bool, None) so the JSON Schema
sees exactly what an editor sees. Timestamps stay as their text: ``expires: 2027-03-01`` is the
string ``"2027-03-01"``, and the loader parses dates itself so a bad date is an error, not a crash.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, Final

import yaml
from yaml.nodes import MappingNode, Node, ScalarNode, SequenceNode

_TAG = "tag:yaml.org,2002:"
_STR: Final = _TAG + "str"
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
    """A YAML mapping. ``pos`` is where it starts; ``fields[key]`` is (key pos, value pos)."""

    __slots__ = ("fields", "pos")

    def __init__(self, pos: int) -> None:
        super().__init__()
        self.pos = pos
        self.fields: dict[str, tuple[int, int]] = {}

    def key_pos(self, key: str) -> int:
        """Where ``key`` is written (the mapping's start if it is not)."""
        return self.fields[key][0] if key in self.fields else self.pos

    def value_pos(self, key: str) -> int:
        """Where the value of ``key`` starts (the mapping's start if it is absent)."""
        return self.fields[key][1] if key in self.fields else self.pos


class YList(list[Any]):
    """A YAML sequence. ``pos`` is where it starts; ``item_pos[i]`` is where item i starts."""

    __slots__ = ("item_pos", "pos")

    def __init__(self, pos: int) -> None:
        super().__init__()
        self.pos = pos
        self.item_pos: list[int] = []


@dataclass(frozen=True)
class Problem:
    """Something wrong in the YAML itself, at a packed position."""

    pos: int
    message: str


@dataclass
class Document:
    """The value of a file (``None`` when empty or unreadable) and the problems found.

    ``texts`` holds the source text of every scalar that YAML typed as a boolean or a number,
    by packed position, so that an error can say "YAML read 1.10 as a number".
    """

    root: Any
    problems: list[Problem] = field(default_factory=list)
    texts: dict[int, str] = field(default_factory=dict)


def read(text: str) -> Document:
    """Parse one YAML document. Never raises for bad input: problems are returned instead.

    >>> doc = read("org: acme\\nrules: []\\n")
    >>> doc.root, doc.root.key_pos("rules") == pack(2, 1)
    ({'org': 'acme', 'rules': []}, True)
    """
    loader = yaml.CSafeLoader(text)
    try:
        node = loader.get_single_node()
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        where = pack(mark.line + 1, mark.column + 1) if mark else pack(1, 1)
        parts = [p for p in (exc.context, exc.problem) if p]
        message = "YAML syntax error: " + ", ".join(parts) + _quoting_hint(text, exc)
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
    walker = _Walker(loader)
    return Document(walker.value(node, 0), walker.problems, walker.texts)


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


def _reader_pos(text: str, exc: yaml.YAMLError) -> int:
    index = getattr(exc, "position", 0)
    index = index if isinstance(index, int) and 0 <= index <= len(text) else 0
    line = text.count("\n", 0, index) + 1
    return pack(line, index - (text.rfind("\n", 0, index) + 1) + 1)


class _Walker:
    """Builds values from nodes, sharing aliased subtrees and recording problems."""

    def __init__(self, loader: yaml.CSafeLoader) -> None:
        self.loader = loader
        self.problems: list[Problem] = []
        self.memo: dict[int, Any] = {}
        self.sizes: dict[int, int] = {}
        self.active: set[int] = set()
        self.expanded = 0
        self.texts: dict[int, str] = {}
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
        except (ValueError, KeyError, OverflowError):  # e.g. an int too odd for PyYAML
            return node.value
        if isinstance(value, (bool, int, float)):
            self.texts[_pos(node)] = node.value
            if isinstance(value, float) and not math.isfinite(value):
                self.problem(node, f"{node.value} is not a finite number")
        return value

    def child(self, node: Node, depth: int) -> Any:
        """A value node: scalars directly (no alias bookkeeping needed), the rest via ``value``."""
        if type(node) is ScalarNode:
            self.expanded += 1
            return self.scalar(node)
        return self.value(node, depth + 1)

    def sequence(self, node: SequenceNode, depth: int) -> YList:
        if node.tag != _TAG + "seq":
            self.problem(node, f"unsupported YAML tag {node.tag!r}; use a plain list")
        result = YList(_pos(node))
        for item in node.value:
            result.item_pos.append(_pos(item))
            result.append(self.child(item, depth))
        return result

    def mapping(self, node: MappingNode, depth: int) -> YMap:
        if node.tag != _TAG + "map":
            self.problem(node, f"unsupported YAML tag {node.tag!r}; use a plain mapping")
        result = YMap(_pos(node))
        fields = result.fields
        problems, expanded = len(self.problems), self.expanded
        for key_node, value_node in node.value:
            if type(key_node) is not ScalarNode or key_node.tag == _MERGE:
                # Rare: merge keys or odd keys. Start again on the careful path.
                del self.problems[problems:]
                self.expanded = expanded
                return self.merged_mapping(node, depth)
            # The key's text, not its YAML 1.1 type: "on:" or "1:" is a field name, not a value.
            name = key_node.value
            if name in fields:
                line = fields[name][0] >> 16
                self.problem(key_node, f"duplicate key {name!r} (first on line {line})")
            result[name] = self.child(value_node, depth)
            fields[name] = (_pos(key_node), _pos(value_node))
        return result

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
            result[name] = self.child(value_node, depth)
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
