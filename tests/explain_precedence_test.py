"""Which matching rule decides: legacy triage's model, Alert Policies' file order, expiry."""

from __future__ import annotations

import datetime as dt
import random
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest

from reconciler.api import ALERT_POLICIES, TRIAGE
from reconciler.explain.alert import Alert, describe_alert
from reconciler.explain.report import Explanation, explain
from reconciler.rules import loader
from reconciler.rules.model import Rule
from reconciler.rules.ruleset import OrgRules
from reconciler.vocab.triage.selector import Selector

TODAY = dt.date(2026, 1, 1)
EXAMPLES = Path(__file__).resolve().parent.parent / "examples" / "triage"
LODASH = Alert(
    package_type="npm",
    package_name="lodash",
    package_version="4.17.20",
    alert_type="cve",
    reachability="unreachable",
    kevs="none",
    cvss_score=Decimal("6.5"),
)


def _rules(tmp_path: Path, body: str) -> OrgRules:
    path = tmp_path / "acme.yaml"
    path.write_text("org: acme\nrules:\n" + body)
    return loader.load([str(path)], today=TODAY).orgs["acme"]


def _explain(tmp_path: Path, body: str, target: str = TRIAGE, alert: Alert = LODASH) -> Explanation:
    return explain(_rules(tmp_path, body), alert, target=target, today=TODAY)


def _lines(explanation: Explanation) -> list[int]:
    return [e.rule.location.line for e in explanation.matching if e.rule.location]


def test_more_selector_fields_decide_before_file_order(tmp_path: Path) -> None:
    found = _explain(
        tmp_path,
        """\
  - {alert_type: cve, state: block, note: broad, broad: true}
  - {package_name: lodash, alert_type: cve, state: ignore, note: specific}
""",
    )
    assert _lines(found) == [4, 3]
    result = found.decision.to_dict()
    assert result["state"] == "ignore"
    assert result["source"].endswith("acme.yaml:4:5")
    assert result["reason"] == "more selector fields (2 against 1)"
    assert result["by_model"] and not result["tie"]


@pytest.mark.parametrize(
    ("versions", "winner", "reason"),
    [
        (("4.*", "4.17.20"), "4.17.20", "an exact version before a version prefix"),
        (("4.*", "4.17.*"), "4.17.*", "a longer version prefix"),
        (("4.17.*", "4.*"), "4.17.*", "a longer version prefix"),
    ],
)
def test_version_exactness_breaks_a_field_count_tie(
    tmp_path: Path, versions: tuple[str, str], winner: str, reason: str
) -> None:
    body = "".join(
        f"  - {{package_name: lodash, package_version: '{v}', state: {s}, note: n}}\n"
        for v, s in zip(versions, ("warn", "ignore"), strict=True)
    )
    found = _explain(tmp_path, body)
    assert found.matching[0].rule.selector.package_version == winner
    assert found.matching[0].decides
    assert found.decision.to_dict()["reason"] == reason


def test_a_tie_under_the_model_is_decided_by_file_order_and_flagged(tmp_path: Path) -> None:
    found = _explain(
        tmp_path,
        """\
  - {package_name: lodash, kevs: none, state: warn, note: first}
  - {package_name: lodash, reachability: unreachable, state: ignore, note: second}
""",
    )
    result = found.decision.to_dict()
    assert (result["state"], result["tie"], result["by_model"]) == ("warn", True, True)
    assert "tie" in result["reason"]


def test_rules_that_agree_need_no_model(tmp_path: Path) -> None:
    found = _explain(
        tmp_path,
        """\
  - {alert_type: cve, state: ignore, note: broad, broad: true}
  - {package_name: lodash, state: ignore, note: specific}
""",
    )
    result = found.decision.to_dict()
    assert result["reason"] == "the matching rules agree"
    assert not result["by_model"]


def test_an_expired_rule_is_shown_but_does_not_decide(tmp_path: Path) -> None:
    found = _explain(
        tmp_path,
        """\
  - {alert_type: cve, state: block, note: broad, broad: true}
  - {package_name: lodash, alert_type: cve, state: ignore, note: old, expires: '2025-12-31'}
""",
    )
    first, second = found.matching
    assert (first.expired, first.decides, first.skipped) == (
        True,
        False,
        "expired on 2025-12-31; counts as removed",
    )
    assert second.decides and found.decision.state == "block"
    assert found.decision.to_dict()["reason"] == "the only rule that decides"


def test_alert_policies_first_match_in_file_order_wins(tmp_path: Path) -> None:
    body = """\
  - {alert_type: cve, state: block, note: broad, broad: true}
  - {package_name: lodash, alert_type: cve, state: ignore, note: specific}
  - {package_name: lodash, state: inherit, note: nothing to send}
"""
    found = _explain(tmp_path, body, target=ALERT_POLICIES)
    assert _lines(found) == [3, 4, 5]
    result = found.decision.to_dict()
    assert (result["state"], result["action"]) == ("block", "error")
    assert result["reason"] == "first match in file order" and not result["by_model"]
    assert "no Alert Policies action" in found.matching[2].skipped


def test_no_match_leaves_the_org_policy(tmp_path: Path) -> None:
    found = _explain(tmp_path, "  - {package_name: left-pad, state: warn, note: n}\n")
    assert found.matching == ()
    assert found.decision.to_dict()["state"] is None


