"""``vocab.policies.matching`` and the alert's fields: each documented rule and each undecided."""

from __future__ import annotations

from typing import Any

import pytest

from reconciler.explain.alert import describe_alert
from reconciler.explain.policy_alert import describe_policy_alert
from reconciler.vocab.policies.matching import Answer, evaluate
from reconciler.vocab.policies.selectors import VigilSelector

FACTS = {"finding.alertType": "malware", "artifact.type": "npm", "artifact.name": "lodash"}


@pytest.mark.parametrize(
    ("selector", "answer"),
    [
        ({"finding.alertType": "malware"}, Answer.MATCHED),
        ({"finding.alertType": "Malware"}, Answer.NOT_MATCHED),  # exactly as written
        ({"finding.alertType": {"$in": ["cve", "malware"]}}, Answer.MATCHED),
        ({"finding.alertType": {"$in": ["cve"]}}, Answer.NOT_MATCHED),
        ({"finding.alertType": "malware", "artifact.name": "lodash"}, Answer.MATCHED),
        ({"finding.alertType": "malware", "artifact.name": "left-pad"}, Answer.NOT_MATCHED),
        # a certain miss decides whatever an undecided field would say
        ({"artifact.name": "left-pad", "finding.severity": "high"}, Answer.NOT_MATCHED),
        ({"artifact.name": "lodash", "finding.severity": "high"}, Answer.UNDECIDED),
    ],
)
def test_literal_in_and(selector: dict[str, Any], answer: Answer) -> None:
    assert evaluate(selector, FACTS).answer is answer
    assert evaluate(VigilSelector.from_wire(selector), FACTS).answer is answer


@pytest.mark.parametrize(
    ("selector", "reason"),
    [
        ({"artifact.publishedAt": "2020"}, "artifact.publishedAt is not a documented field"),
        ({"finding.alertType": {"$nin": ["cve"]}}, "finding.alertType: operator $nin is not"),
        ({"finding.alertType": {"$in": "malware"}}, "$in without a list of values"),
        ({"finding.alertType": 1}, "a value that is not a string"),
        ({"$or": [{"finding.alertType": "malware"}]}, "top-level $or is not a field"),
        ({}, "an empty selector"),
        (["finding.alertType"], "not an object"),
        ({"location.repoLabel": "backend"}, "does not supply location.repoLabel"),
    ],
)
def test_undecided_says_why(selector: Any, reason: str) -> None:
    found = evaluate(selector, FACTS)
    assert found.answer is Answer.UNDECIDED
    assert reason in found.reasons[0]


def test_the_alert_supplies_namespace_and_repo_only_when_known() -> None:
    unscoped = describe_policy_alert(describe_alert(purl="pkg:npm/lodash@1.0.0"), repo="api")
    facts = unscoped.facts()
    assert facts["artifact.namespace"] == ""  # documented: empty for unscoped
    assert "location.repo" not in facts  # a slug is not the full name Socket compares
    assert unscoped.slug == "api"
    full = describe_policy_alert(describe_alert(package_name="x"), repo="acme/api")
    assert full.facts()["location.repo"] == "acme/api" and full.slug == "api"
    assert "artifact.namespace" not in full.facts()  # no type: the package is not identified
    assert evaluate({"location.repo": "acme/api"}, full.facts()).answer is Answer.MATCHED
