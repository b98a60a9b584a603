"""Embedded mode: the emulator behind ``--api-url local:PATH``, with its state in a file."""

from __future__ import annotations

from pathlib import Path

from reconciler.emulator.core import Emulator


def embedded(path: str) -> Emulator:
    """An emulator whose rules persist in the SQLite file ``path`` (created with its parents).

    No token is needed and any org exists on first use: the point is to try the tool offline.
    """
    target = Path(path).expanduser()
    target.parent.mkdir(parents=True, exist_ok=True)
    return Emulator(str(target), require_auth=False, auto_create_orgs=True)
