"""A Socket-compatible Triage API emulator.

It shares no logic with the reconciler, only the wire constants of ``reconciler.triage.wire``: two
implementations that agree are a check on each other. Pieces:

    core.Emulator          the request handler over a SQLite store (``handle`` is thread-safe)
    transport              EmulatorTransport, an in-process httpx transport
    server.serve           a real ThreadingHTTPServer on loopback, for tests and the CLI
    embedded.embedded      the emulator behind ``--api-url local:PATH`` (no auth, orgs on demand)

Control endpoints (outside ``/v0``; no auth, no quota, never a fault)::

    GET  /_emulator/counters         {"calls": {GET, POST, DELETE}, "entries": {created, updated,
                                      deleted}, "faults": {"429", "500", "502", "ambiguous"},
                                      "internal_errors": n}
    GET  /_emulator/faults           the fault settings;  POST: replace them (a Faults as JSON)
    POST /_emulator/reset            wipe rules, counters and quota; restart the fault generator
    POST /_emulator/orgs             {"slug", "migrated"?, "token"?, "scopes"?}: add/update an org
    POST /_emulator/next-page-zero   {"enabled": bool}: last page says nextPage 0 instead of null
    GET  /_emulator/orgs/{org}/rules every rule of the org in GET form, oldest first

Choices where the spec is silent:

- A POST entry without ``state`` gets ``inherit`` (the GET schema's default). Missing enum
  selector fields are stored as ``"*"``, missing or ``""`` free-text ones as null; a ``"*"`` in
  a free-text field and ``cvssScoreCmp`` are stored as sent (after the CVSS check).
- Updating by uuid replaces every field (omitted fields reset to their defaults) and bumps
  ``updated_at``. Duplicate selectors are allowed, as nothing in the spec forbids them.
- Any alertType string is accepted; the API has no published list to check against.
- Unknown query parameter names are ignored; a known one with a bad value is a 400, as is a
  known one given twice. ``force`` accepts ``true``/``false`` in any case.
- Errors: 401 no or unknown token; 404 unknown org, an org the token does not belong to, or an
  unknown uuid (``details: {"index", "field": "uuid"}`` on POST); 403 names the missing scope;
  409 (POST) / 405 (DELETE) once the org moved to Alert Policies; 405 also for a method the path
  does not have. A 400 for an entry carries ``details: {"index": i, "field": name}``.
- Quota is per token (unauthenticated embedded calls share one bucket). A call is charged once it
  is authenticated and its org found, so 401s, 403s, 404s for orgs and injected faults are free;
  a 400 is charged. With no refill a spent quota answers ``Retry-After: 3600``.
- Timestamps are ISO-8601 UTC with microseconds and strictly increase within one emulator, so
  ``updated_at`` order is the order of writes; ties (bulk seeding) fall back to insertion order.
- Faults draw from one ``random.Random(seed)``: one draw per ``/v0`` request (429 / 500 / 502,
  before any check or change) and one more per successful write (ambiguous: committed, then
  no answer). Counted calls include faulted ones.
"""

from __future__ import annotations

from reconciler.emulator.core import Emulator, set_response_check
from reconciler.emulator.embedded import embedded
from reconciler.emulator.faults import Faults
from reconciler.emulator.responses import Response
from reconciler.emulator.server import serve
from reconciler.emulator.transport import EmulatorTransport

__all__ = [
    "Emulator",
    "EmulatorTransport",
    "Faults",
    "Response",
    "embedded",
    "serve",
    "set_response_check",
]
