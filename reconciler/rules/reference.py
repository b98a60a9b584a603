"""Render the rule-file reference (Markdown tables) from ``triage-rules.schema.json``.

The docs never describe a field by hand: README.md and docs/rule-reference.md hold this module's
output between two markers, ``script/gen-reference`` rewrites it, and a test fails when the
committed text and the schema disagree.

There is one schema: ``reconciler/schemas/triage-rules.schema.json``, package data that
``validate`` reads, installed with the wheel. ``schemas/triage-rules.schema.json`` at the
repository root is a byte-for-byte copy for editors' ``$schema`` comments and raw URLs (a copy,
not a symbolic link, which raw URLs and Windows checkouts do not follow); ``script/gen-reference``
writes it, and the API spec's copy beside it, and a test fails when either differs.
"""

from __future__ import annotations

import json
import sys
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Final

BEGIN: Final = "<!-- BEGIN GENERATED: rule-reference (script/gen-reference) -->"
END: Final = "<!-- END GENERATED: rule-reference -->"
SCHEMA_PATH: Final = Path("reconciler/schemas/triage-rules.schema.json")
SCHEMA_COPY: Final = Path("schemas/triage-rules.schema.json")
# Each public copy at the repository root, and the package file it copies.
COPIES: Final = {
    SCHEMA_COPY: SCHEMA_PATH,
    Path("schemas/socket-triage-api-openapi.yml"): Path(
        "reconciler/schemas/socket-triage-api-openapi.yml"
    ),
}
DOC_PATHS: Final = (Path("README.md"), Path("docs/rule-reference.md"))

Schema = Mapping[str, Any]


@dataclass(frozen=True)
class _Section:
    """One table: the fields of the object at ``path`` (``""``, ``safety``, ``rules[]``, ...)."""

    path: str
    schema: Schema

    @property
    def title(self) -> str:
        return f"`{self.path}`" if self.path else "Top level"


def render_reference(schema: Schema) -> str:
    """The Markdown reference: a lead paragraph, then one table per object in the schema.

    Each table row is a field, its type and allowed values, and its description. An object whose
    fields all appear, identical, in a larger table is listed by name instead of repeated.
    """
    sections = _sections(schema, _Section("", schema))
    out = [_cell(_prose(schema.get("description", ""))), ""]
    for section in sections:
        out += [f"### {section.title}", ""]
        description = section.schema.get("description")
        if description and section.schema is not schema:
            out += [_cell(_prose(description)), ""]
        superset = _superset(section, sections)
        if superset is not None:
            names = ", ".join(f"`{name}`" for name in _properties(section.schema))
            out += [f"Fields: {names}. As in {superset.title}.", ""]
            continue
        out += _table(section.schema, schema)
        out.append("")
    return "\n".join(out).rstrip() + "\n"


def _sections(root: Schema, section: _Section) -> list[_Section]:
    """This object's section, then one for each nested object or array of objects, in order."""
    found = [section]
    for name, prop in _properties(section.schema).items():
        child, label = _resolve(prop, root), name
        if child.get("type") == "array":
            child, label = _resolve(child.get("items", {}), root), f"{name}[]"
        if _properties(child):
            path = f"{section.path}.{label}" if section.path else label
            found += _sections(root, _Section(path, child))
    return found


def _superset(section: _Section, sections: Sequence[_Section]) -> _Section | None:
    mine = _properties(section.schema)
    for other in sections:
        theirs = _properties(other.schema)
        if len(theirs) > len(mine) and all(theirs.get(k) == v for k, v in mine.items()):
            return other
    return None


def _table(obj: Schema, root: Schema) -> list[str]:
    required = set(obj.get("required", ()))
    rows = [
        "| Field | Type and allowed values | Description |",
        "| --- | --- | --- |",
    ]
    for name, prop in _properties(obj).items():
        resolved = _resolve(prop, root)
        kind = _type_text(prop, root)
        if name in required:
            kind = f"**required** {kind}"
        rows.append(f"| `{name}` | {_cell(kind)} | {_cell(_describe(resolved))} |")
    return rows


