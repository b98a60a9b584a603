"""Triage pages over a real loopback socket: parallel and out of order, and the buffered answer."""

from __future__ import annotations

import json
import random
import socket
from concurrent.futures import ThreadPoolExecutor
from typing import Any
from urllib.parse import urlsplit

import httpx
from conftest import TEST_TOKEN

from reconciler.emulator import Emulator

PATH = "/orgs/acme/triage/alerts"


def test_pages_asked_in_parallel_in_any_order_are_the_listing_in_order(
    emulator: Emulator, http_emulator: str
) -> None:
    emulator.triage.keysets.stride = 4
    emulator.seed_rules(
        "acme", [{"package_name": f"p{i:03d}", "state": "ignore"} for i in range(95)]
    )
    pages = list(range(1, 14))  # 10 pages of 10, then 3 past the end
    random.Random(3).shuffle(pages)
    with httpx.Client(base_url=http_emulator, auth=(TEST_TOKEN, "")) as api:

        def get(page: int) -> dict[str, Any]:
            query: dict[str, Any] = {"per_page": 10, "page": page, "direction": "asc"}
            body: dict[str, Any] = api.get(PATH, params=query).json()
            return body

        with ThreadPoolExecutor(8) as pool:
            bodies = dict(zip(pages, pool.map(get, pages), strict=True))
    names = [r["package_name"] for page in sorted(bodies) for r in bodies[page]["results"]]
    assert names == [f"p{i:03d}" for i in range(95)]
    assert [bodies[page]["nextPage"] for page in sorted(bodies)] == [*range(2, 11), *[None] * 4]
    assert emulator.triage.keysets.paths["offset"] == 1  # page 1; every other page by key


def test_100_continue_is_sent_before_the_body_arrives(
    emulator: Emulator, http_emulator: str
) -> None:
    """The answer is buffered until complete; an interim ``100 Continue`` must not wait."""
    address = urlsplit(http_emulator)
    body = json.dumps({"alertTriage": [{"packageName": "p", "state": "ignore"}]}).encode()
    head = (
        f"POST /v0{PATH} HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer {TEST_TOKEN}\r\n"
        f"Content-Type: application/json\r\nContent-Length: {len(body)}\r\n"
        "Expect: 100-continue\r\n\r\n"
    )
    with socket.create_connection((address.hostname, address.port), timeout=5) as conn:
        conn.sendall(head.encode())
        assert conn.recv(4096).startswith(b"HTTP/1.1 100 Continue\r\n")
        conn.sendall(body)
        answer = conn.recv(65536)
    assert answer.startswith(b"HTTP/1.1 200 ")
    assert [rule["package_name"] for rule in emulator.rules("acme")] == ["p"]
