"""``socket-triage explain``: which rules decide one alert, from which file and line, and why."""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass

import click

from reconciler.commands import print_warnings
from reconciler.commands.options import (
    Api,
    FiniteFloatRange,
    api_options,
    click_command,
    format_option,
    option,
    org_option,
    paths_argument,
    target_option,
)
from reconciler.errors import UsageError
from reconciler.exits import EXIT_OK
from reconciler.explain import FORMATS
from reconciler.explain.alert import Alert, describe_alert
from reconciler.explain.policies import PolicyExplanation
from reconciler.explain.policy_alert import PolicyAlert, describe_policy_alert
from reconciler.explain.policy_text import policy_lines
from reconciler.explain.query import explain_alert
from reconciler.explain.text import explanation_lines
from reconciler.http.retry import RetryPolicy
from reconciler.redact import redact
from reconciler.rules.model import utc_today


def run(
    paths: Sequence[str],
    *,
    org: str | None,
    alert: Alert | PolicyAlert,
    target: str | None,
    live: bool,
    fmt: str,
    api_url: str,
    retry: RetryPolicy = RetryPolicy(),  # noqa: B008 - frozen
) -> int:
    """Print every rule in ``paths`` that matches ``alert``, in the order applied, and the
    result; with ``live``, the org's matching live rules and where they disagree. ``EXIT_OK``.

    Under Alert Policies: the governing policy, its matching rules, resolutions and baseline.
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
        return EXIT_OK
    lines = policy_lines if isinstance(answer.explanation, PolicyExplanation) else explanation_lines
    for line in lines(data):
        click.echo(redact(line))
    return EXIT_OK


@dataclass(frozen=True)
class Options:
    """``explain``'s command line, in ``--help`` order: the alert's facts, then the rules'."""

    paths: tuple[str, ...] = paths_argument()
    org: str | None = org_option("The org whose rules decide (default: the only org in the files).")
    purl: str | None = option(
        "--purl", help="The alert's package as a purl: pkg:npm/lodash@4.17.20."
    )
    package_type: str | None = option(
        "--package-type", help="The package's type (instead of --purl)."
    )
    package_namespace: str | None = option(
        "--package-namespace", help="Its namespace, e.g. @babel."
    )
    package_name: str | None = option("--package-name", help="Its name.")
    package_version: str | None = option("--package-version", help="Its exact version.")
    alert_type: str | None = option("--alert-type", help="The alert type, e.g. criticalCVE or cve.")
    alert_key: str | None = option(
        "--alert-key", help="The alert's key, from Socket's alert details."
    )
    cve: str | None = option("--cve", help="The CVE or GHSA id.")
    reachability: str | None = option(
        "--reachability",
        type=click.Choice(["reachable", "unreachable", "other"]),
        help="Reachability of the vulnerable code.",
    )
    fix_available: bool | None = option(
        "--fix-available/--no-fix-available", default=None, help="A fix exists."
    )
    patch_available: bool | None = option(
        "--patch-available/--no-patch-available", default=None, help="A Socket patch exists."
    )
    kev: bool | None = option("--kev/--no-kev", default=None, help="In CISA's KEV catalogue.")
    cvss: float | None = option(
        "--cvss", type=FiniteFloatRange(0, 10), help="The CVSS score, 0 to 10."
    )
    severity: str | None = option(
        "--severity", help="Alert Policies: the finding's severity, e.g. critical or high."
    )
    repo: str | None = option(
        "--repo",
        metavar="SLUG",
        help="Alert Policies: the repository (its slug, or OWNER/NAME for location.repo).",
    )
    manifest: str | None = option(
        "--manifest", metavar="PATH", help="Alert Policies: the manifest path in the repository."
    )
    target: str | None = target_option(
        "Precedence: triage (legacy; socket-triage's most-specific model) or alert-policies "
        "(the governing policy's rules in file order, first match wins). Default: the files' "
        "target:, else (--live) the org's migration status, else alert-policies when the files "
        "hold policy rules, else triage.",
    )
    live: bool = option(
        "--live",
        is_flag=True,
        help="Also read the org's live rules (and policies) and say where they differ.",
    )
    fmt: str = format_option(FORMATS, "Output format on stdout.", default=FORMATS[0])
    api: Api = api_options()


@click_command("explain", Options)
def command(given: Options) -> int:
    """Show which rules decide one alert, in the order applied, with FILE:LINE and owner."""
    alert = describe_alert(
        purl=given.purl,
        package_type=given.package_type,
        package_namespace=given.package_namespace,
        package_name=given.package_name,
        package_version=given.package_version,
        alert_type=given.alert_type,
        alert_key=given.alert_key,
        cve=given.cve,
        reachability=given.reachability,
        fix_available=given.fix_available,
        patch_available=given.patch_available,
        kev=given.kev,
        cvss=given.cvss,
    )
    return run(
        given.paths or (".",),
        org=given.org,
        alert=describe_policy_alert(
            alert, severity=given.severity, repo=given.repo, manifest=given.manifest
        ),
        target=given.target,
        live=given.live,
        fmt=given.fmt,
        api_url=given.api.api_url,
        retry=given.api.retry,
    )
