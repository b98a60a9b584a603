"""The alert resolutions table, a row's API form and the check of a create body.

The endpoints (``policies_resolutions``) and seeding share all three. A row's API form adds the
selector's anchors (``policies_selector.anchors``); ``resolved_by`` is null: an org token is not
a user.
"""

from __future__ import annotations

import json
import sqlite3
import uuid as uuidlib
from typing import Any, Final

from reconciler.emulator.database import Org, Store
from reconciler.emulator.policies_selector import SelectorError, anchors, check_selector
from reconciler.emulator.responses import ApiFailure

REASONS: Final = ("false_positive", "remediated", "tolerable_risk", "other")
_FIELDS: Final = ("reason", "vigil_selector", "reason_text", "comment")


class ResolutionStore:
    """Resolutions per org, oldest first by ``(created_at, seq)``; every method is atomic."""

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
