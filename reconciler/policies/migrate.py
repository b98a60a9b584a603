"""Legacy triage rules -> native Alert Policies entries, ready to be written as rule files.

The rules come from the org (``from_live``: its legacy listing, which stays readable after the
move) or from rule files (``from_files``). Socket's translate endpoint turns each into a policy
rule or a resolution, or says why it cannot (``policies.translate``); nothing is guessed here.

Order: legacy triage documents no precedence, Alert Policies evaluate top to bottom and the
first match wins. Rules are written most specific first (``triage.selector.specificity``:
more selector fields set, then an exact version before a prefix), ties kept in their original
order, so that a narrow exception is never hidden behind a broad rule.

What the files would refuse is fixed or set aside, so that the output always validates: a name
used twice gets a suffix, a note too long for the provenance trailer is shortened (the summary
keeps it whole), and an entry the checks refuse goes to the summary instead. What can be carried
over faithfully is: a legacy note's CRLF, CR and Unicode line breaks become ``\n``, and a token
the note holds is redacted.

Live rules with the same selector are migrated once: the strictest state wins (``STRICTEST``:
``block`` before ``warn`` before ``monitor`` before ``inherit`` before ``ignore``; the oldest
among equals), so that a ``block`` never silently loses to a ``warn``. Every rule left out that
would have decided alerts otherwise (``Migration.deciding_left_out``) makes ``migrate`` fail
after writing its files.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Final

from reconciler.errors import Location
from reconciler.policies.client import PoliciesClient
from reconciler.policies.translate import translate_rules
from reconciler.redact import redact
from reconciler.rules.ruleset import OrgRules
from reconciler.text import cut, units
from reconciler.vocab.policies import checks
from reconciler.vocab.policies.model import DesiredPolicy, DesiredResolution, DesiredRule
from reconciler.vocab.policies.selectors import Problem
from reconciler.vocab.policies.wire import RULE_NAME_MAX
from reconciler.vocab.triage.selector import LiveRule, Selector, group_live, specificity

ELLIPSIS: Final = "…"
# Codes of our own, for entries the server translated but the files could not hold as they are.
REFUSED_BY_CHECKS: Final = "invalid_in_files"
# Legacy states, strictest first: of live rules with one selector, the first here is migrated.
STRICTEST: Final = ("block", "warn", "monitor", "inherit", "ignore")
# The state that decides nothing (the baseline does): leaving such a rule out changes no alert.
UNDECIDED: Final = "inherit"
# Line breaks a legacy note may hold, which a rule file writes as "\n".
_LINE_BREAKS: Final = re.compile("\r\n|[\r\x85\u2028\u2029]")


@dataclass(frozen=True)
class Legacy:
    """One legacy rule to migrate, and where it came from (``FILE:LINE:COL`` or ``uuid ...``)."""

    selector: Selector
    state: str
    note: str
    origin: str
    location: Location | None = None
    owner: str | None = None
    ticket: str | None = None
    expires: dt.date | None = None

    def entry(self) -> dict[str, object]:
        """The legacy camelCase entry translate takes: selector, state and the human note."""
        return {**self.selector.to_camel(), "state": self.state, "note": self.note}


@dataclass(frozen=True)
class Refused:
    """A legacy rule with no native equivalent: the server's (or the checks') code and why."""

    legacy: Legacy
    code: str
    reason: str


@dataclass(frozen=True)
class Duplicate:
    """A live rule left out because another with its selector was migrated (``kept``)."""

    left_out: Legacy
    kept: Legacy


@dataclass
class Migration:
    """The outcome: entries to write (rules in evaluation order), and what the summary lists."""

    rules: list[tuple[Legacy | None, DesiredRule]] = field(default_factory=list)
    resolutions: list[tuple[Legacy | None, DesiredResolution]] = field(default_factory=list)
    refused: list[Refused] = field(default_factory=list)
    shortened: list[tuple[Legacy, str]] = field(default_factory=list)  # (rule, the whole note)
    renamed: list[tuple[Legacy, str, str]] = field(default_factory=list)  # (rule, from, to)
    expired: list[Legacy] = field(default_factory=list)
    duplicates: list[Duplicate] = field(default_factory=list)  # live rules with one selector
    # The org's policies as the file declares them (``policies.export.adopt_policies``): its
    # live ones, or the files' own declaration; ``declares`` says the file has ``policies:``.
    policies: list[DesiredPolicy] = field(default_factory=list)
    declares: bool = False
    policies_source: str = ""
    live_left_out: list[str] = field(default_factory=list)  # live items the file cannot hold
    policies_unavailable: str = ""  # why the live policies could not be read, if they could not

    def deciding_left_out(self) -> list[str]:
        """Each legacy rule left out whose alerts would now be decided otherwise, described:
        one the server could not translate (unless its state defers to the baseline), or a
        duplicate whose state differs from the one kept; and each live policy, policy rule or
        repository the file could not hold."""
        found = [
            f"{r.legacy.origin} ({r.legacy.selector.describe()}, state {r.legacy.state}: {r.code})"
            for r in self.refused
            if r.legacy.state != UNDECIDED
        ]
        found += [
            f"{d.left_out.origin} ({d.left_out.selector.describe()}, state {d.left_out.state}: "
            f"a duplicate of {d.kept.origin}, state {d.kept.state}, which was kept)"
            for d in self.duplicates
            if d.left_out.state != d.kept.state
        ]
        return found + self.live_left_out


def carried_note(note: str) -> str:
    r"""A legacy note as a rule file holds it faithfully: line breaks as ``\n``, tokens redacted.

    >>> carried_note("one\r\ntwo\rthree\u00a0four")
    'one\ntwo\nthree\xa0four'
    """
    return redact(_LINE_BREAKS.sub("\n", note))


def _strictness(rule: LiveRule) -> int:
    return STRICTEST.index(rule.state) if rule.state in STRICTEST else len(STRICTEST)


def from_live(live: Sequence[LiveRule]) -> tuple[list[Legacy], list[Duplicate]]:
    """The org's live legacy rules, one per selector (the strictest state, then the oldest),
    and the duplicates left out, each with the rule kept in its place."""

    def legacy(rule: LiveRule) -> Legacy:
        return Legacy(rule.selector, rule.state, carried_note(rule.human_note), f"uuid {rule.uuid}")

    items: list[Legacy] = []
    duplicates: list[Duplicate] = []
    for rules in group_live(live).values():
        chosen = min(rules, key=_strictness)  # min keeps the first (oldest) of equals
        kept = legacy(chosen)
        items.append(kept)
        duplicates += [Duplicate(legacy(r), kept) for r in rules if r is not chosen]
    return items, duplicates


def from_files(org_rules: OrgRules, today: dt.date) -> tuple[list[Legacy], list[Legacy]]:
    """The files' triage-style rules: (to migrate, expired ones left out)."""
    kept: list[Legacy] = []
    expired: list[Legacy] = []
    for rule in org_rules.rules:
        origin = str(rule.location) if rule.location else "(files)"
        item = Legacy(
            rule.selector,
            rule.state,
            rule.note.strip(),
            origin,
            rule.location,
            rule.owner,
            rule.ticket,
            rule.expires,
        )
        (expired if rule.is_expired(today) else kept).append(item)
    return kept, expired