def _type_text(prop: Schema, root: Schema) -> str:
    resolved = _resolve(prop, root)
    if "enum" in resolved:
        base = "one of " + ", ".join(_literal(v) for v in resolved["enum"])
    else:
        base = " or ".join(_one_type(t, resolved, root) for t in _types(resolved)) or "any"
    details = []
    if "pattern" in resolved:
        details.append(f"matching `{resolved['pattern']}`")
    if "format" in resolved:
        details.append(f"format `{resolved['format']}`")
    if "minimum" in resolved or "maximum" in resolved:
        low, high = resolved.get("minimum"), resolved.get("maximum")
        if low is not None and high is not None:
            details.append(f"from {low} to {high}")
        else:
            details.append(f"at least {low}" if low is not None else f"at most {high}")
    if "default" in resolved:
        details.append(f"default {_literal(resolved['default'])}")
    return "; ".join([base, *details])


def _one_type(kind: str, prop: Schema, root: Schema) -> str:
    if kind == "array":
        items = prop.get("items", {})
        ref = items.get("$ref")
        inner = ref.rsplit("/", 1)[-1] if ref else " or ".join(_types(_resolve(items, root)))
        return f"array of {inner or 'any'}"
    if kind == "object" and _properties(prop):
        return "object (table below)"
    return kind


def _describe(prop: Schema) -> str:
    text = _prose(prop.get("description", ""))
    examples = prop.get("examples")
    if examples:
        text += " Example: " + ", ".join(_literal(e) for e in examples) + "."
    return text.strip()


def _types(prop: Schema) -> list[str]:
    kind = prop.get("type")
    if isinstance(kind, list):
        return [str(k) for k in kind]
    return [str(kind)] if kind else []


def _properties(obj: Schema) -> dict[str, Schema]:
    props = obj.get("properties")
    return dict(props) if isinstance(props, Mapping) else {}


def _resolve(prop: Schema, root: Schema) -> Schema:
    """Follow a local ``$ref`` such as ``#/$defs/rule``; other schemas are returned as given."""
    ref = prop.get("$ref")
    if not isinstance(ref, str) or not ref.startswith("#/"):
        return prop
    node: Any = root
    for part in ref[2:].split("/"):
        node = node[part]
    return _resolve(node, root)


def _literal(value: object) -> str:
    if isinstance(value, str) and value:
        return f"`{value}`"
    return f"`{json.dumps(value)}`"


def _prose(text: object) -> str:
    """Escape ``*`` outside code spans, so "package_* ... 7.*" never turns into emphasis."""
    parts = str(text).split("`")
    parts[::2] = [part.replace("*", "\\*") for part in parts[::2]]
    return "`".join(parts)


def _cell(text: str) -> str:
    """Table-safe: one line, and a pipe cannot end the cell (GFM honours ``\\|`` in code too)."""
    return " ".join(text.split()).replace("|", "\\|")


def splice(document: str, generated: str) -> str:
    """Replace the text between ``BEGIN`` and ``END`` in ``document`` with ``generated``."""
    head, begin, rest = document.partition(BEGIN)
    _, end, tail = rest.partition(END)
    if not begin or not end:
        raise ValueError(f"markers {BEGIN!r} and {END!r} not found")
    return f"{head}{BEGIN}\n{generated}{END}{tail}"


def load_schema(path: Path = SCHEMA_PATH) -> dict[str, Any]:
    """Read the rule-file schema."""
    data: dict[str, Any] = json.loads(path.read_text(encoding="utf-8"))
    return data


def generated_files(root: Path = Path()) -> dict[Path, str]:
    """What ``script/gen-reference`` writes under ``root``: each doc, and each copy."""
    wanted = {copy: (root / source).read_text(encoding="utf-8") for copy, source in COPIES.items()}
    generated = render_reference(json.loads(wanted[SCHEMA_COPY]))
    for path in DOC_PATHS:
        wanted[path] = splice((root / path).read_text(encoding="utf-8"), generated)
    return wanted


def main(argv: Sequence[str] | None = None, root: Path = Path()) -> int:
    """Rewrite the generated files; with ``--check``, only report those out of date."""
    args = list(sys.argv[1:] if argv is None else argv)
    check = "--check" in args
    stale = []
    for path, text in generated_files(root).items():
        target = root / path
        current = target.read_text(encoding="utf-8") if target.is_file() else None
        if current != text:
            stale.append(str(path))
            if not check:
                target.write_text(text, encoding="utf-8")
    verb = "out of date" if check else "regenerated"
    for name in stale:
        print(f"{name}: {verb}")
    return 1 if check and stale else 0


if __name__ == "__main__":
    raise SystemExit(main())
