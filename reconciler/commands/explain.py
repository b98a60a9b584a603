"""``socket-triage explain``: which rules decide one alert, from which file and line, and why."""

from __future__ import annotations

import json
from collections.abc import Sequence

import click

from reconciler.commands import print_warnings
from reconciler.errors import UsageError
from reconciler.exits import EXIT_OK
from reconciler.explain import FORMATS
from reconciler.explain.alert import Alert
from reconciler.explain.query import explain_alert
from reconciler.explain.text import explanation_lines
from reconciler.http.retry import RetryPolicy
from reconciler.redact import redact
from reconciler.rules.model import utc_today


def run(
    paths: Sequence[str],
    *,
    org: str | None,
    alert: Alert,
    target: str | None,
    live: bool,
    fmt: str,
    api_url: str,
    retry: RetryPolicy = RetryPolicy(),  # noqa: B008 - frozen
) -> int:
    """Print every rule in ``paths`` that matches ``alert``, in the order applied, and the
    result; with ``live``, the org's matching live rules and where they disagree. ``EXIT_OK``.
    """
    if fmt not in FORMATS:
        raise UsageError(f"--format {fmt!r}: choose one of {', '.join(FORMATS)}")
    answer = explain_alert(
        paths,
        org=org,
        alert=alert,
        target=target,
        live=live,
        api_url=api_url,
        retry=retry,
        today=utc_today(),
    )
    print_warnings(answer.warnings)
    data = answer.explanation.to_dict()
    if fmt == "json":
        click.echo(redact(json.dumps(data, indent=2, sort_keys=True)))
    else:
        for line in explanation_lines(data):
            click.echo(redact(line))
    return EXIT_OK
