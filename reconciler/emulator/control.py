"""Control endpoints under ``/_emulator``: no auth, no quota, never a fault.

GET  /_emulator/counters         calls by method, entries created/updated/deleted, faults by kind
GET  /_emulator/faults           the current fault settings
POST /_emulator/faults           {"seed": 1, "rate_429": 0.1, ...}: replace the fault settings
POST /_emulator/reset            wipe rules, counters and quota; restart the fault generator
POST /_emulator/orgs             {"slug": "acme", "migrated": false, "token": ..., "scopes": [...]}
POST /_emulator/next-page-zero   {"enabled": true}: send nextPage 0 (not null) on the last page
GET  /_emulator/orgs/{org}/rules every rule of the org, oldest first
"""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Any

from reconciler.emulator.faults import Faults
from reconciler.emulator.responses import ApiFailure, Response, json_response
from reconciler.triage.wire import SCOPE_LIST, SCOPE_UPDATE

if TYPE_CHECKING:
    from reconciler.emulator.core import Emulator

PREFIX = "/_emulator/"


def handle(emulator: Emulator, method: str, path: str, body: bytes) -> Response:
    """Answer one control request."""
    name = path[len(PREFIX) :].strip("/")
    if method == "GET" and name == "counters":
        return json_response(200, emulator.counters())
    if method == "GET" and name == "faults":
        return json_response(200, emulator.faults.config.to_dict())
    if method == "GET" and name.startswith("orgs/") and name.endswith("/rules"):
        return json_response(200, emulator.rules(name[len("orgs/") : -len("/rules")]))
    if method != "POST":
        raise ApiFailure(404, f"No such control endpoint: {method} {path}")
    data = _object(body)
    if name == "faults":
        try:
            emulator.set_faults(Faults.from_mapping(data))
        except (TypeError, ValueError) as exc:
            raise ApiFailure(400, str(exc)) from None
        return json_response(200, emulator.faults.config.to_dict())
    if name == "reset":
        emulator.reset()
        return json_response(200, {"result": "reset"})
    if name == "orgs":
        return _org(emulator, data)
    if name == "next-page-zero":
        emulator.next_page_zero = bool(data.get("enabled", True))
        return json_response(200, {"next_page_zero": emulator.next_page_zero})
    raise ApiFailure(404, f"No such control endpoint: {method} {path}")


def _object(body: bytes) -> dict[str, Any]:
    if not body.strip():
        return {}
    try:
        data = json.loads(body)
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise ApiFailure(400, f"Body is not valid JSON: {exc}") from None
    if not isinstance(data, dict):
        raise ApiFailure(400, "Body must be a JSON object")
    return data


def _org(emulator: Emulator, data: dict[str, Any]) -> Response:
    slug = data.get("slug")
    if not isinstance(slug, str) or not slug:
        raise ApiFailure(400, "slug is required")
    emulator.add_org(slug, migrated=bool(data.get("migrated", False)))
    token = data.get("token")
    if isinstance(token, str) and token:
        scopes = data.get("scopes", [SCOPE_LIST, SCOPE_UPDATE])
        emulator.add_token(token, slug, [str(s) for s in scopes])
    return json_response(200, {"slug": slug, "migrated": bool(data.get("migrated", False))})
