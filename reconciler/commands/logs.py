"""How a run logs: the level ``--debug`` and ``SOCKET_TRIAGE_DEBUG`` ask for, and one handler.

Levels: nothing asked, warnings only (the HTTP client's retries); ``--debug`` or
``SOCKET_TRIAGE_DEBUG=1``, one line per request and answer (``http.trace``) and the traceback
of an internal error; ``--debug --debug`` or ``SOCKET_TRIAGE_DEBUG=2``, headers and bodies too.
``--debug`` goes before or after the command name. Records go to stderr through
``engine.progress.LogHandler``, which prints them above a progress display, redacted and with
control characters escaped.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Mapping
from typing import Any, Final

import click

from reconciler.engine.progress import LogHandler
from reconciler.http.trace import TRACE
from reconciler.redact import redact
from reconciler.render.escape import terminal_safe

ENV: Final = "SOCKET_TRIAGE_DEBUG"
LOGGER: Final = logging.getLogger("reconciler")
_level = [0]  # this run's level, set by ``configure``


def env_level(environ: Mapping[str, str] = os.environ) -> int:
    """The level ``SOCKET_TRIAGE_DEBUG`` asks for: unset, empty or ``0`` is 0, ``2`` or more is
    2, anything else (``1``, ``yes``) is 1.

    >>> [env_level({ENV: v}) for v in ("", "0", "1", "yes", "2", "3")]
    [0, 0, 1, 1, 2, 2]
    """
    value = environ.get(ENV, "").strip()
    if value in ("", "0"):
        return 0
    return 2 if value.isdigit() and int(value) >= 2 else 1


def configure(level: int) -> None:
    """Log at ``level`` (0, 1 or 2) through the one handler, installed once per process.

    At 0 the package's logger keeps no level of its own: warnings show, as Python's default.
    """
    if not any(isinstance(h, LogHandler) for h in LOGGER.handlers):
        LOGGER.addHandler(LogHandler(lambda text: terminal_safe(redact(text))))
    LOGGER.setLevel(logging.NOTSET if level <= 0 else logging.DEBUG if level == 1 else TRACE)
    _level[0] = level


def debugging() -> bool:
    """Whether this run was asked for debug output (then an internal error shows its traceback)."""
    return _level[0] > 0


def _debug(_ctx: click.Context, _param: click.Parameter, value: int) -> None:
    if value > _level[0]:  # given before and after the command name, the higher count wins
        configure(value)


DEBUG_OPTION: Final[Mapping[str, Any]] = {
    "count": True,
    "expose_value": False,
    "is_eager": True,
    "callback": _debug,
    "help": "Log each request and answer on stderr, redacted; twice: with headers and bodies "
    "(as SOCKET_TRIAGE_DEBUG=1 or 2).",
}
