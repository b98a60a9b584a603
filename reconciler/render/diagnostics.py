"""``validate``'s findings as text, JSON, or GitHub workflow commands (per-line annotations).

A GitHub Actions runner reads ``::error file=F,line=L,col=C::message`` on stdout as an
annotation on that line of the pull request's diff. The runner's own toolkit escapes ``%``, CR
and LF in the message, and also ``:`` and ``,`` in property values; without that, a message
with a line break could start a workflow command of its own.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping, Sequence
from types import MappingProxyType
from typing import Any, Final, TextIO

from reconciler.errors import Diagnostic
from reconciler.redact import redact
from reconciler.render.escape import terminal_safe

_DATA: Final = {"%": "%25", "\r": "%0D", "\n": "%0A"}
_PROPERTY: Final = {**_DATA, ":": "%3A", ",": "%2C"}


def _escape(text: str, table: Mapping[str, str]) -> str:
    return "".join(table.get(ch, ch) for ch in text)


def workflow_command(diagnostic: Diagnostic) -> str:
    """One diagnostic as a GitHub workflow command.

    >>> from reconciler.errors import Location
    >>> workflow_command(Diagnostic(Location("a,b:c.yaml", 3, 7), "100% wrong"))
    '::error file=a%2Cb%3Ac.yaml,line=3,col=7::100%25 wrong'
    >>> workflow_command(Diagnostic(Location("gone/", 0, 0), "no such file", "warning"))
    '::warning file=gone/::no such file'
    """
    where = diagnostic.location
    props = [f"file={_escape(where.file, _PROPERTY)}"]
    if where.line:
        props += [f"line={where.line}", f"col={where.column}"]
    message = _escape(terminal_safe(redact(diagnostic.message)), _DATA)
    return f"::{diagnostic.severity} {','.join(props)}::{message}"


def _as_dict(diagnostic: Diagnostic) -> dict[str, Any]:
    return {
        "file": diagnostic.location.file,
        "line": diagnostic.location.line,
        "column": diagnostic.location.column,
        "severity": diagnostic.severity,
        "message": redact(diagnostic.message),
    }


def render_text(diagnostics: Sequence[Diagnostic], summary: str, out: TextIO) -> None:
    for diagnostic in diagnostics:
        out.write(terminal_safe(redact(diagnostic.line())) + "\n")
    out.write(summary + "\n")


def render_json(diagnostics: Sequence[Diagnostic], summary: str, out: TextIO) -> None:
    errors = [d for d in diagnostics if d.severity == "error"]
    document = {
        "ok": not errors,
        "summary": summary,
        "errors": [_as_dict(d) for d in errors],
        "warnings": [_as_dict(d) for d in diagnostics if d.severity != "error"],
    }
    json.dump(document, out, indent=2, sort_keys=True)
    out.write("\n")


def render_github(diagnostics: Sequence[Diagnostic], summary: str, out: TextIO) -> None:
    for diagnostic in diagnostics:
        out.write(workflow_command(diagnostic) + "\n")
    out.write(summary + "\n")


DIAGNOSTIC_RENDERERS: Final[Mapping[str, Callable[[Sequence[Diagnostic], str, TextIO], None]]] = (
    MappingProxyType({"text": render_text, "json": render_json, "github": render_github})
)
