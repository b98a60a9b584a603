"""``socket-triage apply`` on Alert Policies through the CLI, against the emulator over HTTP:
the gate, ``--dry-run`` before the move, apply, a reordered file, and ``plan`` afterwards."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner, Result
from conftest import ALL_SCOPES_TOKEN, TEST_ORG

from reconciler.cli import cli
from reconciler.emulator import Emulator

RULES = [
    ("block malware", "finding.alertType: malware", "error", "never ship malware"),
    ("warn install scripts", "finding.alertType: installScripts", "warn", "review them"),
    ("ignore lodash cve", "finding.alertType: cve, artifact.name: lodash", "ignore", "unused"),
]
RESOLUTION = """\
resolutions:
  - vigil_selector: {artifact.type: npm, artifact.name: left-pad, artifact.version: 1.0.0}
    reason: false_positive
    comment: fine
"""


def write_files(path: Path, order: list[int]) -> Path:
    rules = "".join(
        f"  - name: {name}\n    vigil_selector: {{{selector}}}\n    action: {action}\n"
        f"    note: {note}\n"
        for name, selector, action, note in (RULES[i] for i in order)
    )
    path.write_text(f"org: acme\ntarget: alert-policies\npolicy_rules:\n{rules}{RESOLUTION}")
    return path


def run(url: str, *args: str) -> Result:
    env = {"NO_COLOR": "1", "SOCKET_API_TOKEN": ALL_SCOPES_TOKEN}
    return CliRunner().invoke(cli, [*args, "--api-url", url], env=env)


def calls(emulator: Emulator) -> dict[str, Any]:
    return dict(emulator.counters()["calls"])


def test_before_the_move_apply_refuses_and_dry_run_previews(
    emulator: Emulator, http_emulator: str, tmp_path: Path
) -> None:
    emulator.set_migration_state(TEST_ORG, "pending")
    files = write_files(tmp_path / "p.yaml", [0, 1, 2])
    refused = run(http_emulator, "apply", str(files), "--yes")
    assert refused.exit_code == 1
    assert (
        "error: org acme has not moved to Alert Policies yet (state: pending); use plan "
        "--target alert-policies / apply --dry-run to preview; nothing was written"
    ) in refused.stderr
    assert "converges" not in refused.stderr and calls(emulator)["POST"] == 0
    preview = run(http_emulator, "apply", str(files), "--dry-run")
    assert preview.exit_code == 0, preview.output
    assert "Dry run of org acme: the server accepts all 4 writes rehearsed." in preview.stdout
    assert calls(emulator)["POST"] == 4  # rehearsals only
    assert emulator.policy_rules(TEST_ORG) == [] and emulator.alert_resolutions(TEST_ORG) == []


def test_apply_then_a_reordered_file_moves_only_and_plan_exits_0(
    emulator: Emulator, http_emulator: str, tmp_path: Path
) -> None:
    emulator.set_migration_state(TEST_ORG, "accepted")
    files = write_files(tmp_path / "p.yaml", [0, 1, 2])
    log = tmp_path / "audit.jsonl"
    applied = run(http_emulator, "apply", str(files), "--yes", "--audit-log", str(log))
    assert applied.exit_code == 0, applied.output
    assert "Apply complete: 4 created, 0 updated, 0 deleted" in applied.stdout
    again = run(http_emulator, "plan", str(files), "--detailed-exitcode")
    assert again.exit_code == 0, again.output
    ids = {r["name"]: r["id"] for r in emulator.policy_rules(TEST_ORG)}

    write_files(files, [2, 0, 1])
    before = calls(emulator)
    moved = run(http_emulator, "apply", str(files), "--yes", "--audit-log", str(log))
    assert moved.exit_code == 0, moved.output
    assert "Apply complete: 0 created, 0 updated, 1 moved, 0 deleted" in moved.stdout
    sent = {m: n - before[m] for m, n in calls(emulator).items()}
    assert sent["POST"] == sent["DELETE"] == 0 and sent["PUT"] == 2  # rehearsal and move
    live = emulator.policy_rules(TEST_ORG)
    assert [r["name"] for r in live] == [RULES[i][0] for i in (2, 0, 1)]
    assert {r["name"]: r["id"] for r in live} == ids
    assert run(http_emulator, "plan", str(files), "--detailed-exitcode").exit_code == 0
    lines = [json.loads(line) for line in log.read_text().splitlines()]
    assert [(line["action"], line.get("name")) for line in lines[4:]] == [
        ("move", "ignore lodash cve")
    ]


@pytest.mark.parametrize("fmt", ["json", "markdown"])
def test_a_saved_policies_plan_is_applied_as_it_is(
    emulator: Emulator, http_emulator: str, tmp_path: Path, fmt: str
) -> None:
    emulator.set_migration_state(TEST_ORG, "accepted")
    files = write_files(tmp_path / "p.yaml", [1, 0])
    saved = tmp_path / "plan.json"
    planned = run(http_emulator, "plan", str(files), "--format", fmt, "--out", str(saved))
    assert planned.exit_code == 0, planned.output
    applied = run(http_emulator, "apply", "--plan", str(saved), "--yes")
    assert applied.exit_code == 0, applied.output
    assert [r["name"] for r in emulator.policy_rules(TEST_ORG)] == [RULES[1][0], RULES[0][0]]
    stale = run(http_emulator, "apply", "--plan", str(saved), "--yes")
    assert stale.exit_code == 1 and "changed since" in stale.stderr


def test_moves_do_not_count_against_the_safety_threshold_but_deletes_do(
    emulator: Emulator, http_emulator: str, tmp_path: Path
) -> None:
    emulator.set_migration_state(TEST_ORG, "accepted")
    names = [f"r{i:02}" for i in range(12)]
    emulator.seed_policy_rules(
        TEST_ORG,
        [
            {"name": n, "action": "warn", "note": "n", "vigil_selector": {"finding.alertType": n}}
            for n in names
        ],
    )

    def files(kept: list[str]) -> Path:
        rules = "".join(
            f"  - name: {n}\n    vigil_selector: {{finding.alertType: {n}}}\n"
            "    action: warn\n    note: n\n"
            for n in kept
        )
        path = tmp_path / "p.yaml"
        path.write_text(f"org: acme\ntarget: alert-policies\npolicy_rules:\n{rules}")
        return path

    reversed_order = run(http_emulator, "apply", str(files(names[::-1])), "--yes")
    assert reversed_order.exit_code == 0, reversed_order.output  # 11 moves of 12 rules
    assert [r["name"] for r in emulator.policy_rules(TEST_ORG)] == names[::-1]
    halved = run(http_emulator, "apply", str(files(names[:6])), "--yes")
    assert halved.exit_code == 1 and "refusing an unsafe plan" in halved.stderr
    assert len(emulator.policy_rules(TEST_ORG)) == 12


def test_files_that_declare_policies_apply_them_and_plan_exits_0(
    emulator: Emulator, http_emulator: str, tmp_path: Path
) -> None:
    """A policy moved into the files (``policies:``): created with its repository taken from
    another policy, its rules in it, the other policy deleted last; then nothing to do."""
    emulator.set_migration_state(TEST_ORG, "accepted")
    repos = {r["slug"]: r["id"] for r in emulator.seed_repos(TEST_ORG, ["api", "web"])}
    emulator.seed_policy(TEST_ORG, "legacy", repository_ids=[repos["api"], repos["web"]])
    files = tmp_path / "p.yaml"
    files.write_text(
        "org: acme\ntarget: alert-policies\npolicies:\n"
        "  - name: backend\n    baseline: comprehensive\n    description: Services\n"
        "    repositories: [api]\n"
        "policy_rules:\n"
        "  - name: block malware\n    policy: backend\n"
        "    vigil_selector: {finding.alertType: malware}\n    action: error\n"
    )
    log = tmp_path / "audit.jsonl"
    applied = run(http_emulator, "apply", str(files), "--yes", "--force", "--audit-log", str(log))
    assert applied.exit_code == 0, applied.output
    # backend and its rule created; legacy first gave up api (an update), then was deleted.
    assert "Apply complete: 2 created, 0 updated, 1 deleted" in applied.stdout
    policies = {p["name"]: p for p in emulator.alert_policies(TEST_ORG) if p["name"]}
    assert sorted(policies) == ["backend"]
    assert policies["backend"]["repository_ids"] == [repos["api"]]
    assert policies["backend"]["baseline"] == "comprehensive"
    assert [r["name"] for r in emulator.policy_rules(TEST_ORG, policies["backend"]["id"])] == [
        "block malware"
    ]
    lines = [json.loads(line) for line in log.read_text().splitlines()]
    assert [(x["kind"], x["action"], x["name"]) for x in lines] == [
        ("policy", "update", "legacy"),
        ("policy", "create", "backend"),
        ("policy_rule", "create", "block malware"),
        ("policy", "delete", "legacy"),
    ]
    again = run(http_emulator, "plan", str(files), "--detailed-exitcode")
    assert again.exit_code == 0, again.output
