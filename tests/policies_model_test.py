from __future__ import annotations

from typing import Any

import pytest

from reconciler import notes
from reconciler.errors import ApiError
from reconciler.vocab.policies.model import (
    LivePolicy,
    LiveResolution,
    LiveRule,
    MigrationStatus,
    Translation,
    Untranslatable,
    parse_translate,
    resolution_seal_parts,
    rule_seal_parts,
)
from reconciler.vocab.policies.selectors import VigilSelector

SELECTOR = {"finding.alertType": "malware"}
SEAL = notes.seal("acme", rule_seal_parts("block malware", VigilSelector.from_wire(SELECTOR)))
RULE_ROW: dict[str, Any] = {
    "id": "r-1",
    "alert_policy_id": "p-1",
    "rank": "a0",
    "name": "block malware",
    "vigil_selector": SELECTOR,
    "action": "error",
    "note": "why\n\n" + notes.trailer([("source", "a.yaml:3")], SEAL),
    "created_by": None,
    "updated_by": None,
    "created_at": "2026-06-01T00:00:00.000Z",
    "updated_at": "2026-06-02T00:00:00.000Z",
}


def test_a_rule_row_parses_with_its_trailer_split_off() -> None:
    rule = LiveRule.from_get(RULE_ROW, "default", "acme")
    assert rule.id == "r-1"
    assert rule.policy_id == "default"  # the policy it was listed under, not the row's field
    assert rule.selector == VigilSelector.from_wire(SELECTOR)
    assert (rule.action, rule.rank, rule.human_note, rule.managed) == ("error", "a0", "why", True)


@pytest.mark.parametrize(
    ("changes", "org"),
    [
        ({}, "other-org"),  # a note copied into another org
        ({"name": "another rule"}, "acme"),  # onto another rule
        ({"vigil_selector": {"finding.alertType": "cve"}}, "acme"),  # onto another selector
        ({"note": "why\n\n[socket-triage] source=a.yaml:3"}, "acme"),  # no seal
        ({"note": "[socket-triage]"}, "acme"),  # a bare marker
    ],
)
def test_only_a_trailer_sealed_for_this_rule_and_org_is_ours(
    changes: dict[str, Any], org: str
) -> None:
    assert not LiveRule.from_get(RULE_ROW | changes, "default", org).managed


def test_a_rule_row_with_nulls_and_odd_types_still_parses() -> None:
    row = dict(RULE_ROW, id=17, note=None, rank=None, name=None, created_at=None)
    rule = LiveRule.from_get(row, "p")
    assert (rule.id, rule.note, rule.rank, rule.name, rule.created_at) == ("17", "", "", "", "")
    assert rule.managed is False


def test_a_rule_without_an_id_is_not_addressable() -> None:
    assert not LiveRule.from_get(dict(RULE_ROW, id=None), "p").addressable
    assert LiveRule.from_get(RULE_ROW, "p").addressable


@pytest.mark.parametrize("row", [None, "x", ["a"], 3])
def test_a_row_that_is_not_an_object_is_an_api_error(row: object) -> None:
    with pytest.raises(ApiError, match="policy rule that is not a JSON object"):
        LiveRule.from_get(row, "p")


def test_a_resolution_row_keeps_null_texts_as_none() -> None:
    selector = {"artifact.name": "x"}
    seal = notes.seal("acme", resolution_seal_parts(VigilSelector.from_wire(selector)))
    row = {
        "uuid": "u-1",
        "reason": None,
        "reason_text": None,
        "comment": "fp\n\n" + notes.trailer([], seal),
        "vigil_selector": selector,
        "alert_type": None,
    }
    res = LiveResolution.from_get(row, "acme")
    assert (res.uuid, res.reason, res.reason_text) == ("u-1", "other", None)
    assert (res.human_comment, res.managed) == ("fp", True)
    assert LiveResolution.from_get({"uuid": "u"}).comment is None


def test_the_default_policy_is_recognised_by_id_or_apply_method() -> None:
    default = LivePolicy.from_get({"id": "default", "name": None, "apply_method": None})
    customized = LivePolicy.from_get(
        {"id": "uuid-1", "name": None, "apply_method": "unlabeled_repos"}
    )
    labeled = LivePolicy.from_get(
        {
            "id": "uuid-2",
            "name": "prod",
            "apply_method": "labeled_repos",
            "repository_ids": [1, "b"],
        }
    )
    assert default.is_default and customized.is_default and not labeled.is_default
    assert labeled.repository_ids == ("1", "b")


def test_migration_status_of_an_org_that_moved() -> None:
    status = MigrationStatus.from_get(
        {
            "state": "accepted",
            "finalized_at": "2026-06-15T00:00:00.000Z",
            "deadline_at": "2026-07-01T00:00:00.000Z",
            "window_end_at": "2026-07-01T00:00:00.000Z",
            "deadline_admin_paused_at": None,
            "alert_policies_enabled": True,
            "legacy_evaluation_enabled": False,
        }
    )
    assert status.enrolled and status.policies_writable and not status.legacy_writable
    assert status.deadline_at == "2026-07-01T00:00:00.000Z"


def test_missing_or_odd_migration_flags_read_conservatively() -> None:
    status = MigrationStatus.from_get({"state": None, "alert_policies_enabled": "yes"})
    assert not status.enrolled
    assert not status.policies_writable  # a string is not a true boolean
    assert status.legacy_writable


def test_translate_answer_parses_both_lists() -> None:
    answer = {
        "translations": [
            {
                "index": 0,
                "target": "alert_policy_rule",
                "method": "POST",
                "path": "/v0/orgs/acme/alert-policies/default/rules",
                "body": {"name": "x", "action": "error", "vigil_selector": {}},
            }
        ],
        "untranslatable": [{"index": 1, "code": "alert_key_not_translatable", "reason": "why"}],
    }
    done, failed = parse_translate(answer)
    assert done == [
        Translation(
            0,
            "alert_policy_rule",
            "POST",
            "/v0/orgs/acme/alert-policies/default/rules",
            {"name": "x", "action": "error", "vigil_selector": {}},
        )
    ]
    assert failed == [Untranslatable(1, "alert_key_not_translatable", "why")]


@pytest.mark.parametrize("index", [None, "0", -1, True])
def test_a_translation_without_a_valid_index_is_an_api_error(index: object) -> None:
    with pytest.raises(ApiError, match="valid index"):
        parse_translate({"translations": [], "untranslatable": [{"index": index, "code": "x"}]})
