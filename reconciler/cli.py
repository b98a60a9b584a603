"""The ``socket-triage`` command line: a thin click group that only dispatches.

Each subcommand lives in ``reconciler/commands/<name>.py`` and returns an ``EXIT_*`` code
(``reconciler/exits.py``). Every click function here names its parameters and passes them to
the command's ``run`` by keyword, so that mypy catches a renamed parameter on either side;
``unbound_parameters`` (run by ``script/lint``) catches an option whose name no longer matches
its function's parameter, which mypy cannot see.

This module owns the one error handler: a ``ReconcilerError`` is printed on one line (tokens
redacted, control characters escaped) with exit 1; anything unexpected is a bug, reported with
exit 3 and a traceback only on request.
"""

from __future__ import annotations

import gc
import inspect
import os
import sys
from collections.abc import Callable, Iterable, Sequence
from typing import Any, NoReturn, TypeVar

import click

from reconciler import __version__
from reconciler.api import API_URL_ENV, DEFAULT_API_URL, DEFAULT_CONCURRENCY, TARGETS
from reconciler.commands import check_org
from reconciler.errors import ConfigError, ReconcilerError
from reconciler.exits import EXIT_ERROR, EXIT_INTERNAL, EXIT_INTERRUPTED, EXIT_OK
from reconciler.explain import FORMATS as EXPLAIN_FORMATS
from reconciler.http.retry import RetryPolicy
from reconciler.redact import redact
from reconciler.render import DEFAULT_FORMAT, RENDERERS
from reconciler.render.escape import terminal_safe

F = TypeVar("F", bound=Callable[..., Any])


def _say(message: str) -> None:
    """One message to stderr, with tokens redacted and control characters escaped."""
    click.echo(terminal_safe(redact(message)), err=True)


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
                _say(str(diagnostic))
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
            if os.environ.get("SOCKET_TRIAGE_DEBUG"):
                import traceback  # only for a bug report: kept out of every start-up

                _say(traceback.format_exc())
            else:
                click.echo("Set SOCKET_TRIAGE_DEBUG=1 to see the traceback.", err=True)
            code = EXIT_INTERNAL
        sys.exit(code if isinstance(code, int) else EXIT_OK)


def _check_orgs(_ctx: click.Context, param: click.Parameter, value: Any) -> Any:
    """Reject anything but an org slug, as one line, before any command runs."""
    option = param.opts[0]
    if isinstance(value, tuple):
        return tuple(check_org(org, option) for org in value)
    return None if value is None else check_org(value, option)


def _no_colour(ctx: click.Context, _param: click.Parameter, value: bool) -> None:
    if value:
        ctx.color = False  # inherited by subcommands; use_colour() and click.echo obey it


def _decorate(func: F, decorators: Sequence[Callable[[F], F]]) -> F:
    for decorator in reversed(decorators):
        func = decorator(func)
    return func


no_color_option = click.option(
    "--no-color",
    is_flag=True,
    expose_value=False,
    is_eager=True,
    callback=_no_colour,
    help="No colour, even on a terminal (as NO_COLOR=1).",
)
paths_argument = click.argument("paths", nargs=-1, type=click.Path(path_type=str))


def org_option(text: str, *, required: bool = False) -> Callable[[F], F]:
    return click.option("--org", "org", required=required, callback=_check_orgs, help=text)


def format_option(choices: Iterable[str], text: str, default: str = "text") -> Callable[[F], F]:
    """``--format`` (parameter ``fmt``): the output format on stdout."""
    return click.option(
        "--format",
        "fmt",
        type=click.Choice(list(choices)),
        default=default,
        show_default=True,
        help=text,
    )


def detailed_exitcode_option(text: str) -> Callable[[F], F]:
    """``--detailed-exitcode``: exit codes that say what was found, for CI."""
    return click.option("--detailed-exitcode", "detailed_exitcode", is_flag=True, help=text)


