from __future__ import annotations

import shutil
from pathlib import Path
from typing import Any

import pytest

from reconciler.rules.reference import (
    BEGIN,
    COPIES,
    DOC_PATHS,
    END,
    SCHEMA_COPY,
    SCHEMA_PATH,
    load_schema,
    main,
    render_reference,
    splice,
)

ROOT = Path(__file__).resolve().parent.parent

TINY: dict[str, Any] = {
    "description": "Rules for *one* org.",
    "type": "object",
    "required": ["org"],
    "properties": {
        "org": {"type": "string", "description": "The org."},
        "limits": {
            "type": "object",
            "description": "Limits.",
            "properties": {
                "max": {"type": "number", "minimum": 0, "maximum": 100, "default": 30},
            },
        },
        "defaults": {
            "type": "object",
            "properties": {"state": {"$ref": "#/$defs/state"}},
        },
        "rules": {"type": "array", "items": {"$ref": "#/$defs/rule"}},
    },
    "$defs": {
        "state": {"enum": ["block", "", None], "description": "What to do."},
        "rule": {
            "type": "object",
            "required": ["state"],
            "properties": {
                "state": {"$ref": "#/$defs/state"},
                "cmp": {"type": ["string", "null"], "pattern": "^(>|<)$", "examples": [">=7"]},
                "note": {"type": "string", "description": "Why package_* and 7.*"},
            },
        },
    },
}


@pytest.mark.parametrize("doc", DOC_PATHS, ids=str)
def test_committed_reference_matches_schema(doc: Path) -> None:
    generated = render_reference(load_schema(ROOT / SCHEMA_PATH))
    text = (ROOT / doc).read_text(encoding="utf-8")
    assert splice(text, generated) == text, f"{doc} is stale: run script/gen-reference"


@pytest.mark.parametrize(("copy", "source"), COPIES.items(), ids=str)
def test_each_public_copy_is_its_package_file_byte_for_byte(copy: Path, source: Path) -> None:
    assert (ROOT / copy).read_bytes() == (ROOT / source).read_bytes(), "run script/gen-reference"


def test_gen_reference_reports_then_rewrites_a_stale_schema_copy(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    for path in (*COPIES.values(), *COPIES, *DOC_PATHS):
        (tmp_path / path).parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(ROOT / path, tmp_path / path)
    (tmp_path / SCHEMA_COPY).write_text("{}\n")
    assert main(["--check"], root=tmp_path) == 1
    assert capsys.readouterr().out == f"{SCHEMA_COPY}: out of date\n"
    assert main([], root=tmp_path) == 0
    assert main(["--check"], root=tmp_path) == 0
    assert (tmp_path / SCHEMA_COPY).read_bytes() == (ROOT / SCHEMA_PATH).read_bytes()


def test_every_schema_field_is_documented() -> None:
    schema = load_schema(ROOT / SCHEMA_PATH)
    text = render_reference(schema)
    fields = set(schema["properties"]) | set(schema["$defs"]["rule"]["properties"])
    assert {name for name in fields if f"| `{name}` |" not in text} == set()


@pytest.mark.parametrize(
    "expected",
    [
        "Rules for \\*one\\* org.",
        "### Top level",
        "| `org` | **required** string | The org. |",
        "| `limits` | object (table below) | Limits. |",
        "| `rules` | array of rule |  |",
        "### `limits`",
        "| `max` | number; from 0 to 100; default `30` |  |",
        "### `rules[]`",
        '| `state` | **required** one of `block`, `""`, `null` | What to do. |',
        "| `cmp` | string or null; matching `^(>\\|<)$` | Example: `>=7`. |",
        "| `note` | string | Why package_\\* and 7.\\* |",
        "Fields: `state`. As in `rules[]`.",
    ],
)
def test_render_reference(expected: str) -> None:
    assert expected in render_reference(TINY).splitlines()


def test_render_reference_collapses_only_subsets() -> None:
    text = render_reference(TINY)
    assert "### `defaults`" in text
    assert "| `state` |" in text.split("### `rules[]`")[1]
    assert "| `state` |" not in text.split("### `defaults`")[1].split("###")[0]


def test_splice_replaces_only_between_markers() -> None:
    doc = f"intro\n{BEGIN}\nold\n{END}\noutro\n"
    assert splice(doc, "new\n") == f"intro\n{BEGIN}\nnew\n{END}\noutro\n"


def test_splice_without_markers_is_an_error() -> None:
    with pytest.raises(ValueError, match="markers"):
        splice("no markers here", "x")
