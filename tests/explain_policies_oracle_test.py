"""explain under Alert Policies against a brute-force oracle, on generated policy sets.

The oracle below is written separately from ``explain.policy_files`` and
``vocab.policies.matching``, as naively as possible: walk every policy to find the one listing
the repository, walk every rule in line order, evaluate each key by hand. It must agree with
explain on the governing policy, the first match, the hiding resolution, and exactly which
rules are undecided (an undocumented field or operator, or a fact the alert does not give).
"""

from __future__ import annotations

import datetime as dt
import random
from dataclasses import dataclass
from typing import Any

import pytest

from reconciler.errors import Location
from reconciler.explain.alert import Alert
from reconciler.explain.policy_alert import PolicyAlert
from reconciler.explain.policy_files import files_view
from reconciler.rules.ruleset import OrgRules
from reconciler.vocab.policies.matching import Answer
from reconciler.vocab.policies.model import DesiredPolicy, DesiredResolution, DesiredRule
from reconciler.vocab.policies.selectors import VigilSelector

TODAY = dt.date(2026, 6, 1)
FILE = "acme.yaml"
# The documented fields, spelled out here rather than read from wire.KNOWN_FIELDS.
DOCUMENTED = {
    "finding.alertType",
    "finding.severity",
    "artifact.type",
    "artifact.namespace",
    "artifact.name",
    "artifact.version",
    "location.repo",
    "location.repoLabel",
    "location.manifest",
}
VALUES: dict[str, list[str]] = {
    "finding.alertType": ["malware", "criticalCVE", "cve"],
    "finding.severity": ["critical", "high", "low"],
    "artifact.type": ["npm", "pypi"],
    "artifact.namespace": ["", "@babel"],
    "artifact.name": ["lodash", "requests", "traverse"],
    "artifact.version": ["1.0.0", "2.0.0"],
    "location.manifest": ["package.json", "api/package.json"],
    "location.repoLabel": ["backend"],
    "location.repo": ["acme/api", "acme/web"],
    "artifact.publishedAt": ["2020"],  # not documented
    "finding.cveId": ["CVE-1"],  # not documented
}
RULE_FIELDS = [k for k in VALUES if k != "location.repo"]
REPOS = ["api", "web", "worker", "docs"]


def _value(rng: random.Random, key: str) -> Any:
    pool = VALUES[key]
    roll = rng.random()
    if roll < 0.1:
        return {rng.choice(["$gte", "$nin", "$prefix"]): rng.choice(pool)}
    if roll < 0.4:
        return {"$in": rng.sample(pool, rng.randint(1, len(pool)))}
    return rng.choice(pool)


def _selector(rng: random.Random, fields: list[str]) -> dict[str, Any]:
    keys = rng.sample(fields, rng.randint(1, 3))
    return {key: _value(rng, key) for key in keys}


@dataclass(frozen=True)
class Case:
    rules: OrgRules
    alert: PolicyAlert


def _case(rng: random.Random) -> Case:
    declares = rng.random() < 0.8
    free = list(REPOS)
    rng.shuffle(free)
    policies = [DesiredPolicy("default", rng.choice(["balanced", None]))]
    for name in ("backend", "frontend")[: rng.randint(0, 2)]:
        take = [free.pop() for _ in range(rng.randint(0, 2)) if free]
        policies.append(DesiredPolicy(name, "comprehensive", repositories=tuple(take)))
    names = [p.name for p in policies]
    line = iter(range(3, 10_000, 3))
    rules = tuple(
        DesiredRule(
            name=f"r{i}",
            selector=VigilSelector.from_wire(_selector(rng, RULE_FIELDS)),
            action=rng.choice(["error", "warn", "monitor", "ignore"]),
            policy=rng.choice(names),
            location=Location(FILE, next(line), 5),
            expires=TODAY - dt.timedelta(days=1) if rng.random() < 0.1 else None,
        )
        for i in range(rng.randint(0, 8))
    )
    resolutions = tuple(
        DesiredResolution(
            selector=VigilSelector.from_wire(_selector(rng, list(VALUES))),
            location=Location(FILE, next(line), 5),
        )
        for _ in range(rng.randint(0, 3))
    )
    org = OrgRules(
        org="acme",
        rules=(),
        files=(FILE,),
        policy_rules=rules,
        resolutions=resolutions,
        policies=tuple(policies) if declares else (),
        declares_policies=declares,
    )
    return Case(org, _alert(rng))


def _maybe(rng: random.Random, key: str) -> str | None:
    return rng.choice(VALUES[key]) if rng.random() < 0.75 else None


def _alert(rng: random.Random) -> PolicyAlert:
    scoped = rng.random() < 0.3
    repo = rng.choice([None, *REPOS, *(f"acme/{r}" for r in REPOS)])
    alert = Alert(
        package_type=_maybe(rng, "artifact.type"),
        package_namespace="@babel" if scoped else None,
        package_name=_maybe(rng, "artifact.name"),
        package_version=_maybe(rng, "artifact.version"),
        alert_type=_maybe(rng, "finding.alertType"),
    )
    return PolicyAlert(
        alert,
        severity=_maybe(rng, "finding.severity"),
        repo=repo,
        manifest=_maybe(rng, "location.manifest"),
    )


