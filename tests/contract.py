"""Check emulator answers against Socket's OpenAPI specs: legacy triage and Alert Policies.

``check(method, path, response, query)`` finds the spec whose paths hold the request (the triage
spec first, then the Alert Policies one) and validates the body against that operation's response
schema for the status (``$ref`` resolved; OAS 3.0 ``nullable`` honoured). Statuses a spec does not
list for the operation but the real API sends (405 for a method the path lacks, 500/502) are
checked against the spec's shared error schema. On top of the schemas, the facts the schemas
cannot say: Content-Length matches, a 429 carries whole-second Retry-After, a 5xx carries
``details: {requestId, code, retryable}`` with the same ``X-Request-Id`` header, and a write
with ``?dry_run`` answers 200 with ``"dry_run": true`` while a real create answers 201.
"""

from __future__ import annotations

import functools
import json
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs

import yaml
from openapi_schema_validator import OAS30Validator

from reconciler.api import API_PREFIX
from reconciler.emulator import Response

SCHEMAS = Path(__file__).resolve().parent.parent / "reconciler" / "schemas"
TRIAGE_SPEC = SCHEMAS / "socket-triage-api-openapi.yml"
POLICIES_SPEC = SCHEMAS / "alert-policies-openapi.yml"
SERVER_ERROR_CODES = ("timeout", "temporarily_unavailable", "internal")


class ContractViolation(AssertionError):
    """An emulator answer the spec does not allow."""


@dataclass(frozen=True)
class Spec:
    path: Path
    error_schema: str  # the $ref of the shared error body, for statuses outside an operation
    extra: tuple[tuple[str, str], ...]  # (status, $ref of its response) the real API adds


SPECS = (
    Spec(
        TRIAGE_SPEC,
        "#/components/responses/SocketBadRequest",
        (
            ("405", "#/components/responses/SocketBadRequest"),
            ("500", "#/components/responses/SocketInternalServerError"),
            ("502", "#/components/responses/SocketInternalServerError"),
        ),
    ),
    Spec(
        POLICIES_SPEC,
        "#/components/responses/SocketBadRequest",
        (
            ("405", "#/components/responses/SocketBadRequest"),
            ("500", "#/components/responses/SocketBadRequest"),
            ("502", "#/components/responses/SocketBadRequest"),
        ),
    ),
)


@functools.cache
def load(path: Path) -> dict[str, Any]:
    loaded: dict[str, Any] = yaml.safe_load(path.read_text(encoding="utf-8"))
    return loaded


def spec() -> dict[str, Any]:
    """The legacy triage spec (kept for callers that knew only one)."""
    return load(TRIAGE_SPEC)


def resolve(node: Any, document: dict[str, Any] | None = None) -> Any:
    """``node`` with every local ``$ref`` replaced by what it points at."""
    root = spec() if document is None else document
    if isinstance(node, list):
        return [resolve(item, root) for item in node]
    if not isinstance(node, dict):
        return node
    if "$ref" in node:
        target: Any = root
        for part in node["$ref"].removeprefix("#/").split("/"):
            target = target[part]
        return resolve(target, root)
    return {key: resolve(value, root) for key, value in node.items()}


@functools.cache
def _routes(path: Path) -> tuple[tuple[re.Pattern[str], str], ...]:
    """Each path template of a spec as a pattern; templates with fewer parameters first, so a
    literal segment (``migration/status``) wins over a parameter (``{policy_id}``)."""
    templates = sorted(load(path)["paths"], key=lambda t: (t.count("{"), t))
    return tuple(
        (re.compile("^" + re.sub(r"\\\{[a-z_]+\\\}", "[^/]+", re.escape(t)) + "/?$"), t)
        for t in templates
    )


def find(path: str) -> tuple[Spec, str] | None:
    """The spec and path template for a request path (with the ``/v0`` prefix), or None."""
    relative = path.removeprefix(API_PREFIX)
    for candidate in SPECS:
        for pattern, template in _routes(candidate.path):
            if pattern.match(relative):
                return candidate, template
    return None


def operation(method: str, path: str) -> dict[str, Any] | None:
    """The spec's operation for a request path (with the ``/v0`` prefix), or None."""
    found = find(path)
    if found is None:
        return None
    operations: dict[str, Any] = load(found[0].path)["paths"][found[1]]
    return operations.get(method.lower())


