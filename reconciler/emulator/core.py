"""The request handler: one method call per HTTP request, over the SQLite store.

``Emulator.handle`` knows nothing about sockets; the HTTP server and the in-process transport are
thin front ends over it. The order of checks for a ``/v0`` request is: route, latency, injected
fault (429/5xx, before anything changes), token (401), org (404), scope (403), quota (429), then
the operation itself, then, for a write that succeeded, the ambiguous-failure draw.
"""

from __future__ import annotations

import logging
import re
import time
import uuid as uuidlib
from collections.abc import Callable, Iterable, Mapping
from dataclasses import replace
from typing import Any
from urllib.parse import parse_qs

from reconciler.api import API_PREFIX
from reconciler.emulator import control
from reconciler.emulator.auth import Keyring, Quota, token_from_headers
from reconciler.emulator.entries import parse_body, to_stored
from reconciler.emulator.faults import FAULT_429, FAULT_AMBIGUOUS, Counters, FaultInjector, Faults
from reconciler.emulator.responses import ApiFailure, Response, json_response
from reconciler.emulator.store import Org, Store, UnknownUuidError
from reconciler.triage.wire import MAX_PER_PAGE, SCOPE_LIST, SCOPE_UPDATE

log = logging.getLogger(__name__)

ResponseCheck = Callable[[str, str, Response], None]
_response_check: ResponseCheck | None = None

_ROUTE = re.compile(rf"^{re.escape(API_PREFIX)}/orgs/([^/]+)/triage/alerts(?:/([^/]+))?/?$")
_READ_ONLY = "Triage is read-only for this organization since its move to Alert Policies"


def set_response_check(check: ResponseCheck | None) -> None:
    """Call ``check(method, path, response)`` on every answer of every Emulator (for tests)."""
    global _response_check  # noqa: PLW0603 - a process-wide test hook, set once per session
    _response_check = check


