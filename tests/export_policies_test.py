"""``export`` of an org that has moved to Alert Policies: one native file, never the frozen copy.

Through the CLI and the production client, on the emulator (in process with ``local:PATH``, and
over a loopback socket with a token): the file declares the org's policies (the default first),
each policy's rules in rank order and the resolutions; it validates with ``--strict`` and reads
back as exactly the live state; live items the files cannot hold are listed and make export exit
1; ``--target triage`` after the move is refused.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import yaml
from click.testing import CliRunner, Result
from conftest import ALL_SCOPES_TOKEN, TEST_ORG
from moved_org import (
    BACKEND_DESCRIPTION,
    BASELINES,
    DEFAULT_DESCRIPTION,
    MovedOrg,
    seed_moved_org,
)

from reconciler.cli import cli
from reconciler.emulator import Emulator, embedded, serve
from reconciler.emulator.policies_store import Placement
from reconciler.notes import trailer
from reconciler.policies.export import native_state
from reconciler.rules import loader
from reconciler.vocab.policies.model import (
    DesiredPolicy,
    LivePolicy,
    LiveRepository,
    LiveRule,
)
from reconciler.vocab.policies.selectors import VigilSelector

LEGACY = [{"package_type": "npm", "package_name": "frozen-pkg", "state": "block", "note": "old"}]
FROZEN_LINE = (
    "org acme evaluates Alert Policies (migration state accepted): its legacy triage list is a "
    "frozen copy, not exported; exporting its policies, policy rules and resolutions.\n"
)


def run(*args: str, env: dict[str, str] | None = None) -> Result:
    return CliRunner().invoke(cli, list(args), env={"NO_COLOR": "1", **(env or {})})


@pytest.fixture
def db(tmp_path: Path) -> Path:
    return tmp_path / "state.db"


def seeded(db: Path) -> MovedOrg:
    """The moved org of ``moved_org``, with a legacy rule frozen by the move."""
    emu = embedded(str(db))
    emu.seed_rules(TEST_ORG, LEGACY)
    moved = seed_moved_org(emu)
    emu.close()
    return moved


def export(db: Path, out: Path, *extra: str, code: int = 0) -> Result:
    result = run("export", "--org", TEST_ORG, "--api-url", f"local:{db}", "--out", str(out), *extra)
    assert result.exit_code == code, result.output
    return result


def live(db: Path) -> tuple[list[dict[str, Any]], dict[str, list[dict[str, Any]]], list[Any]]:
    emu = Emulator(str(db))
    policies = emu.alert_policies(TEST_ORG)
    rules = {p["id"]: emu.policy_rules(TEST_ORG, p["id"]) for p in policies}
    resolutions = emu.alert_resolutions(TEST_ORG)
    repos = {r["id"]: r["slug"] for r in emu.repositories(TEST_ORG)}
    emu.close()
    for policy in policies:
        policy["slugs"] = tuple(repos[i] for i in policy.get("repository_ids") or ())
    return policies, rules, resolutions


def test_a_moved_org_exports_its_whole_native_state(db: Path, tmp_path: Path) -> None:
    moved = seeded(db)
    out = tmp_path / "out"
    result = export(db, out)
    path = out / "acme.yaml"
    assert result.stderr == (
        FROZEN_LINE
        + f"Wrote 3 policies, 60 policy rules and 20 resolutions of org acme to {path}.\n"
    )
    text = path.read_text()
    assert text.startswith("# yaml-language-server: $schema=https://")
    document = yaml.safe_load(text)
    assert list(document) == ["org", "target", "policies", "policy_rules", "resolutions"]
    assert document["target"] == "alert-policies"
    assert "rules" not in document and "frozen-pkg" not in text  # never the frozen copy
    assert document["policies"] == [
        {"name": "default", "baseline": "balanced", "description": DEFAULT_DESCRIPTION},
        {
            "name": "backend",
            "baseline": "comprehensive",
            "description": BACKEND_DESCRIPTION,
            "repositories": ["api", "worker", "infra"],
        },
        {"name": "frontend", "baseline": "essential"},
    ]
    # Grouped by policy, each in rank order; ``policy:`` only on the named policies' rules.
    assert [(r["name"], r.get("policy")) for r in document["policy_rules"]] == [
        (name, None if policy == "default" else policy)
        for policy, names in moved.rule_names.items()
        for name in names
    ]


def test_what_export_writes_validates_strictly_and_reads_back_as_the_live_state(
    db: Path, tmp_path: Path
) -> None:
    seeded(db)
    out = tmp_path / "out"
    export(db, out)
    checked = run("validate", "--strict", str(out))
    assert checked.exit_code == 0, checked.output
    org = loader.load([str(out)]).orgs[TEST_ORG]
    policies, rules, resolutions = live(db)
    assert org.declares_policies is True
    assert [
        (p.name, p.baseline or "none", p.description, p.repositories) for p in org.policies
    ] == [
        (p["name"] or "default", p["baseline"] or "none", p["description"] or "", p["slugs"])
        for p in policies
    ]
    names = {p["id"]: p["name"] or "default" for p in policies}
    assert [(r.policy, r.name, r.selector, r.action, r.note) for r in org.policy_rules] == [
        (names[pid], r["name"], VigilSelector.from_wire(r["vigil_selector"]), r["action"],
         r["note"] or "")
        for pid, listed in rules.items()
        for r in listed
    ]  # fmt: skip
    assert [(r.selector, r.reason, r.reason_text, r.comment) for r in org.resolutions] == [
        (VigilSelector.from_wire(r["vigil_selector"]), r["reason"], r["reason_text"],
         r["comment"] or "")
        for r in resolutions
    ]  # fmt: skip


def test_plan_of_the_exported_file_has_no_changes(db: Path, tmp_path: Path) -> None:
    seeded(db)
    out = tmp_path / "out"
    export(db, out)
    planned = run("plan", str(out), "--api-url", f"local:{db}", "--detailed-exitcode")
    assert planned.exit_code == 0, planned.output


def test_the_production_client_over_loopback_with_a_token(tmp_path: Path) -> None:
    emu = Emulator()
    emu.add_org(TEST_ORG)
    emu.add_token(ALL_SCOPES_TOKEN, TEST_ORG, ("alert-policy", "alert-resolution", "repo:list"))
    emu.seed_rules(TEST_ORG, LEGACY)
    seed_moved_org(emu)
    out = tmp_path / "acme.yaml"
    with serve(emu) as url:
        result = run(
            "export", "--org", TEST_ORG, "--api-url", url, "--out", str(out),
            env={"SOCKET_API_TOKEN": ALL_SCOPES_TOKEN},
        )  # fmt: skip
    emu.close()
    assert result.exit_code == 0, result.output
    assert result.stderr.startswith(FROZEN_LINE)
    assert ALL_SCOPES_TOKEN not in out.read_text() + result.output
    assert run("validate", "--strict", str(out)).exit_code == 0


def test_target_triage_after_the_move_is_refused_and_writes_nothing(
    db: Path, tmp_path: Path
) -> None:
    seeded(db)
    out = tmp_path / "out"
    result = export(db, out, "--target", "triage", code=1)
    assert result.stderr == (
        "error: --target triage: org acme evaluates Alert Policies (migration state accepted); "
        "its legacy triage rules are a frozen copy that decides nothing. Export without --target "
        "to write its policies, policy rules and resolutions.\n"
    )
    assert not (out / "acme.yaml").exists()


def test_before_the_move_export_writes_triage_rules_unless_told_alert_policies(
    db: Path, tmp_path: Path
) -> None:
    emu = embedded(str(db))
    emu.seed_rules(TEST_ORG, LEGACY)
    emu.seed_policy(TEST_ORG, "backend", baseline="essential")
    emu.close()
    export(db, tmp_path / "triage")
    assert "frozen-pkg" in (tmp_path / "triage" / "acme.yaml").read_text()
    result = export(db, tmp_path / "native", "--target", "alert-policies")
    assert "frozen copy" not in result.stderr
    document = yaml.safe_load((tmp_path / "native" / "acme.yaml").read_text())
    assert document["policies"] == [
        {"name": "default", "baseline": "balanced"},
        {"name": "backend", "baseline": "essential"},
    ]
    assert "rules" not in document


def test_an_existing_file_is_refused_without_force(db: Path, tmp_path: Path) -> None:
    seeded(db)
    out = tmp_path / "acme.yaml"
    out.write_text("# edited by hand\n")
    result = export(db, out, code=1)
    assert result.stderr == f"error: --out {out}: already exists; pass --force to overwrite it\n"
    assert out.read_text() == "# edited by hand\n"
    export(db, out, "--force")
    assert out.read_text().startswith("# yaml-language-server")


def test_items_the_files_cannot_hold_are_listed_and_exit_1(db: Path, tmp_path: Path) -> None:
    moved = seeded(db)
    emu = Emulator(str(db))
    frontend = moved.policy_ids["frontend"]
    emu.seed_policy_rules(
        TEST_ORG,
        [
            {"name": "frontend-01", "vigil_selector": {"artifact.name": "x"}, "action": "warn"},
            {
                "name": "either",
                "vigil_selector": {"$or": [{"artifact.name": "y"}]},
                "action": "warn",
            },
        ],
        frontend,
    )
    # What the emulator refuses but a server might hold: a rule on location.repo, and a
    # repository id the listing no longer has (a repository deleted since). Seeded in its store.
    org = emu.store.org(TEST_ORG)
    assert org is not None
    target = emu.policies.policy(org, frontend)
    assert target is not None
    fields = {
        "name": "repo rule",
        "vigil_selector": {"location.repo": "acme/api"},
        "action": "ignore",
    }
    emu.policies.create_rule(target, fields, Placement("last"), rehearse=False)
    emu.policies.update_policy(target, {"repository_ids": ["gone-repo-id"]}, rehearse=False)
    rules = {r["name"]: r["id"] for r in emu.policy_rules(TEST_ORG, frontend)}
    first_id = emu.policy_rules(TEST_ORG, frontend)[0]["id"]
    dup_id = emu.policy_rules(TEST_ORG, frontend)[-3]["id"]
    emu.close()
    out = tmp_path / "out"
    result = export(db, out, code=1)
    path = out / "acme.yaml"
    assert result.stderr.splitlines()[2:] == [
        "left out: repository id gone-repo-id of policy 'frontend': the repository listing does "
        "not have it",
        f"left out: rule 'frontend-01' (id {dup_id}) of policy 'frontend': rule id {first_id} of "
        "the policy has its name, which identifies a rule",
        f"left out: rule 'either' (id {rules['either']}) of policy 'frontend': field '$or' is "
        "not under finding., location. or artifact.; $or: [{'artifact.name': 'y'}] must be a "
        "string",
        f"left out: rule 'repo rule' (id {rules['repo rule']}) of policy 'frontend': "
        "location.repo is for resolutions only: a rule's repositories come from its policy",
        f"error: {path} leaves out 4 live items the files cannot hold (listed above): plan would "
        "treat each as not declared; fix them in Socket or write them by hand",
    ]
    # What could be written was, and it validates.
    text = path.read_text()
    assert "# 4 live items could not be written here" in text
    assert run("validate", "--strict", str(out)).exit_code == 0
    written = loader.load([str(out)]).orgs[TEST_ORG]
    assert len(written.policy_rules) == moved.rule_count
    assert ("frontend", ()) in [(p.name, p.repositories) for p in written.policies]


def repo(repo_id: str, slug: str) -> LiveRepository:
    return LiveRepository(repo_id, slug)


def test_policies_the_files_cannot_name_are_left_out_with_their_rules() -> None:
    default = LivePolicy("default", None, baseline=None, description="all\n\n[socket-triage] x")
    twice = [
        LivePolicy("p1", "team", apply_method="labeled_repos", repository_ids=("r1", "r2")),
        LivePolicy("p2", "team", apply_method="labeled_repos"),
        LivePolicy("p3", "team ", apply_method="labeled_repos"),
        LivePolicy("p4", "shared", apply_method="labeled_repos", repository_ids=("r3",)),
    ]
    rule = LiveRule("x1", "p2", "r", VigilSelector.from_wire({"artifact.name": "a"}), "warn")
    state = native_state(
        [default, *twice],
        {"p2": [rule]},
        [],
        [repo("r1", "api"), repo("r2", "web"), repo("r3", "web2"), repo("r4", "web2")],
    )
    assert state.policies == [
        DesiredPolicy("default", None, "all"),
        DesiredPolicy("team", None, "", ("api", "web")),
        DesiredPolicy("shared", None, "", ()),
    ]
    assert [str(item) for item in state.left_out] == [
        "policy 'team' (id p2): another policy has its name, which identifies a policy in the "
        "files; its rules are left out with it",
        "policy 'team ' (id p3): name: leading or trailing whitespace, which a server may trim; "
        "remove it; its rules are left out with it",
        "repository id r3 of policy 'shared': its slug 'web2' is shared by another repository of "
        "the org",
    ]
    assert state.rules == []


@pytest.mark.parametrize("baseline", [*BASELINES.values(), None])
def test_each_baseline_round_trips(baseline: str | None, tmp_path: Path) -> None:
    from reconciler.render.policiesfile import native_file

    state = native_state([LivePolicy("default", None, baseline=baseline)], {}, [], [])
    path = tmp_path / "acme.yaml"
    path.write_text(native_file(TEST_ORG, state))
    (policy,) = loader.load([str(path)]).orgs[TEST_ORG].policies
    assert (policy.name, policy.baseline) == ("default", baseline)


def test_the_provenance_trailers_are_not_exported(db: Path, tmp_path: Path) -> None:
    """Notes, descriptions and comments this tool wrote carry a trailer; the file holds only the
    human part, which is what plan compares."""
    sealed = "\n\n" + trailer([("source", "acme.yaml:3")], "0123456789ab")
    emu = embedded(str(db))
    emu.set_migration_state(TEST_ORG, "accepted")
    emu.seed_policy_update(TEST_ORG, "default", description="Everything" + sealed)
    policy = emu.seed_policy(TEST_ORG, "backend", baseline=None, description="Ours" + sealed)
    emu.seed_policy_rules(
        TEST_ORG,
        [{"name": "r", "vigil_selector": {"artifact.name": "a"}, "action": "warn",
          "note": "why" + sealed}],
        policy["id"],
    )  # fmt: skip
    emu.seed_resolutions(
        TEST_ORG,
        [{"vigil_selector": {"artifact.name": "b"}, "reason": "other", "comment": "seen" + sealed}],
    )
    emu.close()
    out = tmp_path / "acme.yaml"
    export(db, out)
    text = out.read_text()
    assert "[socket-triage]" not in text
    document = yaml.safe_load(text)
    assert [p.get("description") for p in document["policies"]] == ["Everything", "Ours"]
    assert document["policies"][1]["baseline"] == "none"
    assert document["policy_rules"] == [
        {
            "name": "r",
            "vigil_selector": {"artifact.name": "a"},
            "action": "warn",
            "note": "why",
            "policy": "backend",
        }
    ]
    assert document["resolutions"] == [
        {"vigil_selector": {"artifact.name": "b"}, "reason": "other", "comment": "seen"}
    ]


def test_a_left_out_name_is_shown_escaped(db: Path, tmp_path: Path) -> None:
    emu = embedded(str(db))
    emu.set_migration_state(TEST_ORG, "accepted")
    emu.seed_policy_rules(
        TEST_ORG,
        [{"name": "x\x1b[2Jy", "vigil_selector": {"artifact.name": "a"}, "action": "warn"}],
    )
    emu.close()
    result = export(db, tmp_path / "acme.yaml", code=1)
    assert "\x1b" not in result.stderr
    assert "left out: rule 'x\\x1b[2Jy'" in result.stderr
    assert "name contains a control character" in result.stderr
