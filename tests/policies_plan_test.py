"""``plan`` for an org on Alert Policies, end to end through the CLI on the emulator (local:).

Creates, updates, deletes, moves and resolution replaces in text, JSON and Markdown; the
detailed exit code; saved plans; triage-style rules translated in place; translation refusals
at FILE:LINE with nothing written; and the preview before the move.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner, Result
from conftest import ALL_SCOPES_TOKEN, TEST_ORG, TRANSPORT_BASE_URL

from reconciler.cli import cli
from reconciler.emulator import Emulator, EmulatorTransport, embedded
from reconciler.errors import ConfigError
from reconciler.http.client import HttpClient
from reconciler.policies.client import PoliciesClient
from reconciler.policies.orgs import desired_state
from reconciler.policies.plan import PolicyPlan
from reconciler.policies.snapshot import read_snapshot
from reconciler.rules import loader
from reconciler.rules.model import utc_today
from reconciler.wiring import read_plan


def run(*args: str) -> Result:
    return CliRunner().invoke(cli, list(args), env={"NO_COLOR": "1"})


def sel(alert: str) -> dict[str, str]:
    return {"finding.alertType": alert}


def rule(name: str, alert: str, action: str, note: str = "why") -> dict[str, Any]:
    return {"name": name, "vigil_selector": sel(alert), "action": action, "note": note}


@pytest.fixture
def db(tmp_path: Path) -> Iterator[Path]:
    """An emulator database with org acme moved to Alert Policies and some live state."""
    path = tmp_path / "state.db"
    emulator = Emulator(str(path))
    emulator.add_org(TEST_ORG)
    emulator.set_migration_state(TEST_ORG, "accepted")
    emulator.seed_policy_rules(
        TEST_ORG,
        [
            rule("a", "cve", "warn"),
            rule("b", "malware", "error"),
            rule("c", "mediumCVE", "monitor"),
            rule("old", "mildCVE", "ignore"),
        ],
    )
    emulator.seed_resolutions(
        TEST_ORG,
        [
            {"reason": "other", "vigil_selector": {"artifact.name": "r1"}, "comment": "old"},
            {"reason": "other", "vigil_selector": {"artifact.name": "gone"}},
        ],
    )
    emulator.close()
    yield path


def emulator_at(db: Path) -> Emulator:
    return Emulator(str(db))


FILES = """\
org: acme
policy_rules:
  - name: b
    vigil_selector: {finding.alertType: malware}
    action: error
    note: why
  - name: a
    vigil_selector: {finding.alertType: cve}
    action: ignore
    note: why
  - name: new
    vigil_selector: {finding.alertType: criticalCVE}
    action: error
    note: block them
  - name: c
    vigil_selector: {finding.alertType: mediumCVE}
    action: monitor
    note: why
resolutions:
  - vigil_selector: {artifact.name: r1}
    reason: false_positive
    comment: old
  - vigil_selector: {artifact.name: r2}
    comment: new one
