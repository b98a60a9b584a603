"""``socket-triage plan``: list each org's live rules, diff them against the files, render."""

from __future__ import annotations

import json
import sys
from collections.abc import Sequence
from pathlib import Path

from reconciler.commands import print_warnings, use_colour
from reconciler.engine.orgs import make_plan, select_orgs
from reconciler.engine.plan import Plan
from reconciler.engine.provenance import detect
from reconciler.http.client import open_client
from reconciler.http.retry import RetryPolicy
from reconciler.redact import redact
from reconciler.render import render_json, render_markdown, render_text
from reconciler.rules import loader
from reconciler.rules.model import utc_today


def save_plan(plan: Plan, path: str) -> None:
    """Write the plan as JSON. It holds no secret, and tokens are redacted regardless."""
    target = Path(path)
    tmp = target.with_name(target.name + ".tmp")
    tmp.write_text(redact(json.dumps(plan.to_dict(), indent=2, sort_keys=True)) + "\n")
    tmp.replace(target)


def show(plan: Plan, fmt: str) -> None:
    if fmt == "json":
        render_json(plan, sys.stdout)
    elif fmt == "markdown":
        render_markdown(plan, sys.stdout)
    else:
        render_text(plan, sys.stdout, colour=use_colour())


def run(
    paths: Sequence[str],
    *,
    org: str | None,
    fmt: str,
    out: str | None,
    detailed_exitcode: bool,
    api_url: str,
    retry: RetryPolicy = RetryPolicy(),  # noqa: B008 - frozen
) -> int:
    rule_set = loader.load(paths, today=utc_today())  # invalid files: nothing is sent
    print_warnings(rule_set.warnings)
    orgs = select_orgs(rule_set, org)
    with open_client(api_url, retry=retry) as client:
        plan, _ = make_plan(client, orgs, detect())
    show(plan, fmt)
    if out:
        save_plan(plan, out)
    return 2 if detailed_exitcode and plan.has_changes else 0
