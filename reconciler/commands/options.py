"""What a command's click command is made of: its options, as the fields of a frozen dataclass.

Each command module writes its command line once, as a dataclass with one field per option,
and ``click_command`` turns it into a ``click.Command``. Each click parameter is named after
its field, so the two cannot drift apart; the function that calls ``run`` reads the fields, so
mypy sees a renamed one. For example::

    @dataclass(frozen=True)
    class Options:
        paths: tuple[str, ...] = paths_argument()
        within: int = option("--within", type=click.IntRange(0, 3660), default=30)


    @click_command("expiring", Options)
    def command(given: Options) -> int:  # its docstring is the command's help
        return run(given.paths or (".",), within=given.within)

Options several commands take (``--org``, ``--format``, the API options, ...) are defined once
here. ``--no-color`` is on every command and sits after its own options, before the API's.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterable, Mapping
from dataclasses import Field, dataclass, field, fields
from typing import Any, ClassVar, Final, Protocol, TypeVar

import click

from reconciler.api import API_URL_ENV, DEFAULT_API_URL, TARGETS
from reconciler.commands.logs import DEBUG_OPTION
from reconciler.http.retry import RetryPolicy
from reconciler.rules.orgslug import check_org

# A field's metadata: how to build its click parameter (given the field's name), or, for a field
# that holds a group of options (``api_options``), that group's dataclass.
_PARAMETER: Final = "parameter"
_GROUP: Final = "group"


class FiniteFloatRange(click.FloatRange):
    """``click.FloatRange`` that also refuses NaN, which every comparison lets through.

    >>> FiniteFloatRange(0.1, 600).convert("nan", None, None)
    Traceback (most recent call last):
    ...
    click.exceptions.BadParameter: 'nan' is not a finite number.
    """

    name = "float range"

    def convert(self, value: Any, param: click.Parameter | None, ctx: click.Context | None) -> Any:
        number = super().convert(value, param, ctx)
        if not math.isfinite(number):
            self.fail(f"{value!r} is not a finite number.", param, ctx)
        return number


class _Options(Protocol):
    __dataclass_fields__: ClassVar[dict[str, Any]]


OptionsT = TypeVar("OptionsT", bound=_Options)


def option(*decls: str, **attrs: Any) -> Any:
    """A field given as an option: ``click.Option(decls, **attrs)`` named as the field."""
    return field(metadata={_PARAMETER: lambda name: click.Option([*decls, name], **attrs)})


def paths_argument() -> Any:
    """``[PATHS]...``: rule files and directories; when none is given, the command says what."""
    path = click.Path(path_type=str)
    return field(metadata={_PARAMETER: lambda name: click.Argument([name], nargs=-1, type=path)})


def org_option(text: str, *, required: bool = False) -> Any:
    """``--org``, checked to be an org slug before the command runs."""
    return option("--org", required=required, callback=check_orgs, help=text)


def format_option(choices: Iterable[str], text: str, default: str = "text") -> Any:
    """``--format`` (field ``fmt``): the output format on stdout."""
    choice = click.Choice(list(choices))
    return option("--format", type=choice, default=default, show_default=True, help=text)


def detailed_exitcode_option(text: str) -> Any:
    """``--detailed-exitcode``: exit codes that say what was found, for CI."""
    return option("--detailed-exitcode", is_flag=True, help=text)


def target_option(text: str) -> Any:
    """``--target``: which API's rules and precedence, over the files' ``target:``."""
    return option("--target", type=click.Choice(TARGETS), help=text)


@dataclass(frozen=True)
class Api:
    """Where the API is and how each call is retried. The token is never an option: it would
    show in ``ps`` and in CI logs."""

    api_url: str = option(
        "--api-url",
        envvar=API_URL_ENV,
        default=DEFAULT_API_URL,
        show_default=True,
        help="API base URL, or local:PATH to run the embedded emulator with state in "
        f"PATH. Env: {API_URL_ENV}. The token is read from SOCKET_API_TOKEN (never an "
        "argument).",
    )
    max_attempts: int = option(
        "--max-attempts",
        envvar="SOCKET_TRIAGE_MAX_ATTEMPTS",
        type=click.IntRange(1, 50),
        default=RetryPolicy.max_attempts,
        show_default=True,
        help="Tries per API call, the first included, before giving up on 429, 5xx or "
        "network errors. Env: SOCKET_TRIAGE_MAX_ATTEMPTS.",
    )
    timeout: float = option(
        "--timeout",
        envvar="SOCKET_TRIAGE_TIMEOUT",
        type=FiniteFloatRange(0.1, 600),
        default=RetryPolicy.timeout,
        show_default=True,
        help="Seconds to connect, send or read one API call. Env: SOCKET_TRIAGE_TIMEOUT.",
    )

    @property
    def retry(self) -> RetryPolicy:
        return RetryPolicy(max_attempts=self.max_attempts, timeout=self.timeout)


def api_options() -> Any:
    """``--api-url``, ``--max-attempts`` and ``--timeout``, held as one ``Api``."""
    return field(metadata={_GROUP: Api})


def check_orgs(_ctx: click.Context, param: click.Parameter, value: Any) -> Any:
    """Reject anything but an org slug, as one line, before any command runs."""
    name = param.opts[0]
    if isinstance(value, tuple):
        return tuple(check_org(org, name) for org in value)
    return None if value is None else check_org(value, name)


def _no_colour(ctx: click.Context, _param: click.Parameter, value: bool) -> None:
    if value:
        ctx.color = False  # inherited by subcommands; use_colour() and click.echo obey it


_NO_COLOR: Final[Mapping[str, Any]] = {
    "is_flag": True,
    "expose_value": False,
    "is_eager": True,
    "callback": _no_colour,
    "help": "No colour, even on a terminal (as NO_COLOR=1).",
}
no_color_option: Final = click.option("--no-color", **_NO_COLOR)


def click_command(
    name: str, options: type[OptionsT]
) -> Callable[[Callable[[OptionsT], int]], click.Command]:
    """The click command ``name``: ``options``' fields, then ``--no-color`` and ``--debug``
    (``commands.logs``), then any group of
    options (the API's), in ``--help`` order. It calls the decorated function with the values
    as one ``options``; the function's docstring is the command's help."""

    def build(func: Callable[[OptionsT], int]) -> click.Command:
        def callback(**values: Any) -> int:
            return func(_collect(options, values))

        own = [_parameter(f) for f in fields(options) if _GROUP not in f.metadata]
        groups = [_parameter(f) for g in _groups(options) for f in fields(g)]
        shared = [
            click.Option(["--no-color"], **_NO_COLOR),
            click.Option(["--debug"], **DEBUG_OPTION),
        ]
        params = [*own, *shared, *groups]
        return click.Command(name, callback=callback, params=params, help=func.__doc__)

    return build


def _parameter(spec: Field[Any]) -> click.Parameter:
    parameter: click.Parameter = spec.metadata[_PARAMETER](spec.name)
    return parameter


def _groups(options: type[_Options]) -> list[type[_Options]]:
    return [f.metadata[_GROUP] for f in fields(options) if _GROUP in f.metadata]


def _collect(options: type[OptionsT], values: Mapping[str, Any]) -> OptionsT:
    """``options`` from click's values, by field name (``_parameter`` named each after one)."""
    given = {
        f.name: _collect(f.metadata[_GROUP], values) if _GROUP in f.metadata else values[f.name]
        for f in fields(options)
    }
    return options(**given)
