"""The text plan, Terraform-like: ``+`` create, ``~`` update with before → after, ``-`` delete.

Every value from the server or the files goes through ``terminal_safe``: this is the text the
apply confirmation shows, and a control sequence in a package name must not rewrite it.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import TYPE_CHECKING, Any, Final, TextIO

import click

from reconciler.api import ALERT_POLICIES
from reconciler.render import policyobjects, policyrows, wrap
from reconciler.render.common import (
    SYMBOLS,
    count,
    facts,
    field_changes,
    org_summary,
    summary_line,
)
from reconciler.render.escape import terminal_safe

if TYPE_CHECKING:  # annotations only: --version and validate need not load the engine
    from reconciler.engine.plan import Plan

COLOURS: Final = {"create": "green", "update": "yellow", "delete": "red"}


def _head(change: dict[str, Any]) -> str:
    head = f"  {SYMBOLS[change['action']]} {terminal_safe(change['label'])}"
    if change["uuid"]:
        head += f"  [{terminal_safe(change['uuid'])}]"
    if change["broad"]:
        head += "  (broad)"
    return head


def _details(change: dict[str, Any], width: int) -> Iterator[str]:
    action, after = change["action"], change["after"]
    if action == "create":
        yield f"      state: {terminal_safe(after['state'])}"
        yield from wrap.wrapped("      note:  ", wrap.quoted(after["note"]), width)
    elif action == "update":
        for name, old, new in field_changes(change):
            yield from wrap.change_lines("      ", name, old, new, width)
    else:
        yield f"      reason: {terminal_safe(change['reason'])}"
    where = [f"from {after['source']}"] if after and after.get("source") else []
    where += [f"{label}: {value}" for label, value in facts(change)]
    if where:
        yield terminal_safe("      " + "  ".join(where))


def change_lines(
    change: dict[str, Any], width: int = wrap.PLAIN_WIDTH
) -> Iterator[tuple[str, str]]:
    """(line, colour) pairs for one change in its ``to_dict()`` form; colour "" for none.

    Notes are whole, wrapped to ``width`` columns."""
    if policyobjects.is_policy_object(change):  # an Alert Policies policy itself
        yield from policyobjects.text_lines(change)
        return
    if policyrows.is_policy_change(change):  # an Alert Policies rule or resolution
        yield from policyrows.text_lines(change, width)
        return
    yield _head(change), COLOURS[change["action"]]
    for line in _details(change, width):
        yield line, ""


def org_lines(org: dict[str, Any], width: int) -> Iterator[tuple[str, str]]:
    """(line, colour) pairs for an org's changes; the repositories whose governing policy
    changes right after the policy changes (which come first), each on a line of its own."""
    moves = policyobjects.move_lines(org)
    for change in org["changes"]:
        if moves and not policyobjects.is_policy_object(change):
            yield from moves
            moves = []
        yield from change_lines(change, width)
    yield from moves


def _existing(org: dict[str, Any]) -> str:
    """What ``existing`` counts: triage rules; under Alert Policies rules and resolutions too,
    and the named policies in scope when the files declare them."""
    if org.get("target") != ALERT_POLICIES:
        return count(org["existing"], "live rule")
    what = (
        "rules, resolutions and policies"
        if org.get("declares_policies")
        else "rules and resolutions"
    )
    return f"{org['existing']} live {what}"


def render_text(plan: Plan, out: TextIO, *, colour: bool = False, width: int | None = None) -> None:
    """Each org's changes and summary line; unsafe plans flagged. Colour only when asked.

    Notes are shown whole, wrapped to ``width`` columns (default: ``wrap.terminal_width()``).
    """
    width = wrap.terminal_width() if width is None else width
    for org in plan.to_dict(fingerprint=False)["orgs"]:  # not shown, and costly to compute
        head = f"Org {org['org']} ({_existing(org)}):"
        click.echo(head, file=out, color=colour)
        for line in policyrows.target_lines(org):  # which API, and why
            click.echo(terminal_safe(f"  {line}"), file=out, color=colour)
        for line, fg in org_lines(org, width):
            styled = click.style(line, fg=fg) if fg and colour else line
            click.echo(styled, file=out, color=colour)
        for rule in org.get("unmanaged", []):  # prune: false; see mdtable._left_alone
            line = f"  = {rule['label']}  [{rule['uuid']}]  unmanaged, left alone"
            click.echo(terminal_safe(line), file=out, color=colour)
        for reason in org["unsafe"]:
            warning = f"  ! UNSAFE: {reason}; apply needs --force"
            styled = click.style(warning, fg="red", bold=True) if colour else warning
            click.echo(styled, file=out, color=colour)
        for warning in org.get("warnings", ()):  # e.g. a live rule without a uuid
            click.echo(terminal_safe(f"  ! {warning}"), file=out, color=colour)
        click.echo(summary_line(org_summary(org)), file=out, color=colour)
