"""The scope of management of ``plan`` on Alert Policies, through the CLI on the emulator.

An org whose files do not declare policies reconciles the default policy and the policies its
rules name (expired rules included); every other policy is left alone, rules included, with one
notice naming them. Upgrading socket-triage changes no plan of such an org but that: ``prune``
no longer deletes rules of policies no file mentions.
"""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path
from typing import Any

from click.testing import CliRunner
from conftest import ALL_SCOPES_TOKEN, TEST_ORG, TRANSPORT_BASE_URL

from reconciler.cli import cli
from reconciler.emulator import Emulator, EmulatorTransport
from reconciler.engine.provenance import Provenance
from reconciler.http.client import HttpClient
from reconciler.policies.client import PoliciesClient
from reconciler.policies.orgs import plan_policies_org
from reconciler.policies.snapshot import Snapshot, read_snapshot
from reconciler.rules import loader

FILES = """\
org: acme
policy_rules:
  - name: a
    vigil_selector: {finding.alertType: cve}
    action: error
  - name: b
    policy: backend
    vigil_selector: {finding.alertType: malware}
    action: error
"""
LEFT_ALONE = (
    "left alone: the files do not declare the org's policies and no rule names them: "
    "'frontend' (3 rules), 'empty' (0 rules)"
)


def rule(name: str) -> dict[str, Any]:
    return {"name": name, "vigil_selector": {"finding.alertType": name}, "action": "warn"}


def seed(db: Path, *, others: bool) -> None:
    """Live: the default policy (a, stray), backend (b, old) and, with ``others``, two
    labeled policies no file mentions: frontend with 3 rules, empty with none."""
    emulator = Emulator(str(db))
    emulator.add_org(TEST_ORG)
    emulator.set_migration_state(TEST_ORG, "accepted")
    emulator.seed_policy_rules(TEST_ORG, [rule("cve") | {"name": "a"}, rule("stray")])
    backend = emulator.seed_policy(TEST_ORG, "backend", baseline="balanced")
    emulator.seed_policy_rules(
        TEST_ORG, [rule("malware") | {"name": "b"}, rule("old")], backend["id"]
    )
    if others:
        frontend = emulator.seed_policy(TEST_ORG, "frontend", baseline="essential")
        emulator.seed_policy_rules(TEST_ORG, [rule("x"), rule("y"), rule("z")], frontend["id"])
        emulator.seed_policy(TEST_ORG, "empty", baseline=None)
    emulator.close()


def plan_json(files: Path, db: Path) -> dict[str, Any]:
    result = CliRunner().invoke(
        cli, ["plan", str(files), "--api-url", f"local:{db}", "--format", "json"]
    )
    assert result.exit_code == 0, result.output
    (org,) = json.loads(result.stdout)["orgs"]
    return dict(org)


def same(changes: list[dict[str, Any]]) -> list[tuple[Any, ...]]:
    """What a change does, without the ids and times that differ between two emulators."""
    keys = ("action", "kind", "name", "reason", "from", "to", "after")
    return [tuple(c[k] for k in keys) for c in changes]


def write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "acme.yaml"
    path.write_text(text)
    return path


def test_policies_no_rule_names_are_left_alone_with_one_notice(tmp_path: Path) -> None:
    db = tmp_path / "state.db"
    seed(db, others=True)
    org = plan_json(write(tmp_path, FILES), db)
    # prune deletes the strays of the default policy and of backend, which a rule names...
    assert sorted((c["action"], c["name"], c["kind"]) for c in org["changes"]) == [
        ("delete", "old", "policy_rule"),
        ("delete", "stray", "policy_rule"),
        ("update", "a", "policy_rule"),
        ("update", "b", "policy_rule"),
    ]
    # ...and nothing of frontend or empty; no policy object changes either.
    assert LEFT_ALONE in org["warnings"]
    assert "declares_policies" not in org and "repository_moves" not in org
    # existing counts what the plan manages: the rules of the default policy and backend.
    assert org["existing"] == 4


