"""The OpenAPI specs themselves, and the contract checker every emulator answer goes through."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import contract
import pytest
from openapi_spec_validator import validate

from reconciler.emulator import Response
from reconciler.emulator.responses import json_response
from reconciler.vocab.triage.wire import GET_FIELDS, SNAKE_TO_CAMEL

PATH = "/v0/orgs/acme/triage/alerts"


@pytest.mark.parametrize("path", [contract.TRIAGE_SPEC, contract.POLICIES_SPEC])
def test_spec_is_a_valid_openapi_document(path: Path) -> None:
    validate(contract.load(path))


def test_the_triage_spec_is_the_live_one_with_409_after_the_move() -> None:
    paths = contract.spec()["paths"]
    assert "409" in paths["/orgs/{org_slug}/triage/alerts"]["post"]["responses"]
    assert "409" in paths["/orgs/{org_slug}/triage/alerts/{uuid}"]["delete"]["responses"]


def test_shipped_specs_are_package_data() -> None:
    from importlib.resources import files

    schemas = files("reconciler") / "schemas"
    for spec in (contract.TRIAGE_SPEC, contract.POLICIES_SPEC):
        assert (schemas / spec.name).read_text(encoding="utf-8") == spec.read_text("utf-8")


def test_wire_field_names_match_the_spec() -> None:
    get = contract.response_spec("GET", "/orgs/{org_slug}/triage/alerts", "200")
    item = get["content"]["application/json"]["schema"]["properties"]["results"]["items"]
    post = contract.spec()["paths"]["/orgs/{org_slug}/triage/alerts"]["post"]
    entry = post["requestBody"]["content"]["application/json"]["schema"]["properties"]
    assert tuple(item["properties"]) == GET_FIELDS
    assert set(entry["alertTriage"]["items"]["properties"]) == set(SNAKE_TO_CAMEL.values())


def good_item() -> dict[str, object]:
    item: dict[str, object] = dict.fromkeys(GET_FIELDS, None)
    item.update(created_at="t", updated_at="t", note="", organization_id="1", state="inherit")
    # nullable does not widen an enum (OAS 3.0.3), so "any" must be "*" for these, never null.
    item.update(fix_available="*", patch_available="*", reachability="*", kevs="*")
    return item


def page(item: dict[str, object]) -> Response:
    return json_response(200, {"results": [item], "nextPage": None})


@pytest.mark.parametrize(
    ("method", "path", "response"),
    [
        ("GET", PATH, json_response(200, {"results": [], "nextPage": 0})),
        ("GET", PATH, page(good_item())),
        ("POST", PATH, json_response(200, {"result": "ok"})),
        ("DELETE", f"{PATH}/u", json_response(409, {"error": {"message": "m", "details": None}})),
        ("GET", "/_emulator/counters", json_response(200, ["anything"])),
    ],
)
def test_checker_accepts_what_the_spec_allows(method: str, path: str, response: Response) -> None:
    contract.check(method, path, response)


@pytest.mark.parametrize(
    ("method", "path", "response", "words"),
    [
        ("GET", PATH, json_response(200, {"results": []}), "nextPage"),
        ("GET", PATH, page({**good_item(), "extra": 1}), "'extra' was unexpected"),
        ("GET", PATH, page({**good_item(), "kevs": None}), "None is not one of"),
        ("GET", PATH, page({**good_item(), "note": None}), "None for not nullable"),
        ("POST", PATH, json_response(200, {"result": 3}), "3"),
        ("POST", PATH, json_response(400, {"error": {"message": "m"}}), "details"),
        ("POST", PATH, json_response(418, {"error": {"message": "m", "details": None}}), "418"),
        ("GET", PATH, Response(200, {"Content-Length": "1"}, b"{}"), "Content-Length"),
        (
            "GET",
            PATH,
            json_response(429, {"error": {"message": "m", "details": None}}),
            "Retry-After",
        ),
    ],
)
def test_checker_refuses_what_the_spec_does_not_allow(
    method: str, path: str, response: Response, words: str
) -> None:
    with pytest.raises(contract.ContractViolation, match=words):
        contract.check(method, path, response)


RULES = "/v0/orgs/acme/alert-policies/default/rules"


def rule_row(**extra: Any) -> dict[str, Any]:
    row: dict[str, Any] = dict.fromkeys(
        ("id", "alert_policy_id", "rank", "name", "created_at", "updated_at"), "x"
    )
    row.update(vigil_selector={}, action="warn", note=None, created_by=None, updated_by=None)
    return {**row, **extra}


ERROR = {"error": {"message": "m", "details": None}}


@pytest.mark.parametrize(
    ("method", "path", "query", "response"),
    [
        ("POST", RULES, "", json_response(201, rule_row())),
        ("POST", RULES, "dry_run=true", json_response(200, rule_row(dry_run=True))),
        ("DELETE", f"{RULES}/r", "dry_run=1", json_response(200, {"dry_run": True})),
        ("GET", "/v0/orgs/acme/alert-policies/migration/status", "", json_response(409, ERROR)),
        ("HEAD", RULES, "", json_response(405, ERROR)),
    ],
)
def test_checker_routes_policies_answers_to_their_spec(
    method: str, path: str, query: str, response: Response
) -> None:
    if response.status == 409:  # status GET lists no 409: the checker must say so
        with pytest.raises(contract.ContractViolation, match="409 is not in the spec"):
            contract.check(method, path, response, query)
        return
    contract.check(method, path, response, query)


@pytest.mark.parametrize(
    ("method", "path", "query", "response", "words"),
    [
        ("POST", RULES, "", json_response(200, rule_row()), "real create must answer 201"),
        ("POST", RULES, "dry_run=true", json_response(201, rule_row()), "dry run must answer 200"),
        ("POST", RULES, "", json_response(201, rule_row(dry_run=True)), "must not say dry_run"),
        ("POST", RULES, "", json_response(201, rule_row(action="block")), "block"),
        ("GET", RULES, "", json_response(200, {"items": [rule_row(rank=None)]}), "None"),
        ("GET", RULES, "", json_response(500, ERROR), "requestId"),
    ],
)
def test_checker_refuses_policies_answers_the_spec_does_not_allow(
    method: str, path: str, query: str, response: Response, words: str
) -> None:
    with pytest.raises(contract.ContractViolation, match=words):
        contract.check(method, path, response, query)
