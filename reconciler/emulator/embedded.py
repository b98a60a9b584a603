"""Embedded mode: the emulator behind ``--api-url local:PATH``, with its state in a file."""

from __future__ import annotations

from pathlib import Path

from reconciler.emulator.core import Emulator
from reconciler.emulator.database import StoreError


def embedded(path: str) -> Emulator:
    """An emulator whose state persists in the SQLite file ``path`` (created with its parents).

    No token is needed and any org exists on first use: the point is to try the tool offline.
    Raises ``StoreError`` (a ``UsageError``: one line, exit 1) when ``path`` is a directory, sits
    under a regular file, or is a file that is not an emulator database of a version this
    socket-triage reads.
    """
    target = Path(path).expanduser()
    blocking = next((p for p in target.parents if p.exists() and not p.is_dir()), None)
    if blocking is not None:
        raise StoreError(f"local:{target}: {str(blocking)!r} is a file, not a folder")
    try:
        target.parent.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        reason = exc.strerror or type(exc).__name__
        raise StoreError(f"local:{target}: cannot create its folder ({reason})") from None
    try:
        return Emulator(str(target), require_auth=False, auto_create_orgs=True)
    except StoreError as exc:
        raise StoreError(f"local:{exc}") from None


# The name callers outside the emulator use: open the embedded emulator or raise StoreError.
open_local = embedded
