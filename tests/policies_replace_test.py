"""A resolution replace is a create, then a delete. When the delete half fails (a token that may
not delete resolutions, a failing server, an interrupt between the two), every change the server
holds still has its audit line, the report says what was done, and the next apply finishes it.
A token without ``alert-resolution:delete`` is refused before the first write."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

import httpx
import pytest
from apply_scripted import INTERRUPT, Scripted
from apply_support import apply_one
from click.testing import CliRunner
from conftest import TEST_ORG
from policies_apply_support import PROVENANCE, audit_lines, plan_for, resolution, triage_client

from reconciler.cli import cli
from reconciler.emulator import Emulator, Faults
from reconciler.engine.audit import AuditLog
from reconciler.errors import ApplyError
from reconciler.policies.rehearse import NIL_UUID

NO_DELETE_TOKEN = "sktsec_test_no_resolution_delete_0123"
NO_DELETE_SCOPES = (
    "alert-policy",
    "alert-resolution:list",
    "alert-resolution:create",
    "triage:alerts-list",
)
SELECTOR = {"artifact.type": "npm", "artifact.name": "left-pad"}


def seed_old(emulator: Emulator) -> str:
    """A live resolution the files will replace (another reason); its uuid."""
    emulator.set_migration_state(TEST_ORG, "accepted")
    (old,) = emulator.seed_resolutions(TEST_ORG, [{"reason": "other", "vigil_selector": SELECTOR}])
    return str(old["uuid"])


def uuids(emulator: Emulator) -> list[str]:
    return [r["uuid"] for r in emulator.alert_resolutions(TEST_ORG)]


def test_a_token_that_may_not_delete_resolutions_is_refused_before_the_first_write(
    emulator: Emulator, http_emulator: str, tmp_path: Path
) -> None:
    old = seed_old(emulator)
    emulator.add_token(NO_DELETE_TOKEN, TEST_ORG, NO_DELETE_SCOPES)
    files = tmp_path / "r.yaml"
    files.write_text(
        f"org: {TEST_ORG}\ntarget: alert-policies\nresolutions:\n"
        "  - vigil_selector: {artifact.type: npm, artifact.name: left-pad}\n"
        "    reason: false_positive\n"
    )
    log = tmp_path / "audit.jsonl"
    env = {"NO_COLOR": "1", "SOCKET_API_TOKEN": NO_DELETE_TOKEN}
    args = ["apply", str(files), "--yes", "--audit-log", str(log), "--api-url", http_emulator]
    result = CliRunner().invoke(cli, args, env=env)
    assert result.exit_code == 1, result.output
    assert "the plan of org acme deletes or replaces 1 resolutions" in result.stderr
    assert "alert-resolution:delete" in result.stderr and "Nothing was written" in result.stderr
    assert uuids(emulator) == [old] and audit_lines(log) == []


def arm(transport: Scripted, after_create: Callable[[], None]) -> None:
    """Run ``after_create`` once the real create has been sent (the second POST: the first is
    its rehearsal), so that what follows is the delete half."""
    transport.script[("POST", 2)] = after_create


def failing_deletes(transport: Scripted) -> None:
    arm(transport, lambda: transport.refusing.add("DELETE"))


def server_errors(transport: Scripted) -> None:
    """The delete half and every request after it answer 500 (the final listing too)."""

    def fail_from_the_next_delete() -> None:
        def fail() -> None:
            transport.emulator.set_faults(Faults(rate_500=1.0, seed=1))

        transport.script[("DELETE", transport.seen["DELETE"] + 1)] = fail

    arm(transport, fail_from_the_next_delete)


def interrupted_delete(transport: Scripted) -> None:
    def interrupt_next_delete() -> None:
        transport.script[("DELETE", transport.seen["DELETE"] + 1)] = INTERRUPT

    arm(transport, interrupt_next_delete)


@pytest.mark.parametrize("prune", [True, False])
@pytest.mark.parametrize("fault", [failing_deletes, server_errors, interrupted_delete])
def test_a_replace_done_by_half_has_its_audit_line_and_the_next_apply_finishes_it(
    emulator: Emulator,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    fault: Callable[[Scripted], None],
    prune: bool,
) -> None:
    old = seed_old(emulator)
    wanted = [resolution("left-pad", "false_positive")]
    log_path = tmp_path / "audit.jsonl"
    log = AuditLog.open(str(log_path), PROVENANCE)
    transport = Scripted(emulator)
    with triage_client(emulator, transport) as client:
        plan = plan_for(client, [], wanted, prune=prune)
        assert [c.action for c in plan.changes] == ["replace"]
        fault(transport)
        with pytest.raises((ApplyError, KeyboardInterrupt)) as stopped:
            apply_one(client, plan, log, PROVENANCE, concurrency=1, settle=0.0)
        err = capsys.readouterr().err + str(stopped.value)  # the tally: said, or the error's
        (new,) = [u for u in uuids(emulator) if u != old]
        assert uuids(emulator) == [old, new]  # the new one is there, the old one too
        assert "  applied: create resolution" in err and "(the create half of a replace)" in err
        assert "(the delete half of a replace)" in err
        assert "Applied 1 of 2 changes to org acme (1 created," in err
        (line,) = audit_lines(log_path)
        assert (line["kind"], line["action"], line["uuid"], line["replaces"]) == (
            "resolution",
            "create",
            new,
            old,
        )
        transport.refusing.clear()
        emulator.set_faults(Faults())
        apply_one(
            client,
            plan_for(client, [], wanted, prune=prune),
            log,
            PROVENANCE,
            concurrency=1,
            settle=0.0,
        )
    log.close()
    assert uuids(emulator) == [new]
    assert [(x["action"], x["uuid"]) for x in audit_lines(log_path)[1:]] == [("delete", old)]
    assert json.loads(log_path.read_text().splitlines()[-1])["before"]["uuid"] == old


class RefusingTheNilUuid(Scripted):
    """The emulator, except that a DELETE of the nil UUID answers ``status`` (a server that
    validates the id before the scope)."""

    def __init__(self, emulator: Emulator, status: int) -> None:
        super().__init__(emulator)
        self.status = status

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        if request.method == "DELETE" and request.url.path.endswith(NIL_UUID):
            return httpx.Response(self.status, json={"error": {"message": "invalid id"}})
        return super().handle_request(request)


@pytest.mark.parametrize("status", [400, 405, 422])
def test_a_server_that_refuses_the_nil_uuid_itself_does_not_stop_the_replace(
    emulator: Emulator, tmp_path: Path, status: int
) -> None:
    old = seed_old(emulator)
    wanted = [resolution("left-pad", "false_positive")]
    log_path = tmp_path / "audit.jsonl"
    log = AuditLog.open(str(log_path), PROVENANCE)
    with triage_client(emulator, RefusingTheNilUuid(emulator, status)) as client:
        plan = plan_for(client, [], wanted, prune=True)
        apply_one(client, plan, log, PROVENANCE, concurrency=1, settle=0.0)
    log.close()
    (new,) = uuids(emulator)
    assert new != old
    assert [line["action"] for line in audit_lines(log_path)] == ["replace"]
