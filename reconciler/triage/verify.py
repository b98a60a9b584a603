"""After apply: settle every change's outcome from a final listing, and check the org.

When every outcome is known, the final listing is read from the rules changed since the apply's
first listing plus one page that counts them (``triage.recent``), else from every page.

The final listing is made only once every request whose answer was lost has had ``settle``
seconds (the request timeout) to commit, so that a late commit is seen. It decides each change
that is still *outcome unknown* by what the server holds: a create whose selector now has a new
rule, an update whose rule now has the new state and note, a delete whose uuid is gone are
*applied*; the rest are *not applied*. Without a listing (it failed, or a second Ctrl-C skipped
it) they stay unknown.
"""

from __future__ import annotations

from collections.abc import Sequence

from reconciler.engine.outcomes import Conclusion
from reconciler.engine.outcomes import statuses as outcome_of
from reconciler.errors import ApiError
from reconciler.triage.apply import ApplyResult
from reconciler.triage.changes import Change
from reconciler.triage.client import TriageClient
from reconciler.triage.plan import TriagePlan
from reconciler.triage.recent import after_apply
from reconciler.vocab.triage.selector import LiveRule, Selector, group_live, selector_order

# How a triage apply ended; ``after`` is the final listing.
Verdict = Conclusion[Change, tuple[LiveRule, ...]]


def holds(change: Change, old: set[str], after: Sequence[LiveRule]) -> bool:
    """Whether the org, as listed in ``after``, holds ``change``."""
    if change.action == "delete":
        return all(rule.uuid != change.uuid for rule in after)
    if change.action == "update":
        new = change.new
        assert new is not None
        return any(
            r.uuid == change.uuid and r.state == new.state and r.human_note == new.note.strip()
            for r in after
        )
    return any(r.uuid and r.uuid not in old and r.selector == change.selector for r in after)


def statuses(plan: TriagePlan, result: ApplyResult) -> tuple[tuple[Change, str], ...]:
    """Each change with its outcome as ``result`` knows it, in plan order."""
    with result.lock:
        applied = {id(c) for c in result.applied}
        unknown = {id(c) for c in result.unknown}
    return outcome_of(plan.changes, applied, unknown)


def settle(result: ApplyResult, before: Sequence[LiveRule], after: Sequence[LiveRule]) -> None:
    """Decide every unknown outcome of ``result`` by what ``after`` holds."""
    old = {rule.uuid for rule in before}
    with result.lock:
        pending = list(result.unknown)
    result.done([c for c in pending if holds(c, old, after)])
    # A create not held yet may still commit (a request queued at the server): still unknown.
    result.not_applied([c for c in pending if not holds(c, old, after) and c.action != "create"])


def conclude(
    client: TriageClient,
    plan: TriagePlan,
    before: Sequence[LiveRule],
    result: ApplyResult,
    *,
    settle_seconds: float = 0.0,
) -> Verdict:
    """List the org once lost requests had time to commit; settle outcomes; check the org."""
    result.progress = None  # the progress bar is gone by now
    result.wait_for_lost_answers(settle_seconds)
    try:
        after = after_apply(client, plan.org, before, result)
        if after is None:
            after = client.live_rules(plan.org, expected=len(expected_state(plan, before)))
    except ApiError as exc:
        return Conclusion(statuses(plan, result), listing_error=exc)
    if result.listener is not None:
        result.listener.listed(after)
    settle(result, before, after)
    complete = result.error is None and not result.interrupted
    problems: list[str] = []
    if complete:
        touched = _touched(plan, before, after)
        expected = expected_state(plan, [r for r in before if r.selector in touched])
        problems = differences(expected, [r for r in after if r.selector in touched])
    return Conclusion(statuses(plan, result), tuple(problems), tuple(after))


def _touched(
    plan: TriagePlan, before: Sequence[LiveRule], after: Sequence[LiveRule]
) -> set[Selector]:
    """The selectors the check after apply must look at.

    Those the plan changes, and those of every rule that is in only one of the two listings,
    as an object: a final listing built from the changed rules (``triage.recent``) holds the
    very rules listed before for the rest, which cannot differ from what the plan expects. A
    full listing shares no object with ``before``, so every selector is checked.
    """
    touched = {change.selector for change in plan.changes}
    listed_before = {id(rule) for rule in before}
    listed_after = {id(rule) for rule in after}
    touched.update(rule.selector for rule in after if id(rule) not in listed_before)
    touched.update(rule.selector for rule in before if id(rule) not in listed_after)
    return touched


def expected_state(plan: TriagePlan, before: Sequence[LiveRule]) -> dict[Selector, tuple[str, str]]:
    """What the org should hold after ``plan``: selector -> (state, human note).

    Rules without a uuid are left out: no write can touch them, and ``differences`` skips them.
    """
    deleted = {c.uuid for c in plan.changes if c.action == "delete"}
    kept = (r for r in before if r.uuid and r.uuid not in deleted)
    expected = {
        key: (rules[0].state, rules[0].human_note) for key, rules in group_live(kept).items()
    }
    for change in plan.changes:
        if change.new is not None:
            expected[change.selector] = (change.new.state, change.new.note.strip())
    return expected


def differences(expected: dict[Selector, tuple[str, str]], live: Sequence[LiveRule]) -> list[str]:
    """Every way ``live`` differs from ``expected``, one line each, in a stable order."""
    found_at: list[tuple[tuple[str, ...], list[str]]] = []
    groups = group_live(r for r in live if r.uuid)
    for key in set(expected) | set(groups):
        lines = _differences(key, expected.get(key), groups.get(key, []))
        if lines:  # labels and order only for the few keys that differ
            found_at.append((selector_order(key), lines))
    found_at.sort(key=lambda pair: pair[0])
    return [line for _, lines in found_at for line in lines]


def _differences(key: Selector, want: tuple[str, str] | None, found: list[LiveRule]) -> list[str]:
    if want is None:
        return [f"unexpected rule {key.describe()} [{r.uuid}]" for r in found]
    if not found:
        return [f"missing rule {key.describe()}"]
    problems = []
    if len(found) > 1:
        problems.append(
            f"{len(found)} live rules for {key.describe()}: another writer (a second apply?) "
            "made the same change at the same time, or a lost create committed late"
        )
    state, note = want
    if found[0].state != state:
        problems.append(f"rule {key.describe()} has state {found[0].state}, expected {state}")
    elif found[0].human_note != note:
        problems.append(f"rule {key.describe()} has a different note than expected")
    return problems
