"""The request pipeline: one method call per HTTP request, over the SQLite store.

``Emulator.handle`` knows nothing about sockets; the HTTP server and the in-process transport are
thin front ends over it. Each family is built here over the one store it uses and declares its
endpoints (``routing.Operation``); ``Emulator`` builds the routing table from them (the one place
that knows every family) and does what they share, in this order: route (404, 405), latency,
injected fault (429/5xx, before anything changes), token (401), org (404), scope (403),
org-wide token (403), rate limit (429), quota (429), ``?dry_run`` (400), migration gate
(409/405), then the operation itself and, for a real write that succeeded, the lost-answer
draws (late commit for POST, then a 500 after the commit, then ambiguous).
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Iterable, Mapping
from dataclasses import replace
from typing import Any
from urllib.parse import parse_qs

from reconciler.emulator import control, policies_migration
from reconciler.emulator.auth import Keyring, Quota, RateWindow, Token, token_from_headers
from reconciler.emulator.database import MEMORY, Org, Store
from reconciler.emulator.faults import (
    FAULT_429,
    FAULT_500_AFTER_COMMIT,
    FAULT_502,
    FAULT_AMBIGUOUS,
    FAULT_LATE_COMMIT,
    Counters,
    FaultInjector,
    Faults,
)
from reconciler.emulator.params import dry_run as parse_dry_run
from reconciler.emulator.policies_resolution_store import ResolutionStore
from reconciler.emulator.policies_resolutions import ResolutionRoutes
from reconciler.emulator.policies_routes import PolicyRoutes
from reconciler.emulator.policies_store import PolicyStore
from reconciler.emulator.repos_routes import NEXT_PAGE_STYLES, RepoRoutes
from reconciler.emulator.repos_store import RepoStore
from reconciler.emulator.responses import ApiFailure, Response, json_response, server_error
from reconciler.emulator.routing import Operation, Request, Route
from reconciler.emulator.seeding import Seeding
from reconciler.emulator.triage_routes import TriageRoutes
from reconciler.emulator.triage_store import TriageRules
from reconciler.vocab.triage.wire import SCOPE_LIST, SCOPE_UPDATE

log = logging.getLogger(__name__)
QUOTA_PATH = "/v0/quota"

ResponseCheck = Callable[[str, str, Response, str], None]
_response_check: ResponseCheck | None = None


def set_response_check(check: ResponseCheck | None) -> None:
    """Call ``check(method, path, response, query)`` on every answer of every Emulator (tests)."""
    global _response_check  # noqa: PLW0603 - a process-wide test hook, set once per session
    _response_check = check


class Emulator(Seeding):
    """Socket's legacy Triage API and its Alert Policies API over one SQLite store.

    ``handle`` is thread-safe. The Python API for tests and scripts (seeding, migration state,
    inspection) is in ``seeding.Seeding``; docs/emulator.md describes both.
    """

    def __init__(
        self,
        db: str = MEMORY,
        *,
        require_auth: bool = True,
        auto_create_orgs: bool = False,
        next_page_zero: bool = False,
        lazy_end_cursor: bool = False,
        repos_next_page: str = "null",
        legacy_delete_status: int = 405,
        quota: int | None = None,
        refill_per_second: float = 0.0,
        rate_limit: int | None = None,
        faults: Faults | None = None,
    ) -> None:
        if repos_next_page not in NEXT_PAGE_STYLES:  # before the store opens: nothing to close
            raise ValueError(f"repos_next_page must be one of {', '.join(NEXT_PAGE_STYLES)}")
        self.store = Store(db)
        self.triage = TriageRules(self.store)
        self.policies = PolicyStore(self.store)
        self.resolutions = ResolutionStore(self.store)
        self.repos = RepoStore(self.store)
        self.require_auth = require_auth
        self.auto_create_orgs = auto_create_orgs
        self.legacy_delete_status = legacy_delete_status
        self.keyring = Keyring()
        self.quota = Quota(quota, refill_per_second)
        self.rate_window = RateWindow(rate_limit)  # requests a minute per token, as Socket's
        self.faults = FaultInjector(faults or Faults())
        self._counters = Counters()
        self._late: list[threading.Timer] = []
        self._triage_routes = TriageRoutes(
            self.triage, self._counters, next_page_zero=next_page_zero
        )
        self._resolution_routes = ResolutionRoutes(
            self.resolutions, self._counters, lazy_end_cursor=lazy_end_cursor
        )
        self._repo_routes = RepoRoutes(self.repos, next_page_style=repos_next_page)
        # Every family's endpoints. Literal paths (migration/...) come before ``{policy_id}`` ones.
        self._routes: tuple[Route, ...] = (
            *self._triage_routes.routes(),
            *PolicyRoutes(self.policies, self.repos, self._counters).routes(),
            *self._resolution_routes.routes(),
            *self._repo_routes.routes(),
        )

    @property
    def next_page_zero(self) -> bool:
        """The last legacy page says ``nextPage: 0`` rather than null (a quirk seen in the wild)."""
        return self._triage_routes.next_page_zero

    @next_page_zero.setter
    def next_page_zero(self, enabled: bool) -> None:
        self._triage_routes.next_page_zero = enabled

    @property
    def lazy_end_cursor(self) -> bool:
        """A full resolutions page always carries an ``endCursor``, even when nothing follows."""
        return self._resolution_routes.lazy_end_cursor

    @lazy_end_cursor.setter
    def lazy_end_cursor(self, enabled: bool) -> None:
        self._resolution_routes.lazy_end_cursor = enabled

    @property
    def repos_next_page(self) -> str:
        """How the repository listing writes ``nextPage``: ``null`` (a number, then null at the
        end), ``zero`` (then 0) or ``string`` (numeric strings, then ``"0"``)."""
        return self._repo_routes.next_page_style

    @repos_next_page.setter
    def repos_next_page(self, style: str) -> None:
        self._repo_routes.next_page_style = style

    def add_token(
        self,
        token: str,
        org: str,
        scopes: Iterable[str] = (SCOPE_LIST, SCOPE_UPDATE),
        *,
        repos: Iterable[str] | None = None,
    ) -> None:
        """Accept ``token`` for ``org`` with ``scopes`` (``repos``: a repo-restricted token)."""
        self.store.add_org(org)
        self.keyring.add(token, org, scopes, repos)

    def set_faults(self, faults: Faults) -> None:
        self.faults.configure(faults)

    def counters(self) -> dict[str, Any]:
        return self._counters.snapshot()

    def reset(self) -> None:
        """Wipe rules, policies, resolutions, counters and quota; restart the fault generator.

        Orgs, their migration status, their repositories and tokens stay.
        """
        self.triage.wipe()
        self.policies.wipe()
        self.resolutions.wipe()
        self._counters.reset()
        self.quota.reset()
        self.rate_window.reset()
        self.faults.configure(self.faults.config)

    def close(self) -> None:
        for timer in self._late:  # a late commit still pending never lands in a closed store
            timer.cancel()
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
            bug = server_error(500, "Internal emulator error", code="internal", retryable=False)
            response = bug.response()
        if _response_check is not None:
            _response_check(method, path, response, query)
        return response

    def _dispatch(
        self, method: str, path: str, query: str, headers: Mapping[str, str], body: bytes
    ) -> Response:
        if path.startswith(control.PREFIX):
            return control.handle(self, method, path, body)
        if path == QUOTA_PATH:
            return self._quota(method, headers)
        found = next(((r, m) for r in self._routes if (m := r.pattern.match(path))), None)
        if found is None:
            raise ApiFailure(404, f"No such endpoint: {path}")
        route, match = found
        operation = route.operations.get(method)
        if operation is None:
            allowed = ", ".join(route.operations)
            raise ApiFailure(405, f"Method {method} not allowed", headers={"Allow": allowed})
        self._counters.call(method)
        self._inject(self.faults.config.latency)
        slug, *args = match.groups()
        token, org = self._admit(operation, slug, headers)
        params = parse_qs(query, keep_blank_values=True)
        request = Request(method, org, tuple(args), params, body, token)
        if operation.dry_run:
            request = replace(request, dry_run=parse_dry_run(request.params))
        policies_migration.enforce_gate(
            operation.gate,
            org,
            method,
            dry_run=request.dry_run,
            legacy_delete_status=self.legacy_delete_status,
        )
        real_write = operation.write and not request.dry_run
        if real_write and method == "POST" and self.faults.commit_late():
            return self._commit_late(operation, request)
        response = operation.handler(request)
        if real_write and self.faults.fail_after_commit():
            self._counters.fault(FAULT_500_AFTER_COMMIT)
            raise server_error(
                500, "Injected server error after commit", code="internal", retryable=True
            )
        if real_write and self.faults.drop_after_write():
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
        code = "temporarily_unavailable" if kind == FAULT_502 else "internal"
        raise server_error(int(kind), f"Injected server error {kind}", code=code, retryable=True)

    def _admit(
        self, operation: Operation, slug: str, headers: Mapping[str, str]
    ) -> tuple[Token | None, Org]:
        """Authenticate, find the org, check the scope and spend a unit of quota."""
        token = token_from_headers(headers)
        known = self.keyring.get(token)
        if self.require_auth:
            if known is None:
                raise ApiFailure(401, "Missing or invalid API token")
            if known.org != slug:
                raise ApiFailure(404, f"Organization not found: {slug}")
            if not any(known.grants(scope) for scope in operation.scopes):
                needed = " or ".join(operation.scopes)
                raise ApiFailure(403, f"API token is missing the required scope {needed}")
            if operation.org_wide and known.repos is not None:
                raise ApiFailure(403, "This endpoint needs a token with org-wide repository access")
        org = self.store.org(slug)
        if org is None and self.auto_create_orgs:
            org = self.store.add_org(slug)
        if org is None:
            raise ApiFailure(404, f"Organization not found: {slug}")
        wait = self.rate_window.admit(token or "")
        if wait is not None:
            raise ApiFailure(429, "Too many requests", headers={"Retry-After": str(wait)})
        wait = self.quota.spend(token or "")
        if wait is not None:
            raise ApiFailure(
                429, "Insufficient quota for API route", headers={"Retry-After": str(wait)}
            )
        return (known if self.require_auth else None), org

    def _quota(self, method: str, headers: Mapping[str, str]) -> Response:
        """``GET /v0/quota``: what is left of the token's quota. It costs none, needs no scope
        and is never a fault (it is how a client finds out whether it may start)."""
        if method != "GET":
            raise ApiFailure(405, f"Method {method} not allowed", headers={"Allow": "GET"})
        token = token_from_headers(headers)
        if self.require_auth and self.keyring.get(token) is None:
            raise ApiFailure(401, "Missing or invalid API token")
        left, size = self.quota.remaining(token or "")
        return json_response(200, {"quota": left, "maxQuota": size, "nextWindowRefresh": None})

    def _commit_late(self, operation: Operation, request: Request) -> Response:
        """Answer nothing now and do the write after ``late_commit_delay`` seconds.

        The request is checked first (rehearsed where the API can rehearse it), so a bad one
        is still refused at once with its 400.
        """
        if operation.dry_run:
            operation.handler(replace(request, dry_run=True))
        elif operation.precheck is not None:
            operation.precheck(request)
        self._counters.fault(FAULT_LATE_COMMIT)

        def commit() -> None:
            try:
                operation.handler(request)
            except Exception:  # e.g. the uuid of an update was deleted meanwhile
                log.warning("emulator: a late commit failed", exc_info=True)

        timer = threading.Timer(self.faults.config.late_commit_delay, commit)
        timer.daemon = True
        self._late.append(timer)
        timer.start()
        lost = server_error(502, "No answer (injected late commit)", code="timeout", retryable=True)
        return replace(lost.response(), drop=True)
