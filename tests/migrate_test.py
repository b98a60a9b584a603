"""``socket-triage migrate`` end to end on the emulator: legacy rules (from the org or from
files) -> native rule files that validate -> the org moves -> apply -> plan shows no changes."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import yaml
from click.testing import CliRunner, Result
from conftest import TEST_ORG

from reconciler.cli import cli
from reconciler.emulator import Emulator
from reconciler.policies.migrate import Legacy, Migration, _unique, most_specific_first
from reconciler.rules import loader
from reconciler.vocab.triage.selector import Selector

LEGACY: list[dict[str, Any]] = [
    {"package_type": "npm", "package_name": "lodash", "state": "ignore", "note": "build only"},
    {"package_type": "npm", "alert_type": "criticalCVE", "state": "block", "note": "no critical"},
    {
        "package_type": "npm",
        "package_name": "left-pad",
        "package_version": "1.0.0",
        "state": "ignore",
        "note": "one version",
    },
    {"alert_key": "abc", "state": "ignore", "note": "one alert"},
    {"package_type": "npm", "package_name": "x", "state": "inherit", "note": "baseline"},
    {
        "package_type": "npm",
        "package_name": "lodash",
        "alert_type": "cve",
        "state": "warn",
        "note": "the specific one",
    },
]


def run(*args: str) -> Result:
    return CliRunner().invoke(cli, list(args), env={"NO_COLOR": "1"})


@pytest.fixture
def db(tmp_path: Path) -> Path:
    path = tmp_path / "state.db"
    emulator = Emulator(str(path))
    emulator.add_org(TEST_ORG)
    emulator.seed_rules(TEST_ORG, LEGACY)
    emulator.close()
    return path


def move(db: Path) -> None:
    emulator = Emulator(str(db))
    emulator.set_migration_state(TEST_ORG, "accepted")
    emulator.close()


def migrate(db: Path, out: Path, *paths: str, code: int = 1) -> Result:
    """Run migrate; it exits 1 (files written) when a rule that decides alerts was left out, as
    the alert_key rule of ``LEGACY`` and ``FILES`` is (Socket cannot translate it)."""
    result = run(
        "migrate", "--org", TEST_ORG, "--out", str(out), "--api-url", f"local:{db}", *paths
    )
    assert result.exit_code == code, result.output
    return result


def test_migrate_from_the_org_writes_files_that_validate(db: Path, tmp_path: Path) -> None:
    out = tmp_path / "out"
    result = migrate(db, out)
    assert result.stdout == (
        f"Wrote 3 policy rules and 1 resolution of org acme to {out}/acme.yaml; 2 legacy rules "
        f"could not be translated; see {out}/acme-migration.md.\n"
    )
    text = (out / "acme.yaml").read_text()
    assert text.startswith("# yaml-language-server: $schema=https://")
    emulator = Emulator(str(db))
    uuids = {r["alert_key"] or r["package_name"]: r["uuid"] for r in emulator.rules(TEST_ORG)}
    emulator.close()
    # The inherit rule decides nothing (the baseline does); the alert_key one ignored an alert.
    assert result.stderr == (
        f"error: {out}/acme.yaml leaves out 1 legacy rule deciding alerts: uuid {uuids['abc']} "
        "(*/* alert_key=abc, state ignore: alert_key_not_translatable); write them by hand "
        f"(see {out}/acme-migration.md) before the move\n"
    )
    org = loader.load([str(out)]).orgs[TEST_ORG]  # validates, or raises ConfigError
    assert org.target == "alert-policies"
    # Most specific first: three selector fields, then two (in the org's order).
    assert [(r.name, r.action, r.note) for r in org.policy_rules] == [
        ("cve in npm/lodash", "warn", "the specific one"),
        ("any alert in npm/lodash", "ignore", "build only"),
        ("criticalCVE in npm", "error", "no critical"),
    ]
    (resolution,) = org.resolutions
    assert resolution.comment == "one version"
    summary = (out / "acme-migration.md").read_text()
    assert (
        f"| `*/* alert_key=abc (state ignore)` | `uuid {uuids['abc']}` | "
        "`alert_key_not_translatable` | `Alert keys have no selector." in summary
    )
    assert f"| `npm/x (state inherit)` | `uuid {uuids['x']}` | `inherit_not_translatable` |" in (
        summary
    )


FILES = """\
org: acme
prune: false
rules:
  - package_type: npm
    package_name: lodash
    state: ignore
    note: build only
    owner: web-team
    ticket: SEC-12
  - package_type: npm
    alert_type: criticalCVE
    state: block
    note: {long}
    broad: true
  - package_type: npm
    package_name: old
    state: warn
    note: gone soon
    expires: "2020-01-01"
  - alert_key: abc
    state: ignore
    note: one alert
