"""Check a parsed rule file against ``triage-rules.schema.json`` and word each error for people.

jsonschema-rs (a compiled validator, draft 2020-12) finds every error of a file in ~1 µs a
rule, and ``findings`` words each at the position of the YAML node it is about. It replaced
jsonschema (~80 µs a rule) and the fastjsonschema gate in front of it (~8 µs): BENCHMARKS.md.
"""

from __future__ import annotations

import difflib
import functools
import json
import os
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Final

import jsonschema_rs

from reconciler.rules.yamlnodes import YList, YMap, pack

_START: Final = pack(1, 1)
_NO_TEXTS: Final[Mapping[int, str]] = {}

_TYPE_WORDS: Final = {
    "string": "a string",
    "object": "a mapping",
    "array": "a list",
    "boolean": "true or false",
    "integer": "an integer",
    "number": "a number",
}
# The schema's patterns, said in words.
_PATTERN_HINTS: Final = {
    "org": "is not an org slug (letters, digits, '.', '_' or '-', starting with a letter or digit)",
    "cvss_score_cmp": "is not a comparison: give an operator (>=, <=, >, <, ==) and a score "
    "from 0 to 10, e.g. '>=7.5'",
    "package_version": "has a '*' before the end; '*' is allowed only as a suffix, e.g. '7.*'",
    "expires": "is not a date written YYYY-MM-DD",
    "note": "is blank; say why",
    "package": "is not a purl; it must start with 'pkg:', e.g. 'pkg:npm/%40babel/traverse@7.*'",
}


@dataclass(frozen=True, order=True)
class Finding:
    """One schema error at a packed position (see ``yamlnodes.pack``)."""

    pos: int
    message: str


# A file beside the modules, read as a file: importlib.resources would add its imports
# (tempfile, shutil, zipfile: ~5 ms) to every start-up, for zip imports the package never uses.
_SCHEMA_FILE: Final = os.path.join(
    os.path.dirname(os.path.dirname(__file__)), "schemas", "triage-rules.schema.json"
)


@functools.cache
def schema() -> dict[str, Any]:
    """The rule-file JSON Schema shipped in the package."""
    with open(_SCHEMA_FILE, encoding="utf-8") as handle:
        loaded: dict[str, Any] = json.load(handle)
    return loaded


@functools.cache
def _validator() -> jsonschema_rs.Validator:
    # ``format`` is an annotation, as the schema's editors read it.
    return jsonschema_rs.Draft202012Validator(schema(), validate_formats=False)


def rule_fields() -> tuple[str, ...]:
    """Every field a rule may carry, in schema order."""
    return tuple(schema()["$defs"]["rule"]["properties"])


def findings(doc: Any, texts: Mapping[int, str] = _NO_TEXTS) -> list[Finding]:
    """Every schema error of one parsed file, sorted by position.

    ``texts`` (``yamlnodes.Document.texts``) lets a type error quote what the file said.
    """
    errors = _validator().iter_errors(doc)
    return sorted({f for error in errors for f in _translate(error, doc, texts)})