"""


@pytest.fixture
def files(tmp_path: Path) -> Path:
    path = tmp_path / "acme.yaml"
    path.write_text(FILES)
    return path


def test_text_plan_shows_every_kind_of_change(files: Path, db: Path) -> None:
    result = run("plan", str(files), "--api-url", f"local:{db}", "--detailed-exitcode")
    assert result.exit_code == 2, result.output
    out = result.stdout
    assert "  ↕ rule a: finding.alertType=cve  [" in out
    assert "      position 1 → 2, after 'b' in policy default" in out
    assert "  ~ rule a: finding.alertType=cve  [" in out
    assert '      action: "warn" → "ignore"' in out
    assert "  + rule new: finding.alertType=criticalCVE" in out
    assert "      position 3, after 'a' in policy default" in out
    assert "  - rule old: finding.alertType=mildCVE  [" in out
    assert "      reason: not in files" in out
    assert "  -/+ resolution artifact.name=r1  [" in out
    assert '      reason: "other" → "false_positive"' in out
    assert "  + resolution artifact.name=r2" in out
    assert "  - resolution artifact.name=gone  [" in out
    assert out.rstrip().endswith(
        "Plan: 2 to create, 1 to update, 1 to move, 1 to replace, 2 to delete, 2 unchanged."
    )


def test_json_and_markdown_carry_the_same_changes(files: Path, db: Path) -> None:
    doc = json.loads(run("plan", str(files), "--api-url", f"local:{db}", "--format", "json").stdout)
    (org,) = doc["orgs"]
    assert org["target"] == "alert-policies"
    assert org["summary"] == {
        "create": 2,
        "update": 1,
        "replace": 1,
        "move": 1,
        "delete": 2,
        "unchanged": 2,
        "expired": 0,
    }
    moves = [c for c in org["changes"] if c["action"] == "move"]
    assert [(c["name"], c["from"], c["to"], c["placement"]["after"]) for c in moves] == [
        ("a", 1, 2, "b")
    ]
    markdown = run("plan", str(files), "--api-url", f"local:{db}", "--format", "markdown").stdout
    assert "| ↕ move | `rule a: finding.alertType=cve` |" in markdown
    assert "`position 1 → 2, after 'b'`" in markdown
    assert "| -/+ replace | `resolution artifact.name=r1` | reason: `other` → `false_positive`" in (
        markdown
    )
    assert (
        "acme: Plan: 2 to create, 1 to update, 1 to move, 1 to replace, 2 to delete, 2 unchanged."
        in markdown
    )


def test_apply_then_plan_has_no_changes(files: Path, db: Path) -> None:
    local = f"local:{db}"
    applied = run("apply", str(files), "--api-url", local, "--yes")
    assert applied.exit_code == 0, applied.output
    again = run("plan", str(files), "--api-url", local, "--detailed-exitcode")
    assert again.exit_code == 0, again.output
    assert "Plan: 0 to create, 0 to update, 0 to move, 0 to replace, 0 to delete, 6 unchanged." in (
        again.stdout
    )
    emulator = emulator_at(db)
    assert [r["name"] for r in emulator.policy_rules(TEST_ORG)] == ["b", "a", "new", "c"]
    emulator.close()


def test_a_saved_plan_is_a_policies_plan_whose_fingerprint_covers_order(
    files: Path, db: Path, tmp_path: Path
) -> None:
    saved = tmp_path / "plan.json"
    assert run("plan", str(files), "--api-url", f"local:{db}", "--out", str(saved)).exit_code == 0
    data = json.loads(saved.read_text())
    assert data["orgs"][0]["target"] == "alert-policies"
    plan = read_plan(data)
    (policy_plan,) = plan.orgs
    assert isinstance(policy_plan, PolicyPlan)
    assert policy_plan.summary()["move"] == 1
    assert policy_plan.choice is not None and policy_plan.choice.target == "alert-policies"
    emulator = embedded(str(db))  # as local: opens it: no token needed
    client = PoliciesClient(
        HttpClient(TRANSPORT_BASE_URL, None, transport=EmulatorTransport(emulator))
    )
    before = read_snapshot(client, TEST_ORG).fingerprint
    assert before == policy_plan.fingerprint
    first, second, *_ = emulator.policy_rules(TEST_ORG)
    client.update_rule(TEST_ORG, "default", second["id"], {"before_rule_id": first["id"]})
    assert read_snapshot(client, TEST_ORG).fingerprint != before  # only the order changed
    emulator.close()


MIXED = """\
org: acme
target: alert-policies
rules:
  - package_type: npm
    package_name: lodash
    state: ignore
    note: build only
policy_rules:
  - name: block malware
    vigil_selector: {finding.alertType: malware}
    action: error
"""
MORE = """\
org: acme
rules:
  - package_type: npm
    package_name: left-pad
    alert_type: cve
    state: warn
    note: watch it
"""


def test_triage_style_rules_are_translated_in_place_in_file_order(tmp_path: Path, db: Path) -> None:
    (tmp_path / "a.yaml").write_text(MIXED)
    (tmp_path / "b.yaml").write_text(MORE)
    doc = json.loads(
        run("plan", str(tmp_path / "a.yaml"), str(tmp_path / "b.yaml"), "--api-url",
            f"local:{db}", "--format", "json").stdout
    )  # fmt: skip
    placed = [
        (c["name"], c["to"], c["after"]["source"])
        for c in doc["orgs"][0]["changes"]
        if c["action"] == "create"
    ]
    assert placed == [
        ("any alert in npm/lodash", 1, f"{tmp_path}/a.yaml:4:5"),
        ("block malware", 2, f"{tmp_path}/a.yaml:9:5"),
        ("cve in npm/left-pad", 3, f"{tmp_path}/b.yaml:3:5"),
    ]


UNTRANSLATABLE = """\
org: acme
target: alert-policies
rules:
  - package_type: npm
    package_name: lodash
    state: ignore
    note: build only
  - alert_key: abc123
    state: ignore
    note: one alert
  - package_type: npm
    package_name: x
    state: inherit
    note: the baseline decides
