"""A progress display for long listings, drawn only for a person watching a terminal."""

from __future__ import annotations

import contextlib
import itertools
import sys
from collections.abc import Callable, Iterator
from typing import TextIO

import click


@contextlib.contextmanager
def rules_progress(
    label: str = "Reading rules", stream: TextIO | None = None
) -> Iterator[Callable[[int], None] | None]:
    """Yield an ``on_page`` callback drawing a click progress bar on stderr, or ``None``.

    ``None`` when the stream is not a TTY, so piped output and CI logs stay clean. The total is
    unknown while paging, so the bar counts rules read rather than showing a percentage.

    >>> with rules_progress(stream=__import__("io").StringIO()) as on_page:
    ...     on_page is None
    True
    """
    out = sys.stderr if stream is None else stream
    if not out.isatty():
        yield None
        return
    # An iterable without len() makes click draw a counter instead of a percentage.
    with click.progressbar(itertools.count(), label=label, file=out, show_pos=True) as bar:

        def on_page(rules_so_far: int) -> None:
            bar.update(max(0, rules_so_far - bar.pos))

        yield on_page
