"""The engine's one flow: the tally and advice both targets word alike, and one Plan shape."""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path
from typing import NamedTuple

import pytest

from reconciler.engine.flow import advice, tally
from reconciler.engine.outcomes import APPLIED, NOT_APPLIED, UNKNOWN
from reconciler.engine.plan import Plan
from reconciler.errors import BadRequestError, ReadOnlyError, ReconcilerError, ServerError
from reconciler.policies.plan import ACTIONS as POLICY_ACTIONS
from reconciler.policies.plan import PolicyPlan
from reconciler.triage.plan import TriagePlan, diff
from reconciler.triage.provider import ACTIONS as TRIAGE_ACTIONS
from reconciler.wiring import load_plan


class Change(NamedTuple):
    action: str


CONVERGES = " Running apply again converges."
FAILS_AGAIN = " Running apply again will fail the same way until the cause is fixed."
STATUSES = ((Change("create"), APPLIED), (Change("delete"), NOT_APPLIED))


@pytest.mark.parametrize(
    ("actions", "counts"),
    [
        (TRIAGE_ACTIONS, "1 created, 0 updated, 0 deleted"),
        (POLICY_ACTIONS, "1 created, 0 updated, 0 replaced, 0 moved, 0 deleted"),
    ],
)
def test_the_tally_names_the_actions_of_the_target(actions: tuple[str, ...], counts: str) -> None:
    assert tally("acme", STATUSES, actions) == (
        f"Applied 1 of 2 changes to org acme ({counts}); 1 not applied"
    )


def test_the_tally_counts_unknown_outcomes() -> None:
    statuses = ((Change("update"), UNKNOWN),)
    assert tally("acme", statuses, TRIAGE_ACTIONS).endswith(
        "0 not applied; 1 with an unknown outcome"
    )


@pytest.mark.parametrize(
    ("error", "own", "said"),
    [
        (None, (), " Running apply again converges."),
        (ServerError("busy", 503), (), " Running apply again converges."),
        (
            BadRequestError("no", 400),
            (),
            " Running apply again will fail the same way until the cause is fixed.",
        ),
        (
            ReadOnlyError("moved", 409),
            (),
            " Running apply again will fail the same way until the cause is fixed.",
        ),
        (ReadOnlyError("not moved yet", 409), (ReadOnlyError,), ""),
    ],
)
def test_advice_promises_convergence_only_when_a_rerun_helps(
    error: ReconcilerError | None, own: tuple[type[ReconcilerError], ...], said: str
) -> None:
    assert advice(error, own) == said


def test_a_saved_plan_holds_both_targets_in_one_list_and_org_picks_either(tmp_path: Path) -> None:
    triage = diff("a", [], [], today=dt.date(2026, 1, 1))
    policies = PolicyPlan("b", (), (), unchanged=0, existing=0, fingerprint="sha256:0")
    saved = tmp_path / "plan.json"
    saved.write_text(json.dumps(Plan((policies, triage)).to_dict()))
    assert [o.org for o in load_plan(str(saved)).orgs] == ["a", "b"]  # org order
    (only,) = load_plan(str(saved), "b").orgs
    assert isinstance(only, PolicyPlan) and only.target == "alert-policies"
    assert isinstance(load_plan(str(saved), "a").orgs[0], TriagePlan)
