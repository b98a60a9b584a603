"""Test helpers for the HTTP layers: a fake clock, and the real emulator with one answer altered.

``Tamper`` wraps the emulator's own in-process transport: the emulator still decides every answer
it is asked for, and a hook may change the org between requests or rewrite one answer. It is a
fault injector around a real implementation, not a URL mock.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import httpx

from reconciler.emulator import Emulator, EmulatorTransport

Forward = Callable[[httpx.Request], httpx.Response]
Hook = Callable[[httpx.Request, Forward], httpx.Response]


def entry(name: str, **extra: Any) -> dict[str, Any]:
    """A POST entry for one npm package's critical CVEs."""
    return {
        "packageType": "npm",
        "packageName": name,
        "alertType": "criticalCVE",
        "state": "ignore",
        "note": "why",
        **extra,
    }


class Clock:
    """A fake monotonic clock: ``sleep`` records, advances it, then runs the next queued hook."""

    def __init__(self) -> None:
        self.now = 0.0
        self.sleeps: list[float] = []
        self.hooks: list[Callable[[], None]] = []

    def __call__(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.sleeps.append(seconds)
        self.now += seconds
        if self.hooks:
            self.hooks.pop(0)()


class Tamper(EmulatorTransport):
    """The real emulator with one request or answer altered: a fault injector, not a mock."""

    def __init__(self, emulator: Emulator, hook: Hook) -> None:
        super().__init__(emulator)
        self.hook = hook

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        return self.hook(request, super().handle_request)


def with_json(response: httpx.Response, **changes: Any) -> httpx.Response:
    """The emulator's JSON answer with some top-level fields replaced."""
    return httpx.Response(response.status_code, json={**response.json(), **changes})


def page_of(request: httpx.Request) -> int:
    """The page number a listing request asks for."""
    return int(request.url.params.get("page", "1"))
