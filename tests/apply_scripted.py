"""The emulator's in-process transport with faults scripted per request, for the apply tests.

The emulator's own faults are drawn at random; these tests need one exact sequence ("the first
DELETE commits but its answer is lost, and every retry fails to connect"). Every request still
goes to the real emulator, or is refused before it: nothing here invents an answer.
"""

from __future__ import annotations

import json
import threading
from collections import Counter
from collections.abc import Callable, Collection

import httpx

from reconciler.emulator import Emulator, EmulatorTransport

# What may happen to one request:
LOSE = "lose"  # handled by the emulator (committed), then the answer is lost: a read timeout
REFUSE = "refuse"  # never reaches the emulator: a connection error
INTERRUPT = "interrupt"  # Ctrl-C before the request is sent
INTERRUPT_AFTER = "interrupt-after"  # Ctrl-C after the emulator handled it (committed)

Action = str | Callable[[], None]  # a callable runs just before the emulator handles the request
Script = dict[tuple[str, int], Action | tuple[Action, ...]]


class Scripted(EmulatorTransport):
    """``script[(METHOD, n)]`` is what happens to the n-th request of that method (1-based).

    ``script[("*", n)]`` counts requests of every method; a value may be a tuple of actions.
    Methods in ``refusing`` fail to connect from then on. ``blank_uuids`` names packages whose
    rules the GET answers list with ``uuid: null``, as the spec allows.
    """

    def __init__(
        self,
        emulator: Emulator,
        script: Script | None = None,
        blank_uuids: Collection[str] = (),
    ) -> None:
        super().__init__(emulator)
        self.script = dict(script or {})
        self.blank_uuids = set(blank_uuids)
        self.refusing: set[str] = set()
        self.seen: Counter[str] = Counter()
        self.requests: list[httpx.Request] = []
        self._lock = threading.Lock()

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        with self._lock:
            self.seen[request.method] += 1
            self.seen["*"] += 1
            actions: list[Action] = []
            for method in (request.method, "*"):
                found = self.script.pop((method, self.seen[method]), ())
                actions.extend(found if isinstance(found, tuple) else (found,))
            if request.method in self.refusing:
                actions.append(REFUSE)
            self.requests.append(request)
        for action in actions:
            if callable(action):
                action()
            elif action == REFUSE:
                raise httpx.ConnectError("connection refused (scripted)", request=request)
            elif action == INTERRUPT:
                raise KeyboardInterrupt
        try:
            response = super().handle_request(request)
        except httpx.TransportError:  # an emulator fault lost the answer: Ctrl-C all the same
            if INTERRUPT_AFTER in actions:
                raise KeyboardInterrupt from None
            raise
        if LOSE in actions:
            raise httpx.ReadTimeout("the answer was lost (scripted)", request=request)
        if INTERRUPT_AFTER in actions:
            raise KeyboardInterrupt
        return self._blank(request, response)

    def _blank(self, request: httpx.Request, response: httpx.Response) -> httpx.Response:
        if request.method != "GET" or not self.blank_uuids or response.status_code != 200:
            return response
        page = json.loads(response.read())
        for item in page["results"]:
            if item.get("package_name") in self.blank_uuids:
                item["uuid"] = None
        return httpx.Response(200, json=page, request=request)

    def refuse_from_now(self, method: str) -> Callable[[], None]:
        """An action: from this request on, every ``method`` request fails to connect."""
        return lambda: self.refusing.add(method)

    def sent(self, method: str) -> list[httpx.Request]:
        return [r for r in self.requests if r.method == method]
