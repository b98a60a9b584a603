"""The ``socket-triage`` console script.

``--version`` alone is answered here, before the CLI and its dependencies are imported: scripts
and CI jobs ask it to check an install, and it then costs the interpreter's start-up only. The
text is click's ``version_option`` text (a test compares the two). Everything else goes to
``cli.main``.
"""

from __future__ import annotations

import sys


def main() -> None:
    if sys.argv[1:] == ["--version"]:
        from reconciler import __version__

        sys.stdout.write(f"socket-triage, version {__version__}\n")
        return
    from reconciler.cli import main as run

    run()
