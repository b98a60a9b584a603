"""Check emulator answers against the Socket Triage OpenAPI spec.

``check(method, path, response)`` validates the body of every ``/v0`` answer against the spec's
response schema for that operation and status (``$ref`` resolved; OAS 3.0 ``nullable`` honoured).
Statuses the spec does not list for the operation but the real API sends (405, 409, 500, 502) are
checked against the spec's shared error schema, which every Socket error body follows.
"""

from __future__ import annotations

import functools
import json
import re
from pathlib import Path
from typing import Any

import yaml
from openapi_schema_validator import OAS30Validator

from reconciler.api import API_PREFIX
from reconciler.emulator import Response

SPEC_PATH = Path(__file__).resolve().parent.parent / "schemas" / "socket-triage-api-openapi.yml"

# Statuses outside each operation's list, and the component describing their (shared) body.
_EXTRA_STATUSES = {
    "405": "SocketBadRequest",
    "409": "SocketConflict",
    "500": "SocketInternalServerError",
    "502": "SocketInternalServerError",
}
_ROUTES = (
    (re.compile(r"^/orgs/[^/]+/triage/alerts/?$"), "/orgs/{org_slug}/triage/alerts"),
    (re.compile(r"^/orgs/[^/]+/triage/alerts/[^/]+/?$"), "/orgs/{org_slug}/triage/alerts/{uuid}"),
)


class ContractViolation(AssertionError):
    """An emulator answer the spec does not allow."""


@functools.cache
def spec() -> dict[str, Any]:
    loaded: dict[str, Any] = yaml.safe_load(SPEC_PATH.read_text(encoding="utf-8"))
    return loaded


def resolve(node: Any) -> Any:
    """``node`` with every local ``$ref`` replaced by what it points at."""
    if isinstance(node, list):
        return [resolve(item) for item in node]
    if not isinstance(node, dict):
        return node
    if "$ref" in node:
        target: Any = spec()
        for part in node["$ref"].removeprefix("#/").split("/"):
            target = target[part]
        return resolve(target)
    return {key: resolve(value) for key, value in node.items()}


def operation(method: str, path: str) -> dict[str, Any] | None:
    """The spec's operation for a request path (with the ``/v0`` prefix), or None."""
    relative = path.removeprefix(API_PREFIX)
    for pattern, template in _ROUTES:
        if pattern.match(relative):
            found: dict[str, Any] | None = spec()["paths"][template].get(method.lower())
            return found
    return None


@functools.cache
def response_spec(method: str, template_path: str, status: str) -> dict[str, Any]:
    op = spec()["paths"][template_path].get(method.lower(), {})
    listed = op.get("responses", {}).get(status)
    if listed is None and status in _EXTRA_STATUSES:
        listed = {"$ref": f"#/components/responses/{_EXTRA_STATUSES[status]}"}
    if listed is None:
        raise ContractViolation(f"{method} {template_path}: status {status} is not in the spec")
    resolved: dict[str, Any] = resolve(listed)
    return resolved


@functools.cache
def _validator(method: str, template_path: str, status: str) -> OAS30Validator:
    schema = response_spec(method, template_path, status)["content"]["application/json"]["schema"]
    return OAS30Validator(schema)


def check(method: str, path: str, response: Response) -> None:
    """Raise ``ContractViolation`` unless ``response`` is what the spec allows for the request."""
    if not path.startswith(API_PREFIX + "/"):
        return  # control endpoints are ours, not Socket's
    relative = path.removeprefix(API_PREFIX)
    template = next((t for p, t in _ROUTES if p.match(relative)), None)
    if template is None or operation(method, path) is None:
        _check_error_body(response)  # unknown route or method: still Socket's error shape
        return
    status = str(response.status)
    where = f"{method} {path} -> {status}"
    if int(response.headers.get("Content-Length", "-1")) != len(response.body):
        raise ContractViolation(f"{where}: Content-Length does not match the body")
    try:
        body = json.loads(response.body)
    except ValueError as exc:
        raise ContractViolation(f"{where}: body is not JSON: {exc}") from None
    errors = sorted(_validator(method, template, status).iter_errors(body), key=str)
    if errors:
        raise ContractViolation(f"{where}: {errors[0].message} at {list(errors[0].path)}")
    if status == "429" and not response.headers.get("Retry-After", "").isdigit():
        raise ContractViolation(f"{where}: Retry-After must be whole seconds")


def _check_error_body(response: Response) -> None:
    schema = resolve({"$ref": "#/components/responses/SocketBadRequest"})
    validator = OAS30Validator(schema["content"]["application/json"]["schema"])
    errors = list(validator.iter_errors(json.loads(response.body)))
    if errors:
        raise ContractViolation(f"error body does not follow the spec: {errors[0].message}")
