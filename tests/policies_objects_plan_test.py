"""``plan`` of an org whose files declare its policies, on the emulator (``seed_moved_org``):
each create, update and delete body, repositories moving between policies, a baseline change,
the live checks at FILE:LINE:COL with nothing written, safety, the saved plan, staleness.

The org (tests/moved_org.py): the default policy (balanced), ``backend`` (comprehensive; api,
worker, infra; 25 rules), ``frontend`` (essential; no repository; 15 rules), 20 rules in the
default policy, 20 resolutions. ``prune: false`` keeps the seeded rules out of the plans that
look at policies only: none of them is ours.
"""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner, Result
from conftest import ALL_SCOPES_TOKEN, TEST_ORG, TRANSPORT_BASE_URL
from moved_org import BACKEND_DESCRIPTION, DEFAULT_DESCRIPTION, MovedOrg, seed_moved_org

from reconciler import notes
from reconciler.cli import cli
from reconciler.emulator import Emulator, EmulatorTransport
from reconciler.engine.provenance import Provenance
from reconciler.errors import ConfigError, StalePlanError
from reconciler.http.client import HttpClient
from reconciler.policies.changes import new_policy_ref
from reconciler.policies.client import PoliciesClient
from reconciler.policies.plan import PolicyPlan
from reconciler.policies.provider import PoliciesProvider
from reconciler.policies.snapshot import unchanged_snapshot
from reconciler.rules import loader
from reconciler.vocab.policies.model import policy_seal_parts
from reconciler.wiring import read_plan

TODAY = dt.date(2026, 12, 1)
POLICIES = f"""\
org: acme
prune: false
policies:
  - name: default
    baseline: balanced
    description: {DEFAULT_DESCRIPTION}
  - name: backend
    baseline: comprehensive
    description: {BACKEND_DESCRIPTION}
    repositories: [api, worker, infra]
  - name: frontend
    baseline: essential
"""


@pytest.fixture
def db(tmp_path: Path) -> Iterator[tuple[Path, MovedOrg]]:
    path = tmp_path / "state.db"
    emulator = Emulator(str(path))
    emulator.add_org(TEST_ORG)
    moved = seed_moved_org(emulator)
    emulator.close()
    yield path, moved


def write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "acme.yaml"
    path.write_text(text)
    return path


def run(*args: str) -> Result:
    return CliRunner().invoke(cli, list(args), env={"NO_COLOR": "1"})


def plan_json(files: Path, db: Path) -> dict[str, Any]:
    result = run("plan", str(files), "--api-url", f"local:{db}", "--format", "json")
    assert result.exit_code == 0, result.output
    (org,) = json.loads(result.stdout)["orgs"]
    return dict(org)


def plan_text(files: Path, db: Path) -> list[str]:
    result = run("plan", str(files), "--api-url", f"local:{db}")
    assert result.exit_code == 0, result.output
    return result.stdout.splitlines()


def policy_changes(org: dict[str, Any]) -> list[tuple[str, str, dict[str, Any]]]:
    return [(c["action"], c["name"], c["body"]) for c in org["changes"] if c["kind"] == "policy"]


def test_files_that_match_the_org_plan_nothing(tmp_path: Path, db: tuple[Path, MovedOrg]) -> None:
    org = plan_json(write(tmp_path, POLICIES), db[0])
    assert org["changes"] == [] and org["repository_moves"] == []
    assert org["declares_policies"] is True


def test_a_repository_back_to_the_default_policy_is_one_update(
    tmp_path: Path, db: tuple[Path, MovedOrg]
) -> None:
    path, moved = db
    files = write(tmp_path, POLICIES.replace("[api, worker, infra]", "[api, worker]"))
    org = plan_json(files, path)
    ids = moved.repo_ids
    assert policy_changes(org) == [
        ("update", "backend", {"repository_ids": [ids["api"], ids["worker"]]})
    ]
    assert len(org["changes"]) == 1
    assert org["repository_moves"] == [{"repository": "infra", "from": "backend", "to": "default"}]
    lines = plan_text(files, path)
    assert "  ~ policy backend: removes repositories infra" in lines
    assert "  ~ repository infra: policy backend -> default" in lines


def test_a_repository_from_the_default_policy_is_one_update(
    tmp_path: Path, db: tuple[Path, MovedOrg]
) -> None:
    path, moved = db
    text = POLICIES + "    repositories: [web]\n"
    org = plan_json(write(tmp_path, text), path)
    assert policy_changes(org) == [
        ("update", "frontend", {"repository_ids": [moved.repo_ids["web"]]})
    ]
    assert len(org["changes"]) == 1
    assert org["repository_moves"] == [{"repository": "web", "from": "default", "to": "frontend"}]


