"""``apply`` of policy objects (files that declare ``policies:``) against the emulator: each write
through the production client, the order that never gives a repository two policy labels,
rules in a policy the plan creates, a policy delete taking its rules, a lost create recovered
or left unknown, Ctrl-C, the dry run, verification and the audit log."""

from __future__ import annotations

import _thread
import threading
from collections.abc import Iterator, Sequence
from dataclasses import replace
from pathlib import Path
from typing import Any

import httpx
import pytest
from apply_scripted import INTERRUPT_AFTER, Scripted
from apply_support import apply_one, dry_run_one
from conftest import TEST_ORG, TRANSPORT_BASE_URL
from policies_apply_support import PROVENANCE, audit_lines, declared_plan, triage_client, want

from reconciler.emulator import Emulator
from reconciler.engine.audit import AuditLog
from reconciler.engine.outcomes import APPLIED, NOT_APPLIED, UNKNOWN
from reconciler.errors import (
    ApiError,
    ApplyError,
    Location,
    OutcomeUnknownError,
    ReadOnlyError,
    ScopeError,
)
from reconciler.policies.apply import apply_org
from reconciler.policies.changes import new_policy_ref
from reconciler.policies.client import PoliciesClient
from reconciler.policies.plan import PolicyPlan
from reconciler.policies.provider import PoliciesProvider
from reconciler.policies.requests import policy_order
from reconciler.policies.snapshot import read_snapshot
from reconciler.policies.verify import differences
from reconciler.triage.client import TriageClient
from reconciler.vocab.policies.model import DesiredPolicy, DesiredRule
from reconciler.wiring import policies_client

REPOS = ("api", "worker", "web")


class Recording(Scripted):
    """``Scripted``, also keeping (method, path, dry run, status) of every answer."""

    def __init__(self, emulator: Emulator) -> None:
        super().__init__(emulator)
        self.answers: list[tuple[str, str, bool, int]] = []

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        response = super().handle_request(request)
        dry = request.url.params.get("dry_run") == "true"
        self.answers.append((request.method, request.url.path, dry, response.status_code))
        return response

    def real(self, method: str | None = None) -> list[tuple[str, str]]:
        """The real (not rehearsed) writes answered, in order, as (method, path)."""
        return [
            (m, p)
            for m, p, dry, _ in self.answers
            if m != "GET" and not dry and (method is None or m == method)
        ]


class Losing(Recording):
    """Loses the answer of the first real policy create: after the emulator committed it
    (``commit``), or before it reached the emulator (not ``commit``)."""

    def __init__(self, emulator: Emulator, *, commit: bool) -> None:
        super().__init__(emulator)
        self.commit = commit
        self.lost = 0

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        creates = request.method == "POST" and request.url.path.endswith("/alert-policies")
        if creates and request.url.params.get("dry_run") != "true" and not self.lost:
            self.lost += 1
            if self.commit:
                super().handle_request(request)
            raise httpx.ReadTimeout("the answer was lost (test)", request=request)
        return super().handle_request(request)


@pytest.fixture
def repos(moved: Emulator) -> dict[str, str]:
    """Repositories api, worker, web; their ids by slug."""
    return {r["slug"]: r["id"] for r in moved.seed_repos(TEST_ORG, list(REPOS))}


@pytest.fixture
def client(moved: Emulator) -> Iterator[TriageClient]:
    with triage_client(moved) as made:
        yield made


def declared(
    name: str, baseline: str | None = "balanced", description: str = "", *repos: str
) -> DesiredPolicy:
    return DesiredPolicy(name, baseline, description, tuple(repos), Location("p.yaml", 3, 5))


def ruled(name: str, policy: str, line: int = 10) -> DesiredRule:
    return replace(want(name, line=line), policy=policy)


def policy_plan(
    client: TriageClient | PoliciesClient,
    policies: Sequence[DesiredPolicy],
    rules: Sequence[DesiredRule] = (),
) -> PolicyPlan:
    return declared_plan(client, policies, rules)


def apply(client: TriageClient, plan: PolicyPlan, log: AuditLog | None = None) -> None:
    apply_one(client, plan, log, PROVENANCE, concurrency=8, settle=0.0)


def by_name(emulator: Emulator) -> dict[str, dict[str, Any]]:
    return {p["name"] or "default": p for p in emulator.alert_policies(TEST_ORG)}


