"""Shared by the policies apply tests and the soak: clients, desired rules, plans, audit lines."""

from __future__ import annotations

import json
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import httpx
from conftest import ALL_SCOPES_TOKEN, TEST_ORG, TRANSPORT_BASE_URL

from reconciler.emulator import Emulator, EmulatorTransport
from reconciler.engine.provenance import Provenance
from reconciler.errors import Location
from reconciler.http.retry import RetryPolicy
from reconciler.policies.client import PoliciesClient
from reconciler.policies.diff import diff
from reconciler.policies.plan import PolicyPlan
from reconciler.policies.snapshot import read_snapshot
from reconciler.triage.client import TriageClient
from reconciler.vocab.policies.model import DesiredPolicy, DesiredResolution, DesiredRule
from reconciler.vocab.policies.selectors import VigilSelector
from reconciler.wiring import policies_client

NO_WAIT = RetryPolicy(max_attempts=20, base_delay=0.0, max_delay=0.0, retry_after_cap=0.0)
PROVENANCE = Provenance(commit="0123abcdef", pr=7, repository="acme/triage")


def triage_client(
    emulator: Emulator,
    transport: httpx.BaseTransport | None = None,
    retry: RetryPolicy = NO_WAIT,
) -> TriageClient:
    """The client the CLI opens: Alert Policies calls share its connection and counts."""
    return TriageClient(
        TRANSPORT_BASE_URL,
        ALL_SCOPES_TOKEN,
        transport=transport or EmulatorTransport(emulator),
        retry=retry,
        sleep=lambda _: None,
    )


def want(name: str, action: str = "error", note: str = "", line: int = 1) -> DesiredRule:
    """A rule on ``finding.alertType: <name>``, written at ``p.yaml:<line>:3``."""
    selector = VigilSelector.from_wire({"finding.alertType": name})
    return DesiredRule(name, selector, action, note, location=Location("p.yaml", line, 3))


def resolution(name: str, reason: str = "false_positive", comment: str = "") -> DesiredResolution:
    selector = VigilSelector.from_wire({"artifact.type": "npm", "artifact.name": name})
    return DesiredResolution(selector, reason, None, comment, location=Location("r.yaml", 2, 3))


def plan_for(
    client: TriageClient | PoliciesClient,
    rules: Sequence[DesiredRule],
    resolutions: Sequence[DesiredResolution] = (),
    *,
    prune: bool = True,
) -> PolicyPlan:
    """The plan ``plan`` makes for org acme: one listing of everything, then ``diff``."""
    api = policies_client(client) if isinstance(client, TriageClient) else client
    policies = api.list_policies(TEST_ORG)
    return diff(
        TEST_ORG,
        rules=rules,
        resolutions=resolutions,
        policies=policies,
        live_rules={p.id: api.list_rules(TEST_ORG, p.id) for p in policies},
        live_resolutions=api.list_resolutions(TEST_ORG),
        prune=prune,
        trailer=PROVENANCE.trailer_at,
    )


def declared_plan(
    client: TriageClient | PoliciesClient,
    policies: Sequence[DesiredPolicy],
    rules: Sequence[DesiredRule] = (),
    resolutions: Sequence[DesiredResolution] = (),
    *,
    prune: bool = True,
) -> PolicyPlan:
    """The plan ``plan`` makes for org acme when its files declare ``policies``: one listing
    of everything, the repositories included, then ``diff``."""
    api = policies_client(client) if isinstance(client, TriageClient) else client
    live = read_snapshot(api, TEST_ORG, repositories=True)
    return diff(
        TEST_ORG,
        rules=rules,
        resolutions=resolutions,
        policies=live.policies,
        live_rules=live.rules,
        live_resolutions=live.resolutions,
        prune=prune,
        trailer=PROVENANCE.trailer_at,
        declared=policies,
        repositories=live.repositories,
    )


def names(emulator: Emulator) -> list[str]:
    """The default policy's rule names in evaluation order."""
    return [r["name"] for r in emulator.policy_rules(TEST_ORG)]


def audit_lines(path: Path) -> list[dict[str, Any]]:
    if not path.exists():
        return []
    return [json.loads(line) for line in path.read_text().splitlines()]


def seed_rules(emulator: Emulator, rules: Sequence[tuple[str, str]]) -> dict[str, str]:
    """Seed (name, action) rules in order, without our trailer; their ids by name."""
    emulator.seed_policy_rules(
        TEST_ORG,
        [{"name": n, "action": a, "vigil_selector": {"finding.alertType": n}} for n, a in rules],
    )
    return {r["name"]: r["id"] for r in emulator.policy_rules(TEST_ORG)}
