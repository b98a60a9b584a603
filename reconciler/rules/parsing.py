"""Read and parse rule files, in two processes when there are many.

libyaml builds Python objects under the GIL, so threads cannot share the parse; a second
process can. Past ``PARALLEL_BYTES`` of files (about 25,000 rules) on a machine with a second
core, a forked child parses the later files while this process parses the earlier ones, and
sends back what it found. Before the API is touched nothing else runs, so both cores are free:
100,000 rules load in a little over half the time. The results, and the order of files and
findings, are the same either way. Where fork is unsafe or missing (macOS, Windows, a process
already running other threads) or fails, the files are parsed here, one after the other.
"""

from __future__ import annotations

import datetime as dt
import os
import sys
import threading
from collections.abc import Sequence
from typing import Final

from reconciler.errors import Diagnostic, Location
from reconciler.rules import rulefile
from reconciler.rules.rulefile import FileRules

# Below this many bytes of rule files, starting a process costs more than it saves.
PARALLEL_BYTES: Final = 2_000_000

Parsed = tuple[FileRules | None, list[Diagnostic]]


def parse_files(files: Sequence[str], today: dt.date) -> list[Parsed]:
    """Each file's contribution (``None`` if unreadable) and findings, in the order given."""
    sizes = [_size(file) for file in files]
    if len(files) < 2 or sum(sizes) < PARALLEL_BYTES or not _can_fork():
        return _parse(files, today)
    half, running = sum(sizes) / 2, 0
    split = next(i for i, size in enumerate(sizes) if (running := running + size) >= half) + 1
    return _in_two(files[:split], files[split:], today)


def _in_two(here: Sequence[str], there: Sequence[str], today: dt.date) -> list[Parsed]:
    import multiprocessing
    from concurrent.futures import ProcessPoolExecutor

    context = multiprocessing.get_context("fork")
    pool = None
    try:
        pool = ProcessPoolExecutor(max_workers=1, mp_context=context)
        later = pool.submit(_parse, there, today)
    except OSError:  # no fork (process limit, memory, a sandbox): one process it is
        if pool is not None:
            pool.shutdown(wait=False, cancel_futures=True)
        return _parse([*here, *there], today)
    with pool:
        earlier = _parse(here, today)
        try:
            return earlier + later.result()
        except Exception:  # whatever went wrong there, the share is done here
            # The child died (out of memory?), or its answer did not cross; a parse that
            # fails for a real reason fails here the same way, as it would in one process.
            return earlier + _parse(there, today)


def _parse(files: Sequence[str], today: dt.date) -> list[Parsed]:
    parsed: list[Parsed] = []
    for file in files:
        found: list[Diagnostic] = []
        text = read_text(file, found)
        if text is None:
            parsed.append((None, found))
        else:
            result, problems = rulefile.parse(file, text, today)
            parsed.append((result, found + problems))
    return parsed


def read_text(file: str, diagnostics: list[Diagnostic]) -> str | None:
    """A file's text; ``None`` with a diagnostic if it cannot be read or is not UTF-8."""
    try:
        with open(file, "rb") as handle:
            data = handle.read()
    except OSError as exc:
        diagnostics.append(whole(file, f"cannot read: {exc.strerror or exc}"))
        return None
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        line = data.count(b"\n", 0, exc.start) + 1
        column = exc.start - (data.rfind(b"\n", 0, exc.start) + 1) + 1
        diagnostics.append(Diagnostic(Location(file, line, column), "not UTF-8 text"))
        return None


def whole(path: str, message: str) -> Diagnostic:
    """A finding about a whole file or directory (no line), its name shown escaped if not UTF-8."""
    shown = os.fsencode(path).decode("utf-8", "backslashreplace")
    return Diagnostic(Location(shown, 0, 0), message)


def _size(file: str) -> int:
    try:
        return os.path.getsize(file)
    except OSError:
        return 0  # read_text reports it


def _can_fork() -> bool:
    # Fork only where it is the platform's own way (Linux): macOS frameworks are not fork-safe.
    # And only from a process with one thread: a fork copies locks that other threads hold (the
    # MCP server reads stdin on one), and the child could wait on them for ever.
    return (
        sys.platform == "linux"
        and len(os.sched_getaffinity(0)) > 1
        and threading.active_count() == 1
    )