# --- the client -------------------------------------------------------------------------------


def test_each_policy_write_goes_through_the_client(
    client: TriageClient, moved: Emulator, repos: dict[str, str]
) -> None:
    api = policies_client(client)
    body: dict[str, Any] = {
        "name": "backend",
        "description": "d",
        "baseline": None,
        "repository_ids": [],
    }
    rehearsed = api.create_policy(TEST_ORG, body, dry_run=True)
    assert rehearsed.name == "backend" and "backend" not in by_name(moved)
    made = api.create_policy(TEST_ORG, body)
    assert made.org == TEST_ORG and by_name(moved)["backend"]["id"] == made.id
    ids = [repos["api"]]
    updated = api.update_policy(TEST_ORG, made.id, {"repository_ids": ids, "baseline": "essential"})
    assert updated.repository_ids == (repos["api"],) and updated.baseline == "essential"
    assert by_name(moved)["backend"]["description"] == "d"  # a partial update
    assert api.delete_policy(TEST_ORG, made.id, dry_run=True)
    assert "backend" in by_name(moved)
    assert api.delete_policy(TEST_ORG, made.id)
    assert "backend" not in by_name(moved)
    assert not api.delete_policy(TEST_ORG, made.id)  # already gone: nothing to do


def test_policy_refusals_name_the_scope_and_the_conflict(
    moved: Emulator, repos: dict[str, str]
) -> None:
    moved.add_token("sktsec_list_only_0123456789", TEST_ORG, ("alert-policy:list",))
    with TriageClient(
        TRANSPORT_BASE_URL,
        "sktsec_list_only_0123456789",
        transport=Recording(moved),
        sleep=lambda _: None,
    ) as limited:
        api = policies_client(limited)
        with pytest.raises(ScopeError, match="alert-policy:create"):
            api.create_policy(TEST_ORG, {"name": "x"})
        with pytest.raises(ScopeError, match="alert-policy:update"):
            api.update_policy(TEST_ORG, "default", {"baseline": None})
        with pytest.raises(ScopeError, match="alert-policy:delete"):
            api.delete_policy(TEST_ORG, "p-1")
    moved.seed_policy(TEST_ORG, "backend", repository_ids=[repos["api"]])
    with triage_client(moved) as full:
        api = policies_client(full)
        with pytest.raises(ApiError, match=r"\(409: a conflict.*already governed") as caught:
            api.create_policy(TEST_ORG, {"name": "web", "repository_ids": [repos["api"]]})
        assert not isinstance(caught.value, ReadOnlyError)  # not the migration gate
        moved.set_migration_state(TEST_ORG, "pending")
        with pytest.raises(ReadOnlyError, match="has not moved to Alert Policies"):
            api.create_policy(TEST_ORG, {"name": "web"})


# --- order --------------------------------------------------------------------------------


def test_a_repository_moving_between_two_policies_leaves_one_before_the_other_takes_it(
    moved: Emulator, repos: dict[str, str], tmp_path: Path
) -> None:
    moved.seed_policy(TEST_ORG, "backend", repository_ids=[repos["api"], repos["worker"]])
    moved.seed_policy(TEST_ORG, "frontend", repository_ids=[repos["web"]])
    transport = Recording(moved)
    files = [
        declared("backend", "balanced", "", "worker"),
        declared("frontend", "balanced", "", "web", "api"),  # takes api from backend
        declared(
            "mobile",
            "essential",
            "",
        ),
    ]
    with triage_client(moved, transport) as client:
        plan = policy_plan(client, files)
        # The update that adds comes after the one that gives up, and after the create.
        assert [(c.action, c.name) for c in policy_order(plan.policy_changes)[0]] == [
            ("update", "backend"),
            ("create", "mobile"),
            ("update", "frontend"),
        ]
        apply(client, replace(plan, policy_changes=plan.policy_changes[::-1]))  # any plan order
        assert not policy_plan(client, files).has_changes
    policies = by_name(moved)
    assert policies["backend"]["repository_ids"] == [repos["worker"]]
    assert set(policies["frontend"]["repository_ids"]) == {repos["web"], repos["api"]}
    assert [status for *_, status in transport.answers if status == 409] == []
    ids = {p["id"]: name for name, p in policies.items()}
    writes = [(m, ids.get(p.rsplit("/", 1)[-1], p)) for m, p in transport.real()]
    assert writes == [
        ("PUT", "backend"),
        ("POST", f"/v0/orgs/{TEST_ORG}/alert-policies"),
        ("PUT", "frontend"),
    ]


