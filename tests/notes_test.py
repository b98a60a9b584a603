from __future__ import annotations

import pytest

from reconciler import notes
from reconciler.redact import redact


@pytest.mark.parametrize(
    ("human", "trailer"),
    [
        ("Build only", "[socket-triage] source=a.yaml:3"),
        ("multi\nline\n\nnote", "[socket-triage] x"),
        ("", "[socket-triage] x"),
        ("plain", None),
    ],
)
def test_compose_then_split_recovers_both_parts(human: str, trailer: str | None) -> None:
    assert notes.split(notes.compose(human, trailer)) == (human, trailer)


def test_a_note_without_trailer_is_all_human() -> None:
    assert notes.split("typed in the dashboard\n") == ("typed in the dashboard", None)


def test_trailer_prefix_in_the_middle_is_not_a_trailer() -> None:
    note = "[socket-triage] mentioned first\nthen more text"
    assert notes.split(note) == (note, None)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("token sktsec_abcDEF-123 here", "token sktsec_*** here"),
        ("Bearer sktsec_x.y_z", "Bearer sktsec_***"),
        ("no token", "no token"),
    ],
)
def test_redact_hides_socket_tokens(text: str, expected: str) -> None:
    assert redact(text) == expected


def test_redact_hides_a_given_secret_of_any_shape() -> None:
    assert "hunter22" not in redact("auth hunter22 failed", "hunter22")


SEAL = notes.seal("acme", ("npm", None, "lodash"))


def test_a_trailer_parses_back_to_its_fields_and_seal() -> None:
    line = notes.trailer([("source", "a.yaml:3"), ("pr", "42")], SEAL)
    assert notes.parse(line) == notes.Trailer((("source", "a.yaml:3"), ("pr", "42")), SEAL)


@pytest.mark.parametrize(
    ("key", "value"), [("source", "a b"), ("source", "a\x1b"), ("owner", "me"), ("sel", SEAL)]
)
def test_a_field_that_would_not_parse_back_is_refused(key: str, value: str) -> None:
    with pytest.raises(ValueError, match="not a trailer field"):
        notes.trailer([(key, value)], SEAL)


def test_fields_that_do_not_fit_are_left_out_whole() -> None:
    fields = [("source", "s" * 60), ("repo", "r" * 60), ("pr", "7")]
    line = notes.trailer(fields, SEAL)
    assert len(line) <= notes.MAX_TRAILER
    assert line == f"[socket-triage] source={'s' * 60} pr=7 sel={SEAL}"