def _translate(
    error: jsonschema_rs.ValidationError, root: Any, texts: Mapping[int, str]
) -> Iterable[Finding]:
    path = tuple(error.instance_path)
    parent = _walk(root, path[:-1])
    pos = _value_pos(parent, path[-1]) if path else getattr(root, "pos", _START)
    label = _label(path)
    value = _walk(root, path)  # the error holds a copy; the YAML node knows its positions
    # The schema path is resolved through $ref: it ends at the failing keyword.
    keyword = str(error.schema_path[-1])
    where = _walk(schema(), error.schema_path[:-1])
    expected = where[keyword]
    if keyword == "required" and isinstance(value, YMap):
        for name in expected:
            if name not in value:
                yield Finding(value.pos, f"missing required field {name!r}")
    elif keyword == "additionalProperties" and isinstance(value, YMap):
        allowed = where.get("properties", {})
        for key in value:
            if key not in allowed:
                yield Finding(value.key_pos(key), _unknown_field(key, allowed, path))
    elif keyword == "type":
        yield Finding(pos, _type_message(label, expected, value, texts.get(pos)))
    elif keyword == "enum":
        if value is None or type(value) is str:  # other values get a type error instead
            choices = [c for c in expected if isinstance(c, str) and c]
            hint = _did_you_mean(str(value), choices)
            yield Finding(pos, f"{label}: {_show(value)} is not one of {', '.join(choices)}{hint}")
    elif keyword == "pattern":
        # Python's "$" also matches before a final newline, as jsonschema read the patterns;
        # that newline gets its own message (a control character) from textcheck.
        if not re.search(expected, value):
            hint = _PATTERN_HINTS.get(str(path[-1]), f"does not match {expected}")
            yield Finding(pos, f"{label}: {_show(value)} {hint}")
    elif keyword in ("minimum", "maximum"):
        bound = "at least" if keyword == "minimum" else "at most"
        yield Finding(pos, f"{label}: {_show(value)} must be {bound} {expected}")
    else:
        yield Finding(pos, f"{label}: {error.message}")


def _walk(root: Any, path: Sequence[Any]) -> Any:
    node = root
    for step in path:
        node = node[step]
    return node


def _value_pos(parent: Any, step: Any) -> int:
    if isinstance(parent, YMap):
        return parent.value_pos(step)
    if isinstance(parent, YList):
        position: int = parent.item_pos[step]
        return position
    return _START


def _label(path: Sequence[Any]) -> str:
    if len(path) > 2 and isinstance(path[-1], int) and isinstance(path[-2], str):
        return str(path[-2])  # an item of a list inside an entry: ``repositories``
    names: list[str] = []
    for step in path:
        names = [] if isinstance(step, int) else [*names, step]
    if names:
        return ".".join(names)
    if path and path[0] == "policies":
        return "policy"
    return "rule" if path else "rule file"


def _unknown_field(key: str, allowed: Iterable[str], path: Sequence[Any]) -> str:
    if path and path[-1] == "defaults" and key in rule_fields():
        return f"{key!r} cannot be set in defaults; give it on each rule"
    return f"unknown field {key!r}{_did_you_mean(key, allowed)}"


def _did_you_mean(word: str, choices: Iterable[str]) -> str:
    close = difflib.get_close_matches(word, list(choices), n=1, cutoff=0.6)
    return f" (did you mean {close[0]!r}?)" if close else ""


def _type_message(label: str, expected: str | list[str], value: Any, source: str | None) -> str:
    names = [expected] if isinstance(expected, str) else list(expected)
    words = " or ".join(_TYPE_WORDS[n] for n in names if n in _TYPE_WORDS) or "null"
    message = f"{label}: expected {words}, got {_show(value)}"
    if "string" in names and isinstance(value, (bool, int, float)):
        message += _quote_hint(value, source)
    return message


def _quote_hint(value: bool | float, source: str | None) -> str:
    """Why YAML made text a boolean or a number (``no``, ``1.10``), and how to keep it text."""
    if source is None:
        return " (quote it in YAML to keep it text)"
    kind = "a boolean" if isinstance(value, bool) else "a number"
    quoted = "'" + source.replace("'", "''") + "'"
    return f" (YAML reads {source} as {kind}; quote it to keep it text: {quoted})"


def _show(value: Any) -> str:
    """A short description of a value; never the repr of a whole (possibly huge) subtree."""
    if isinstance(value, bool):
        return f"the boolean {str(value).lower()}"
    if isinstance(value, (int, float)):
        return f"the number {value}"
    if value is None:
        return "null"
    if isinstance(value, dict):
        return "a mapping"
    if isinstance(value, list):
        return "a list"
    text = str(value)
    return repr(text if len(text) <= 60 else text[:57] + "...")