def target_option(text: str) -> Callable[[F], F]:
    """``--target``: which API's rules and precedence, over the files' ``target:``."""
    return click.option("--target", "target", type=click.Choice(TARGETS), help=text)


def api_options(func: F) -> F:
    """``--api-url``, ``--max-attempts`` and ``--timeout``; ``retry_policy`` turns the last two
    into a ``RetryPolicy``. The token is never an option: it would show in ``ps`` and CI logs."""
    return _decorate(
        func,
        [
            click.option(
                "--api-url",
                "api_url",
                envvar=API_URL_ENV,
                default=DEFAULT_API_URL,
                show_default=True,
                help="API base URL, or local:PATH to run the embedded emulator with state in "
                f"PATH. Env: {API_URL_ENV}. The token is read from SOCKET_API_TOKEN (never an "
                "argument).",
            ),
            click.option(
                "--max-attempts",
                "max_attempts",
                envvar="SOCKET_TRIAGE_MAX_ATTEMPTS",
                type=click.IntRange(1, 50),
                default=RetryPolicy.max_attempts,
                show_default=True,
                help="Tries per API call, the first included, before giving up on 429, 5xx or "
                "network errors. Env: SOCKET_TRIAGE_MAX_ATTEMPTS.",
            ),
            click.option(
                "--timeout",
                "timeout",
                envvar="SOCKET_TRIAGE_TIMEOUT",
                type=click.FloatRange(0.1, 600),
                default=RetryPolicy.timeout,
                show_default=True,
                help="Seconds to connect, send or read one API call. Env: SOCKET_TRIAGE_TIMEOUT.",
            ),
        ],
    )


def retry_policy(max_attempts: int, timeout: float) -> RetryPolicy:
    return RetryPolicy(max_attempts=max_attempts, timeout=timeout)


@click.group(cls=_Cli, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="socket-triage")
@no_color_option
def cli() -> None:
    """Declarative triage-as-code for Socket.dev: validate, plan and apply alert triage rules."""


@cli.command()
@paths_argument
@format_option(
    ["text", "json", "github"],
    "text; json; or github: workflow commands that annotate the lines of a pull request.",
)
@no_color_option
def validate(paths: tuple[str, ...], fmt: str) -> int:
    """Check rule files (files or directories) and report every problem as FILE:LINE:COL."""
    from reconciler.commands import validate as command

    return command.run(paths or (".",), fmt=fmt)


@cli.command()
@paths_argument
@org_option("Only this org (default: every org in the files).")
@format_option(RENDERERS, "Output format on stdout.", default=DEFAULT_FORMAT)
@click.option("--out", "out", type=click.Path(), help="Save the plan as JSON.")
@detailed_exitcode_option(
    "Exit 2 when there are changes; 4 when the only changes are deletes of expired rules."
)
@target_option(
    "Plan against this API whatever the org's migration status and the files' target: say "
    "(alert-policies before the move: a preview of the future state). Default: the files' "
    "target:, else the migration status.",
)
@no_color_option
@api_options
def plan(
    paths: tuple[str, ...],
    org: str | None,
    fmt: str,
    out: str | None,
    detailed_exitcode: bool,
    target: str | None,
    api_url: str,
    max_attempts: int,
    timeout: float,
) -> int:
    """Diff the org's live rules against the files and show what apply would do."""
    from reconciler.commands import plan as command

    return command.run(
        paths or (".",),
        org=org,
        fmt=fmt,
        out=out,
        detailed_exitcode=detailed_exitcode,
        target=target,
        api_url=api_url,
        retry=retry_policy(max_attempts, timeout),
    )


