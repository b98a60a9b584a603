"""The HTTP front end: keep-alive, concurrency, and the ``emulator`` CLI command."""

from __future__ import annotations

import json
import random
import signal
import socket
import subprocess
import sys
import threading
from pathlib import Path

import httpx
import pytest
from conftest import ALL_SCOPES_TOKEN, TEST_TOKEN

from reconciler.cli import cli
from reconciler.emulator import Emulator
from reconciler.http.connect import is_loopback

PATH = "/orgs/acme/triage/alerts"


def test_keep_alive_reuses_one_connection(emulator: Emulator, http_emulator: str) -> None:
    with httpx.Client(base_url=http_emulator, auth=(TEST_TOKEN, "")) as api:
        peers = set()
        for _ in range(3):
            response = api.get(PATH, extensions={})
            assert response.headers["Content-Length"] == str(len(response.content))
            stream = response.extensions["network_stream"]
            peers.add(stream.get_extra_info("client_addr"))
    assert len(peers) == 1


class Worker:
    """One thread's view: the rules it created and still has, keyed by uuid, with their note."""

    def __init__(self, base_url: str, number: int) -> None:
        self.api = httpx.Client(base_url=base_url, auth=(TEST_TOKEN, ""))
        self.rng = random.Random(number)
        self.number = number
        self.mine: dict[str, str] = {}
        self.statuses: list[int] = []
        self.requests = 0

    def call(self, method: str, path: str, **kwargs: object) -> httpx.Response:
        response = self.api.request(method, path, **kwargs)  # type: ignore[arg-type]
        self.requests += 1
        self.statuses.append(response.status_code)
        return response

    def find(self, key: str) -> str:
        """The uuid of my rule with alert_key ``key``, by paging newest first."""
        page: int | None = 1
        while page:
            body = self.call("GET", PATH, params={"per_page": 25, "page": page}).json()
            for item in body["results"]:
                if item["alert_key"] == key:
                    return str(item["uuid"])
            page = body["nextPage"]
        raise AssertionError(f"created rule {key} not found")

    def run(self, budget: int) -> None:
        serial = 0
        while self.requests < budget:
            choice = self.rng.random()
            if choice < 0.4 or not self.mine:
                serial += 1
                key, note = f"t{self.number}-{serial}", f"v{serial}"
                entry = {"alertKey": key, "state": "ignore", "note": note}
                self.call("POST", PATH, json={"alertTriage": [entry]})
                self.mine[self.find(key)] = note
            elif choice < 0.65:
                uuid = self.rng.choice(sorted(self.mine))
                note = f"u{self.requests}"
                key = f"t{self.number}-upd-{uuid}"
                entry = {"uuid": uuid, "alertKey": key, "state": "warn", "note": note}
                self.call("POST", PATH, json={"alertTriage": [entry]})
                self.mine[uuid] = note
            elif choice < 0.85:
                uuid = self.rng.choice(sorted(self.mine))
                self.call("DELETE", f"{PATH}/{uuid}")
                del self.mine[uuid]
            else:
                self.call("GET", PATH, params={"per_page": 100, "direction": "asc"})


def test_eight_threads_of_mixed_requests_lose_and_duplicate_nothing(
    emulator: Emulator, http_emulator: str
) -> None:
    workers = [Worker(http_emulator, n) for n in range(8)]
    threads = [threading.Thread(target=w.run, args=(200,)) for w in workers]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    for worker in workers:
        worker.api.close()
    believed = {uuid: note for w in workers for uuid, note in w.mine.items()}
    actual = {r["uuid"]: r["note"] for r in emulator.rules("acme")}
    assert len(emulator.rules("acme")) == len(actual)  # no duplicated uuid
    assert actual == believed
    assert {s for w in workers for s in w.statuses} == {200}
    counters = emulator.counters()
    assert counters["internal_errors"] == 0
    assert sum(counters["calls"].values()) == sum(w.requests for w in workers)
    entries = counters["entries"]
    assert entries["created"] - entries["deleted"] == len(believed)