def test_rules_of_a_policy_the_plan_creates_land_in_it_in_order(
    client: TriageClient, moved: Emulator, repos: dict[str, str], tmp_path: Path
) -> None:
    files = [declared("backend", "comprehensive", "Services", "api", "worker")]
    rules = [ruled("malware", "backend"), ruled("cve", "backend"), ruled("typosquat", "backend")]
    plan = policy_plan(client, files, rules)
    assert {c.policy_id for c in plan.rule_changes} == {new_policy_ref("backend")}
    log_path = tmp_path / "audit.jsonl"
    log = AuditLog.open(str(log_path), PROVENANCE)
    apply(client, plan, log)
    log.close()
    backend = by_name(moved)["backend"]
    assert backend["baseline"] == "comprehensive"
    assert set(backend["repository_ids"]) == {repos["api"], repos["worker"]}
    assert [r["name"] for r in moved.policy_rules(TEST_ORG, backend["id"])] == [
        "malware",
        "cve",
        "typosquat",
    ]
    assert moved.policy_rules(TEST_ORG) == []  # none went to the default policy
    lines = audit_lines(log_path)
    assert lines[0]["kind"] == "policy" and lines[0]["action"] == "create"
    assert lines[0]["policy_id"] == backend["id"] and lines[0]["name"] == "backend"
    assert lines[0]["sent"] == dict(plan.policy_changes[0].body)
    assert lines[0]["outcome"] == APPLIED
    assert {line["policy"] for line in lines[1:]} == {backend["id"]}
    assert not policy_plan(client, files, rules).has_changes


def test_a_policy_delete_takes_its_rules_and_comes_last(
    moved: Emulator, repos: dict[str, str], tmp_path: Path
) -> None:
    legacy = moved.seed_policy(TEST_ORG, "legacy", repository_ids=[repos["web"]])
    moved.seed_policy_rules(
        TEST_ORG,
        [{"name": n, "action": "warn", "vigil_selector": {"finding.alertType": n}} for n in "ab"],
        legacy["id"],
    )
    transport = Recording(moved)
    log_path = tmp_path / "audit.jsonl"
    log = AuditLog.open(str(log_path), PROVENANCE)
    with triage_client(moved, transport) as client:
        plan = policy_plan(client, [], [want("malware")])
        delete = plan.policy_changes[0]
        assert (delete.action, delete.takes_rules, delete.removed) == ("delete", 2, ("web",))
        apply(client, plan, log)
    log.close()
    assert "legacy" not in by_name(moved)
    assert transport.real() == [
        ("POST", f"/v0/orgs/{TEST_ORG}/alert-policies/default/rules"),
        ("DELETE", f"/v0/orgs/{TEST_ORG}/alert-policies/{legacy['id']}"),
    ]
    line = audit_lines(log_path)[-1]
    assert (line["kind"], line["action"], line["name"]) == ("policy", "delete", "legacy")
    assert line["rules_deleted"] == 2 and line["removed"] == ["web"]
    assert line["before"]["repository_ids"] == [repos["web"]]


def test_a_renamed_policy_hands_its_repositories_over_before_its_delete_comes_last(
    moved: Emulator, repos: dict[str, str], tmp_path: Path
) -> None:
    """``legacy`` is renamed ``backend``: a delete and a create taking its repositories. The
    delete comes last, so ``legacy`` first gives up what ``backend`` takes (its own update)."""
    legacy = moved.seed_policy(TEST_ORG, "legacy", repository_ids=[repos["api"], repos["web"]])
    transport = Recording(moved)
    files = [declared("backend", "essential", "", "api")]
    log_path = tmp_path / "audit.jsonl"
    log = AuditLog.open(str(log_path), PROVENANCE)
    with triage_client(moved, transport) as client:
        apply(client, policy_plan(client, files, [ruled("malware", "backend")]), log)
        assert not policy_plan(client, files, [ruled("malware", "backend")]).has_changes
    log.close()
    assert sorted(by_name(moved)) == ["backend", "default"]
    assert by_name(moved)["backend"]["repository_ids"] == [repos["api"]]
    assert [status for *_, status in transport.answers if status >= 400] == []
    path = f"/v0/orgs/{TEST_ORG}/alert-policies"
    backend = by_name(moved)["backend"]["id"]
    assert transport.real() == [
        ("PUT", f"{path}/{legacy['id']}"),  # api leaves it (web stays): the default governs api
        ("POST", path),  # backend takes api
        ("POST", f"{path}/{backend}/rules"),
        ("DELETE", f"{path}/{legacy['id']}"),  # last of all
    ]
    lines = [
        (x["action"], x["name"], x["sent"]) for x in audit_lines(log_path) if x["kind"] == "policy"
    ]
    assert lines == [
        ("update", "legacy", {"repository_ids": [repos["web"]]}),
        ("create", "backend", lines[1][2]),
        ("delete", "legacy", {}),
    ]