@cli.command()
@paths_argument
@org_option("Only this org (default: every org in the files).")
@click.option(
    "--plan",
    "plan_file",
    type=click.Path(exists=True, dir_okay=False),
    help="Apply exactly this saved plan (from plan --out); refused if the org changed.",
)
@click.option("--yes", "yes", is_flag=True, help="Do not ask for confirmation.")
@click.option(
    "--force", "force", is_flag=True, help="Apply a plan that crosses a safety threshold."
)
@click.option(
    "--audit-log",
    "audit_log",
    type=click.Path(dir_okay=False),
    help="Append one JSON line per applied change to this file.",
)
@click.option(
    "--concurrency",
    "concurrency",
    type=click.IntRange(1, 64),
    default=DEFAULT_CONCURRENCY,
    show_default=True,
    help="Requests in flight at once: pages while listing, POSTs and DELETEs while writing. "
    "Against Socket the run paces itself to the 600-a-minute rate limit whatever this is.",
)
@click.option(
    "--dry-run",
    "dry_run",
    is_flag=True,
    help="Only rehearse the Alert Policies writes with the server (dry_run=true), before or "
    "after the org moves; nothing is written.",
)
@no_color_option
@api_options
def apply(
    paths: tuple[str, ...],
    org: str | None,
    plan_file: str | None,
    yes: bool,
    force: bool,
    audit_log: str | None,
    concurrency: int,
    dry_run: bool,
    api_url: str,
    max_attempts: int,
    timeout: float,
) -> int:
    """Make the org match the files: batched upserts and deletes, then verify."""
    from reconciler.commands import apply as command

    return command.run(
        paths or (".",),
        org=org,
        plan_file=plan_file,
        yes=yes,
        force=force,
        audit_log=audit_log,
        concurrency=concurrency,
        api_url=api_url,
        retry=retry_policy(max_attempts, timeout),
        dry_run=dry_run,
    )


@cli.command()
@paths_argument
@click.option(
    "--within",
    "within",
    type=click.IntRange(0, 3660),
    default=30,
    show_default=True,
    help="List rules whose expires date is at most this many days away (expired ones too).",
)
@format_option(["text", "json", "markdown"], "Output format on stdout (markdown: an issue body).")
@detailed_exitcode_option("Exit 2 when at least one rule is listed.")
@no_color_option
def expiring(paths: tuple[str, ...], within: int, fmt: str, detailed_exitcode: bool) -> int:
    """List the rules in the files that expire within N days; reads no API."""
    from reconciler.commands import expiring as command

    return command.run(paths or (".",), within=within, fmt=fmt, detailed_exitcode=detailed_exitcode)


@cli.command()
@click.option(
    "--plan",
    "plan_file",
    type=click.Path(dir_okay=False),
    help="The saved plan (plan --out); leave out when validation failed or for apply.",
)
@click.option("--title", "title", default="socket-triage plan", show_default=True)
@click.option(
    "--output",
    "output_file",
    type=click.Path(dir_okay=False),
    help="A command's report to show open (apply's).",
)
@click.option(
    "--messages",
    "messages_file",
    type=click.Path(dir_okay=False),
    help="Messages (stderr) to show; folded unless --exit-code says the run failed.",
)
@click.option("--exit-code", "exit_code", type=int, help="The exit code of the run shown.")
@click.option("--head-sha", "head_sha", help="The commit the plan is for (the PR head).")
@click.option(
    "--marker-key",
    "marker_key",
    default="",
    help="Text (say, the org and paths) whose digest goes in the hidden marker, so that each "
    "org and path set keeps its own comment.",
)
@click.option("--artifact", "artifact", help="The name of the artifact that holds plan.json.")
@click.option(
    "--out", "out", required=True, type=click.Path(dir_okay=False), help="The comment body."
)
@click.option(
    "--summary-out",
    "summary_out",
    type=click.Path(dir_okay=False),
    help="Also write the job summary (up to 1 MiB) here.",
)
@no_color_option
def comment(
    plan_file: str | None,
    title: str,
    output_file: str | None,
    messages_file: str | None,
    exit_code: int | None,
    head_sha: str | None,
    marker_key: str,
    artifact: str | None,
    out: str,
    summary_out: str | None,
) -> int:
    """Write the PR comment (and job summary) for a run, cut to fit GitHub's limits."""
    from reconciler.commands import comment as command

    return command.run(
        plan_file=plan_file,
        title=title,
        output_file=output_file,
        messages_file=messages_file,
        exit_code=exit_code,
        head_sha=head_sha,
        marker_key=marker_key,
        artifact=artifact,
        out=out,
        summary_out=summary_out,
    )


