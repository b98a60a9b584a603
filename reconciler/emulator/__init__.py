"""A Socket-compatible emulator of the legacy Triage API and the Alert Policies API.

It shares no logic with the reconciler, only the wire constants of
``reconciler.vocab.triage.wire``, ``reconciler.vocab.policies.wire`` and ``reconciler.api``: two
implementations that agree are a check on each other. Rooms, by family (the file name says which):

    shared       core (request pipeline, Emulator, the routing table), routing (what a family
                 declares and a handler receives), params, auth (tokens, scopes, quota), faults
                 (+ counters), responses, control (/_emulator), seeding (the Python API),
                 database (+ database_schema: the versioned SQLite store), server (HTTP),
                 transport (in-process), embedded
    triage_*     routes (GET/POST/DELETE /triage/alerts), entries (body checks), store
    policies_*   routes (policies, rules), resolutions (+ resolution_store), migration (status,
                 states, gates), translate, bodies (policy/rule checks), scope (repository_ids
                 against the org's repositories), selector (vigil selectors), rank
                 (fractional-index keys), store (policies and rules)
    repos_*      routes (GET /orgs/{org}/repos), store (the org's repositories, seeded by tests)

Arrows point down only: front ends -> core -> each family's routes, built over the one store
they use (no handler sees the ``Emulator``) -> stores and body checks -> database.

Front ends: ``EmulatorTransport`` (httpx, in process), ``serve`` (a loopback HTTP server),
``embedded`` / ``open_local`` (``--api-url local:PATH``: no auth, orgs on demand, state in a
file). docs/emulator.md lists the endpoints, control endpoints, the Python API and every choice
made where Socket's documentation is silent.
"""

from __future__ import annotations

from reconciler.emulator.core import Emulator, set_response_check
from reconciler.emulator.database import StoreError
from reconciler.emulator.embedded import embedded, open_local
from reconciler.emulator.faults import Faults
from reconciler.emulator.responses import Response
from reconciler.emulator.server import serve
from reconciler.emulator.transport import EmulatorTransport

__all__ = [
    "Emulator",
    "EmulatorTransport",
    "Faults",
    "Response",
    "StoreError",
    "embedded",
    "open_local",
    "serve",
    "set_response_check",
]
