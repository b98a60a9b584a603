"""The one display that owns the terminal: the phase under way on the last line, logs above it.

A run's phases (listing an org, applying, checking after apply) each hold the status line
while they run: ``Listing acme: 4,000 rules``, ``Applying acme: 120/500 (24%)``, ``Checking
acme``. Log records (the HTTP client's retry warnings, the debug trace) go through
``LogHandler``, which clears the status line, prints the record on a line of its own, and
draws the status again, so a warning is never glued to a bar. A 429 does not print a line
while a phase runs: the status line counts the waits (``rate limited (429) 3 times, last
wait 7.0 s``), and the phase's end says how many there were. A finished phase clears its line.

Off a terminal (a pipe, a CI log, a test) nothing is drawn and every record is a plain line,
as before: ``rules_progress`` and ``phase`` yield ``None``.
"""

from __future__ import annotations

import contextlib
import logging
import sys
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Final, TextIO

import click

# A status line is redrawn at most this often; a log line or a phase change redraws at once.
REDRAW_EVERY: Final = 0.1
# The ANSI sequence that returns to the start of the line and erases it (every terminal
# click supports, Windows 10+ included).
_CLEAR: Final = "\r\x1b[2K"
# ``extra`` key the HTTP client sets on a 429 warning: the wait it asks of every request.
RATE_LIMITED: Final = "rate_limited"


@dataclass
class _Phase:
    label: str
    stream: TextIO
    total: int | None = None
    done: int = 0
    unit: str = ""
    waits: int = 0
    wait: float = 0.0

    def status(self) -> str:
        text = self.label
        if self.total:
            text += f": {self.done:,}/{self.total:,} ({100 * self.done // self.total}%)"
        elif self.unit:
            text += f": {self.done:,} {self.unit}{'' if self.done == 1 else 's'}"
        if self.waits:
            text += f" · rate limited (429) {_times(self.waits)}, last wait {self.wait:.1f} s"
        return text


@dataclass
class Display:
    """The status line on a terminal, shared by every thread; phases nest, the newest shown."""

    phases: list[_Phase] = field(default_factory=list)
    lock: threading.RLock = field(default_factory=threading.RLock)
    drawn: float = 0.0

    def begin(self, phase: _Phase) -> None:
        with self.lock:
            self.phases.append(phase)
            self._draw(force=True)

    def end(self, phase: _Phase) -> None:
        with self.lock:
            # Completed, then cleared: a count the redraw limit skipped is still shown once.
            phase.stream.write(_CLEAR + phase.status() + _CLEAR)
            if phase.waits:
                waited = f"rate limited (429) {_times(phase.waits)}; waited as the server asked"
                phase.stream.write(f"{phase.label}: {waited}\n")
            self.phases.remove(phase)
            self._draw(force=True)

    def advance(self, phase: _Phase, *, by: int = 0, to: int | None = None) -> None:
        with self.lock:
            phase.done = to if to is not None else phase.done + by
            self._draw()

    def emit(self, line: str, wait: float | None) -> bool:
        """Show a log line above the status line (or, for a 429 wait, in it); ``False`` when
        no phase holds the terminal, and the caller prints the line plainly."""
        with self.lock:
            if not self.phases:
                return False
            top = self.phases[-1]
            if wait is not None:
                top.waits += 1
                top.wait = wait
            else:
                top.stream.write(_CLEAR + line + "\n")
            self._draw(force=True)
            return True

    def _draw(self, *, force: bool = False) -> None:
        now = time.monotonic()
        if not self.phases or (not force and now - self.drawn < REDRAW_EVERY):
            return
        self.drawn = now
        top = self.phases[-1]
        top.stream.write(_CLEAR + top.status())
        top.stream.flush()


DISPLAY: Final = Display()


@contextlib.contextmanager
def phase(
    label: str, *, total: int | None = None, unit: str = "", stream: TextIO | None = None
) -> Iterator[_Phase | None]:
    """Hold the status line for ``label`` while the block runs, on a terminal; else ``None``.

    >>> with phase("Checking acme", stream=__import__("io").StringIO()) as shown:
    ...     shown is None
    True
    """
    out = sys.stderr if stream is None else stream
    if not out.isatty():
        yield None
        return
    current = _Phase(label, out, total=total, unit=unit)
    DISPLAY.begin(current)
    try:
        yield current
    finally:
        DISPLAY.end(current)


@contextlib.contextmanager
def rules_progress(
    label: str = "Reading rules", stream: TextIO | None = None
) -> Iterator[Callable[[int], None] | None]:
    """Yield an ``on_page`` callback (rules read so far) that counts on the status line, or
    ``None`` off a terminal. The total is unknown while paging, so it counts, not a percentage.

    >>> with rules_progress(stream=__import__("io").StringIO()) as on_page:
    ...     on_page is None
    True
    """
    with phase(label, unit="rule", stream=stream) as current:
        if current is None:
            yield None
            return

        def on_page(rules_so_far: int) -> None:
            DISPLAY.advance(current, to=rules_so_far)

        yield on_page


@contextlib.contextmanager
def count_progress(
    label: str, total: int, stream: TextIO | None = None
) -> Iterator[Callable[[int], None] | None]:
    """Yield an ``update(n)`` callback (``n`` more done) for ``total`` steps, or ``None``."""
    with phase(label, total=total, stream=stream) as current:
        yield None if current is None else (lambda n: DISPLAY.advance(current, by=n))


class LogHandler(logging.Handler):
    """Log records on stderr, cooperating with the status line; ``clean`` makes each line safe
    to print (tokens redacted, control characters escaped).

    Warnings print as their message, as Python's last-resort handler did; debug records are
    prefixed ``debug:``. The stream is looked up at each record, so a test's captured stderr
    gets them.
    """

    def __init__(self, clean: Callable[[str], str]) -> None:
        super().__init__()
        self._clean = clean

    def emit(self, record: logging.LogRecord) -> None:
        try:
            line = self._clean(record.getMessage())
            if record.levelno < logging.INFO:
                line = f"debug: {line}"
            wait = getattr(record, RATE_LIMITED, None)
            if not DISPLAY.emit(line, wait if isinstance(wait, float) else None):
                click.echo(line, err=True)
        except Exception:
            self.handleError(record)


def _times(n: int) -> str:
    """``"once"``, ``"2 times"``.

    >>> _times(1), _times(3)
    ('once', '3 times')
    """
    return "once" if n == 1 else f"{n} times"
