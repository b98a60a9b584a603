"""The ``socket-triage`` command line: a thin click group that only dispatches.

Each subcommand lives in ``reconciler/commands/<name>.py`` and returns an exit code. This module
owns the one error handler: a ``ReconcilerError`` is printed on one line (tokens redacted) with
exit 1; anything unexpected is a bug, reported with exit 3 and a traceback only on request.

Exit codes: 0 success (and, with --detailed-exitcode, no changes); 1 any error, including usage
errors (click's own 2 is remapped so that 2 always means "changes present"); 2 changes present
with --detailed-exitcode; 3 internal error.
"""

from __future__ import annotations

import functools
import os
import sys
import traceback
from collections.abc import Callable, Sequence
from typing import Any, NoReturn, TypeVar, cast

import click

from reconciler import __version__
from reconciler.api import API_URL_ENV, DEFAULT_API_URL
from reconciler.errors import ConfigError, ReconcilerError
from reconciler.http.retry import RetryPolicy
from reconciler.redact import redact

EXIT_OK = 0
EXIT_ERROR = 1
EXIT_CHANGES = 2
EXIT_INTERNAL = 3

F = TypeVar("F", bound=Callable[..., Any])


class _Cli(click.Group):
    """A group whose ``main`` maps every failure to our exit codes, also under CliRunner."""

    def main(  # type: ignore[override]
        self, args: Sequence[str] | None = None, prog_name: str | None = None, **extra: Any
    ) -> NoReturn:
        extra.pop("standalone_mode", None)
        try:
            code = super().main(args, prog_name, standalone_mode=False, **extra)
        except click.exceptions.Exit as exc:
            code = exc.exit_code
        except click.ClickException as exc:
            exc.show()
            code = EXIT_ERROR
        except click.Abort:
            click.echo("Aborted.", err=True)
            code = EXIT_ERROR
        except ConfigError as exc:
            for diagnostic in exc.diagnostics:
                click.echo(redact(str(diagnostic)), err=True)
            count = sum(1 for d in exc.diagnostics if d.severity == "error")
            click.echo(f"{count} error{'s' if count != 1 else ''}; nothing was sent.", err=True)
            code = EXIT_ERROR
        except ReconcilerError as exc:
            click.echo(f"error: {redact(str(exc))}", err=True)
            code = EXIT_ERROR
        except KeyboardInterrupt:
            click.echo("Interrupted.", err=True)
            code = 130
        except Exception as exc:  # a bug: say so plainly, keep the traceback for those who ask
            click.echo(f"internal error: {redact(repr(exc))}", err=True)
            if os.environ.get("SOCKET_TRIAGE_DEBUG"):
                click.echo(redact(traceback.format_exc()), err=True)
            else:
                click.echo("Set SOCKET_TRIAGE_DEBUG=1 to see the traceback.", err=True)
            code = EXIT_INTERNAL
        sys.exit(code if isinstance(code, int) else EXIT_OK)


def api_options(func: F) -> F:
    """``--api-url``, ``--max-attempts`` and ``--timeout``, handed to the command as ``api_url``
    and a ``retry`` policy. The token is never an option: it would show in ``ps`` and CI logs."""

    @functools.wraps(func)
    def wrapper(*args: Any, max_attempts: int, timeout: float, **kwargs: Any) -> Any:
        retry = RetryPolicy(max_attempts=max_attempts, timeout=timeout)
        return func(*args, retry=retry, **kwargs)

    options = [
        click.option(
            "--api-url",
            envvar=API_URL_ENV,
            default=DEFAULT_API_URL,
            show_default=True,
            help="API base URL, or local:PATH to run the embedded emulator with state in PATH. "
            f"Env: {API_URL_ENV}. The token is read from SOCKET_API_TOKEN (never an argument).",
        ),
        click.option(
            "--max-attempts",
            envvar="SOCKET_TRIAGE_MAX_ATTEMPTS",
            type=click.IntRange(1, 50),
            default=RetryPolicy.max_attempts,
            show_default=True,
            help="Tries per API call, the first included, before giving up on 429, 5xx or "
            "network errors. Env: SOCKET_TRIAGE_MAX_ATTEMPTS.",
        ),
        click.option(
            "--timeout",
            envvar="SOCKET_TRIAGE_TIMEOUT",
            type=click.FloatRange(0.1, 600),
            default=RetryPolicy.timeout,
            show_default=True,
            help="Seconds to connect, send or read one API call. Env: SOCKET_TRIAGE_TIMEOUT.",
        ),
    ]
    decorated: Callable[..., Any] = wrapper
    for option in reversed(options):
        decorated = option(decorated)
    return cast(F, decorated)


