"""Exit codes: the one contract between socket-triage and the CI job or shell that runs it.

Every command returns one of these, and the CLI's error handler maps failures onto them. This
module imports nothing, so a command can use it without importing the CLI.

EXIT_OK           0    success; with ``plan --detailed-exitcode``, also "no changes"
EXIT_ERROR        1    any expected failure, usage errors included (click's own 2 is remapped)
EXIT_CHANGES      2    changes present (only with ``plan --detailed-exitcode``): edits or drift
EXIT_EXPIRED      4    the only changes are deletes of expired rules (``plan --detailed-exitcode``)
EXIT_INTERNAL     3    an internal error: a bug, traceback with --debug or SOCKET_TRIAGE_DEBUG=1
EXIT_INTERRUPTED  130  Ctrl-C (128 + SIGINT, as shells report it)

>>> sorted({EXIT_OK, EXIT_ERROR, EXIT_CHANGES, EXIT_INTERNAL, EXIT_EXPIRED, EXIT_INTERRUPTED})
[0, 1, 2, 3, 4, 130]
"""

from __future__ import annotations

from typing import Final

EXIT_OK: Final = 0
EXIT_ERROR: Final = 1
EXIT_CHANGES: Final = 2
EXIT_INTERNAL: Final = 3
EXIT_EXPIRED: Final = 4
EXIT_INTERRUPTED: Final = 130