def test_upgrading_changes_no_plan_but_the_rules_of_unmentioned_policies(tmp_path: Path) -> None:
    """The plan of an org with unmentioned policies is the plan it would have without them,
    but for the notice (and the fingerprint, which still sees every policy)."""
    with_others, without = tmp_path / "a.db", tmp_path / "b.db"
    seed(with_others, others=True)
    seed(without, others=False)
    files = write(tmp_path, FILES)
    one, two = plan_json(files, with_others), plan_json(files, without)
    assert one["warnings"] == [LEFT_ALONE, *two["warnings"]]
    for key in ("summary", "existing", "unsafe", "prune"):
        assert one[key] == two[key], key
    assert same(one["changes"]) == same(two["changes"])
    assert one["fingerprint"] != two["fingerprint"]


def test_labeled_policies_keep_their_rules_under_prune(tmp_path: Path) -> None:
    db = tmp_path / "state.db"
    seed(db, others=True)
    files = write(tmp_path, "org: acme\nprune: true\n")
    org = plan_json(files, db)
    # Only the default policy is in scope: its two rules go; backend and frontend keep theirs.
    assert [(c["action"], c["name"]) for c in org["changes"]] == [
        ("delete", "a"),
        ("delete", "stray"),
    ]
    assert org["warnings"] == [
        "left alone: the files do not declare the org's policies and no rule names them: "
        "'backend' (2 rules), 'frontend' (3 rules), 'empty' (0 rules)"
    ]
    applied = CliRunner().invoke(
        cli, ["apply", str(files), "--api-url", f"local:{db}", "--yes", "--force"]
    )
    assert applied.exit_code == 0, applied.output
    emulator = Emulator(str(db))
    by_name = {p["name"]: p["id"] for p in emulator.alert_policies(TEST_ORG)}
    assert [r["name"] for r in emulator.policy_rules(TEST_ORG, by_name["frontend"])] == [
        "x",
        "y",
        "z",
    ]
    assert len(emulator.policy_rules(TEST_ORG, by_name["backend"])) == 2
    assert emulator.policy_rules(TEST_ORG) == []
    emulator.close()


def test_an_expired_rule_brings_its_policy_into_scope(tmp_path: Path) -> None:
    db = tmp_path / "state.db"
    seed(db, others=True)
    files = write(
        tmp_path,
        "org: acme\npolicy_rules:\n"
        "  - name: x\n    policy: frontend\n    vigil_selector: {finding.alertType: x}\n"
        "    action: warn\n    expires: 2020-01-01\n",
    )
    org = plan_json(files, db)
    frontend = [c for c in org["changes"] if c["name"] in ("x", "y", "z")]
    assert sorted((c["action"], c["name"], c["reason"]) for c in frontend) == [
        ("delete", "x", "expired"),
        ("delete", "y", "not in files"),
        ("delete", "z", "not in files"),
    ]
    assert "'frontend'" not in " ".join(org["warnings"])


def test_the_repository_listing_is_read_only_for_an_org_that_declares_policies(
    tmp_path: Path, emulator: Emulator
) -> None:
    emulator.set_migration_state(TEST_ORG, "accepted")
    emulator.seed_repos(TEST_ORG, ["api"])
    http = HttpClient(TRANSPORT_BASE_URL, ALL_SCOPES_TOKEN, transport=EmulatorTransport(emulator))
    client = PoliciesClient(http)

    def planned(text: str) -> tuple[bool, Snapshot]:
        org_rules = loader.load([str(write(tmp_path, text))]).orgs[TEST_ORG]
        plan, live = plan_policies_org(client, org_rules, Provenance(), dt.date(2026, 12, 1))
        return plan.declares_policies, live

    assert planned(FILES.replace("    policy: backend\n", "")) == (
        False,
        read_snapshot(client, TEST_ORG),
    )
    declares, live = planned("org: acme\npolicies: []\n")
    assert declares and live.repositories is not None
    assert [r.slug for r in live.repositories] == ["api"]