@functools.cache
def response_spec(method: str, template_path: str, status: str) -> dict[str, Any]:
    owner = next(s for s in SPECS if template_path in load(s.path)["paths"])
    document = load(owner.path)
    op = document["paths"][template_path].get(method.lower(), {})
    listed = op.get("responses", {}).get(status)
    if listed is None:
        listed = next(({"$ref": ref} for code, ref in owner.extra if code == status), None)
    if listed is None:
        raise ContractViolation(f"{method} {template_path}: status {status} is not in the spec")
    resolved: dict[str, Any] = resolve(listed, document)
    return resolved


@functools.cache
def _validator(method: str, template_path: str, status: str) -> OAS30Validator:
    schema = response_spec(method, template_path, status)["content"]["application/json"]["schema"]
    return OAS30Validator(schema)


def check(method: str, path: str, response: Response, query: str = "") -> None:
    """Raise ``ContractViolation`` unless ``response`` is what the spec allows for the request."""
    if not path.startswith(API_PREFIX + "/"):
        return  # control endpoints are ours, not Socket's
    found = find(path)
    status = str(response.status)
    where = f"{method} {path} -> {status}"
    if int(response.headers.get("Content-Length", "-1")) != len(response.body):
        raise ContractViolation(f"{where}: Content-Length does not match the body")
    try:
        body = json.loads(response.body)
    except ValueError as exc:
        raise ContractViolation(f"{where}: body is not JSON: {exc}") from None
    if found is None or operation(method, path) is None:
        _check_error_body(found[0] if found else SPECS[0], body, where)
        return
    errors = sorted(_validator(method, found[1], status).iter_errors(body), key=str)
    if errors:
        raise ContractViolation(f"{where}: {errors[0].message} at {list(errors[0].path)}")
    if status == "429" and not response.headers.get("Retry-After", "").isdigit():
        raise ContractViolation(f"{where}: Retry-After must be whole seconds")
    if status.startswith("5"):
        _check_server_error(body, response, where)
    _check_dry_run(method, found[1], query, response.status, body, where)


def _check_error_body(owner: Spec, body: Any, where: str) -> None:
    document = load(owner.path)
    schema = resolve({"$ref": owner.error_schema}, document)
    validator = OAS30Validator(schema["content"]["application/json"]["schema"])
    errors = list(validator.iter_errors(body))
    if errors:
        raise ContractViolation(
            f"{where}: error body does not follow the spec: {errors[0].message}"
        )


def _check_server_error(body: Any, response: Response, where: str) -> None:
    details = body["error"]["details"] or {}
    request_id = details.get("requestId")
    if not isinstance(request_id, str) or response.headers.get("X-Request-Id") != request_id:
        raise ContractViolation(f"{where}: a 5xx needs details.requestId equal to X-Request-Id")
    if details.get("code") not in SERVER_ERROR_CODES or not isinstance(
        details.get("retryable"), bool
    ):
        raise ContractViolation(f"{where}: a 5xx needs details.code and details.retryable")


def _check_dry_run(
    method: str, template: str, query: str, status: int, body: Any, where: str
) -> None:
    op = operation_of(method, template)
    takes_dry_run = any(p.get("name") == "dry_run" for p in op["parameters"])
    if not takes_dry_run or not 200 <= status < 300:
        return
    rehearsed = bool(parse_qs(query, keep_blank_values=True).get("dry_run"))
    if rehearsed and (status != 200 or body.get("dry_run") is not True):
        raise ContractViolation(f"{where}: a dry run must answer 200 with dry_run: true")
    if not rehearsed and body.get("dry_run"):
        raise ContractViolation(f"{where}: a real write must not say dry_run: true")
    if not rehearsed and method == "POST" and status != 201:
        raise ContractViolation(f"{where}: a real create must answer 201")


def operation_of(method: str, template: str) -> dict[str, Any]:
    owner = next(s for s in SPECS if template in load(s.path)["paths"])
    op: dict[str, Any] = load(owner.path)["paths"][template][method.lower()]
    return {**op, "parameters": resolve(op.get("parameters", []), load(owner.path))}
