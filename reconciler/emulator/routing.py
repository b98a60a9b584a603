"""What each family declares about its endpoints, and what a handler receives.

A family (``triage_routes``, ``policies_routes``, ...) is built over the one store it uses and
declares its ``routes()``: path patterns with, per method, an ``Operation`` naming its handler,
the scopes that admit it (any one), and whether it writes, takes ``?dry_run``, sits behind a
migration gate or needs an org-wide token. ``core.Emulator`` builds the table from the families
and does everything common to them (route, faults, auth, quota, gate), so a handler only does its
own work, and gets nothing but the ``Request``.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Final

from reconciler.api import API_PREFIX
from reconciler.emulator.auth import Token
from reconciler.emulator.database import Org
from reconciler.emulator.params import Params
from reconciler.emulator.responses import Response

# Migration gates (policies_migration.enforce_gate says what each refuses and when).
GATE_POLICY_WRITE: Final = "policy-write"
GATE_LEGACY_WRITE: Final = "legacy-write"


@dataclass(frozen=True)
class Request:
    """One admitted request: the org is found, the token checked and quota spent."""

    method: str
    org: Org
    args: tuple[str, ...]  # the path's captures after the org slug, URL-decoded
    params: Params
    body: bytes
    token: Token | None  # None when the emulator runs without auth (embedded)
    dry_run: bool = False


# Bound to its family's store when the family is built, so a handler is given only the request.
Handler = Callable[[Request], Response]
Check = Callable[[Request], None]


@dataclass(frozen=True)
class Operation:
    handler: Handler
    scopes: tuple[str, ...]
    write: bool = False
    dry_run: bool = False
    gate: str | None = None
    org_wide: bool = False
    # For a write without ``dry_run``: checks the request without changing anything, so that a
    # write committed late (a fault) is still refused at once when it is bad.
    precheck: Check | None = None


@dataclass(frozen=True)
class Route:
    pattern: re.Pattern[str]
    operations: Mapping[str, Operation]


def route(template: str, operations: Mapping[str, Operation]) -> Route:
    """A route for ``template`` (relative to ``/v0``; ``{name}`` is one path segment).

    >>> route("/orgs/{org}/x/{id}", {}).pattern.match("/v0/orgs/acme/x/7").groups()
    ('acme', '7')
    """
    regex = re.sub(r"\\\{[a-z_]+\\\}", "([^/]+)", re.escape(template))
    return Route(re.compile(rf"^{re.escape(API_PREFIX)}{regex}/?$"), operations)
