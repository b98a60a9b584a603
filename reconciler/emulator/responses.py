"""The emulator's answer type and the error bodies the spec defines."""

from __future__ import annotations

import json
import uuid
from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class Response:
    """One answer. ``drop=True``: the write was committed but no answer must reach the client."""

    status: int
    headers: dict[str, str]
    body: bytes
    drop: bool = False

    def json(self) -> Any:
        return json.loads(self.body)


class ApiFailure(Exception):
    """A request the API refuses: becomes ``{"error": {"message", "details"}}`` with ``status``."""

    def __init__(
        self,
        status: int,
        message: str,
        details: dict[str, Any] | None = None,
        headers: dict[str, str] | None = None,
    ) -> None:
        super().__init__(message)
        self.status = status
        self.message = message
        self.details = details
        self.headers = headers or {}

    def response(self) -> Response:
        body = {"error": {"message": self.message, "details": self.details}}
        return json_response(self.status, body, self.headers)


def json_response(status: int, payload: Any, headers: dict[str, str] | None = None) -> Response:
    """A JSON answer with Content-Type and Content-Length set."""
    return json_text_response(status, json.dumps(payload, separators=(",", ":")), headers)


def json_text_response(status: int, text: str, headers: dict[str, str] | None = None) -> Response:
    """``json_response`` for a payload already encoded as JSON ``text``."""
    body = text.encode("utf-8")
    all_headers = {"Content-Type": "application/json; charset=utf-8"}
    all_headers.update(headers or {})
    all_headers["Content-Length"] = str(len(body))
    return Response(status, all_headers, body)


def server_error(status: int, message: str, *, code: str, retryable: bool) -> ApiFailure:
    """A 5xx as Socket sends it: ``details`` carry a request id (also ``X-Request-Id``), a code
    (``timeout``, ``temporarily_unavailable`` or ``internal``) and whether a retry may help."""
    request_id = uuid.uuid4().hex
    details = {"requestId": request_id, "code": code, "retryable": retryable}
    return ApiFailure(status, message, details, headers={"X-Request-Id": request_id})