def test_a_repository_between_two_named_policies_is_two_updates_and_one_line(
    tmp_path: Path, db: tuple[Path, MovedOrg]
) -> None:
    path, moved = db
    text = POLICIES.replace("[api, worker, infra]", "[worker, infra]") + "    repositories: [api]\n"
    files = write(tmp_path, text)
    org = plan_json(files, path)
    ids = moved.repo_ids
    # The update that frees api comes first: never two labels at once.
    assert policy_changes(org) == [
        ("update", "backend", {"repository_ids": [ids["worker"], ids["infra"]]}),
        ("update", "frontend", {"repository_ids": [ids["api"]]}),
    ]
    assert org["repository_moves"] == [{"repository": "api", "from": "backend", "to": "frontend"}]
    lines = plan_text(files, path)
    assert [line for line in lines if "repository " in line] == [
        "  ~ repository api: policy backend -> frontend"
    ]


def test_a_baseline_change_is_one_update(tmp_path: Path, db: tuple[Path, MovedOrg]) -> None:
    path, _ = db
    files = write(tmp_path, POLICIES.replace("baseline: balanced", "baseline: comprehensive"))
    org = plan_json(files, path)
    assert policy_changes(org) == [("update", "default", {"baseline": "comprehensive"})]
    assert "  ~ policy default: baseline balanced -> comprehensive" in plan_text(files, path)
    assert org["summary"]["update"] == 1


def test_a_description_change_is_sent_sealed(tmp_path: Path, db: tuple[Path, MovedOrg]) -> None:
    path, _ = db
    files = write(tmp_path, POLICIES.replace(BACKEND_DESCRIPTION, "Customer services"))
    org = plan_json(files, path)
    ((action, name, body),) = policy_changes(org)
    assert (action, name, list(body)) == ("update", "backend", ["description"])
    assert notes.split(body["description"])[0] == "Customer services"
    assert notes.sealed_for(body["description"], TEST_ORG, policy_seal_parts("backend"))
    assert (
        f"  ~ policy backend: description '{BACKEND_DESCRIPTION}' -> 'Customer services'"
        in plan_text(files, path)
    )


def test_a_create_sends_every_field_and_its_rules_follow_it(
    tmp_path: Path, db: tuple[Path, MovedOrg]
) -> None:
    path, moved = db
    text = POLICIES + (
        "  - name: mobile\n    baseline: none\n    description: Apps\n"
        "    repositories: [mobile, docs]\n"
        "policy_rules:\n"
        "  - name: block malware\n    policy: mobile\n"
        "    vigil_selector: {finding.alertType: malware}\n    action: error\n"
    )
    files = write(tmp_path, text)
    org = plan_json(files, path)
    (create,) = [c for c in org["changes"] if c["kind"] == "policy"]
    body = create["body"]
    assert create["action"] == "create" and body["baseline"] is None
    assert (body["name"], body["repository_ids"]) == (
        "mobile",
        [moved.repo_ids["mobile"], moved.repo_ids["docs"]],
    )
    assert notes.sealed_for(body["description"], TEST_ORG, policy_seal_parts("mobile"))
    (rule,) = [c for c in org["changes"] if c["kind"] == "policy_rule"]
    assert (rule["action"], rule["policy"]) == ("create", new_policy_ref("mobile"))
    assert org["changes"][0] == create  # policy changes first
    assert "  + policy mobile: baseline none, repositories mobile, docs, description 'Apps' (" in (
        "\n".join(plan_text(files, path))
    )


def test_a_policy_no_file_declares_is_deleted_with_its_rules_under_prune(
    tmp_path: Path, db: tuple[Path, MovedOrg]
) -> None:
    path, moved = db
    text = POLICIES.replace("prune: false\n", "").split("  - name: frontend")[0]
    text += "policy_rules: []\n"
    org = plan_json(write(tmp_path, text), path)
    (delete,) = [c for c in org["changes"] if c["kind"] == "policy"]
    assert (delete["action"], delete["name"], delete["takes_rules"], delete["body"]) == (
        "delete",
        "frontend",
        15,
        {},
    )
    # No rule deletes for frontend's rules: the policy delete removes them.
    deleted_rules = {c["name"] for c in org["changes"] if c["kind"] == "policy_rule"}
    assert not deleted_rules & set(moved.rule_names["frontend"])
    assert deleted_rules == {*moved.rule_names["default"], *moved.rule_names["backend"]}
    # Safety: 60 rules and 20 resolutions and 2 named policies in scope; the delete counts
    # as 1 + 15, each rule delete as 1, each resolution delete as 1.
    assert org["existing"] == 60 + 20 + 2
    assert org["unsafe"] == [
        "it updates, replaces or deletes 81 of 82 live policies, rules and resolutions of org "
        "acme (99% > 30%)",
    ]


def test_prune_false_leaves_an_undeclared_policy_alone(
    tmp_path: Path, db: tuple[Path, MovedOrg]
) -> None:
    path, _ = db
    text = POLICIES.split("  - name: frontend", maxsplit=1)[0]
    org = plan_json(write(tmp_path, text), path)
    assert org["changes"] == []
    assert any(
        w.startswith("left alone: ") and "'frontend' (15 rules)" in w for w in org["warnings"]
    )