def test_undecided_rules_say_what_they_need_and_whether_they_would_win(tmp_path: Path) -> None:
    alert = Alert(package_type="npm", package_name="lodash", alert_type="cve")
    found = _explain(
        tmp_path,
        """\
  - {alert_type: cve, state: block, note: broad, broad: true}
  - {package_name: lodash, alert_type: cve, cvss_score_cmp: '<7', state: ignore, note: low}
  - {alert_type: cve, kevs: exist, state: block, note: same state, broad: true}
""",
        alert=alert,
    )
    assert found.decision.state == "block"
    low, kev = found.undecided
    assert low.verdict.needs == ("cvss_score_cmp",) and low.would_outrank
    assert kev.verdict.needs == ("kevs",) and not kev.would_outrank  # same state: no change


def test_examples_babel_traverse() -> None:
    rules = loader.load([str(EXAMPLES)], today=TODAY).orgs["acme"]
    alert = describe_alert(
        purl="pkg:npm/%40babel/traverse@7.23.2",
        alert_type="criticalCVE",
        cve="CVE-2023-45133",
        reachability="unreachable",
        kev=True,
    )
    found = explain(rules, alert, target=TRIAGE, today=TODAY).to_dict()
    states = [(Path(e["file"]).name, e["state"]) for e in found["matching"]]
    assert states == [("npm.yaml", "ignore"), ("org-wide.yaml", "block")]
    assert (
        found["matching"][0]["source"]
        == f"{found['matching'][0]['file']}:{found['matching'][0]['line']}:5"
    )
    assert found["result"]["state"] == "ignore"
    assert found["result"]["reason"] == "more selector fields (7 against 2)"
    assert found["matching"][0]["owner"] == "web-platform@acme.dev"
    assert found["matching"][0]["ticket"] == "WEB-412"
    assert found["matching"][0]["expires"] == "2027-06-30"


# --- generated rule sets against a brute-force oracle ------------------------------------------

POOLS: dict[str, list[Any]] = {
    "package_type": [None, "npm", "pypi"],
    "package_name": [None, "a", "b"],
    "package_version": [None, "1.*", "1.2.*", "1.2.3", "2.*"],
    "alert_type": [None, "cve", "malware"],
    "reachability": [None, "reachable", "unreachable"],
    "kevs": [None, "exist", "none"],
    "cvss_score_cmp": [None, ">=7", "<7", "==9"],
}
FACTS: dict[str, list[Any]] = {
    "package_type": ["npm", "pypi"],
    "package_name": ["a", "b"],
    "package_version": ["1.2.3", "1.2.4", "1.3.0", "2.0.0"],
    "alert_type": ["cve", "malware"],
    "reachability": ["reachable", "unreachable"],
    "kevs": ["exist", "none"],
    "cvss_score": [Decimal(5), Decimal(7), Decimal(9)],
}


def _oracle_matches(selector: Selector, alert: Alert) -> bool:
    for name, wanted in selector.to_dict().items():
        assert wanted is not None
        if name == "cvss_score_cmp":
            op, number = wanted[:2] if wanted[1] == "=" else wanted[0], wanted.lstrip("<>=")
            score, threshold = alert.cvss_score, Decimal(number)
            assert score is not None
            ok = {">=": score >= threshold, "<": score < threshold, "==": score == threshold}[op]
        elif name == "package_version" and wanted.endswith("*"):
            ok = str(alert.package_version).startswith(wanted[:-1])
        else:
            ok = getattr(alert, name) == wanted
        if not ok:
            return False
    return True


def _random_rules(rng: random.Random) -> tuple[Rule, ...]:
    rules: dict[Selector, Rule] = {}
    for index in range(rng.randint(0, 12)):
        selector = Selector(**{name: rng.choice(pool) for name, pool in POOLS.items()})
        expires = rng.choice([None, dt.date(2025, 6, 1), dt.date(2027, 1, 1)])
        state = rng.choice(["block", "warn", "ignore", "monitor"])
        rules.setdefault(
            selector,
            Rule("acme", selector, state, "n", expires=expires, location=_where(index)),
        )
    return tuple(rules.values())


def _where(index: int) -> Any:
    from reconciler.errors import Location

    return Location("generated.yaml", index + 1, 5)


@pytest.mark.parametrize("seed", range(40))
def test_generated_rule_sets_against_an_oracle(seed: int) -> None:
    rng = random.Random(seed)
    rules = OrgRules("acme", _random_rules(rng))
    for _ in range(10):
        alert = Alert(**{name: rng.choice(pool) for name, pool in FACTS.items()})
        found = explain(rules, alert, target=TRIAGE, today=TODAY)
        expected = [r for r in rules.rules if _oracle_matches(r.selector, alert)]
        assert sorted(e.rule.location for e in found.matching) == sorted(  # type: ignore[type-var]
            r.location for r in expected
        )
        assert found.undecided == ()  # every fact is known
        keys = [
            (-sum(v is not None for v in e.rule.selector), e.rule.location) for e in found.matching
        ]
        assert [k[0] for k in keys] == sorted(k[0] for k in keys)  # more fields first
        live = [e for e in found.matching if not e.expired]
        assert [e.decides for e in found.matching] == [
            bool(live) and e is live[0] for e in found.matching
        ]
        assert found.decision.state == (live[0].rule.state if live else None)
        in_file_order = explain(rules, alert, target=ALERT_POLICIES, today=TODAY)
        lines = [e.rule.location.line for e in in_file_order.matching if e.rule.location]
        assert lines == sorted(lines)


def test_a_target_pinned_in_the_files_is_used(tmp_path: Path) -> None:
    from reconciler.explain.query import file_target

    assert file_target(_rules(tmp_path, "  - {package_name: x, state: warn, note: n}\n")) is None
    pinned = tmp_path / "acme.yaml"
    pinned.write_text(
        "org: acme\ntarget: alert-policies\nrules:\n  - {package_name: x, state: warn, note: n}\n"
    )
    assert file_target(loader.load([str(pinned)], today=TODAY).orgs["acme"]) == ALERT_POLICIES
