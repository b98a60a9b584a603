"""Control endpoints under ``/_emulator``: no auth, no quota, never a fault.

GET  /_emulator/counters                 calls by method, changes by kind, faults by kind
GET  /_emulator/faults                   the current fault settings
POST /_emulator/faults                   {"seed": 1, "rate_429": 0.1, ...}: replace them
POST /_emulator/reset                    wipe rules, policies, resolutions, counters and quota
POST /_emulator/orgs                     {"slug", "migrated"?, "migration_state"?, "token"?,
                                          "scopes"?, "repos"?}: add an org (and a token)
POST /_emulator/next-page-zero           {"enabled": true}: nextPage 0 (not null) on the last page
POST /_emulator/lazy-end-cursor          {"enabled": true}: a full resolutions page keeps a cursor
POST /_emulator/legacy-delete-status     {"status": 405 | 409}: legacy DELETE after the move
POST /_emulator/repos-next-page          {"style": "null" | "zero" | "string"}: repository
                                          listing's nextPage form
GET  /_emulator/orgs/{org}/rules         every triage rule of the org, oldest first
GET  /_emulator/orgs/{org}/repos         every repository, archived ones included, oldest first
POST /_emulator/orgs/{org}/repos         {"repos": [slug | {"slug", "name"?, ...}]}: add them
GET  /_emulator/orgs/{org}/migration     the migration status
POST /_emulator/orgs/{org}/migration     {"state": "accepted", <status field>: ...}: set it
GET  /_emulator/orgs/{org}/policies      every policy, each with its "rules" in order
POST /_emulator/orgs/{org}/policy-rules  {"policy"?: "default", "rules": [...]}: append rules
GET  /_emulator/orgs/{org}/resolutions   every resolution, oldest first
POST /_emulator/orgs/{org}/resolutions   {"resolutions": [...]}: create them

They are the Python API over HTTP: ``handle`` is given the emulator as ``Controlled``, the part
of it these endpoints use.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from typing import Any, Protocol

from reconciler.emulator.faults import FaultInjector, Faults
from reconciler.emulator.policies_store import DEFAULT_ID
from reconciler.emulator.responses import ApiFailure, Response, json_response
from reconciler.vocab.triage.wire import SCOPE_LIST, SCOPE_UPDATE

PREFIX = "/_emulator/"
LEGACY_DELETE_STATUSES = (405, 409)


class Controlled(Protocol):
    """What the control endpoints read and change: ``core.Emulator`` (seeding.Seeding's API)."""

    next_page_zero: bool
    lazy_end_cursor: bool
    legacy_delete_status: int
    repos_next_page: str

    @property
    def faults(self) -> FaultInjector: ...
    def counters(self) -> dict[str, Any]: ...
    def set_faults(self, faults: Faults) -> None: ...
    def reset(self) -> None: ...
    def add_org(self, slug: str, *, migrated: bool | None = None) -> None: ...
    def add_token(
        self, token: str, org: str, scopes: Iterable[str], *, repos: Iterable[str] | None = None
    ) -> None: ...
    def set_migration_state(
        self, org: str, state: str | None, **overrides: Any
    ) -> dict[str, Any]: ...
    def migration_status(self, org: str) -> dict[str, Any]: ...
    def rules(self, org: str) -> list[dict[str, Any]]: ...
    def repositories(self, org: str) -> list[dict[str, Any]]: ...
    def seed_repos(
        self, org: str, repos: Iterable[str | Mapping[str, Any]]
    ) -> list[dict[str, Any]]: ...
    def alert_policies(self, org: str) -> list[dict[str, Any]]: ...
    def policy_rules(self, org: str, policy: str = DEFAULT_ID) -> list[dict[str, Any]]: ...
    def seed_policy_rules(
        self, org: str, rules: Iterable[Mapping[str, Any]], policy: str = DEFAULT_ID
    ) -> list[dict[str, Any]]: ...
    def alert_resolutions(self, org: str) -> list[dict[str, Any]]: ...
    def seed_resolutions(
        self, org: str, resolutions: Iterable[Mapping[str, Any]]
    ) -> list[dict[str, Any]]: ...


def handle(emulator: Controlled, method: str, path: str, body: bytes) -> Response:
    """Answer one control request."""
    name = path[len(PREFIX) :].strip("/")
    parts = name.split("/")
    try:
        if len(parts) == 3 and parts[0] == "orgs":
            return _org_item(emulator, method, parts[1], parts[2], body)
        if method == "GET":
            return _get(emulator, name)
        if method == "POST":
            return _post(emulator, name, _object(body))
    except (TypeError, ValueError) as exc:
        raise ApiFailure(400, str(exc)) from None
    raise ApiFailure(404, f"No such control endpoint: {method} {path}")


def _get(emulator: Controlled, name: str) -> Response:
    if name == "counters":
        return json_response(200, emulator.counters())
    if name == "faults":
        return json_response(200, emulator.faults.config.to_dict())
    raise ApiFailure(404, f"No such control endpoint: GET {name}")


def _post(emulator: Controlled, name: str, data: dict[str, Any]) -> Response:
    if name == "faults":
        emulator.set_faults(Faults.from_mapping(data))
        return json_response(200, emulator.faults.config.to_dict())
    if name == "reset":
        emulator.reset()
        return json_response(200, {"result": "reset"})
    if name == "orgs":
        return _org(emulator, data)
    if name == "next-page-zero":
        emulator.next_page_zero = bool(data.get("enabled", True))
        return json_response(200, {"next_page_zero": emulator.next_page_zero})
    if name == "lazy-end-cursor":
        emulator.lazy_end_cursor = bool(data.get("enabled", True))
        return json_response(200, {"lazy_end_cursor": emulator.lazy_end_cursor})
    if name == "legacy-delete-status":
        status = data.get("status")
        if status not in LEGACY_DELETE_STATUSES:
            raise ValueError("status must be 405 or 409")
        emulator.legacy_delete_status = int(status)
        return json_response(200, {"legacy_delete_status": status})
    if name == "repos-next-page":
        emulator.repos_next_page = str(data.get("style", "null"))
        return json_response(200, {"repos_next_page": emulator.repos_next_page})
    raise ApiFailure(404, f"No such control endpoint: POST {name}")


def _org_item(emulator: Controlled, method: str, org: str, item: str, body: bytes) -> Response:
    if method == "GET":
        views = {
            "rules": emulator.rules,
            "repos": emulator.repositories,
            "migration": emulator.migration_status,
            "policies": lambda slug: _policies(emulator, slug),
            "resolutions": emulator.alert_resolutions,
        }
        if item in views:
            return json_response(200, views[item](org))
    if method == "POST":
        data = _object(body)
        if item == "migration":
            state = data.pop("state", None)
            return json_response(200, emulator.set_migration_state(org, state, **data))
        if item == "repos":
            repos = data.get("repos")
            if not isinstance(repos, list):
                raise ValueError("repos must be an array of slugs or objects")
            return json_response(200, emulator.seed_repos(org, repos))
        if item == "policy-rules":
            policy = str(data.get("policy") or DEFAULT_ID)
            made = emulator.seed_policy_rules(org, _list(data, "rules"), policy)
            return json_response(200, made)
        if item == "resolutions":
            return json_response(200, emulator.seed_resolutions(org, _list(data, "resolutions")))
    raise ApiFailure(404, f"No such control endpoint: {method} orgs/{org}/{item}")


def _policies(emulator: Controlled, org: str) -> list[dict[str, Any]]:
    return [
        {**policy, "rules": emulator.policy_rules(org, policy["id"])}
        for policy in emulator.alert_policies(org)
    ]


def _object(body: bytes) -> dict[str, Any]:
    if not body.strip():
        return {}
    try:
        data = json.loads(body)
    except (UnicodeDecodeError, json.JSONDecodeError, RecursionError) as exc:
        raise ApiFailure(400, f"Body is not valid JSON: {exc}") from None
    if not isinstance(data, dict):
        raise ApiFailure(400, "Body must be a JSON object")
    return data


def _list(data: dict[str, Any], key: str) -> list[dict[str, Any]]:
    items = data.get(key)
    if not isinstance(items, list) or not all(isinstance(i, dict) for i in items):
        raise ValueError(f"{key} must be an array of objects")
    return items


def _org(emulator: Controlled, data: dict[str, Any]) -> Response:
    slug = data.get("slug")
    if not isinstance(slug, str) or not slug:
        raise ApiFailure(400, "slug is required")
    emulator.add_org(slug)
    if "migration_state" in data:
        emulator.set_migration_state(slug, data["migration_state"])
    elif "migrated" in data:
        emulator.add_org(slug, migrated=bool(data["migrated"]))
    token = data.get("token")
    if isinstance(token, str) and token:
        scopes = data.get("scopes", [SCOPE_LIST, SCOPE_UPDATE])
        repos = data.get("repos")
        emulator.add_token(
            token,
            slug,
            [str(s) for s in scopes],
            repos=None if repos is None else [str(r) for r in repos],
        )
    status = emulator.migration_status(slug)
    return json_response(200, {"slug": slug, "migrated": not status["legacy_evaluation_enabled"]})