def client_on(emulator: Emulator) -> tuple[PoliciesClient, HttpClient]:
    http = HttpClient(TRANSPORT_BASE_URL, ALL_SCOPES_TOKEN, transport=EmulatorTransport(emulator))
    return PoliciesClient(http), http


def provider_plan(emulator: Emulator, files: Path) -> tuple[PolicyPlan, HttpClient]:
    client, http = client_on(emulator)
    org_rules = loader.load([str(files)]).orgs[TEST_ORG]
    provider = PoliciesProvider(client, say=lambda line: None)
    return provider.plan(org_rules, Provenance(), TODAY, None), http


def test_an_unknown_slug_is_an_error_at_its_place_and_nothing_is_sent(
    tmp_path: Path, emulator: Emulator
) -> None:
    seed_moved_org(emulator)
    files = write(tmp_path, POLICIES.replace("[api, worker, infra]", "[api, nope, infra]"))
    with pytest.raises(ConfigError) as caught:
        provider_plan(emulator, files)
    (line,) = [d.line() for d in caught.value.diagnostics]
    assert line == (
        f"{files}:10:25: error: repository 'nope' of policy 'backend' is not in the org's "
        "repository listing (archived ones included); check the slug"
    )
    calls = emulator.counters()["calls"]
    # Listings only: no write of any kind, not even a rehearsal.
    assert calls["GET"] > 0 and (calls["POST"], calls["PUT"], calls["DELETE"]) == (0, 0, 0)
    # Through the CLI: the same line, exit 1.
    db = tmp_path / "state.db"
    on_disk = Emulator(str(db))
    on_disk.add_org(TEST_ORG)
    seed_moved_org(on_disk)
    on_disk.close()
    result = run("plan", str(files), "--api-url", f"local:{db}")
    assert result.exit_code == 1
    assert f"{files}:10:25: error: repository 'nope'" in result.stderr


def test_a_saved_plan_round_trips_and_goes_stale_with_the_repositories(
    tmp_path: Path, emulator: Emulator
) -> None:
    seed_moved_org(emulator)
    text = POLICIES.replace("[api, worker, infra]", "[api]").replace(
        "baseline: essential", "baseline: essential\n    repositories: [worker]"
    )
    plan, _ = provider_plan(emulator, write(tmp_path, text))
    assert [(c.action, c.name) for c in plan.policy_changes] == [
        ("update", "backend"),
        ("update", "frontend"),
    ]
    provider = PoliciesProvider(client_on(emulator)[0], say=lambda line: None)
    assert provider.describe(plan.policy_changes[0]) == "update policy 'backend'"
    data = plan.to_dict()
    again = PolicyPlan.from_dict(json.loads(json.dumps(data)))
    assert again.to_dict() == data and again.declares_policies
    client, _ = client_on(emulator)
    unchanged_snapshot(client, again)  # the same org: not stale
    emulator.seed_repos(TEST_ORG, ["newcomer"])
    with pytest.raises(StalePlanError):
        unchanged_snapshot(client, again)


def test_a_saved_plan_file_reads_back(tmp_path: Path, db: tuple[Path, MovedOrg]) -> None:
    path, _ = db
    files = write(tmp_path, POLICIES.replace("baseline: comprehensive", "baseline: essential"))
    out = tmp_path / "plan.json"
    saved = run("plan", str(files), "--api-url", f"local:{path}", "--out", str(out))
    assert saved.exit_code == 0, saved.output
    plan = read_plan(json.loads(out.read_text()))
    (org_plan,) = plan.orgs
    assert isinstance(org_plan, PolicyPlan)
    assert [(c.action, c.name, dict(c.body)) for c in org_plan.policy_changes] == [
        ("update", "backend", {"baseline": "essential"})
    ]


def test_server_text_in_policy_lines_is_escaped_and_tokens_redacted(
    tmp_path: Path, db: tuple[Path, MovedOrg]
) -> None:
    path, moved = db
    emulator = Emulator(str(path))
    hostile = "sktsec_leaked_0123456789abcdef \x1b[2Kfake line"
    emulator.seed_policy_update(TEST_ORG, moved.policy_ids["frontend"], description=hostile)
    emulator.close()
    files = write(tmp_path, POLICIES)
    for fmt in ("text", "markdown", "json"):
        result = run("plan", str(files), "--api-url", f"local:{path}", "--format", fmt)
        assert result.exit_code == 0, result.output
        assert "sktsec_leaked" not in result.stdout and "\x1b" not in result.stdout, fmt
    lines = plan_text(files, path)
    assert "  ~ policy frontend: description 'sktsec_*** \\x1b[2Kfake line' -> ''" in lines
