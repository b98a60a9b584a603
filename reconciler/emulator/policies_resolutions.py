"""Alert resolutions: create, list (cursor paged), read and delete. There is no update.

Resolutions are never behind the migration gate. Paging is keyset paging on
``(created_at, seq)``: ``endCursor`` is an opaque token for the last row of the page, and null
once nothing follows (with ``Emulator.lazy_end_cursor`` a full page always carries a cursor,
so a client meets the empty last page Socket's docs warn about).

A repository-restricted token sees org-wide resolutions (no ``location.*`` condition) and those
whose ``location.repo`` is one of its repos, may create only resolutions anchored to one of its
repos, and gets 403 for any other. The table, its API form and the body check are in
``policies_resolution_store``.
"""

from __future__ import annotations

import base64
import binascii
import json
import sqlite3
from typing import Any, Final

from reconciler.emulator import params as query
from reconciler.emulator.auth import Token
from reconciler.emulator.faults import Counters
from reconciler.emulator.policies_resolution_store import ResolutionStore, checked_body, to_api
from reconciler.emulator.policies_selector import REPO_FIELD, mentions_location
from reconciler.emulator.responses import ApiFailure, Response, json_response
from reconciler.emulator.routing import Operation, Request, Route, route

LIST, CREATE = "alert-resolution:list", "alert-resolution:create"
READ, DELETE = "alert-resolution:read", "alert-resolution:delete"
MAX_PER_PAGE: Final = 100
DEFAULT_PER_PAGE: Final = 30


def visible(token: Token | None, resolution: dict[str, Any]) -> bool:
    """Whether a (possibly repo-restricted) token may see this resolution."""
    if token is None or token.repos is None:
        return True
    selector = resolution["vigil_selector"]
    return not mentions_location(selector) or resolution["repo"] in token.repos


def encode_cursor(row: sqlite3.Row) -> str:
    raw = json.dumps([row["created_at"], row["seq"]]).encode("utf-8")
    return base64.urlsafe_b64encode(raw).decode("ascii").rstrip("=")


def decode_cursor(text: str) -> tuple[str, int]:
    try:
        raw = base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))
        created_at, seq = json.loads(raw)
        if isinstance(created_at, str) and isinstance(seq, int):
            return created_at, seq
    except (binascii.Error, ValueError, TypeError):
        pass
    raise ApiFailure(
        400,
        "Query parameter startAfterCursor is not a cursor this API gave out",
        {"param": "startAfterCursor"},
    )


class ResolutionRoutes:
    """The resolution endpoints over ``resolutions``; real changes are counted in ``counters``."""

    def __init__(
        self, resolutions: ResolutionStore, counters: Counters, *, lazy_end_cursor: bool = False
    ) -> None:
        self.resolutions = resolutions
        self.counters = counters
        self.lazy_end_cursor = lazy_end_cursor

    def routes(self) -> tuple[Route, ...]:
        """The resolution endpoints, for ``core``'s routing table."""
        return (
            route(
                "/orgs/{org}/alerts/resolutions",
                {
                    "GET": Operation(self.list_resolutions, (LIST,)),
                    "POST": Operation(self.create_resolution, (CREATE,), write=True, dry_run=True),
                },
            ),
            route(
                "/orgs/{org}/alerts/resolutions/{uuid}",
                {
                    "GET": Operation(self.get_resolution, (READ,)),
                    "DELETE": Operation(self.delete_resolution, (DELETE,), write=True),
                },
            ),
        )

    def list_resolutions(self, request: Request) -> Response:
        params = request.params
        direction = query.choice(params, "direction", ("asc", "desc"), "desc")
        per_page = query.integer(params, "per_page", DEFAULT_PER_PAGE, 1, MAX_PER_PAGE)
        cursor = query.one(params, "startAfterCursor")
        after = decode_cursor(cursor) if cursor else None
        found: list[tuple[sqlite3.Row, dict[str, Any]]] = []
        while len(found) <= per_page:  # one more than a page tells whether anything follows
            rows = self.resolutions.page(request.org, direction=direction, after=after, limit=200)
            if not rows:
                break
            found += [(r, to_api(r)) for r in rows if visible(request.token, to_api(r))]
            after = (rows[-1]["created_at"], rows[-1]["seq"])
        page, more = found[:per_page], len(found) > per_page
        lazy = self.lazy_end_cursor and len(page) == per_page
        end = encode_cursor(page[-1][0]) if page and (more or lazy) else None
        return json_response(200, {"items": [item for _, item in page], "endCursor": end})

    def create_resolution(self, request: Request) -> Response:
        fields = checked_body(query.json_object(request.body))
        token = request.token
        if token is not None and token.repos is not None:
            repo = fields["vigil_selector"].get(REPO_FIELD)
            if not isinstance(repo, str) or repo not in token.repos:
                raise ApiFailure(
                    403,
                    "A repository-restricted token may only create resolutions anchored to one "
                    "of its repositories with location.repo",
                )
        row = self.resolutions.create(request.org, fields, rehearse=request.dry_run)
        if request.dry_run:
            return json_response(200, {**to_api(row), "dry_run": True})
        self.counters.changed("resolutions", created=1)
        return json_response(201, to_api(row))

    def _found(self, request: Request) -> dict[str, Any]:
        (uuid,) = request.args
        row = self.resolutions.get(request.org, uuid)
        if row is None:
            raise ApiFailure(404, f"No alert resolution {uuid!r} in this organization")
        resolution = to_api(row)
        if not visible(request.token, resolution):
            raise ApiFailure(403, "This token's repositories do not cover that resolution")
        return resolution

    def get_resolution(self, request: Request) -> Response:
        return json_response(200, self._found(request))

    def delete_resolution(self, request: Request) -> Response:
        resolution = self._found(request)
        if not self.resolutions.delete(request.org, resolution["uuid"]):
            raise ApiFailure(
                404, f"No alert resolution {resolution['uuid']!r} in this organization"
            )
        self.counters.changed("resolutions", deleted=1)
        return json_response(200, {"result": "ok"})