@cli.command()
@org_option("The Socket org slug to export.", required=True)
@click.option(
    "--out",
    "out",
    type=click.Path(),
    help="A .yaml file, or a directory to write ORG.yaml into (default: stdout).",
)
@no_color_option
@api_options
def export(org: str, out: str | None, api_url: str, max_attempts: int, timeout: float) -> int:
    """Write the org's live rules as a rule file, ready to commit."""
    from reconciler.commands import export as command

    return command.run(org=org, out=out, api_url=api_url, retry=retry_policy(max_attempts, timeout))


@cli.command()
@paths_argument
@org_option("The Socket org slug to migrate.", required=True)
@click.option(
    "--out",
    "out",
    type=click.Path(file_okay=False),
    default="alert-policies",
    show_default=True,
    help="Directory to write ORG.yaml (native policy rules) and ORG-migration.md (the summary).",
)
@no_color_option
@api_options
def migrate(
    paths: tuple[str, ...],
    org: str,
    out: str,
    api_url: str,
    max_attempts: int,
    timeout: float,
) -> int:
    """Translate the org's legacy triage rules (or PATHS' rules) into Alert Policies rule files."""
    from reconciler.commands import migrate as command

    return command.run(
        paths, org=org, out=out, api_url=api_url, retry=retry_policy(max_attempts, timeout)
    )


@cli.command()
@click.option(
    "--host",
    "host",
    default="127.0.0.1",
    show_default=True,
    help="Address to bind. Anything but loopback must be asked for explicitly.",
)
@click.option("--port", "port", default=8765, show_default=True, type=click.IntRange(0, 65535))
@click.option(
    "--db",
    "db",
    default=":memory:",
    show_default=True,
    help="SQLite file for state that persists across runs.",
)
@click.option(
    "--org", "orgs", multiple=True, callback=_check_orgs, help="Create this org (repeatable)."
)
@click.option(
    "--token",
    "tokens",
    multiple=True,
    metavar="TOKEN[:ORG][:SCOPES]",
    help="Accept this token (repeatable). Default: a generated token for every org.",
)
@click.option(
    "--seed-file",
    "seed_file",
    type=click.Path(exists=True, dir_okay=False),
    help="JSON file of rules to load at start.",
)
@click.option(
    "--faults", "faults", help='Fault config as JSON, e.g. \'{"seed": 1, "rate_429": 0.2}\'.'
)
@no_color_option
def emulator(
    host: str,
    port: int,
    db: str,
    orgs: tuple[str, ...],
    tokens: tuple[str, ...],
    seed_file: str | None,
    faults: str | None,
) -> int:
    """Run the Socket-compatible Triage API emulator over HTTP until Ctrl-C."""
    from reconciler.commands import emulator as command

    return command.run(
        host=host,
        port=port,
        db=db,
        orgs=orgs,
        tokens=tokens,
        seed_file=seed_file,
        faults=faults,
    )