def test_a_run_stopped_between_a_release_and_its_delete_reports_both(
    moved: Emulator, repos: dict[str, str], tmp_path: Path
) -> None:
    moved.seed_policy(TEST_ORG, "legacy", repository_ids=[repos["api"]])
    transport = Recording(moved)
    with triage_client(moved, transport) as client:
        plan = policy_plan(client, [declared("backend", "essential", "", "api")])
        said: list[str] = []
        provider = PoliciesProvider(policies_client(client), said.append)
        before = provider.before_writing(plan, 8)
        transport.refusing.add("DELETE")  # the real policy delete never gets through
        result = provider.apply(
            plan,
            before,
            provider.audit_trail(None, PROVENANCE, before),
            concurrency=8,
            settle=0.0,
            progress=None,
        )
        verdict = provider.conclude(plan, before, result, 0.0)
    assert [(c.action, c.to_dict()["name"], s) for c, s in verdict.statuses] == [
        ("create", "backend", APPLIED),
        ("update", "legacy", APPLIED),  # what was sent: legacy gave api up
        ("delete", "legacy", NOT_APPLIED),
    ]
    assert by_name(moved)["legacy"]["repository_ids"] == []  # a policy too many, not too few


# --- lost answers and Ctrl-C -------------------------------------------------------------------


def test_a_lost_policy_create_is_found_and_its_rules_go_on(
    moved: Emulator, repos: dict[str, str], tmp_path: Path
) -> None:
    transport = Losing(moved, commit=True)
    files = [declared("backend", "essential", "", "api")]
    rules = [ruled("malware", "backend")]
    log_path = tmp_path / "audit.jsonl"
    log = AuditLog.open(str(log_path), PROVENANCE)
    with triage_client(moved, transport) as client:
        apply(client, policy_plan(client, files, rules), log)
        assert not policy_plan(client, files, rules).has_changes
    log.close()
    assert transport.lost == 1
    backend = by_name(moved)["backend"]
    assert transport.real("POST") == [  # the lost create, once (never re-sent), then the rule
        ("POST", f"/v0/orgs/{TEST_ORG}/alert-policies"),
        ("POST", f"/v0/orgs/{TEST_ORG}/alert-policies/{backend['id']}/rules"),
    ]
    assert moved.counters()["policies"]["created"] == 1
    assert [r["name"] for r in moved.policy_rules(TEST_ORG, backend["id"])] == ["malware"]
    assert [(x["kind"], x["action"]) for x in audit_lines(log_path)] == [
        ("policy", "create"),
        ("policy_rule", "create"),
    ]
    assert audit_lines(log_path)[0]["policy_id"] == backend["id"]


def test_a_lost_policy_create_not_found_is_unknown_and_its_rules_are_not_sent(
    moved: Emulator, repos: dict[str, str], tmp_path: Path
) -> None:
    transport = Losing(moved, commit=False)
    files = [declared("backend", "essential", "", "api"), declared("default", None, "All")]
    rules = [ruled("malware", "backend"), want("cve")]
    log_path = tmp_path / "audit.jsonl"
    log = AuditLog.open(str(log_path), PROVENANCE)
    with triage_client(moved, transport) as client:
        plan = policy_plan(client, files, rules)
        with pytest.raises(ApplyError, match="lost their answer") as caught:
            apply(client, plan, log)
    log.close()
    assert "1 with an unknown outcome" in str(caught.value)
    assert "backend" not in by_name(moved)
    assert by_name(moved)["default"]["baseline"] is None  # the other writes went on
    assert [r["name"] for r in moved.policy_rules(TEST_ORG)] == ["cve"]
    assert all("/rules" not in p or "/default/" in p for _, p in transport.real())
    assert [(x["kind"], x["action"], x["name"]) for x in audit_lines(log_path)] == [
        ("policy", "update", "default"),
        ("policy_rule", "create", "cve"),
    ]


