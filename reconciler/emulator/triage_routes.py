"""The legacy Triage API: list, create/update and delete triage rules.

Choices where the spec is silent:
- Updating by uuid replaces every field (omitted fields reset to their defaults) and bumps
  ``updated_at``. Duplicate selectors are allowed, as nothing in the spec forbids them.
- Any alertType string is accepted; the API has no published list to check against.
- ``force`` accepts ``true``/``false`` in any case. Any page number from 1 up is accepted; a page
  past the end is an empty last page.
- An unknown uuid is a 404 (``details: {"index", "field": "uuid"}`` on POST).
- After the org moved to Alert Policies, reads return the rules frozen at the move, POST is a
  409 and DELETE a 405 (409 when ``Emulator.legacy_delete_status`` says so: Socket's docs say
  405, its live spec lists 409).

The handlers are methods of ``TriageRoutes``, built over the triage store and the change
counters: all they touch.
"""

from __future__ import annotations

import json
import uuid as uuidlib
from typing import Any

from reconciler.emulator import params as query
from reconciler.emulator.faults import Counters
from reconciler.emulator.responses import ApiFailure, Response, json_response, json_text_response
from reconciler.emulator.routing import GATE_LEGACY_WRITE, Operation, Request, Route, route
from reconciler.emulator.triage_entries import parse_body
from reconciler.emulator.triage_store import TriageRules, UnknownUuidError
from reconciler.vocab.triage.wire import MAX_PER_PAGE, SCOPE_LIST, SCOPE_UPDATE

DEFAULT_PER_PAGE = 30


class TriageRoutes:
    """The legacy endpoints over ``rules``; real changes are counted in ``counters``.

    ``next_page_zero``: the last page says ``nextPage: 0`` rather than null (switched at run time
    through ``Emulator.next_page_zero``).
    """

    def __init__(
        self, rules: TriageRules, counters: Counters, *, next_page_zero: bool = False
    ) -> None:
        self.rules = rules
        self.counters = counters
        self.next_page_zero = next_page_zero

    def routes(self) -> tuple[Route, ...]:
        """The legacy endpoints, for ``core``'s routing table."""
        return (
            route(
                "/orgs/{org}/triage/alerts",
                {
                    "GET": Operation(self.list_rules, (SCOPE_LIST,)),
                    "POST": Operation(
                        self.write_rules,
                        (SCOPE_UPDATE,),
                        write=True,
                        gate=GATE_LEGACY_WRITE,
                        precheck=check_write,
                    ),
                },
            ),
            route(
                "/orgs/{org}/triage/alerts/{uuid}",
                {
                    "DELETE": Operation(
                        self.delete_rule, (SCOPE_UPDATE,), write=True, gate=GATE_LEGACY_WRITE
                    )
                },
            ),
        )

    def list_rules(self, request: Request) -> Response:
        params = request.params
        sort = query.choice(params, "sort", ("created_at", "updated_at"), "created_at")
        direction = query.choice(params, "direction", ("asc", "desc"), "desc")
        per_page = query.integer(params, "per_page", DEFAULT_PER_PAGE, 1, MAX_PER_PAGE)
        page = query.integer(params, "page", 1, 1, None)
        results, more = self.rules.page(
            request.org,
            sort=sort,
            direction=direction,
            limit=per_page,
            offset=(page - 1) * per_page,
        )
        next_page = page + 1 if more else (0 if self.next_page_zero else None)
        # The rules come as JSON texts (``TriageRules.page``): spliced in, not decoded and encoded.
        body = f'{{"results":[{",".join(results)}],"nextPage":{json.dumps(next_page)}}}'
        return json_text_response(200, body)

    def write_rules(self, request: Request) -> Response:
        entries = _entries(request)
        fresh = (str(uuidlib.uuid4()) for _ in entries)
        try:
            created, updated = self.rules.write(request.org, entries, fresh)
        except UnknownUuidError as exc:
            raise ApiFailure(404, str(exc), {"index": exc.index, "field": "uuid"}) from None
        self.counters.changed("entries", created=created, updated=updated)
        count = created + updated
        noun = "entry" if count == 1 else "entries"
        message = f"Updated {count} triage {noun} ({created} created, {updated} updated)"
        return json_response(200, {"result": message})

    def delete_rule(self, request: Request) -> Response:
        (uuid,) = request.args
        if not self.rules.delete(request.org, uuid):
            raise ApiFailure(404, f"No triage entry with uuid {uuid!r}")
        self.counters.changed("entries", deleted=1)
        return json_response(200, {"result": f"Deleted triage entry {uuid}"})


def check_write(request: Request) -> None:
    """The checks of a write, changing nothing (for a write that commits late)."""
    _entries(request)


def _entries(request: Request) -> list[dict[str, Any]]:
    force = query.choice(request.params, "force", ("true", "false"), "false", lower=True)
    return parse_body(request.body, force=force == "true")