@cli.command()
@paths_argument
@org_option("The org whose rules decide (default: the only org in the files).")
@click.option("--purl", "purl", help="The alert's package as a purl: pkg:npm/lodash@4.17.20.")
@click.option("--package-type", "package_type", help="The package's type (instead of --purl).")
@click.option("--package-namespace", "package_namespace", help="Its namespace, e.g. @babel.")
@click.option("--package-name", "package_name", help="Its name.")
@click.option("--package-version", "package_version", help="Its exact version.")
@click.option("--alert-type", "alert_type", help="The alert type, e.g. criticalCVE or cve.")
@click.option("--alert-key", "alert_key", help="The alert's key, from Socket's alert details.")
@click.option("--cve", "cve", help="The CVE or GHSA id.")
@click.option(
    "--reachability",
    "reachability",
    type=click.Choice(["reachable", "unreachable", "other"]),
    help="Reachability of the vulnerable code.",
)
@click.option(
    "--fix-available/--no-fix-available", "fix_available", default=None, help="A fix exists."
)
@click.option(
    "--patch-available/--no-patch-available",
    "patch_available",
    default=None,
    help="A Socket patch exists.",
)
@click.option("--kev/--no-kev", "kev", default=None, help="In CISA's KEV catalogue.")
@click.option("--cvss", "cvss", type=click.FloatRange(0, 10), help="The CVSS score, 0 to 10.")
@target_option(
    "Precedence: triage (legacy; socket-triage's most-specific model) or alert-policies "
    "(file order, first match wins). Default: the files' target:, else triage.",
)
@click.option(
    "--live", "live", is_flag=True, help="Also list the org's live rules and where they differ."
)
@format_option(EXPLAIN_FORMATS, "Output format on stdout.", default=EXPLAIN_FORMATS[0])
@no_color_option
@api_options
def explain(
    paths: tuple[str, ...],
    org: str | None,
    purl: str | None,
    package_type: str | None,
    package_namespace: str | None,
    package_name: str | None,
    package_version: str | None,
    alert_type: str | None,
    alert_key: str | None,
    cve: str | None,
    reachability: str | None,
    fix_available: bool | None,
    patch_available: bool | None,
    kev: bool | None,
    cvss: float | None,
    target: str | None,
    live: bool,
    fmt: str,
    api_url: str,
    max_attempts: int,
    timeout: float,
) -> int:
    """Show which rules decide one alert, in the order applied, with FILE:LINE and owner."""
    from reconciler.commands import explain as command
    from reconciler.explain.alert import describe_alert

    alert = describe_alert(
        purl=purl,
        package_type=package_type,
        package_namespace=package_namespace,
        package_name=package_name,
        package_version=package_version,
        alert_type=alert_type,
        alert_key=alert_key,
        cve=cve,
        reachability=reachability,
        fix_available=fix_available,
        patch_available=patch_available,
        kev=kev,
        cvss=cvss,
    )
    return command.run(
        paths or (".",),
        org=org,
        alert=alert,
        target=target,
        live=live,
        fmt=fmt,
        api_url=api_url,
        retry=retry_policy(max_attempts, timeout),
    )


@cli.command()
@click.option(
    "--root",
    "root",
    type=click.Path(file_okay=False),
    default=".",
    show_default=True,
    help="The directory the server works in; tools read rule files only under it.",
)
@no_color_option
@api_options
def mcp(root: str, api_url: str, max_attempts: int, timeout: float) -> int:
    """Serve read-only tools for AI agents over MCP on stdio (needs socket-triage[mcp])."""
    from reconciler.commands import mcp as command

    return command.run(root=root, api_url=api_url, retry=retry_policy(max_attempts, timeout))


def unbound_parameters(group: click.Group) -> list[str]:
    """Options and arguments whose name no function parameter takes, and the reverse.

    Click passes each option to the command's function by name; mypy checks the call from there
    into ``commands``, but not this first step. ``script/lint`` runs this check.

    >>> unbound_parameters(cli)
    []
    """
    problems: list[str] = []
    for name, command in sorted(group.commands.items()):
        assert command.callback is not None
        declared = {p.name for p in command.params if p.expose_value and p.name}
        accepted = set(inspect.signature(command.callback).parameters)
        problems += [f"{name}: option {p!r} has no parameter" for p in sorted(declared - accepted)]
        problems += [f"{name}: parameter {p!r} has no option" for p in sorted(accepted - declared)]
    return problems


def main() -> None:
    """Console-script entry point."""
    try:
        cli.main(prog_name="socket-triage")
    finally:
        # The run is over: frozen objects skip the interpreter's last cycle collection, which
        # walks everything the run built (40-90 ms at 100k rules). Not in ``_Cli.main``: tests
        # call that in-process, and frozen objects are never collected.
        gc.freeze()
