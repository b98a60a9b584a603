"""The in-process front end: an ``httpx`` transport that calls ``Emulator.handle`` directly."""

from __future__ import annotations

import httpx

from reconciler.emulator.core import Emulator


class EmulatorTransport(httpx.BaseTransport):
    """Send httpx requests straight to an emulator, no socket involved.

    >>> transport = EmulatorTransport(emulator)  # doctest: +SKIP
    >>> client = httpx.Client(transport=transport, base_url="http://emu/v0")  # doctest: +SKIP

    An ambiguous write raises ``httpx.RemoteProtocolError`` after the change is committed, as
    httpx does when a real server closes the connection without answering.
    """

    def __init__(self, emulator: Emulator) -> None:
        self.emulator = emulator

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        body = request.read()
        response = self.emulator.handle(
            request.method,
            request.url.path,
            request.url.query.decode("ascii"),
            dict(request.headers.items()),
            body,
        )
        if response.drop:
            raise httpx.RemoteProtocolError(
                "Server disconnected without sending a response.", request=request
            )
        return httpx.Response(
            response.status, headers=response.headers, content=response.body, request=request
        )
