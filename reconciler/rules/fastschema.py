"""A conservative check compiled from a JSON Schema, so that valid files never load jsonschema.

``compile_check(node, defs)`` turns the subset of JSON Schema that the rule-file schema uses
(type, properties, additionalProperties: false, required, items, $ref into ``$defs``, enum,
pattern, minimum, maximum) into one plain function. It is conservative: when it says "valid",
jsonschema would agree; anything it is unsure of (a keyword it does not know, a float where an
integer is asked, a ``dict`` that is not a ``YMap``) says "invalid" and goes to jsonschema, which
finds and words the errors. ``format`` is an annotation here, as in jsonschema without a format
checker.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from typing import Any, Final

from reconciler.rules.yamlnodes import YList, YMap

Check = Callable[[Any], bool]

ANNOTATIONS: Final = frozenset(
    {"description", "examples", "default", "format", "title", "$comment", "markdownDescription"}
)
_KNOWN: Final = frozenset(
    {"type", "properties", "additionalProperties", "required", "items", "$ref", "enum"}
    | {"pattern", "minimum", "maximum", "$schema", "$defs"}
)
_PY_TYPES: Final[dict[str, tuple[type, ...]]] = {
    "string": (str,),
    "null": (type(None),),
    "boolean": (bool,),
    "integer": (int,),
    "number": (int, float),
    "object": (YMap,),
    "array": (YList,),
}
_REF_PREFIX: Final = "#/$defs/"


def compile_check(node: Mapping[str, Any], defs: Mapping[str, Any]) -> Check | None:
    """A check for ``node`` (``$ref``s resolved in ``defs``), or ``None`` if it uses more
    than this module knows."""
    if set(node) - ANNOTATIONS - _KNOWN:
        return None
    if "$ref" in node:
        return _compile_ref(node, defs)
    text = _text_check(node)
    if text is not None:
        return text
    parts = [
        _type_check(node),
        _enum_check(node),
        _pattern_check(node),
        _bounds_check(node),
        _object_check(node, defs),
        _items_check(node, defs),
    ]
    checks: list[Check] = []
    for part in parts:
        if part is None:
            return None
        if part is not _ANY:
            checks.append(part)
    return _all_of(checks)


def _all_of(checks: list[Check]) -> Check:
    """A check that every one of ``checks`` passes; this runs for every value of 100k rules,
    so the common counts (one or two checks) get no loop."""
    if not checks:
        return _ANY
    if len(checks) == 1:
        return checks[0]
    if len(checks) == 2:
        first, second = checks

        def both(value: Any) -> bool:
            return first(value) and second(value)

        return both

    def every(value: Any) -> bool:
        return all(check(value) for check in checks)

    return every


def _text_check(node: Mapping[str, Any]) -> Check | None:
    """One function for the commonest field schema, text (or null) with an enum or a pattern:
    the same answers as the type check and the other check together, in one call per value."""
    keys = node.keys() - ANNOTATIONS
    if keys not in ({"type", "enum"}, {"type", "pattern"}):
        return None
    kinds = node["type"]
    names = {kinds} if isinstance(kinds, str) else set(kinds)
    if not names <= {"string", "null"} or "string" not in names:
        return None
    null = "null" in names
    if "enum" in keys:
        allowed = frozenset(a for a in node["enum"] if type(a) is str or (null and a is None))
        # Only text and None get here, so the set lookup cannot meet an unhashable value.
        return lambda value: (type(value) is str or value is None) and value in allowed
    search = re.compile(node["pattern"]).search
    if null:
        return lambda value: value is None or (type(value) is str and search(value) is not None)
    return lambda value: type(value) is str and search(value) is not None


def is_scalar(value: Any) -> bool:
    """A value an enum may hold that the checks compare by type and value: text or null."""
    return value is None or type(value) is str


def _any(value: Any) -> bool:
    return True


_ANY: Final[Check] = _any


def _compile_ref(node: Mapping[str, Any], defs: Mapping[str, Any]) -> Check | None:
    ref = node["$ref"]
    if len(node.keys() - ANNOTATIONS) != 1 or not ref.startswith(_REF_PREFIX):
        return None
    target = defs.get(ref.removeprefix(_REF_PREFIX))
    return None if target is None else compile_check(target, defs)


def _type_check(node: Mapping[str, Any]) -> Check | None:
    if "type" not in node:
        return _ANY
    kinds = node["type"]
    names = [kinds] if isinstance(kinds, str) else list(kinds)
    if any(name not in _PY_TYPES for name in names):
        return None
    # Exact Python types only: the check may say "invalid" too often, never "valid" wrongly.
    types = frozenset(t for name in names for t in _PY_TYPES[name])
    if len(types) == 1:
        (only,) = types
        return lambda value: type(value) is only
    return lambda value: type(value) in types


def _enum_check(node: Mapping[str, Any]) -> Check | None:
    if "enum" not in node:
        return _ANY
    allowed = frozenset((type(a), a) for a in node["enum"] if is_scalar(a))
    return lambda value: (value is None or type(value) is str) and (type(value), value) in allowed


def _pattern_check(node: Mapping[str, Any]) -> Check | None:
    if "pattern" not in node:
        return _ANY
    regex = re.compile(node["pattern"])
    # jsonschema ignores a pattern for non-strings; a str subclass is "unsure".
    return lambda value: (
        not isinstance(value, str) or (type(value) is str and regex.search(value) is not None)
    )


def _bounds_check(node: Mapping[str, Any]) -> Check | None:
    low, high = node.get("minimum"), node.get("maximum")
    if low is None and high is None:
        return _ANY

    def check_bounds(value: Any) -> bool:
        if type(value) not in (int, float):
            return type(value) is not bool and not isinstance(value, (int, float))
        return (low is None or value >= low) and (high is None or value <= high)

    return check_bounds


def _object_check(node: Mapping[str, Any], defs: Mapping[str, Any]) -> Check | None:
    if not {"properties", "additionalProperties", "required"} & node.keys():
        return _ANY
    extra = node.get("additionalProperties", True)
    if extra not in (True, False):
        return None
    props: dict[str, Check] = {}
    for name, sub in node.get("properties", {}).items():
        check = compile_check(sub, defs)
        if check is None:
            return None
        props[name] = check
    required = tuple(node.get("required", ()))
    closed = extra is False
    known = props.keys()
    get = props.get

    def check_object(value: Any) -> bool:
        if type(value) is not YMap:
            # jsonschema ignores these keywords for non-objects; say "unsure" unless it is plain.
            return not isinstance(value, dict)
        for name in required:
            if name not in value:
                return False
        if closed and not value.keys() <= known:
            return False
        for key, item in value.items():
            prop = get(key)
            if prop is not None and not prop(item):
                return False
        return True

    return check_object


def _items_check(node: Mapping[str, Any], defs: Mapping[str, Any]) -> Check | None:
    if "items" not in node:
        return _ANY
    item = compile_check(node["items"], defs)
    if item is None:
        return None

    def check_items(value: Any) -> bool:
        if type(value) is not YList:
            return not isinstance(value, list)
        return all(map(item, value))

    return check_items
