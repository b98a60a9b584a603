"""The OpenAPI spec itself, and the contract checker every emulator answer goes through."""

from __future__ import annotations

import contract
import pytest
from openapi_spec_validator import validate

from reconciler.emulator import Response
from reconciler.emulator.responses import json_response
from reconciler.triage.wire import GET_FIELDS, SNAKE_TO_CAMEL

PATH = "/v0/orgs/acme/triage/alerts"


def test_spec_is_a_valid_openapi_document() -> None:
    validate(contract.spec())


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
