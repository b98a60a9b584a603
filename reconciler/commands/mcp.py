"""``socket-triage mcp``: serve the read-only MCP tools on stdio (needs the ``mcp`` extra)."""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path
from typing import Final

import click

from reconciler.commands.options import Api, api_options, click_command, option
from reconciler.errors import UsageError
from reconciler.exits import EXIT_OK
from reconciler.http.connect import parse_endpoint
from reconciler.http.retry import RetryPolicy

# The same range as pyproject.toml's ``mcp`` extra (a test holds the two together), so that
# pipx users get the SDK major version the server is written against.
MCP_REQUIREMENT: Final = "mcp>=2.3,<3"
INSTALL_HINT: Final = (
    "socket-triage mcp needs the MCP SDK, an optional extra: "
    f"pip install 'socket-triage[mcp]' (or pipx inject socket-triage '{MCP_REQUIREMENT}')"
)


def run(
    *,
    root: str,
    api_url: str,
    retry: RetryPolicy = RetryPolicy(),  # noqa: B008 - frozen
) -> int:
    """Serve until the client closes stdin. The server works in ``root`` and tools read rule
    files only under it; the token comes from this process's environment, as for every other
    command, never from a tool argument."""
    try:
        import mcp  # noqa: F401 - the optional extra; nothing else in the package needs it
    except ImportError:
        raise UsageError(INSTALL_HINT) from None
    parse_endpoint(api_url)  # a bad --api-url fails now, not at the agent's first call
    from reconciler.mcp.server import serve
    from reconciler.mcp.tools import Tools

    try:
        # Some clients (Claude Desktop) start servers in no particular directory; working in
        # the root makes relative paths, and the file names in every answer, the repository's.
        os.chdir(root)
    except OSError as exc:
        raise UsageError(f"--root {root}: {exc.strerror or exc}") from None
    serve(Tools(api_url=api_url, root=Path.cwd(), retry=retry))
    return EXIT_OK


@dataclass(frozen=True)
class Options:
    """``mcp``'s command line, in ``--help`` order."""

    root: str = option(
        "--root",
        type=click.Path(file_okay=False),
        default=".",
        show_default=True,
        help="The directory the server works in; tools read rule files only under it.",
    )
    api: Api = api_options()


@click_command("mcp", Options)
def command(given: Options) -> int:
    """Serve read-only tools for AI agents over MCP on stdio (needs socket-triage[mcp])."""
    return run(root=given.root, api_url=given.api.api_url, retry=given.api.retry)