def run_cli(*args: str) -> subprocess.Popen[str]:
    code = "from reconciler.cli import main; main()"
    return subprocess.Popen(
        [sys.executable, "-c", code, "emulator", "--port", "0", *args],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def test_emulator_command_serves_seeded_rules_and_stops_on_ctrl_c(tmp_path: Path) -> None:
    seed = tmp_path / "seed.json"
    seed.write_text(json.dumps({"orgs": {"beta": [{"alert_key": "k", "state": "ignore"}]}}))
    process = run_cli("--token", "sktsec_cli:beta", "--org", "acme", "--seed-file", str(seed))
    try:
        assert process.stdout is not None
        first = process.stdout.readline()
        url = first.rsplit(" ", 1)[-1].strip()
        assert url.startswith("http://127.0.0.1:") and url.endswith("/v0"), first
        lines = [process.stdout.readline() for _ in range(2)]
        assert any("sktsec_emu_" in line and "org acme" in line for line in lines), lines
        with httpx.Client(base_url=url, auth=("sktsec_cli", "")) as api:
            listed = api.get("/orgs/beta/triage/alerts").json()["results"]
        assert [r["alert_key"] for r in listed] == ["k"]
    finally:
        process.send_signal(signal.SIGINT)
        out, err = process.communicate(timeout=20)
    assert process.returncode == 0, err
    assert "Emulator stopped." in out


@pytest.mark.parametrize(
    ("args", "words"),
    [
        (["--faults", "{bad"], "--faults"),
        (["--faults", '{"rate_500": 3}'], "between 0 and 1"),
        (["--token", ":acme"], "token is empty"),
    ],
)
def test_emulator_command_refuses_bad_options(args: list[str], words: str) -> None:
    from click.testing import CliRunner

    result = CliRunner().invoke(cli, ["emulator", "--port", "0", *args])
    assert result.exit_code == 1
    assert words in result.output


@pytest.mark.parametrize(
    ("host", "loopback"),
    [("127.0.0.1", True), ("::1", True), ("localhost", True), ("0.0.0.0", False)],
)
def test_only_loopback_hosts_pass_without_warning(host: str, loopback: bool) -> None:
    assert is_loopback(host) is loopback


def test_malformed_content_length_is_400_not_a_crash(
    emulator: Emulator, http_emulator: str
) -> None:
    host, port = http_emulator.removeprefix("http://").removesuffix("/v0").split(":")
    with socket.create_connection((host, int(port)), timeout=5) as sock:
        sock.sendall(
            b"POST /v0/orgs/acme/triage/alerts HTTP/1.1\r\nHost: x\r\nContent-Length: x\r\n\r\n"
        )
        answer = sock.recv(4096)
    assert answer.startswith(b"HTTP/1.1 400 ")
    assert emulator.counters()["internal_errors"] == 0


def raw_request(base_url: str, request_line: str) -> bytes:
    host, port = base_url.removeprefix("http://").removesuffix("/v0").split(":")
    with socket.create_connection((host, int(port)), timeout=5) as sock:
        sock.sendall(f"{request_line}\r\nHost: x\r\nConnection: close\r\n\r\n".encode())
        chunks = []
        while chunk := sock.recv(4096):
            chunks.append(chunk)
    return b"".join(chunks)


@pytest.mark.parametrize(
    ("request_line", "status", "has_body"),
    [
        ("OPTIONS /v0/orgs/acme/triage/alerts HTTP/1.1", 405, True),
        ("BREW /v0/orgs/acme/triage/alerts HTTP/1.1", 405, True),
        ("GET /nothing HTTP/1.1", 404, True),
        ("HEAD /v0/orgs/acme/alert-policies HTTP/1.1", 405, False),
    ],
)
def test_odd_methods_and_requests_get_json_errors(
    emulator: Emulator, http_emulator: str, request_line: str, status: int, has_body: bool
) -> None:
    answer = raw_request(http_emulator, request_line)
    head, _, body = answer.partition(b"\r\n\r\n")
    assert head.startswith(f"HTTP/1.1 {status} ".encode()), head
    assert b"Content-Type: application/json" in head
    if has_body:
        assert json.loads(body)["error"]["message"]
    else:
        assert body == b""
    assert emulator.counters()["internal_errors"] == 0


def test_an_unparsable_request_line_is_answered_in_json(http_emulator: str) -> None:
    # No version in the line: HTTP/0.9 framing, a bare body, but still Socket's error shape.
    answer = raw_request(http_emulator, "GARBAGE")
    assert "Bad request syntax" in json.loads(answer)["error"]["message"]


def test_alert_policies_over_http_with_put(moved: Emulator, http_emulator: str) -> None:
    rule = {"name": "r", "vigil_selector": {"finding.alertType": "cve"}, "action": "error"}
    with httpx.Client(base_url=http_emulator, auth=(ALL_SCOPES_TOKEN, "")) as api:
        created = api.post("/orgs/acme/alert-policies/default/rules", json=rule).json()
        path = f"/orgs/acme/alert-policies/default/rules/{created['id']}"
        assert api.put(path, json={"action": "warn"}).json()["action"] == "warn"
        assert api.get(path).json()["action"] == "warn"
