"""A request's answer, a failure to get one, and the request's encodings: the HTTP layer's
vocabulary, without httpx.

``HttpClient`` sends through an ``Exchange``: the direct connections (``connections``) on a
network run, or an httpx transport (``bridge``: the in-process emulator, tests' fault injectors,
a proxy). Keeping httpx out of this vocabulary keeps it out of a network run's start-up, where
its import was a third of the time to import everything ``apply`` needs.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Protocol
from urllib.parse import urlencode


@dataclass(frozen=True, slots=True)
class Answer:
    """One HTTP answer, read whole. Header names are lower case."""

    status_code: int
    headers: Mapping[str, str]
    content: bytes

    def header(self, name: str) -> str | None:
        return self.headers.get(name.lower())

    def json(self) -> Any:
        return json.loads(self.content)


class TransportError(Exception):
    """No answer: the connection failed, timed out or broke before an answer was read whole.

    ``kind`` names the failure as httpx does (``ConnectError``, ``ReadTimeout``,
    ``RemoteProtocolError``, ...). ``never_sent`` is true only when the request certainly did not
    reach the server (it could not connect): then even a create may be sent again.
    """

    def __init__(self, kind: str, detail: str, *, never_sent: bool = False) -> None:
        super().__init__(f"{kind}: {detail}" if detail else kind)
        self.kind = kind
        self.never_sent = never_sent


class Exchange(Protocol):
    """Sends one request and reads its whole answer, or raises ``TransportError``."""

    def send(
        self, method: str, url: str, headers: Mapping[str, str], body: bytes | None, timeout: float
    ) -> Answer: ...

    def close(self) -> None: ...


def encode_query(params: Mapping[str, Any]) -> str:
    """A query string as httpx writes one: ``true``/``false`` for booleans, ``""`` for None.

    >>> encode_query({"page": 2, "force": True, "cursor": "a+b/c= d", "q": None})
    'page=2&force=true&cursor=a%2Bb%2Fc%3D+d&q='
    """
    return urlencode([(name, _text(value)) for name, value in params.items()])


def encode_json(body: Any) -> bytes:
    """A JSON body as httpx sends one: compact, UTF-8, and no NaN or Infinity."""
    return json.dumps(body, ensure_ascii=False, separators=(",", ":"), allow_nan=False).encode()


def _text(value: object) -> str:
    if value is True or value is False:
        return "true" if value else "false"
    return "" if value is None else str(value)
