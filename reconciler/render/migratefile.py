"""A ``Migration`` as text: the native rule file, and the Markdown summary beside it.

The rule file pins ``target: alert-policies``, carries the ``$schema`` line editors read, and
keeps each rule's note, owner, ticket and expiry. The summary lists what could not be carried
over and why (the server's code and reason, and the legacy rule's FILE:LINE or uuid), notes that
were shortened, names that were changed, and what to run next.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Final

import yaml

from reconciler.policies.export import policy_fields
from reconciler.policies.migrate import Legacy, Migration, resolution_fields, rule_fields
from reconciler.render.common import count
from reconciler.render.escape import one_line, table_code
from reconciler.rules.safety import SafetyPolicy
from reconciler.triage.export import SCHEMA_URL

HEADER: Final = (
    f"# yaml-language-server: $schema={SCHEMA_URL}\n"
    "# Migrated by `socket-triage migrate` from {source} of org {org}.\n"
    "# Alert Policies evaluate policy_rules top to bottom and the first matching rule decides:\n"
    "# they are written most specific first. Review the order before you apply.\n"
)


@dataclass(frozen=True)
class Settings:
    """What the files said about the org that carries over: ``prune`` and ``safety``."""

    prune: bool | None = None
    safety: SafetyPolicy | None = None


def rule_file(org: str, done: Migration, source: str, settings: Settings | None = None) -> str:
    """The native rule file for ``org``: ``target: alert-policies``, rules, resolutions."""
    settings = settings or Settings()
    document: dict[str, Any] = {"org": org, "target": "alert-policies"}
    if settings.prune is not None:
        document["prune"] = settings.prune
    if settings.safety is not None and settings.safety != SafetyPolicy():
        document["safety"] = {
            "max_change_percent": settings.safety.max_change_percent,
            "min_existing": settings.safety.min_existing,
        }
    if done.declares:
        document["policies"] = [policy_fields(policy) for policy in done.policies]
    if done.rules:
        document["policy_rules"] = [rule_fields(rule) for _, rule in done.rules]
    if done.resolutions:
        document["resolutions"] = [resolution_fields(res) for _, res in done.resolutions]
    text = HEADER.format(source=source, org=org)
    if done.refused:
        text += (
            f"# {len(done.refused)} legacy rules could not be carried over: see the summary "
            "written beside this file.\n"
        )
    return text + yaml.safe_dump(document, sort_keys=False, allow_unicode=True, width=100)


def summary(org: str, done: Migration, source: str, rule_file_name: str) -> str:
    """The Markdown summary: what was written, what was not and why, and the next steps."""
    lines = [
        f"# Migration of org {org} to Alert Policies",
        "",
        f"Source: {source}.",
        "",
        f"Written to `{rule_file_name}`: {count(len(done.rules), 'policy rule')} and "
        f"{count(len(done.resolutions), 'resolution')}, with `target: alert-policies`. Policy "
        "rules are in evaluation order, most specific first (more selector fields, then an exact "
        "version before a prefix); the first rule that matches an alert decides.",
    ]
    lines += _policies(done)
    lines += _refused(done)
    lines += _section(
        "Duplicates left out",
        "Live rules with the selector of another; the strictest state was kept (block, warn, "
        "monitor, inherit, ignore; the oldest of equals):",
        [
            (d.left_out, f"state {d.left_out.state}; kept {d.kept.origin}, state {d.kept.state}")
            for d in done.duplicates
        ],
    )
    lines += _section(
        "Notes shortened",
        "The note did not fit with socket-triage's provenance trailer; the whole note:",
        [(item, whole) for item, whole in done.shortened],
    )
    lines += _section(
        "Names changed",
        "Another rule of the policy already had the name Socket's translation gave:",
        [(item, f"{old} → {new}") for item, old, new in done.renamed],
    )
    lines += _section(
        "Expired, left out",
        "Their expires date has passed, so they count as removed:",
        [(item, item.selector.describe()) for item in done.expired],
    )
    lines += [
        "",
        "## Next steps",
        "",
        f"1. `socket-triage validate {rule_file_name}`",
        f"2. `socket-triage plan --target alert-policies {rule_file_name}`: the future state.",
        "3. Once the org has moved: `socket-triage apply`, then `plan --detailed-exitcode`.",
        "4. Remove the legacy rule files of the org from the paths CI applies.",
    ]
    return "\n".join(lines) + "\n"


def _policies(done: Migration) -> list[str]:
    """Which policies the file declares, from where, and what of the live state it left out."""
    if done.policies_unavailable:
        return [
            "",
            "## Policies",
            "",
            f"Not written: the org's policies could not be read ({done.policies_unavailable}). "
            "The file declares none, so plan reconciles the rules of the default policy and of "
            "the policies rules name, and leaves every policy's settings alone. Run `migrate` "
            "again with a token that may list them (alert-policy:list, repo:list), or `export` "
            "once the org has moved, to write them.",
        ]
    if not done.declares:
        return []
    named = [p for p in done.policies if not p.is_default]
    own = sum(1 for _, rule in done.rules if rule.policy != "default")
    lines = [
        "",
        f"## Policies ({len(done.policies)})",
        "",
        f"The file declares {done.policies_source} (`policies:`): that list, with the default "
        "policy, is the org's whole set, so plan creates, updates and deletes policies to match "
        f"it. The live rules of its named policies ({len(named)}) follow the translated rules "
        f"({count(own, 'rule')}, with `policy:`).",
        "",
    ]
    for policy in done.policies:
        repos = ", ".join(table_code(slug) for slug in policy.repositories) or "none"
        if policy.is_default:
            repos = "every one no other policy names"
        baseline = policy.baseline or "none"
        lines.append(f"- {table_code(policy.name)}: baseline {baseline}; repositories: {repos}")
    if done.live_left_out:
        lines += ["", f"Left out of the live state ({len(done.live_left_out)}):", ""]
        lines += [f"- {table_code(one_line(item, 300))}" for item in done.live_left_out]
    return lines


def _refused(done: Migration) -> list[str]:
    if not done.refused:
        return ["", "Every legacy rule was translated."]
    lines = [
        "",
        f"## Could not be translated ({len(done.refused)})",
        "",
        "| legacy rule | where | code | why |",
        "|---|---|---|---|",
    ]
    for refused in done.refused:
        item = refused.legacy
        what = f"{item.selector.describe()} (state {item.state})"
        lines.append(
            f"| {table_code(what)} | {table_code(item.origin)} | {table_code(refused.code)} "
            f"| {table_code(one_line(refused.reason, 300))} |"
        )
    return lines


def _section(title: str, lead: str, rows: Sequence[tuple[Legacy, str]]) -> list[str]:
    if not rows:
        return []
    lines = ["", f"## {title} ({len(rows)})", "", lead, ""]
    lines += [f"- {table_code(item.origin)}: {table_code(one_line(text))}" for item, text in rows]
    return lines
