"""The one table of selector fields (``wire.SELECTOR``) and everything that must agree with it."""

from __future__ import annotations

import typing

import pytest

from reconciler.rules import ruleschema
from reconciler.vocab.triage import wire
from reconciler.vocab.triage.selector import Selector

TABLE = wire.SELECTOR


def test_the_selector_type_has_the_tables_fields_in_its_order() -> None:
    assert Selector._fields == tuple(f.name for f in TABLE) == wire.SELECTOR_FIELDS
    hints = typing.get_type_hints(Selector)
    assert all(hints[f.name] == str | None for f in TABLE)


def test_spellings_and_value_sets_derive_from_the_table() -> None:
    assert {
        "uuid": "uuid",
        **{f.name: f.post for f in TABLE},
        "note": "note",
        "state": "state",
    } == wire.SNAKE_TO_CAMEL
    assert {v: k for k, v in wire.SNAKE_TO_CAMEL.items()} == wire.CAMEL_TO_SNAKE
    assert {f.name: f.values for f in TABLE if f.values} == wire.ENUM_FIELDS
    assert wire.PACKAGE_FIELDS == (
        "package_type",
        "package_namespace",
        "package_name",
        "package_version",
    )
    assert set(wire.SELECTOR_FIELDS) <= set(wire.GET_FIELDS)
    assert set(wire.GET_FIELDS) - set(wire.SELECTOR_FIELDS) == {
        "uuid",
        "created_at",
        "updated_at",
        "note",
        "organization_id",
        "state",
    }


@pytest.mark.parametrize("section", ["rule", "defaults"])
def test_the_schema_has_every_selector_field_with_the_tables_values(section: str) -> None:
    schema = ruleschema.schema()
    props = (
        schema["$defs"]["rule"]["properties"]
        if section == "rule"
        else (schema["properties"]["defaults"]["properties"])
    )
    for field in TABLE:
        prop = props[field.name]
        assert prop["type"] == ["string", "null"], field.name
        if field.values:
            assert prop["enum"] == [*field.values, "", None], field.name
        else:
            assert "enum" not in prop, field.name


def test_wire_forms_follow_the_table_for_set_and_any_values() -> None:
    selector = Selector(package_name="lodash", kevs="exist")
    camel = selector.to_camel()
    assert list(camel) == [f.post for f in TABLE]
    for field in TABLE:
        value = getattr(selector, field.name)
        expected = value if value is not None else ("*" if field.values else None)
        assert camel[field.post] == selector.to_snake()[field.name] == expected


def test_from_snake_builds_by_name_and_describe_shows_non_package_fields_by_name() -> None:
    every = {f.name: f"v-{f.name}" for f in TABLE}
    selector = Selector.from_snake(every)
    assert all(getattr(selector, name) == value for name, value in every.items())
    words = selector.describe().split(" ")
    assert words[0] == selector.purl()
    assert words[1:] == [f"{f.name}=v-{f.name}" for f in TABLE if not f.package]