def test_ctrl_c_after_a_policy_write_reports_and_audits_what_was_sent(
    moved: Emulator, repos: dict[str, str], tmp_path: Path
) -> None:
    transport = Recording(moved)
    files = [declared("backend", "essential", "", "api"), declared("web", "balanced", "", "web")]
    rules = [ruled("malware", "backend"), ruled("cve", "web")]
    log_path = tmp_path / "audit.jsonl"
    log = AuditLog.open(str(log_path), PROVENANCE)
    with triage_client(moved, transport) as client:
        plan = policy_plan(client, files, rules)
        rehearsed = len(plan.policy_changes) + len(plan.rule_changes)  # dry-run POSTs first
        transport.script[("POST", rehearsed + 1)] = INTERRUPT_AFTER  # the first real create
        with pytest.raises(KeyboardInterrupt):
            apply(client, plan, log)
    log.close()
    assert sorted(by_name(moved)) == ["backend", "default"]  # too many, never too few
    assert moved.policy_rules(TEST_ORG, by_name(moved)["backend"]["id"]) == []
    assert [(x["kind"], x["action"], x["name"]) for x in audit_lines(log_path)] == [
        ("policy", "create", "backend")
    ]


def test_ctrl_c_in_the_settle_wait_leaves_a_policy_too_many_and_says_so(
    moved: Emulator, repos: dict[str, str], tmp_path: Path
) -> None:
    transport = Losing(moved, commit=True)
    files = [declared("backend", "essential", "", "api")]
    rules = [ruled("malware", "backend")]
    log_path = tmp_path / "audit.jsonl"
    log = AuditLog.open(str(log_path), PROVENANCE)
    said: list[str] = []
    with triage_client(moved, transport) as client:
        plan = policy_plan(client, files, rules)
        api = policies_client(client)
        provider = PoliciesProvider(api, said.append)
        before = provider.before_writing(plan, 8)
        trail = provider.audit_trail(log, PROVENANCE, before)
        timer = threading.Timer(0.3, _thread.interrupt_main)
        timer.start()
        result = provider.apply(plan, before, trail, concurrency=8, settle=30.0, progress=None)
        timer.cancel()
        assert result.interrupted
        statuses = {(c.action, c.to_dict()["name"]): s for c, s in result.statuses(plan)}
        assert statuses == {("create", "backend"): UNKNOWN, ("create", "malware"): NOT_APPLIED}
        verdict = provider.conclude(plan, before, result, 0.0)  # the listing settles it
        trail.finish()
    log.close()
    assert {(c.action, c.to_dict()["name"]): s for c, s in verdict.statuses} == {
        ("create", "backend"): APPLIED,
        ("create", "malware"): NOT_APPLIED,
    }
    assert "backend" in by_name(moved)
    assert transport.real("POST") == [("POST", f"/v0/orgs/{TEST_ORG}/alert-policies")]
    assert [(x["kind"], x["name"]) for x in audit_lines(log_path)] == [("policy", "backend")]


# --- dry run and verification -------------------------------------------------------------------


def test_a_dry_run_rehearses_every_policy_write_and_writes_nothing(
    moved: Emulator, repos: dict[str, str], capsys: pytest.CaptureFixture[str]
) -> None:
    moved.seed_policy(TEST_ORG, "backend", repository_ids=[repos["api"]])
    moved.seed_policy(TEST_ORG, "legacy", repository_ids=[repos["web"]])
    transport = Recording(moved)
    files = [
        declared("backend", "balanced", ""),
        declared("frontend", "essential", "", "api", "web"),  # from backend and legacy
        declared("default", "comprehensive", "Everything else"),
    ]
    with triage_client(moved, transport) as client:
        plan = policy_plan(client, files, [ruled("malware", "frontend")])
        start = moved.counters()
        dry_run_one(client, plan, concurrency=4)
    assert "the server accepts all 5 writes rehearsed" in capsys.readouterr().out
    assert moved.counters()["policies"] == start["policies"]
    assert moved.counters()["policy_rules"] == start["policy_rules"]
    assert transport.real() == []
    rehearsed = sorted((m, p) for m, p, dry, _ in transport.answers if dry)
    assert ("POST", f"/v0/orgs/{TEST_ORG}/alert-policies/default/rules") in rehearsed
    assert all(status < 400 for *_, status in transport.answers)


