"""Renderers: one registry, from which the CLI's ``--format`` choices come.

A renderer takes a Plan and a text stream (and ``colour``, which only the text renderer uses)
and reads only ``to_dict()`` forms, so what is shown is exactly what a saved plan holds. To add
a format, write a module with one such function and add it to ``RENDERERS``.

>>> sorted(RENDERERS)
['json', 'markdown', 'text']
"""

from __future__ import annotations

from collections.abc import Mapping
from types import MappingProxyType
from typing import TYPE_CHECKING, Final, Protocol, TextIO

from reconciler.render.jsonplan import render_json
from reconciler.render.markdown import render_markdown
from reconciler.render.text import render_text

if TYPE_CHECKING:  # annotations only: --version and validate need not load the engine
    from reconciler.engine.plan import Plan


class Renderer(Protocol):
    def __call__(self, plan: Plan, out: TextIO, *, colour: bool = False) -> None: ...


RENDERERS: Final[Mapping[str, Renderer]] = MappingProxyType(
    {"text": render_text, "json": render_json, "markdown": render_markdown}
)
DEFAULT_FORMAT: Final = "text"

__all__ = [
    "DEFAULT_FORMAT",
    "RENDERERS",
    "Renderer",
    "render_json",
    "render_markdown",
    "render_text",
]