def most_specific_first(items: Sequence[Legacy]) -> list[Legacy]:
    """Sorted by ``specificity``, larger first; equal ones keep their order (a stable sort).

    >>> a = Legacy(Selector(alert_type="cve"), "warn", "", "a")
    >>> b = Legacy(Selector(alert_type="cve", package_name="x", package_version="1.*"), "ignore",
    ...            "", "b")
    >>> c = Legacy(Selector(alert_type="cve", package_name="x", package_version="1.2"), "ignore",
    ...            "", "c")
    >>> [i.origin for i in most_specific_first([a, b, c])]
    ['c', 'b', 'a']
    """
    return sorted(items, key=lambda item: tuple(-part for part in specificity(item.selector)))


def migrate(
    client: PoliciesClient,
    org: str,
    items: Sequence[Legacy],
    native: OrgRules | None = None,
) -> Migration:
    """Translate ``items`` (already in the order to write) with the server.

    ``native`` entries the files already hold are kept as they are, first: their order was
    already the evaluation order.
    """
    done = Migration()
    if native is not None:
        done.rules += [(None, r) for r in native.policy_rules]
        done.resolutions += [(None, r) for r in native.resolutions]
    outcomes = translate_rules(client, org, [item.entry() for item in items])
    for item, outcome in zip(items, outcomes, strict=True):
        if outcome.refused is not None:
            done.refused.append(Refused(item, outcome.refused.code, outcome.refused.reason))
        elif isinstance(outcome.desired, DesiredRule):
            _add_rule(done, item, outcome.desired)
        elif isinstance(outcome.desired, DesiredResolution):
            _add_resolution(done, item, outcome.desired)
    return done