class Emulator:
    """A Socket-compatible Triage API over a SQLite store. ``handle`` is thread-safe."""

    def __init__(
        self,
        db: str = ":memory:",
        *,
        require_auth: bool = True,
        auto_create_orgs: bool = False,
        next_page_zero: bool = False,
        quota: int | None = None,
        refill_per_second: float = 0.0,
        faults: Faults | None = None,
    ) -> None:
        self.store = Store(db)
        self.require_auth = require_auth
        self.auto_create_orgs = auto_create_orgs
        self.next_page_zero = next_page_zero
        self.keyring = Keyring()
        self.quota = Quota(quota, refill_per_second)
        self.faults = FaultInjector(faults or Faults())
        self._counters = Counters()

    def add_org(self, slug: str, *, migrated: bool = False) -> None:
        """Create the org, or set whether it moved to Alert Policies (triage read-only)."""
        self.store.add_org(slug, migrated=migrated)

    def add_token(
        self, token: str, org: str, scopes: Iterable[str] = (SCOPE_LIST, SCOPE_UPDATE)
    ) -> None:
        """Accept ``token`` for ``org`` with ``scopes``; the org is created if missing."""
        if self.store.org(org) is None:
            self.store.add_org(org)
        self.keyring.add(token, org, scopes)

    def set_faults(self, faults: Faults) -> None:
        self.faults.configure(faults)

    def counters(self) -> dict[str, Any]:
        return self._counters.snapshot()

    def reset(self) -> None:
        """Wipe rules, counters and quota, and restart the fault generator from its seed."""
        self.store.wipe()
        self._counters.reset()
        self.quota.reset()
        self.faults.configure(self.faults.config)

    def rules(self, org: str) -> list[dict[str, Any]]:
        """Every rule of ``org`` in GET form, oldest first."""
        found = self.store.org(org)
        if found is None:
            return []
        return self.store.page(found, sort="created_at", direction="asc", limit=10**9, offset=0)[0]

    def seed_rules(self, org: str, rules: Iterable[Mapping[str, Any]]) -> None:
        """Insert rules directly (snake_case or camelCase; uuid and timestamps optional)."""
        if self.store.org(org) is None:
            self.store.add_org(org)
        target = self.store.org(org)
        assert target is not None
        rows = []
        for rule in rules:
            stamp = self.store.now()
            rows.append(
                (
                    str(rule.get("uuid") or uuidlib.uuid4()),
                    to_stored(rule),
                    str(rule.get("created_at") or rule.get("createdAt") or stamp),
                    str(rule.get("updated_at") or rule.get("updatedAt") or stamp),
                )
            )
        self.store.insert(target, rows)

    def close(self) -> None:
        self.store.close()

    def handle(
        self, method: str, path: str, query: str, headers: Mapping[str, str], body: bytes
    ) -> Response:
        """Answer one request. ``path`` includes the ``/v0`` prefix; ``query`` has no ``?``."""
        method = method.upper()
        try:
            response = self._dispatch(method, path, query, headers, body)
        except ApiFailure as failure:
            response = failure.response()
        except Exception:  # a bug in the emulator: answer like a server would, and count it
            log.exception("emulator: internal error on %s %s", method, path)
            self._counters.error()
            response = ApiFailure(500, "Internal emulator error").response()
        if _response_check is not None:
            _response_check(method, path, response)
        return response

    def _dispatch(
        self, method: str, path: str, query: str, headers: Mapping[str, str], body: bytes
    ) -> Response:
        if path.startswith(control.PREFIX):
            return control.handle(self, method, path, body)
        match = _ROUTE.match(path)
        if match is None:
            raise ApiFailure(404, f"No such endpoint: {path}")
        slug, item = match.group(1), match.group(2)
        allowed = ("DELETE",) if item else ("GET", "POST")
        if method not in allowed:
            raise ApiFailure(
                405, f"Method {method} not allowed", headers={"Allow": ", ".join(allowed)}
            )
        self._counters.call(method)
        self._inject(self.faults.config.latency)
        org = self._admit(method, slug, headers)
        params = parse_qs(query, keep_blank_values=True)
        if method == "GET":
            return self._list(org, params)
        if org.migrated:
            raise ApiFailure(409 if method == "POST" else 405, _READ_ONLY)
        response = self._post(org, params, body) if method == "POST" else self._delete(org, item)
        if self.faults.drop_after_write():
            self._counters.fault(FAULT_AMBIGUOUS)
            return replace(response, drop=True)
        return response

    def _inject(self, latency: float) -> None:
        if latency > 0:
            time.sleep(latency)
        kind = self.faults.before()
        if kind is None:
            return
        self._counters.fault(kind)
        if kind == FAULT_429:
            retry = {"Retry-After": str(self.faults.config.retry_after)}
            raise ApiFailure(429, "Too many requests (injected)", headers=retry)
        raise ApiFailure(int(kind), f"Injected server error {kind}")

    def _admit(self, method: str, slug: str, headers: Mapping[str, str]) -> Org:
        """Authenticate, find the org, check the scope and spend a unit of quota."""
        token = token_from_headers(headers)
        if self.require_auth:
            known = self.keyring.get(token)
            if known is None:
                raise ApiFailure(401, "Missing or invalid API token")
            if known.org != slug:
                raise ApiFailure(404, f"Organization not found: {slug}")
            scope = SCOPE_LIST if method == "GET" else SCOPE_UPDATE
            if scope not in known.scopes:
                raise ApiFailure(403, f"API token is missing the required scope {scope}")
        org = self.store.org(slug)
        if org is None and self.auto_create_orgs:
            self.store.add_org(slug)
            org = self.store.org(slug)
        if org is None:
            raise ApiFailure(404, f"Organization not found: {slug}")
        wait = self.quota.spend(token or "")
        if wait is not None:
            raise ApiFailure(
                429, "Insufficient quota for API route", headers={"Retry-After": str(wait)}
            )
        return org

    def _list(self, org: Org, params: dict[str, list[str]]) -> Response:
        sort = _choice(params, "sort", ("created_at", "updated_at"), "created_at")
        direction = _choice(params, "direction", ("asc", "desc"), "desc")
        per_page = _integer(params, "per_page", 30, 1, MAX_PER_PAGE)
        page = _integer(params, "page", 1, 1, None)
        results, more = self.store.page(
            org, sort=sort, direction=direction, limit=per_page, offset=(page - 1) * per_page
        )
        next_page = page + 1 if more else (0 if self.next_page_zero else None)
        return json_response(200, {"results": results, "nextPage": next_page})

    def _post(self, org: Org, params: dict[str, list[str]], body: bytes) -> Response:
        force = _choice(params, "force", ("true", "false"), "false", lower=True) == "true"
        entries = parse_body(body, force=force)
        fresh = (str(uuidlib.uuid4()) for _ in entries)
        try:
            created, updated = self.store.write(org, entries, fresh)
        except UnknownUuidError as exc:
            raise ApiFailure(404, str(exc), {"index": exc.index, "field": "uuid"}) from None
        self._counters.entries(created=created, updated=updated)
        count = created + updated
        noun = "entry" if count == 1 else "entries"
        message = f"Updated {count} triage {noun} ({created} created, {updated} updated)"
        return json_response(200, {"result": message})

    def _delete(self, org: Org, uuid: str) -> Response:
        if not self.store.delete(org, uuid):
            raise ApiFailure(404, f"No triage entry with uuid {uuid!r}")
        self._counters.entries(deleted=1)
        return json_response(200, {"result": f"Deleted triage entry {uuid}"})


def _one(params: dict[str, list[str]], name: str) -> str | None:
    values = params.get(name)
    if not values:
        return None
    if len(values) > 1:
        raise ApiFailure(400, f"Query parameter {name} given more than once", {"param": name})
    return values[0]


def _choice(
    params: dict[str, list[str]],
    name: str,
    allowed: tuple[str, ...],
    default: str,
    *,
    lower: bool = False,
) -> str:
    value = _one(params, name)
    if value is None:
        return default
    if (value.lower() if lower else value) not in allowed:
        message = f"Query parameter {name} must be one of {', '.join(allowed)}, not {value!r}"
        raise ApiFailure(400, message, {"param": name})
    return value.lower() if lower else value


def _integer(
    params: dict[str, list[str]], name: str, default: int, low: int, high: int | None
) -> int:
    value = _one(params, name)
    if value is None:
        return default
    bounds = f"from {low} to {high}" if high is not None else f"of at least {low}"
    if not re.fullmatch(r"[+-]?\d{1,9}", value.strip()):
        raise ApiFailure(
            400, f"Query parameter {name} must be an integer {bounds}", {"param": name}
        )
    number = int(value)
    if number < low or (high is not None and number > high):
        raise ApiFailure(
            400, f"Query parameter {name} must be an integer {bounds}", {"param": name}
        )
    return number