"""


def test_migrate_from_files_carries_notes_owner_ticket_and_places(db: Path, tmp_path: Path) -> None:
    source = tmp_path / "triage" / "acme.yaml"
    source.parent.mkdir()
    long_note = "l" * 240  # fits a legacy note (256), not a policy note with its trailer (222)
    source.write_text(FILES.format(long=long_note))
    out = tmp_path / "out"
    migrate(db, out, str(source))
    org = loader.load([str(out)]).orgs[TEST_ORG]
    assert org.prune is False
    first, second = org.policy_rules
    assert (first.name, first.owner, first.ticket) == (
        "any alert in npm/lodash",
        "web-team",
        "SEC-12",
    )
    assert len(second.note) == 222 and second.note.endswith("…")
    summary = (out / "acme-migration.md").read_text()
    assert f"- `{source}:10:5`: `{long_note}`" in summary  # the whole note, where it was
    assert f"| `*/* alert_key=abc (state ignore)` | `{source}:20:5` |" in summary
    assert "## Expired, left out (1)" in summary and f"- `{source}:15:5`: `npm/old`" in summary


def test_after_the_move_apply_converges_and_a_reorder_is_only_moves(
    db: Path, tmp_path: Path
) -> None:
    out = tmp_path / "out"
    migrate(db, out)
    assert run("validate", str(out)).exit_code == 0
    local = f"local:{db}"
    move(db)
    applied = run("apply", str(out), "--api-url", local, "--yes")
    assert applied.exit_code == 0, applied.output
    again = run("plan", str(out), "--api-url", local, "--detailed-exitcode")
    assert again.exit_code == 0, again.output
    # Reverse the rules in the file: the plan moves rules and creates or deletes nothing.
    path = out / "acme.yaml"
    document = yaml.safe_load(path.read_text())
    document["policy_rules"].reverse()
    path.write_text(yaml.safe_dump(document, sort_keys=False))
    reordered = run("plan", str(path), "--api-url", local, "--detailed-exitcode")
    assert reordered.exit_code == 2
    assert (
        "Plan: 0 to create, 0 to update, 2 to move, 0 to replace, 0 to delete, 2 unchanged."
        in reordered.stdout
    )
    assert run("apply", str(path), "--api-url", local, "--yes").exit_code == 0
    assert run("plan", str(path), "--api-url", local, "--detailed-exitcode").exit_code == 0
    emulator = Emulator(str(db))
    names = [r["name"] for r in emulator.policy_rules(TEST_ORG)]
    emulator.close()
    assert names == [r["name"] for r in document["policy_rules"]]


def test_an_out_that_is_a_file_fails_before_any_call(tmp_path: Path) -> None:
    blocker = tmp_path / "taken"
    blocker.write_text("")
    result = run("migrate", "--org", TEST_ORG, "--out", str(blocker), "--api-url", "local:")
    assert result.exit_code == 1
    assert "--out" in result.stderr


def test_most_specific_first_is_stable() -> None:
    items = [
        Legacy(Selector(alert_type="cve"), "warn", "", "broad"),
        Legacy(Selector(package_name="a", package_version="1.*"), "warn", "", "prefix"),
        Legacy(Selector(alert_type="x"), "warn", "", "broad-2"),
        Legacy(Selector(package_name="a", package_version="1.2.3"), "warn", "", "exact"),
    ]
    assert [i.origin for i in most_specific_first(items)] == ["exact", "prefix", "broad", "broad-2"]


def test_a_name_taken_gets_the_next_free_suffix() -> None:
    assert _unique("x", set()) == "x"
    assert _unique("x", {"x", "x (2)"}) == "x (3)"
    assert len(_unique("n" * 128, {"n" * 128})) == 128
    assert Migration().rules == []


def live_org(tmp_path: Path, rules: list[dict[str, Any]]) -> Path:
    path = tmp_path / "live.db"
    emulator = Emulator(str(path))
    emulator.add_org(TEST_ORG)
    emulator.seed_rules(TEST_ORG, rules)
    emulator.close()
    return path


def test_crlf_and_no_break_space_notes_are_carried_over(tmp_path: Path) -> None:
    db = live_org(
        tmp_path,
        [
            {
                "package_type": "npm",
                "alert_type": "malware",
                "state": "block",
                "note": "never ship malware\r\nsee SEC-1",
            },
            {
                "package_type": "npm",
                "package_name": "lodash",
                "state": "ignore",
                "note": "build\u00a0only\rreviewed",
            },
        ],
    )
    out = tmp_path / "out"
    result = migrate(db, out, code=0)
    assert "could not be translated" not in result.stdout
    org = loader.load([str(out)]).orgs[TEST_ORG]
    assert sorted((r.action, r.note) for r in org.policy_rules) == [
        ("error", "never ship malware\nsee SEC-1"),
        ("ignore", "build\u00a0only\nreviewed"),
    ]


def test_a_note_that_cannot_be_carried_over_fails_migrate(tmp_path: Path) -> None:
    db = live_org(
        tmp_path,
        [
            {
                "package_type": "npm",
                "alert_type": "malware",
                "state": "block",
                "note": "never \x1b[2Kship",
            }
        ],
    )
    out = tmp_path / "out"
    result = migrate(db, out)
    assert "state block: invalid_in_files" in result.stderr
    assert "note contains a control character" in (out / "acme-migration.md").read_text()


def test_duplicates_keep_the_strictest_and_are_named(tmp_path: Path) -> None:
    malware = {"package_type": "npm", "alert_type": "malware"}
    db = live_org(
        tmp_path,
        [
            {**malware, "state": "warn", "note": "older, weaker"},
            {**malware, "state": "block", "note": "newer, stricter"},
            {**malware, "state": "block", "note": "a copy"},
        ],
    )
    out = tmp_path / "out"
    emulator = Emulator(str(db))
    uuids = [r["uuid"] for r in emulator.rules(TEST_ORG)]
    emulator.close()
    result = migrate(db, out)  # the warn rule decided those alerts, and it is left out
    (rule,) = loader.load([str(out)]).orgs[TEST_ORG].policy_rules
    assert (rule.action, rule.note) == ("error", "newer, stricter")
    assert result.stderr == (
        f"error: {out}/acme.yaml leaves out 1 legacy rule deciding alerts: uuid {uuids[0]} "
        f"(npm/* alert_type=malware, state warn: a duplicate of uuid {uuids[1]}, state block, "
        f"which was kept); write them by hand (see {out}/acme-migration.md) before the move\n"
    )
    summary = (out / "acme-migration.md").read_text()
    assert "## Duplicates left out (2)" in summary
    assert f"- `uuid {uuids[0]}`: `state warn; kept uuid {uuids[1]}, state block`" in summary
    assert f"- `uuid {uuids[2]}`: `state block; kept uuid {uuids[1]}, state block`" in summary


def with_policy(db: Path) -> dict[str, Any]:
    """A named policy with a repository and two rules in the org ``db`` holds."""
    emulator = Emulator(str(db))
    (api,) = emulator.seed_repos(TEST_ORG, ["api"])
    policy = emulator.seed_policy(
        TEST_ORG, "backend", baseline="comprehensive", repository_ids=[api["id"]]
    )
    emulator.seed_policy_rules(
        TEST_ORG,
        [
            {"name": "block malware", "vigil_selector": {"finding.alertType": "malware"},
             "action": "error", "note": "never"},
            {"name": "warn typosquat", "vigil_selector": {"finding.alertType": "typosquat"},
             "action": "warn"},
        ],
        policy["id"],
    )  # fmt: skip
    emulator.close()
    return policy


def test_migrate_writes_the_live_policies_and_their_rules(db: Path, tmp_path: Path) -> None:
    with_policy(db)
    out = tmp_path / "out"
    migrate(db, out)  # exit 1: the alert_key rule, as above
    assert run("validate", str(out)).exit_code == 0
    org = loader.load([str(out)]).orgs[TEST_ORG]
    assert org.declares_policies is True
    assert [(p.name, p.baseline, p.repositories) for p in org.policies] == [
        ("default", "balanced", ()),
        ("backend", "comprehensive", ("api",)),
    ]
    # The translated legacy rules (the default policy) first, then the named policy's, in rank.
    assert [(r.policy, r.name) for r in org.policy_rules] == [
        ("default", "cve in npm/lodash"),
        ("default", "any alert in npm/lodash"),
        ("default", "criticalCVE in npm"),
        ("backend", "block malware"),
        ("backend", "warn typosquat"),
    ]
    summary = (out / "acme-migration.md").read_text()
    assert "## Policies (2)" in summary
    assert "The file declares the org's live policies (`policies:`)" in summary
    assert "- `backend`: baseline comprehensive; repositories: `api`" in summary


def test_a_files_rule_naming_a_live_policy_by_id_is_written_by_name(
    db: Path, tmp_path: Path
) -> None:
    policy = with_policy(db)
    source = tmp_path / "triage" / "acme.yaml"
    source.parent.mkdir()
    source.write_text(
        "org: acme\nrules:\n"
        "  - {package_type: npm, package_name: lodash, state: ignore, note: build only}\n"
        "policy_rules:\n"
        f"  - name: mine\n    policy: {policy['id']}\n"
        "    vigil_selector: {finding.alertType: cve}\n    action: warn\n"
    )
    out = tmp_path / "out"
    migrate(db, out, str(source), code=0)
    org = loader.load([str(out)]).orgs[TEST_ORG]
    # The files state the policy's rules: its live ones are not added beside them.
    assert [(r.policy, r.name) for r in org.policy_rules] == [
        ("backend", "mine"),
        ("default", "any alert in npm/lodash"),
    ]


def test_the_files_own_declaration_is_kept(db: Path, tmp_path: Path) -> None:
    with_policy(db)
    source = tmp_path / "triage" / "acme.yaml"
    source.parent.mkdir()
    source.write_text(
        "org: acme\npolicies:\n  - {name: default, baseline: essential}\n"
        "rules:\n  - {package_type: npm, package_name: lodash, state: ignore, note: build only}\n"
    )
    out = tmp_path / "out"
    migrate(db, out, str(source), code=0)
    org = loader.load([str(out)]).orgs[TEST_ORG]
    assert [(p.name, p.baseline) for p in org.policies] == [("default", "essential")]
    assert [r.policy for r in org.policy_rules] == ["default"]
    assert "The file declares the rule files' policies:" in (out / "acme-migration.md").read_text()


def test_a_live_rule_the_file_cannot_hold_fails_migrate(db: Path, tmp_path: Path) -> None:
    policy = with_policy(db)
    emulator = Emulator(str(db))
    (dup,) = emulator.seed_policy_rules(
        TEST_ORG,
        [{"name": "block malware", "vigil_selector": {"artifact.name": "x"}, "action": "warn"}],
        policy["id"],
    )
    first = emulator.policy_rules(TEST_ORG, policy["id"])[0]
    emulator.close()
    out = tmp_path / "out"
    result = migrate(db, out)
    assert (
        f"; rule 'block malware' (id {dup['id']}) of policy 'backend': rule id {first['id']} of "
        "the policy has its name, which identifies a rule; write them by hand" in result.stderr
    )
    assert "Left out of the live state (1):" in (out / "acme-migration.md").read_text()
    assert run("validate", str(out)).exit_code == 0


def test_a_token_that_may_not_list_policies_still_migrates(tmp_path: Path) -> None:
    """Translate accepts a triage token; listing policies needs alert-policy:list. Without it
    the file declares no policies (as before they were code) and the summary says why."""
    from conftest import TEST_TOKEN  # triage:alerts-list and triage:alerts-update only

    from reconciler.emulator import serve

    emulator = Emulator()
    emulator.add_org(TEST_ORG)
    emulator.add_token(TEST_TOKEN, TEST_ORG)
    emulator.seed_rules(TEST_ORG, LEGACY[:1])
    emulator.seed_policy(TEST_ORG, "backend", baseline="essential")
    out = tmp_path / "out"
    with serve(emulator) as url:
        result = CliRunner().invoke(
            cli,
            ["migrate", "--org", TEST_ORG, "--out", str(out), "--api-url", url],
            env={"NO_COLOR": "1", "SOCKET_API_TOKEN": TEST_TOKEN},
        )
    emulator.close()
    assert result.exit_code == 0, result.output
    assert result.stderr.startswith("warning: the org's policies could not be read (")
    org = loader.load([str(out)]).orgs[TEST_ORG]
    assert (org.declares_policies, len(org.policy_rules)) == (False, 1)
    assert (
        "Not written: the org's policies could not be read"
        in (out / "acme-migration.md").read_text()
    )


def test_a_migrated_org_with_policies_converges_after_the_move(db: Path, tmp_path: Path) -> None:
    with_policy(db)
    out = tmp_path / "out"
    migrate(db, out)
    move(db)
    local = f"local:{db}"
    applied = run("apply", str(out), "--api-url", local, "--yes")
    assert applied.exit_code == 0, applied.output
    again = run("plan", str(out), "--api-url", local, "--detailed-exitcode")
    assert again.exit_code == 0, again.output
    emulator = Emulator(str(db))
    (_, backend) = emulator.alert_policies(TEST_ORG)
    names = [r["name"] for r in emulator.policy_rules(TEST_ORG, backend["id"])]
    emulator.close()
    assert names == ["block malware", "warn typosquat"]  # the named policy kept its rules
