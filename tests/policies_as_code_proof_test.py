"""Issue 21's proof, end to end as a user runs it, over a loopback server: a moved org with 3
policies (one governing repositories), 60 rules and 20 resolutions (``seed_moved_org``) is
exported; the plan of the export has nothing to do; moving one repository, or changing one
baseline, is a plan of exactly one policy update, which apply sends as one real write (its
rehearsal with ``?dry_run=true`` aside) and whose call estimate matches the calls made.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest
import yaml
from click.testing import CliRunner, Result
from conftest import ALL_SCOPES_TOKEN, TEST_ORG
from moved_org import seed_moved_org

from reconciler.cli import cli
from reconciler.emulator import Emulator
from reconciler.emulator.faults import CHANGE_KINDS


def run(*args: str, code: int = 0) -> Result:
    env = {"NO_COLOR": "1", "SOCKET_API_TOKEN": ALL_SCOPES_TOKEN}
    result = CliRunner().invoke(cli, list(args), env=env)
    assert result.exit_code == code, result.output
    return result


@pytest.fixture
def exported(moved: Emulator, http_emulator: str, tmp_path: Path) -> Path:
    seed_moved_org(moved)
    out = tmp_path / "org"
    run("export", "--org", TEST_ORG, "--api-url", http_emulator, "--out", str(out))
    return out / f"{TEST_ORG}.yaml"


def edit(path: Path, policy: str, **fields: object) -> None:
    document = yaml.safe_load(path.read_text())
    (entry,) = [p for p in document["policies"] if p["name"] == policy]
    entry.update(fields)
    path.write_text(yaml.safe_dump(document, sort_keys=False))


def real_writes(emulator: Emulator) -> int:
    """Changes the server made (rehearsals change nothing), of every kind of thing."""
    counters = emulator.counters()
    return sum(sum(counters[kind].values()) for kind in CHANGE_KINDS)


def apply_one_update(emulator: Emulator, url: str, files: Path, tmp_path: Path) -> None:
    """Plan (one policy update, an estimate), apply the saved plan, then nothing is left."""
    saved = tmp_path / "plan.json"
    planned = run(
        "plan", str(files), "--api-url", url, "--out", str(saved), "--detailed-exitcode", code=2
    )
    assert "Plan: 0 to create, 1 to update, 0 to move, 0 to replace, 0 to delete" in planned.stdout
    estimate = re.search(r"Apply will make about (\d+) API calls", planned.stderr)
    assert estimate is not None, planned.stderr
    before = real_writes(emulator)
    applied = run("apply", "--yes", "--api-url", url, "--plan", str(saved))
    calls = re.search(
        r"Apply complete: 0 created, 1 updated, 0 deleted in .*, (\d+) API calls",
        applied.stdout + applied.stderr,
    )
    assert calls is not None, applied.output
    assert real_writes(emulator) - before == 1  # one PUT of one policy
    # The estimate is what apply costs: never less (the quota check relies on it), and at
    # most the repository listing more (verify does not read it again).
    assert int(calls[1]) <= int(estimate[1]) <= int(calls[1]) + 1
    run("plan", str(files), "--api-url", url, "--detailed-exitcode")


def test_the_export_of_a_moved_org_plans_no_changes(
    moved: Emulator, http_emulator: str, exported: Path
) -> None:
    document = yaml.safe_load(exported.read_text())
    assert [p["name"] for p in document["policies"]] == ["default", "backend", "frontend"]
    assert (len(document["policy_rules"]), len(document["resolutions"])) == (60, 20)
    before = real_writes(moved)
    result = run("plan", str(exported), "--api-url", http_emulator, "--detailed-exitcode")
    # 60 rules, 20 resolutions and the two named policies, which the files now manage
    assert result.stdout.startswith("Org acme (82 live rules, resolutions and policies):\n")
    assert "Plan: 0 to create, 0 to update, 0 to move, 0 to replace, 0 to delete" in result.stdout
    assert real_writes(moved) == before


def test_a_repository_moved_to_the_default_policy_is_one_update_sent_once(
    moved: Emulator, http_emulator: str, exported: Path, tmp_path: Path
) -> None:
    edit(exported, "backend", repositories=["api", "worker"])  # infra goes to the default
    apply_one_update(moved, http_emulator, exported, tmp_path)
    backend = next(p for p in moved.alert_policies(TEST_ORG) if p["name"] == "backend")
    slugs = {r["id"]: r["slug"] for r in moved.repositories(TEST_ORG)}
    assert sorted(slugs[i] for i in backend["repository_ids"]) == ["api", "worker"]


def test_a_repository_moved_from_the_default_policy_is_one_update_sent_once(
    moved: Emulator, http_emulator: str, exported: Path, tmp_path: Path
) -> None:
    edit(exported, "frontend", repositories=["web"])  # web leaves the default policy
    apply_one_update(moved, http_emulator, exported, tmp_path)
    frontend = next(p for p in moved.alert_policies(TEST_ORG) if p["name"] == "frontend")
    slugs = {r["id"]: r["slug"] for r in moved.repositories(TEST_ORG)}
    assert [slugs[i] for i in frontend["repository_ids"]] == ["web"]


def test_a_baseline_change_is_one_update_sent_once(
    moved: Emulator, http_emulator: str, exported: Path, tmp_path: Path
) -> None:
    edit(exported, "default", baseline="comprehensive")
    apply_one_update(moved, http_emulator, exported, tmp_path)
    default = moved.alert_policies(TEST_ORG)[0]
    assert default["name"] is None and default["baseline"] == "comprehensive"