paths_argument = click.argument("paths", nargs=-1, type=click.Path(path_type=str))


@click.group(cls=_Cli, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="socket-triage")
def cli() -> None:
    """Declarative triage-as-code for Socket.dev: validate, plan and apply alert triage rules."""


@cli.command()
@paths_argument
def validate(paths: tuple[str, ...]) -> int:
    """Check rule files (files or directories) and report every problem as FILE:LINE:COL."""
    from reconciler.commands import validate as command

    return command.run(paths or (".",))


@cli.command()
@paths_argument
@click.option("--org", help="Only this org (default: every org in the files).")
@click.option(
    "--format",
    "fmt",
    type=click.Choice(["text", "json", "markdown"]),
    default="text",
    show_default=True,
    help="Output format on stdout.",
)
@click.option("--out", "out", type=click.Path(dir_okay=False), help="Save the plan as JSON.")
@click.option("--detailed-exitcode", is_flag=True, help="Exit 2 when there are changes.")
@api_options
def plan(paths: tuple[str, ...], **options: Any) -> int:
    """Diff the org's live triage against the files and show what apply would do."""
    from reconciler.commands import plan as command

    # Options arrive under the names ``run`` takes, so mypy checks them there.
    return command.run(paths or (".",), **options)


@cli.command()
@paths_argument
@click.option("--org", help="Only this org (default: every org in the files).")
@click.option(
    "--plan",
    "plan_file",
    type=click.Path(exists=True, dir_okay=False),
    help="Apply exactly this saved plan (from plan --out); refused if the org changed.",
)
@click.option("--yes", is_flag=True, help="Do not ask for confirmation.")
@click.option("--force", is_flag=True, help="Apply a plan that crosses a safety threshold.")
@click.option(
    "--audit-log",
    type=click.Path(dir_okay=False),
    help="Append one JSON line per applied change to this file.",
)
@click.option(
    "--concurrency",
    type=click.IntRange(1, 64),
    default=8,
    show_default=True,
    help="DELETE requests in flight at once.",
)
@api_options
def apply(paths: tuple[str, ...], **options: Any) -> int:
    """Make the org match the files: batched upserts and deletes, then verify."""
    from reconciler.commands import apply as command

    return command.run(paths or (".",), **options)


@cli.command()
@click.option("--org", required=True, help="The Socket org slug to export.")
@click.option(
    "--out",
    "out",
    type=click.Path(),
    help="A .yaml file, or a directory to write ORG.yaml into (default: stdout).",
)
@api_options
def export(**options: Any) -> int:
    """Write the org's live rules as a rule file, ready to commit."""
    from reconciler.commands import export as command

    return command.run(**options)


@cli.command()
@click.option(
    "--host",
    default="127.0.0.1",
    show_default=True,
    help="Address to bind. Anything but loopback must be asked for explicitly.",
)
@click.option("--port", default=8765, show_default=True, type=click.IntRange(0, 65535))
@click.option(
    "--db",
    default=":memory:",
    show_default=True,
    help="SQLite file for state that persists across runs.",
)
@click.option("--org", "orgs", multiple=True, help="Create this org (repeatable).")
@click.option(
    "--token",
    "tokens",
    multiple=True,
    metavar="TOKEN[:ORG][:SCOPES]",
    help="Accept this token (repeatable). Default: a generated token for every org.",
)
@click.option(
    "--seed-file",
    type=click.Path(exists=True, dir_okay=False),
    help="JSON file of rules to load at start.",
)
@click.option("--faults", help='Fault config as JSON, e.g. \'{"seed": 1, "rate_429": 0.2}\'.')
def emulator(**options: Any) -> int:
    """Run the Socket-compatible Triage API emulator over HTTP until Ctrl-C."""
    from reconciler.commands import emulator as command

    return command.run(**options)


def main() -> None:
    """Console-script entry point."""
    cli.main(prog_name="socket-triage")
