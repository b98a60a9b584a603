"""Shared fixtures: an emulator, its in-process transport, and the same emulator over HTTP.

Every answer any Emulator gives during the test session is checked against Socket's OpenAPI spec
for its family, legacy triage or Alert Policies (``tests/contract.py``); a violation fails the
test that caused it.
"""

from __future__ import annotations

from collections.abc import Iterator

import contract
import httpx
import pytest

from reconciler.emulator import Emulator, EmulatorTransport, Response, serve, set_response_check

TEST_TOKEN = "sktsec_test_0123456789abcdef"
# A second token of org acme holding every scope of both families (umbrella scopes), and the
# repository listing's `repo:list`.
ALL_SCOPES_TOKEN = "sktsec_test_all_scopes_0123456789"
ALL_SCOPES = (
    "triage:alerts-list",
    "triage:alerts-update",
    "alert-policy",
    "alert-resolution",
    "repo:list",
)
TEST_ORG = "acme"
TRANSPORT_BASE_URL = "http://emulator.test/v0"

_violations: list[str] = []


def _record(method: str, path: str, response: Response, query: str) -> None:
    try:
        contract.check(method, path, response, query)
    except contract.ContractViolation as exc:
        _violations.append(str(exc))
        raise


@pytest.fixture(scope="session", autouse=True)
def _contract_checked_emulators() -> Iterator[None]:
    set_response_check(_record)
    yield
    set_response_check(None)


@pytest.fixture(autouse=True)
def _no_contract_violations() -> Iterator[None]:
    _violations.clear()
    yield
    found, _violations[:] = list(_violations), []
    assert not found, f"emulator answers broke the OpenAPI contract: {found}"


@pytest.fixture
def emulator() -> Iterator[Emulator]:
    """In memory, auth required, org ``acme``: ``TEST_TOKEN`` holds both triage scopes,
    ``ALL_SCOPES_TOKEN`` every scope of both families."""
    emu = Emulator()
    emu.add_org(TEST_ORG)
    emu.add_token(TEST_TOKEN, TEST_ORG)
    emu.add_token(ALL_SCOPES_TOKEN, TEST_ORG, ALL_SCOPES)
    yield emu
    emu.close()


@pytest.fixture
def emulator_transport(emulator: Emulator) -> EmulatorTransport:
    return EmulatorTransport(emulator)


@pytest.fixture
def http_emulator(emulator: Emulator) -> Iterator[str]:
    """The ``emulator`` served on a loopback socket; yields the base URL ending in ``/v0``."""
    with serve(emulator) as url:
        yield url


@pytest.fixture
def emulator_client(emulator_transport: EmulatorTransport) -> Iterator[httpx.Client]:
    """An httpx client on the in-process transport, authenticated with ``TEST_TOKEN``."""
    with httpx.Client(
        transport=emulator_transport,
        base_url=TRANSPORT_BASE_URL,
        headers={"Authorization": f"Bearer {TEST_TOKEN}"},
    ) as client:
        yield client


@pytest.fixture
def api(emulator_transport: EmulatorTransport) -> Iterator[httpx.Client]:
    """An httpx client on the in-process transport, authenticated with ``ALL_SCOPES_TOKEN``."""
    with httpx.Client(
        transport=emulator_transport,
        base_url=TRANSPORT_BASE_URL,
        headers={"Authorization": f"Bearer {ALL_SCOPES_TOKEN}"},
    ) as client:
        yield client


@pytest.fixture
def moved(emulator: Emulator) -> Emulator:
    """The ``emulator`` with org ``acme`` moved to Alert Policies (state ``accepted``)."""
    emulator.set_migration_state(TEST_ORG, "accepted")
    return emulator
