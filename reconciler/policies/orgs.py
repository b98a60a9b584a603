"""One org on the Alert Policies target: its desired state from the files, its live state, the plan.

The desired state is every entry of the org's files in file order (files as read, then lines):
native ``policy_rules`` as written, and legacy triage-style ``rules`` translated in place by
Socket's translate endpoint (``policies.translate``). That order is the evaluation order. An
entry the server cannot translate, or whose note would not fit with the provenance trailer, is a
``ConfigError`` at its FILE:LINE and nothing is planned (so nothing is written) for the org.

The live state is one listing of the policies, one of each policy's rules and a cursor walk of
the resolutions (``policies.snapshot``, as apply reads it), and for an org whose files declare
policies one paged listing of its repositories (slugs -> ids); its ``fingerprint`` (rule order
included) is what a saved plan is checked against before the first write.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
from dataclasses import dataclass

from reconciler import text
from reconciler.engine.progress import phase
from reconciler.engine.provenance import Provenance
from reconciler.errors import ConfigError, Diagnostic, Location
from reconciler.policies.client import PoliciesClient
from reconciler.policies.diff import diff
from reconciler.policies.plan import PolicyPlan
from reconciler.policies.snapshot import Snapshot, read_snapshot
from reconciler.policies.translate import Outcome, translate_rules
from reconciler.rules.model import Rule
from reconciler.rules.policyfile import cross_file_problems, shadow_warning
from reconciler.rules.ruleset import OrgRules
from reconciler.vocab.policies import checks
from reconciler.vocab.policies.model import DesiredResolution, DesiredRule
from reconciler.vocab.policies.wire import COMMENT_MAX, RULE_NOTE_MAX


@dataclass(frozen=True)
class Desired:
    """The files' Alert Policies state for one org, and warnings only a translation reveals."""

    rules: tuple[DesiredRule, ...]
    resolutions: tuple[DesiredResolution, ...]
    warnings: tuple[str, ...] = ()
    # Entries past their ``expires`` date: removed from the files, so deleted whoever made them.
    expired: tuple[DesiredRule | DesiredResolution, ...] = ()


def desired_state(client: PoliciesClient, org_rules: OrgRules, today: dt.date) -> Desired:
    """Native entries and translated triage-style rules, in file order, expired ones apart.

    Expired triage-style rules are translated too, so that the live rule or resolution they
    declared is known and deleted (a refusal or a long note does not matter for them).

    Raises ``ConfigError`` (every problem at its FILE:LINE) when an entry cannot be translated,
    a note would not fit, or a translated name or selector collides with another entry.
    """
    legacy = list(org_rules.rules)
    outcomes = translate_rules(client, org_rules.org, [r.to_post(r.note) for r in legacy])
    problems: list[Diagnostic] = []
    entries: list[tuple[tuple[int, int, int], DesiredRule | DesiredResolution]] = []
    translated: set[int] = set()
    expired: list[DesiredRule | DesiredResolution] = []
    for rule, outcome in zip(legacy, outcomes, strict=True):
        if rule.is_expired(today):
            if outcome.desired is not None:
                expired.append(outcome.desired)
            continue
        found = _placed(rule, outcome, problems)
        if found is not None:
            translated.add(id(found))
            entries.append((org_rules.file_order(rule.location), found))
    native: list[DesiredRule | DesiredResolution] = [
        *org_rules.policy_rules,
        *org_rules.resolutions,
    ]
    entries += [(org_rules.file_order(e.location), e) for e in native if not e.is_expired(today)]
    expired += [e for e in native if e.is_expired(today)]
    entries.sort(key=lambda pair: pair[0])
    rules = [e for _, e in entries if isinstance(e, DesiredRule)]
    resolutions = [e for _, e in entries if isinstance(e, DesiredResolution)]
    # Collisions among native entries were refused by validate; those left involve a translation.
    problems += [d for d in cross_file_problems(rules, resolutions, today) if d.severity == "error"]
    if problems:
        raise ConfigError(problems)
    warnings = [
        shadow_warning(shadowed, by)
        for shadowed, by in checks.shadowed_rules(rules)
        if id(shadowed) in translated or id(by) in translated
    ]
    return Desired(tuple(rules), tuple(resolutions), tuple(warnings), tuple(expired))


def _placed(
    rule: Rule, outcome: Outcome, problems: list[Diagnostic]
) -> DesiredRule | DesiredResolution | None:
    """The translated entry, carrying the rule's place and metadata; None with a problem."""
    where = rule.location or Location("<unknown>", 0, 0)
    if outcome.refused is not None:
        refused = outcome.refused
        problems.append(
            Diagnostic(
                where,
                f"rule {rule.selector.describe()} (state {rule.state}) cannot be translated for "
                f"Alert Policies: {refused.code}: {refused.reason}",
            )
        )
        return None
    desired = outcome.desired
    assert desired is not None
    if text.units(outcome.note) > outcome.note_limit:
        kind, limit = (
            ("resolution comment", COMMENT_MAX)
            if isinstance(desired, DesiredResolution)
            else ("rule note", RULE_NOTE_MAX)
        )
        problems.append(
            Diagnostic(
                where,
                f"note is {text.units(outcome.note)} characters{text.how_counted(outcome.note)}: "
                f"as an Alert Policies {kind} it must fit in {limit} with socket-triage's "
                f"provenance trailer, so at most {outcome.note_limit}; shorten it",
            )
        )
        return None
    return dataclasses.replace(
        desired,
        location=rule.location,
        expires=rule.expires,
        owner=rule.owner,
        ticket=rule.ticket,
    )


def plan_policies_org(
    client: PoliciesClient,
    org_rules: OrgRules,
    provenance: Provenance,
    today: dt.date,
) -> tuple[PolicyPlan, Snapshot]:
    """The org's plan on the Alert Policies target, and the live state it was made against.

    Nothing is read from the org's policies before the files translate cleanly.
    """
    desired = desired_state(client, org_rules, today)
    with phase(f"Listing {org_rules.org}"):  # policies, their rules, resolutions: labelled
        live = read_snapshot(client, org_rules.org, repositories=org_rules.declares_policies)
    plan = diff(
        org_rules.org,
        rules=desired.rules,
        resolutions=desired.resolutions,
        policies=live.policies,
        live_rules=live.rules,
        live_resolutions=live.resolutions,
        prune=org_rules.prune,
        safety=org_rules.safety,
        trailer=provenance.trailer_at,
        expired=desired.expired,
        declared=org_rules.policies if org_rules.declares_policies else None,
        repositories=live.repositories,
    )
    notices = (*plan.notices, *desired.warnings)
    return dataclasses.replace(plan, notices=notices), live