def _shorten(done: Migration, item: Legacy, text: str, limit: int) -> str:
    if units(text) <= limit:
        return text
    done.shortened.append((item, text))
    return cut(text, limit - units(ELLIPSIS)).rstrip() + ELLIPSIS


def _add_rule(done: Migration, item: Legacy, rule: DesiredRule) -> None:
    note = _shorten(done, item, rule.note, checks.HUMAN_NOTE_MAX)
    name = _unique(rule.name, {r.name for _, r in done.rules if r.policy == rule.policy})
    if name != rule.name:
        done.renamed.append((item, rule.name, name))
    rule = dataclasses.replace(
        rule,
        name=name,
        note=note,
        location=item.location,
        owner=item.owner,
        ticket=item.ticket,
        expires=item.expires,
    )
    problems = checks.check_rule(rule_fields(rule))
    if _refuse(done, item, problems):
        return
    done.rules.append((item, rule))


def _add_resolution(done: Migration, item: Legacy, res: DesiredResolution) -> None:
    if any(r.selector == res.selector for _, r in done.resolutions):
        done.refused.append(
            Refused(item, REFUSED_BY_CHECKS, "another resolution has the same selector")
        )
        return
    comment = _shorten(done, item, res.comment, checks.HUMAN_COMMENT_MAX)
    res = dataclasses.replace(
        res,
        comment=comment,
        location=item.location,
        owner=item.owner,
        ticket=item.ticket,
        expires=item.expires,
    )
    problems = checks.check_resolution(resolution_fields(res))
    if _refuse(done, item, problems):
        return
    done.resolutions.append((item, res))


def _refuse(done: Migration, item: Legacy, problems: Sequence[Problem]) -> bool:
    errors = [p.message for p in problems if p.severity == "error"]
    if errors:
        done.refused.append(Refused(item, REFUSED_BY_CHECKS, "; ".join(errors)))
    return bool(errors)


def _unique(name: str, taken: set[str]) -> str:
    """``name``, or ``name (2)``, ``name (3)``... when a rule of the policy already has it."""
    if name not in taken:
        return name
    number = 2
    while True:
        suffix = f" ({number})"
        candidate = cut(name, RULE_NAME_MAX - units(suffix)) + suffix
        if candidate not in taken:
            return candidate
        number += 1


def rule_fields(rule: DesiredRule) -> dict[str, object]:
    """A policy rule as a rule file writes it (the keys of ``policy_rules`` entries)."""
    fields: dict[str, object] = {
        "name": rule.name,
        "vigil_selector": rule.selector.to_wire(),
        "action": rule.action,
    }
    if rule.note:
        fields["note"] = rule.note
    if rule.policy != "default":
        fields["policy"] = rule.policy
    return {**fields, **_meta(rule.owner, rule.ticket, rule.expires)}


def resolution_fields(res: DesiredResolution) -> dict[str, object]:
    """A resolution as a rule file writes it (the keys of ``resolutions`` entries)."""
    fields: dict[str, object] = {"vigil_selector": res.selector.to_wire(), "reason": res.reason}
    if res.reason_text:
        fields["reason_text"] = res.reason_text
    if res.comment:
        fields["comment"] = res.comment
    return {**fields, **_meta(res.owner, res.ticket, res.expires)}


def _meta(owner: str | None, ticket: str | None, expires: dt.date | None) -> dict[str, object]:
    found: dict[str, object] = {}
    if owner:
        found["owner"] = owner
    if ticket:
        found["ticket"] = ticket
    if expires:
        found["expires"] = expires.isoformat()
    return found
