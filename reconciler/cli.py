"""The ``socket-triage`` command line: a thin click group that only dispatches.

Each subcommand lives in ``reconciler/commands/<name>.py``, which owns its click command (its
options are a frozen dataclass, ``commands/options.py``) and returns an ``EXIT_*`` code
(``reconciler/exits.py``). A command's module is imported only when that command runs or help
lists it: importing all of them (the engine, the HTTP client, both APIs) takes longer than
``validate`` itself, which a pre-commit hook runs on every commit.

This module owns the one error handler: a ``ReconcilerError`` is printed on one line (tokens
redacted, control characters escaped) with exit 1; anything unexpected is a bug, reported with
exit 3 and a traceback only on request.
"""

from __future__ import annotations

import importlib
import io
import re
import sys
import traceback
from collections.abc import Sequence
from typing import Any, Final, NoReturn

import click

from reconciler import __version__
from reconciler.commands import logs
from reconciler.commands.options import no_color_option
from reconciler.errors import ConfigError, ReconcilerError
from reconciler.exits import EXIT_ERROR, EXIT_INTERNAL, EXIT_INTERRUPTED, EXIT_OK
from reconciler.redact import redact
from reconciler.render.escape import terminal_safe

# Every subcommand, by the name of its module in reconciler/commands/ (which holds ``command``).
COMMANDS: Final = (
    "apply",
    "comment",
    "emulator",
    "expiring",
    "explain",
    "export",
    "mcp",
    "migrate",
    "plan",
    "validate",
)


def _say(message: str) -> None:
    """One message to stderr, with tokens redacted and control characters escaped."""
    click.echo(terminal_safe(redact(message)), err=True)


def _show(exc: click.ClickException) -> None:
    """click's report of a usage error, its ``Error:`` spelt ``error:`` like every other."""
    buffer = io.StringIO()
    exc.show(file=buffer)
    click.echo(re.sub(r"(?m)^Error: ", "error: ", buffer.getvalue(), count=1), err=True, nl=False)


class _Cli(click.Group):
    """A group whose ``main`` maps every failure to our exit codes, also under CliRunner, and
    whose commands are imported when asked for (click's documented lazy group)."""

    def list_commands(self, ctx: click.Context) -> list[str]:
        return list(COMMANDS)

    def get_command(self, ctx: click.Context, cmd_name: str) -> click.Command | None:
        if cmd_name not in COMMANDS:
            return None
        command: click.Command = importlib.import_module(f"reconciler.commands.{cmd_name}").command
        return command

    def main(  # type: ignore[override]
        self, args: Sequence[str] | None = None, prog_name: str | None = None, **extra: Any
    ) -> NoReturn:
        extra.pop("standalone_mode", None)
        logs.configure(logs.env_level())  # --debug, a callback, may raise it
        try:
            code = super().main(args, prog_name, standalone_mode=False, **extra)
        except click.exceptions.Exit as exc:
            code = exc.exit_code
        except click.ClickException as exc:
            _show(exc)
            code = EXIT_ERROR
        except click.Abort:
            click.echo("Aborted.", err=True)
            code = EXIT_ERROR
        except ConfigError as exc:
            for diagnostic in exc.diagnostics:
                _say(diagnostic.line())
            count = sum(1 for d in exc.diagnostics if d.severity == "error")
            click.echo(f"{count} error{'s' if count != 1 else ''}; nothing was sent.", err=True)
            code = EXIT_ERROR
        except ReconcilerError as exc:
            _say(f"error: {exc}")
            code = EXIT_ERROR
        except KeyboardInterrupt:
            click.echo("Interrupted.", err=True)
            code = EXIT_INTERRUPTED
        except Exception as exc:  # a bug: say so plainly, keep the traceback for those who ask
            _say(f"internal error: {exc!r}")
            if logs.debugging():
                _say(traceback.format_exc())
            else:
                click.echo(
                    "Run with --debug (or SOCKET_TRIAGE_DEBUG=1) to see the traceback.", err=True
                )
            code = EXIT_INTERNAL
        sys.exit(code if isinstance(code, int) else EXIT_OK)


@click.group(cls=_Cli, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="socket-triage")
@no_color_option
@click.option("--debug", **logs.DEBUG_OPTION)
def cli() -> None:
    """Declarative triage-as-code for Socket.dev: validate, plan and apply alert triage rules."""


def main() -> None:
    """Console-script entry point."""
    cli.main(prog_name="socket-triage")
