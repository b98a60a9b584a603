"""``socket-triage export``: write an org's live rules as a rule file, ready to commit."""

from __future__ import annotations

from pathlib import Path

import click

from reconciler.engine.export import MISSING_NOTE, render_rule_file
from reconciler.engine.orgs import list_live
from reconciler.http.client import open_client
from reconciler.http.retry import RetryPolicy


def run(
    *,
    org: str,
    out: str | None,
    api_url: str,
    retry: RetryPolicy = RetryPolicy(),  # noqa: B008
) -> int:
    with open_client(api_url, retry=retry) as client:
        live = list_live(client, org)
    text = render_rule_file(org, live)
    if MISSING_NOTE in text:
        click.echo(
            "warning: some live rules have no note; the export marks them TODO, and plan shows "
            "them as note updates until each gets its reason.",
            err=True,
        )
    if out is None:
        click.echo(text, nl=False)
        return 0
    target = Path(out)
    if target.is_dir() or not target.suffix:
        target.mkdir(parents=True, exist_ok=True)
        target = target / f"{org}.yaml"
    target.write_text(text, encoding="utf-8")
    click.echo(f"Wrote {len(live)} live rules of org {org} to {target}.", err=True)
    return 0