"""


def test_untranslatable_rules_are_errors_at_their_line_and_nothing_is_written(
    tmp_path: Path, db: Path
) -> None:
    path = tmp_path / "acme.yaml"
    path.write_text(UNTRANSLATABLE)
    emulator = emulator_at(db)
    before = emulator.policy_rules(TEST_ORG)
    emulator.close()
    for command in (["plan"], ["apply", "--yes"]):
        result = run(*command, str(path), "--api-url", f"local:{db}")
        assert result.exit_code == 1, result.output
        assert result.stderr.splitlines() == [
            f"{path}:8:5: error: rule */* alert_key=abc123 (state ignore) cannot be translated for "
            "Alert Policies: alert_key_not_translatable: Alert keys have no selector. Create an "
            "alert resolution for that finding instead.",
            f"{path}:11:5: error: rule npm/x (state inherit) cannot be translated for Alert "
            "Policies: "
            "inherit_not_translatable: An inherit entry needs no rule: the policy's baseline "
            "preset decides. Drop it.",
            "2 errors; nothing was sent.",
        ]
    emulator = emulator_at(db)
    assert emulator.policy_rules(TEST_ORG) == before
    assert emulator.counters()["policy_rules"]["created"] == 0
    emulator.close()


def write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "acme.yaml"
    path.write_text(text)
    return path


def test_a_translated_note_that_leaves_no_room_for_the_trailer_is_an_error(
    tmp_path: Path, db: Path
) -> None:
    note = "n" * 230
    path = write(
        tmp_path,
        f"org: acme\ntarget: alert-policies\nrules:\n  - package_type: npm\n"
        f"    package_name: lodash\n    state: warn\n    note: {note}\n",
    )
    result = run("plan", str(path), "--api-url", f"local:{db}")
    assert result.exit_code == 1
    assert result.stderr.splitlines()[0] == (
        f"{path}:4:5: error: note is 230 characters: as an Alert Policies rule note it must fit "
        "in 256 with socket-triage's provenance trailer, so at most 222; shorten it"
    )


def test_a_translated_note_is_counted_in_utf16_code_units(tmp_path: Path, db: Path) -> None:
    note = "\U0001f642" * 112  # 112 characters, 224 UTF-16 code units
    path = write(
        tmp_path,
        f"org: acme\ntarget: alert-policies\nrules:\n  - package_type: npm\n"
        f"    package_name: lodash\n    state: warn\n    note: {note}\n",
    )
    result = run("plan", str(path), "--api-url", f"local:{db}")
    assert result.exit_code == 1
    assert result.stderr.splitlines()[0] == (
        f"{path}:4:5: error: note is 224 characters (UTF-16 code units, as the server may count "
        "them; 112 as written): as an Alert Policies rule note it must fit in 256 with "
        "socket-triage's provenance trailer, so at most 222; shorten it"
    )


def test_a_translated_name_that_a_native_rule_already_uses_is_an_error(
    tmp_path: Path, db: Path
) -> None:
    path = write(
        tmp_path,
        "org: acme\ntarget: alert-policies\npolicy_rules:\n"
        "  - name: any alert in npm/lodash\n    vigil_selector: {artifact.name: lodash}\n"
        "    action: warn\n"
        "rules:\n  - package_type: npm\n    package_name: lodash\n    state: ignore\n"
        "    note: build only\n",
    )
    result = run("plan", str(path), "--api-url", f"local:{db}")
    assert result.exit_code == 1
    assert result.stderr.splitlines()[0] == (
        f"{path}:8:5: error: name 'any alert in npm/lodash' is already used in policy default by "
        f"the rule at {path}:4:5: names identify rules, so each must be unique per policy"
    )


def test_translation_goes_in_batches_of_100(tmp_path: Path, emulator: Emulator) -> None:
    lines = ["org: acme", "target: alert-policies", "rules:"]
    for i in range(150):
        lines += [
            "  - package_type: npm",
            f"    package_name: p{i}",
            "    state: warn",
            "    note: why",
        ]
    path = write(tmp_path, "\n".join(lines) + "\n")
    org_rules = loader.load([str(path)]).orgs[TEST_ORG]
    http = HttpClient(TRANSPORT_BASE_URL, ALL_SCOPES_TOKEN, transport=EmulatorTransport(emulator))
    desired = desired_state(PoliciesClient(http), org_rules, utc_today())
    assert http.calls["POST"] == 2
    assert [r.name for r in desired.rules] == [f"any alert in npm/p{i}" for i in range(150)]
    assert desired.rules[149].location is not None and desired.rules[149].location.line == 600


def test_translated_rules_keep_owner_ticket_and_expiry(tmp_path: Path, emulator: Emulator) -> None:
    path = write(
        tmp_path,
        "org: acme\ntarget: alert-policies\nrules:\n  - package_type: npm\n"
        "    package_name: lodash\n    state: ignore\n    note: build only\n"
        "    owner: web\n    ticket: SEC-9\n",
    )
    org_rules = loader.load([str(path)]).orgs[TEST_ORG]
    http = HttpClient(TRANSPORT_BASE_URL, ALL_SCOPES_TOKEN, transport=EmulatorTransport(emulator))
    (translated,) = desired_state(PoliciesClient(http), org_rules, utc_today()).rules
    assert (translated.owner, translated.ticket, translated.note) == ("web", "SEC-9", "build only")


def test_shadowing_through_a_translation_is_a_plan_warning(tmp_path: Path, db: Path) -> None:
    path = write(
        tmp_path,
        "org: acme\ntarget: alert-policies\nprune: false\npolicy_rules:\n"
        "  - name: all of npm\n    vigil_selector: {artifact.type: npm}\n    action: warn\n"
        "rules:\n  - package_type: npm\n    package_name: lodash\n    state: ignore\n"
        "    note: build only\n",
    )
    result = run("plan", str(path), "--api-url", f"local:{db}")
    assert result.exit_code == 0, result.output
    assert (
        f"  ! rule 'any alert in npm/lodash' can never match: rule 'all of npm' at {path}:5:5 "
        "comes first"
    ) in result.stdout


def test_preview_before_the_move_writes_nothing(tmp_path: Path) -> None:
    db = tmp_path / "pending.db"
    emulator = Emulator(str(db))
    emulator.add_org(TEST_ORG)
    emulator.set_migration_state(TEST_ORG, "pending")
    emulator.seed_rules(TEST_ORG, [{"package_type": "npm", "package_name": "lodash",
                                    "state": "ignore", "note": "build only"}])  # fmt: skip
    emulator.close()
    path = write(
        tmp_path,
        "org: acme\nrules:\n  - package_type: npm\n    package_name: lodash\n"
        "    state: ignore\n    note: build only\n",
    )
    natural = run("plan", str(path), "--api-url", f"local:{db}", "--detailed-exitcode")
    assert natural.exit_code == 0, natural.output  # legacy triage: nothing to do
    preview = run(
        "plan", str(path), "--api-url", f"local:{db}", "--target", "alert-policies",
        "--detailed-exitcode",
    )  # fmt: skip
    assert preview.exit_code == 2, preview.output
    assert preview.stdout.splitlines()[1].startswith(
        "  target: alert-policies (--target alert-policies on the command line (a preview: "
        "without it, triage, as the org still evaluates legacy triage (migration state pending))"
    )
    assert "  + rule any alert in npm/lodash: artifact.name=lodash artifact.type=npm" in (
        preview.stdout
    )
    emulator = Emulator(str(db))
    assert emulator.policy_rules(TEST_ORG) == []
    emulator.close()


def test_desired_state_refuses_before_listing_the_org(tmp_path: Path, emulator: Emulator) -> None:
    path = write(tmp_path, UNTRANSLATABLE)
    org_rules = loader.load([str(path)]).orgs[TEST_ORG]
    http = HttpClient(TRANSPORT_BASE_URL, ALL_SCOPES_TOKEN, transport=EmulatorTransport(emulator))
    with pytest.raises(ConfigError):
        desired_state(PoliciesClient(http), org_rules, utc_today())
    assert dict(http.calls) == {"POST": 1}  # the translate call, and no read of the policies