def test_verify_reads_the_policies_back(
    client: TriageClient, moved: Emulator, repos: dict[str, str]
) -> None:
    api = policies_client(client)
    legacy = moved.seed_policy(TEST_ORG, "legacy")
    files = [declared("backend", "essential", "Ours", "api")]
    plan = policy_plan(client, files, [ruled("malware", "backend")])
    before = read_snapshot(api, TEST_ORG)
    assert differences(plan, before, before) == [  # nothing applied yet
        "missing policy 'backend'",
        "policy 'legacy' [" + legacy["id"] + "] still exists",
    ]
    apply(client, plan)
    after = read_snapshot(api, TEST_ORG)
    assert differences(plan, before, after) == []
    backend = by_name(moved)["backend"]
    moved.seed_policy_update(TEST_ORG, backend["id"], baseline="balanced")
    moved.seed_policy_rules(
        TEST_ORG,
        [{"name": "x", "action": "warn", "vigil_selector": {"finding.alertType": "x"}}],
        backend["id"],
    )
    assert differences(plan, before, read_snapshot(api, TEST_ORG)) == [
        f"policy 'backend' [{backend['id']}] has a different baseline, description or set of "
        "repositories than expected",
        f"unexpected rule 'x' [{moved.policy_rules(TEST_ORG, backend['id'])[1]['id']}] in policy "
        f"{new_policy_ref('backend')}",
    ]


def test_a_plan_naming_a_policy_it_does_not_create_is_refused_before_any_write(
    client: TriageClient, moved: Emulator
) -> None:
    plan = policy_plan(client, [], [])
    stray = replace(
        policy_plan(client, [declared("x")], [ruled("malware", "x")]).rule_changes[0],
    )
    bad = replace(plan, rule_changes=(stray,))
    start = moved.counters()
    with pytest.raises(ApplyError, match="a policy the plan does not create"):
        apply_org(policies_client(client), bad)
    assert moved.counters()["calls"] == start["calls"]


class LoseAll(Recording):
    """Every real write of ``method`` commits at the emulator, then its answer is lost once."""

    def __init__(self, emulator: Emulator, method: str) -> None:
        super().__init__(emulator)
        self.method = method
        self.lost = 0

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        response = super().handle_request(request)
        if request.method == self.method and not self.lost:
            self.lost += 1
            raise httpx.ReadTimeout("the answer was lost (test)", request=request)
        return response


def test_a_lost_create_answer_is_never_retried_and_updates_and_deletes_are(
    moved: Emulator, repos: dict[str, str]
) -> None:
    with triage_client(moved, LoseAll(moved, "POST")) as client, pytest.raises(OutcomeUnknownError):
        policies_client(client).create_policy(TEST_ORG, {"name": "backend"})
    assert moved.counters()["policies"]["created"] == 1  # sent once: it did commit
    backend = by_name(moved)["backend"]["id"]
    put = LoseAll(moved, "PUT")
    with triage_client(moved, put) as client:
        held = policies_client(client).update_policy(TEST_ORG, backend, {"baseline": None})
    assert held.baseline is None and [m for m, *_ in put.answers].count("PUT") == 2
    gone = LoseAll(moved, "DELETE")
    with triage_client(moved, gone) as client:
        assert policies_client(client).delete_policy(TEST_ORG, backend)  # the retry's 404: gone
    assert [s for m, _, _, s in gone.answers if m == "DELETE"] == [200, 404]
    assert "backend" not in by_name(moved)


def test_a_policy_the_server_refuses_in_the_rehearsal_is_reported_at_its_line(
    moved: Emulator, repos: dict[str, str]
) -> None:
    said: list[str] = []
    with triage_client(moved) as client:
        plan = policy_plan(client, [declared("x" * 121)])  # longer than the API takes
        provider = PoliciesProvider(policies_client(client), said.append)
        with pytest.raises(ApplyError, match="refused 1 of the 1 writes rehearsed"):
            provider.before_writing(plan, 8)
    assert len(said) == 1 and said[0].startswith("p.yaml:3:5: ")
    assert "the server refused this in a dry run" in said[0]
    assert sorted(by_name(moved)) == ["default"]
