"""Every Alert Policies operation answers every status its spec lists, each checked by the spec.

The autouse hook in conftest validates each answer against alert-policies-openapi.yml; this test
makes sure that every (operation, status) pair of that spec is actually produced, so no part of
the spec goes unchecked. Pairs the emulator cannot produce are listed in ``UNREACHABLE`` with why.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

import contract
import httpx
import pytest
from conftest import ALL_SCOPES_TOKEN, TRANSPORT_BASE_URL

from reconciler.emulator import Emulator, EmulatorTransport, Faults

P = "/orgs/acme/alert-policies"
RES = "/orgs/acme/alerts/resolutions"
REPOS = "/orgs/acme/repos"
RULE = {"name": "r", "vigil_selector": {"finding.alertType": "cve"}, "action": "warn"}
RESOLUTION = {"reason": "other", "vigil_selector": {"artifact.name": "x"}}
ENTRY = {"alertTriage": [{"packageName": "x", "state": "warn"}]}

_NO_INPUT = "takes no query parameter or body, so nothing it receives can be malformed"
UNREACHABLE = {
    ("GET", "/orgs/{org_slug}/alert-policies", "400"): _NO_INPUT,
    ("GET", "/orgs/{org_slug}/alert-policies/{policy_id}", "400"): _NO_INPUT,
    ("GET", "/orgs/{org_slug}/alert-policies/{policy_id}/rules", "400"): _NO_INPUT,
    ("GET", "/orgs/{org_slug}/alert-policies/{policy_id}/rules/{rule_id}", "400"): _NO_INPUT,
    ("GET", "/orgs/{org_slug}/alert-policies/migration/status", "400"): _NO_INPUT,
    ("GET", "/orgs/{org_slug}/alerts/resolutions/{uuid}", "400"): _NO_INPUT,
    ("DELETE", "/orgs/{org_slug}/alerts/resolutions/{uuid}", "400"): _NO_INPUT,
    ("POST", "/orgs/{org_slug}/alerts/resolutions", "409"): (
        "Socket does not say when a resolution create conflicts; the emulator allows duplicates"
    ),
}


class Recorder:
    def __init__(self, emulator: Emulator) -> None:
        self.emulator = emulator
        self.seen: set[tuple[str, str, str]] = set()
        self.clients = {
            token: httpx.Client(
                transport=EmulatorTransport(emulator),
                base_url=TRANSPORT_BASE_URL,
                headers={"Authorization": f"Bearer {token}"} if token else {},
            )
            for token in (ALL_SCOPES_TOKEN, "sktsec_nothing", "")
        }

    def call(
        self,
        status: int,
        method: str,
        path: str,
        body: Any = None,
        token: str = ALL_SCOPES_TOKEN,
        **params: str,
    ) -> dict[str, Any]:
        response = self.clients[token].request(method, path, json=body, params=params)
        assert response.status_code == status, (method, path, response.text)
        found = contract.find("/v0" + path)
        assert found is not None
        self.seen.add((method, found[1], str(status)))
        payload: dict[str, Any] = response.json()
        return payload


@pytest.fixture
def recorder(moved: Emulator) -> Iterator[Recorder]:
    moved.add_token("sktsec_nothing", "acme", ["triage:alerts-list"])
    moved.seed_repos("acme", ["api", "web"])  # so the listing has a page after the first
    recorder = Recorder(moved)
    yield recorder
    for client in recorder.clients.values():
        client.close()


def operations() -> list[tuple[str, str]]:
    paths = contract.load(contract.POLICIES_SPEC)["paths"]
    return [(m.upper(), t) for t, ops in paths.items() for m in ops]


def concrete(template: str, ids: dict[str, str]) -> str:
    return template.replace("{org_slug}", "acme").format(**ids)


def shared_statuses(recorder: Recorder, ids: dict[str, str]) -> None:
    """401, 403, 404 and 429: the statuses every operation shares."""
    for method, template in operations():
        path = concrete(template, ids)
        body = ENTRY if template.endswith("translate") else {}
        recorder.call(401, method, path, body, token="")
        recorder.call(403, method, path, body, token="sktsec_nothing")
        recorder.call(404, method, path.replace("/orgs/acme/", "/orgs/other/"), body)
        recorder.emulator.set_faults(Faults(rate_429=1.0, retry_after=1))
        recorder.call(429, method, path, body)
        recorder.emulator.set_faults(Faults())


def successes(call: Callable[..., dict[str, Any]], ids: dict[str, str]) -> None:
    rule_path = f"{P}/default/rules/{ids['rule_id']}"
    call(200, "GET", P)
    call(200, "POST", P, {"name": "rehearsed"}, dry_run="true")
    call(200, "GET", f"{P}/{ids['policy_id']}")
    call(200, "PUT", f"{P}/{ids['policy_id']}", {"description": "d"})
    call(200, "GET", f"{P}/default/rules")
    call(200, "POST", f"{P}/default/rules", RULE, dry_run="1")
    call(200, "GET", rule_path)
    call(200, "PUT", rule_path, {"position": "last"})
    call(200, "GET", f"{P}/migration/status")
    call(200, "POST", f"{P}/migration/translate", ENTRY)
    call(200, "GET", RES)
    call(200, "POST", RES, RESOLUTION, dry_run="yes")
    call(200, "GET", f"{RES}/{ids['uuid']}")
    call(200, "GET", REPOS, per_page="1")


def refusals(call: Callable[..., dict[str, Any]], ids: dict[str, str]) -> None:
    rule_path = f"{P}/default/rules/{ids['rule_id']}"
    call(400, "POST", P, {"name": ""})
    call(400, "PUT", f"{P}/default", {"name": "renamed"})
    call(400, "DELETE", f"{P}/default")
    call(400, "POST", f"{P}/default/rules", {**RULE, "action": "block"})
    call(400, "PUT", rule_path, {"rank": "not a rank"})
    call(400, "DELETE", rule_path, dry_run="maybe")
    call(400, "POST", f"{P}/migration/translate", {"alertTriage": []})
    call(400, "GET", RES, startAfterCursor="bogus")
    call(400, "POST", RES, {"reason": "other"})
    call(400, "GET", REPOS, per_page="0")


def conflicts(recorder: Recorder, ids: dict[str, str], rank: str) -> None:
    """A taken name or rank, and the migration gate."""
    call, rule_path = recorder.call, f"{P}/default/rules/{ids['rule_id']}"
    call(409, "POST", P, {"name": "custom"})
    call(409, "POST", f"{P}/default/rules", {**RULE, "rank": rank})
    other = call(201, "POST", f"{P}/default/rules", {**RULE, "name": "other"})
    call(409, "PUT", rule_path, {"rank": other["rank"]})
    recorder.emulator.set_migration_state("acme", "pending")
    call(409, "PUT", f"{P}/{ids['policy_id']}", {"description": "gated"})
    call(409, "DELETE", f"{P}/{ids['policy_id']}")
    call(409, "DELETE", rule_path)
    recorder.emulator.set_migration_state("acme", "accepted")


def test_every_operation_and_status_of_the_spec_is_produced(recorder: Recorder) -> None:
    call = recorder.call
    custom = call(201, "POST", P, {"name": "custom"})
    rule = call(201, "POST", f"{P}/default/rules", RULE)
    resolution = call(201, "POST", RES, RESOLUTION)
    ids = {"policy_id": custom["id"], "rule_id": rule["id"], "uuid": resolution["uuid"]}
    shared_statuses(recorder, ids)
    successes(call, ids)
    refusals(call, ids)
    conflicts(recorder, ids, rule["rank"])
    # Deletes last: they remove what the calls above used.
    call(200, "DELETE", f"{P}/default/rules/{rule['id']}")
    call(200, "DELETE", f"{P}/{custom['id']}")
    call(200, "DELETE", f"{RES}/{resolution['uuid']}")

    spec = contract.load(contract.POLICIES_SPEC)["paths"]
    listed = {
        (m.upper(), t, status)
        for t, ops in spec.items()
        for m, op in ops.items()
        for status in op["responses"]
    }
    assert listed - recorder.seen == set(UNREACHABLE)
    assert recorder.seen <= listed
