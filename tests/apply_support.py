"""Apply one org's plan the way ``apply`` does (``engine.flow``), for tests of either target."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from typing import Any

import click
import httpx

from reconciler.commands.apply import say
from reconciler.emulator import Emulator, EmulatorTransport
from reconciler.engine import flow
from reconciler.engine.audit import AuditLog
from reconciler.engine.outcomes import Conclusion
from reconciler.engine.provenance import Provenance
from reconciler.engine.provider import OrgPlan
from reconciler.triage.client import TriageClient
from reconciler.wiring import Wiring


def apply_one(
    client: TriageClient,
    plan: OrgPlan,
    log: AuditLog | None,
    provenance: Provenance = Provenance(),  # noqa: B008 - frozen
    *,
    concurrency: int,
    settle: float,
) -> Conclusion[Any, Any]:
    """Apply ``plan`` on its target; report and raise on any failure, as ``apply`` does."""
    provider = Wiring(client, say).provider(plan.target)
    return flow.apply_org(provider, plan, log, provenance, concurrency, settle=settle, say=say)


def dry_run_one(client: TriageClient, plan: OrgPlan, *, concurrency: int) -> None:
    """``apply --dry-run`` for one org: its line on stdout."""
    click.echo(Wiring(client, say).provider(plan.target).dry_run(plan, concurrency))


class InFlight(EmulatorTransport):
    """The emulator, each request ``held`` picks held briefly, counting how many are in flight
    at once (``most``): how wide a client really goes."""

    def __init__(self, emulator: Emulator, held: Callable[[httpx.Request], bool]) -> None:
        super().__init__(emulator)
        self.held = held
        self.now = self.most = 0
        self._lock = threading.Lock()

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        if not self.held(request):
            return super().handle_request(request)
        with self._lock:
            self.now += 1
            self.most = max(self.most, self.now)
        try:
            time.sleep(0.05)
            return super().handle_request(request)
        finally:
            with self._lock:
                self.now -= 1