# --- the oracle ---------------------------------------------------------------------------------


def _facts(alert: PolicyAlert) -> dict[str, str]:
    a = alert.alert
    facts = {}
    if a.alert_type is not None:
        facts["finding.alertType"] = a.alert_type
    if alert.severity is not None:
        facts["finding.severity"] = alert.severity
    if a.package_type is not None:
        facts["artifact.type"] = a.package_type
    if a.package_name is not None:
        facts["artifact.name"] = a.package_name
    if a.package_version is not None:
        facts["artifact.version"] = a.package_version
    if a.package_namespace is not None:
        facts["artifact.namespace"] = a.package_namespace
    elif a.package_type is not None and a.package_name is not None:
        facts["artifact.namespace"] = ""  # documented: empty for unscoped
    if alert.manifest is not None:
        facts["location.manifest"] = alert.manifest
    if alert.repo is not None and "/" in alert.repo:
        facts["location.repo"] = alert.repo
    return facts


def _naive(selector: dict[str, Any], facts: dict[str, str]) -> str:
    results = []
    for key, value in selector.items():
        if key not in DOCUMENTED:
            results.append("u")
            continue
        if isinstance(value, dict):
            if list(value) != ["$in"]:
                results.append("u")
                continue
            allowed = value["$in"]
        else:
            allowed = [value]
        if key not in facts:
            results.append("u")
        else:
            results.append("m" if facts[key] in allowed else "n")
    if "n" in results:
        return "n"
    return "u" if "u" in results else "m"


def _oracle(case: Case) -> dict[str, Any]:
    rules, alert = case.rules, case.alert
    slug = alert.repo.split("/")[-1] if alert.repo else None
    governing = "default"
    if rules.declares_policies:
        for policy in rules.policies:
            if policy.name != "default" and slug in policy.repositories:
                governing = policy.name
    facts = _facts(alert)
    undecided, first, blocked = set(), None, False
    for rule in sorted(rules.policy_rules, key=lambda r: r.location.line):  # type: ignore[union-attr]
        if rule.policy != governing:
            continue
        answer = _naive(rule.selector.to_wire(), facts)
        if answer == "u":
            undecided.add(rule.name)
        if rule.expires is not None and rule.expires < TODAY:
            continue
        if answer == "u" and first is None:
            blocked = True
        if answer == "m" and first is None:
            first = rule.name
    hidden = None
    for item in rules.resolutions:
        if _naive(item.selector.to_wire(), facts) == "m":
            hidden = str(item.location)
            break
    return {
        "governing": governing,
        "first": None if blocked else first,
        "blocked": blocked,
        "undecided": undecided,
        "hidden": hidden,
    }


# --- the comparison -----------------------------------------------------------------------------


def _explain(case: Case) -> dict[str, Any]:
    view = files_view(case.rules, case.alert, TODAY)
    decision = view.decision
    return {
        "governing": view.governing.policy,
        "first": decision.rule.candidate.name if decision.rule else None,
        "blocked": bool(decision.blockers),
        "undecided": {
            w.candidate.name for w in view.rules if w.evaluation.answer is Answer.UNDECIDED
        },
        "hidden": decision.hidden_by.candidate.source if decision.hidden_by else None,
    }


CASES = 400


@pytest.mark.parametrize("seed", range(8))
def test_explain_agrees_with_the_oracle(seed: int) -> None:
    rng = random.Random(2100 + seed)
    kinds = {"undecided": 0, "first": 0, "hidden": 0, "named": 0}
    for number in range(CASES // 8):
        case = _case(rng)
        expected, found = _oracle(case), _explain(case)
        assert found == expected, (seed, number, case)
        kinds["undecided"] += bool(expected["undecided"])
        kinds["first"] += expected["first"] is not None
        kinds["hidden"] += expected["hidden"] is not None
        kinds["named"] += expected["governing"] != "default"
    # the generator reaches every outcome, so agreement means something
    assert all(kinds.values()), kinds


def test_undecided_exactly_where_the_field_or_operator_is_unknown() -> None:
    rng = random.Random(21)
    for _ in range(200):
        case = _case(rng)
        facts = _facts(case.alert)
        view = files_view(case.rules, case.alert, TODAY)
        for weighed in view.rules:
            selector = weighed.candidate.selector
            assert selector is not None
            wire = selector.to_wire()
            unknown = [
                k for k, v in wire.items()
                if k not in DOCUMENTED or (isinstance(v, dict) and list(v) != ["$in"])
                or k not in facts
            ]  # fmt: skip
            if weighed.evaluation.answer is Answer.UNDECIDED:
                assert unknown and len(weighed.evaluation.reasons) == len(unknown)
