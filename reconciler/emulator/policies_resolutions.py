"""Alert resolutions: create, list (cursor paged), read and delete. There is no update.

Resolutions are never behind the migration gate. Paging is keyset paging on
``(created_at, seq)``: ``endCursor`` is an opaque token for the last row of the page, and null
once nothing follows (with ``Emulator.lazy_end_cursor`` a full page always carries a cursor,
so a client meets the empty last page Socket's docs warn about).

A repository-restricted token sees org-wide resolutions (no ``location.*`` condition) and those
whose ``location.repo`` is one of its repos, may create only resolutions anchored to one of its
repos, and gets 403 for any other. ``resolved_by`` is null: an org token is not a user.
"""

from __future__ import annotations

import base64
import binascii
import json
import sqlite3
import uuid as uuidlib
from typing import TYPE_CHECKING, Any, Final

from reconciler.emulator import params as query
from reconciler.emulator.auth import Token
from reconciler.emulator.database import Org, Store
from reconciler.emulator.policies_selector import (
    REPO_FIELD,
    SelectorError,
    anchors,
    check_selector,
    mentions_location,
)
from reconciler.emulator.responses import ApiFailure, Response, json_response
from reconciler.emulator.routing import Operation, Request, route

if TYPE_CHECKING:
    from reconciler.emulator.core import Emulator

LIST, CREATE = "alert-resolution:list", "alert-resolution:create"
READ, DELETE = "alert-resolution:read", "alert-resolution:delete"
REASONS: Final = ("false_positive", "remediated", "tolerable_risk", "other")
MAX_PER_PAGE: Final = 100
DEFAULT_PER_PAGE: Final = 30
_FIELDS: Final = ("reason", "vigil_selector", "reason_text", "comment")


class ResolutionStore:
    def __init__(self, store: Store) -> None:
        self.store = store

    def page(
        self, org: Org, *, direction: str, after: tuple[str, int] | None, limit: int
    ) -> list[sqlite3.Row]:
        """Up to ``limit`` rows after the cursor position, in ``direction`` order."""
        order, compare = ("ASC", ">") if direction == "asc" else ("DESC", "<")
        where, args = "org = ?", list[Any]([org.slug])
        if after is not None:
            where += f" AND (created_at, seq) {compare} (?, ?)"
            args += [after[0], after[1]]
        return self.store.read(
            f"SELECT * FROM alert_resolutions WHERE {where} "
            f"ORDER BY created_at {order}, seq {order} LIMIT ?",
            (*args, limit),
        )

    def get(self, org: Org, uuid: str) -> sqlite3.Row | None:
        rows = self.store.read(
            "SELECT * FROM alert_resolutions WHERE org = ? AND uuid = ?", (org.slug, uuid)
        )
        return rows[0] if rows else None

    def create(self, org: Org, fields: dict[str, Any], *, rehearse: bool) -> sqlite3.Row:
        now, uuid = self.store.now(), str(uuidlib.uuid4())
        with self.store.transaction(rehearse=rehearse) as conn:
            conn.execute(
                "INSERT INTO alert_resolutions (uuid, org, reason, reason_text, comment, "
                "vigil_selector, created_at, updated_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                (
                    uuid,
                    org.slug,
                    fields["reason"],
                    fields.get("reason_text"),
                    fields.get("comment"),
                    json.dumps(fields["vigil_selector"]),
                    now,
                    now,
                ),
            )
            row: sqlite3.Row = conn.execute(
                "SELECT * FROM alert_resolutions WHERE uuid = ?", (uuid,)
            ).fetchone()
        return row

    def delete(self, org: Org, uuid: str) -> bool:
        with self.store.transaction() as conn:
            cursor = conn.execute(
                "DELETE FROM alert_resolutions WHERE org = ? AND uuid = ?", (org.slug, uuid)
            )
        return cursor.rowcount == 1

    def wipe(self) -> None:
        with self.store.transaction() as conn:
            conn.execute("DELETE FROM alert_resolutions")


