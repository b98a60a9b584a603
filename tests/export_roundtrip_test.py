"""An exported rule file reads back as exactly what was exported, whatever the notes and names."""

from __future__ import annotations

from unittest.mock import patch

import yaml
from hypothesis import given, settings
from hypothesis import strategies as st

from reconciler.triage import export
from reconciler.triage.export import render_rule_file
from reconciler.vocab.triage.selector import LiveRule, Selector

# Printable text, line breaks and the characters YAML treats specially (quotes, colons, `#`,
# leading dashes, non-ASCII): what a note or package name typed in the dashboard may hold.
TEXT = st.text(
    alphabet=st.characters(blacklist_categories=("Cc", "Cs"), whitelist_characters="\n\t"),
    min_size=1,
    max_size=300,
).filter(lambda s: s.strip() != "" and s.strip() != "*")


@settings(max_examples=200, deadline=None)
@given(notes=st.lists(TEXT, min_size=1, max_size=5), names=st.lists(TEXT, min_size=1, max_size=5))
def test_an_exported_file_loads_back_to_the_live_notes_and_names(
    notes: list[str], names: list[str]
) -> None:
    live = [
        LiveRule(
            uuid=f"u{i}",
            selector=Selector(package_type="npm", package_name=name.strip(), alert_type="cve"),
            state="ignore",
            note=note,
            created_at=f"2026-01-01T00:00:{i:02d}Z",
        )
        for i, (note, name) in enumerate(zip(notes, names, strict=False))
    ]
    loaded = yaml.safe_load(render_rule_file("acme", live).text)
    got = {(r["package_name"], r["note"]) for r in loaded["rules"]}
    want = {(r.selector.package_name, r.human_note) for r in live}
    # Several live rules on one selector export once (the oldest): compare by selector.
    assert {name for name, _ in got} == {name for name, _ in want}
    for name, note in got:
        assert (name, note) in want


@settings(max_examples=100, deadline=None)
@given(notes=st.lists(TEXT, min_size=0, max_size=9))
def test_rules_written_in_chunks_are_the_text_of_one_document(notes: list[str]) -> None:
    """A large export goes to the emitter a chunk of rules at a time (memory); the file must be
    the one the whole document gives, byte for byte, whatever the notes."""
    live = [
        LiveRule(
            uuid=f"u{i}",
            selector=Selector(package_type="npm", package_name=f"pkg-{i}", alert_type="cve"),
            state="ignore",
            note=note,
            created_at=f"2026-01-01T00:00:{i:02d}Z",
        )
        for i, note in enumerate(notes)
    ]
    with patch.object(export, "_CHUNK", 2):  # 2 a chunk: every boundary case in 9 rules
        chunked = export.render_rule_file("acme", live).text
    rules = [export.rule_document(r) for r in sorted(live, key=lambda r: r.selector)]
    document = {"org": "acme", "rules": rules}
    dumped = yaml.dump(
        document, Dumper=export._DUMPER, sort_keys=False, allow_unicode=True, width=100
    )
    assert chunked.endswith(dumped)