def to_api(row: sqlite3.Row) -> dict[str, Any]:
    selector = json.loads(row["vigil_selector"])
    return {
        "uuid": row["uuid"],
        "reason": row["reason"],
        "reason_text": row["reason_text"],
        "comment": row["comment"],
        "vigil_selector": selector,
        **anchors(selector),
        "resolved_by": row["resolved_by"],
        "created_at": row["created_at"],
        "updated_at": row["updated_at"],
    }


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


def list_resolutions(emulator: Emulator, request: Request) -> Response:
    params = request.params
    direction = query.choice(params, "direction", ("asc", "desc"), "desc")
    per_page = query.integer(params, "per_page", DEFAULT_PER_PAGE, 1, MAX_PER_PAGE)
    cursor = query.one(params, "startAfterCursor")
    after = decode_cursor(cursor) if cursor else None
    found: list[tuple[sqlite3.Row, dict[str, Any]]] = []
    while len(found) <= per_page:  # one more than a page tells whether anything follows
        rows = emulator.resolutions.page(request.org, direction=direction, after=after, limit=200)
        if not rows:
            break
        found += [(r, to_api(r)) for r in rows if visible(request.token, to_api(r))]
        after = (rows[-1]["created_at"], rows[-1]["seq"])
    page, more = found[:per_page], len(found) > per_page
    lazy = emulator.lazy_end_cursor and len(page) == per_page
    end = encode_cursor(page[-1][0]) if page and (more or lazy) else None
    return json_response(200, {"items": [item for _, item in page], "endCursor": end})


def create_resolution(emulator: Emulator, request: Request) -> Response:
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
    row = emulator.resolutions.create(request.org, fields, rehearse=request.dry_run)
    if request.dry_run:
        return json_response(200, {**to_api(row), "dry_run": True})
    emulator.count("resolutions", created=1)
    return json_response(201, to_api(row))


def _found(emulator: Emulator, request: Request) -> dict[str, Any]:
    (uuid,) = request.args
    row = emulator.resolutions.get(request.org, uuid)
    if row is None:
        raise ApiFailure(404, f"No alert resolution {uuid!r} in this organization")
    resolution = to_api(row)
    if not visible(request.token, resolution):
        raise ApiFailure(403, "This token's repositories do not cover that resolution")
    return resolution


def get_resolution(emulator: Emulator, request: Request) -> Response:
    return json_response(200, _found(emulator, request))


def delete_resolution(emulator: Emulator, request: Request) -> Response:
    resolution = _found(emulator, request)
    if not emulator.resolutions.delete(request.org, resolution["uuid"]):
        raise ApiFailure(404, f"No alert resolution {resolution['uuid']!r} in this organization")
    emulator.count("resolutions", deleted=1)
    return json_response(200, {"result": "ok"})


def checked_body(body: dict[str, Any]) -> dict[str, Any]:
    extra = sorted(set(body) - set(_FIELDS))
    if extra:
        raise ApiFailure(400, f"{extra[0]}: unknown property", {"field": extra[0]})
    for field in ("reason", "vigil_selector"):
        if field not in body:
            raise ApiFailure(400, f"{field}: is required", {"field": field})
    if body["reason"] not in REASONS:
        message = f"reason: must be one of {', '.join(REASONS)}, not {body['reason']!r}"
        raise ApiFailure(400, message, {"field": "reason"})
    try:
        check_selector(body["vigil_selector"])
    except SelectorError as exc:
        raise ApiFailure(400, str(exc), {"field": "vigil_selector"}) from None
    for field, high in (("reason_text", 256), ("comment", 1024)):
        value = body.get(field)
        if value is not None and not (isinstance(value, str) and 1 <= len(value) <= high):
            message = f"{field}: must be 1 to {high} characters or null"
            raise ApiFailure(400, message, {"field": field})
    return body


ROUTES = (
    route(
        "/orgs/{org}/alerts/resolutions",
        {
            "GET": Operation(list_resolutions, (LIST,)),
            "POST": Operation(create_resolution, (CREATE,), write=True, dry_run=True),
        },
    ),
    route(
        "/orgs/{org}/alerts/resolutions/{uuid}",
        {
            "GET": Operation(get_resolution, (READ,)),
            "DELETE": Operation(delete_resolution, (DELETE,), write=True),
        },
    ),
)
