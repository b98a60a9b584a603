"""Expiry is its own thing: plan counts it apart, ``--detailed-exitcode`` exits 4 when it is all
there is, and ``expiring`` lists what is about to lapse. Also ``validate --format``."""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path

import pytest
from click.testing import CliRunner, Result

from reconciler.cli import cli
from reconciler.commands import expiring
from reconciler.exits import EXIT_CHANGES, EXIT_ERROR, EXIT_EXPIRED, EXIT_OK

TODAY = dt.date.today()
PAST = (TODAY - dt.timedelta(days=3)).isoformat()
SOON = (TODAY + dt.timedelta(days=10)).isoformat()
LATER = (TODAY + dt.timedelta(days=400)).isoformat()


def run(*args: str) -> Result:
    return CliRunner().invoke(cli, list(args), catch_exceptions=False)


def write(path: Path, rules: list[tuple[str, str | None]]) -> Path:
    lines = ["org: acme", "rules:"]
    for name, expires in rules:
        lines += [f"  - package: pkg:npm/{name}", "    state: ignore", f"    note: why {name}"]
        lines += [f"    expires: {expires}", "    owner: web"] if expires else []
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


@pytest.fixture
def applied(tmp_path: Path) -> tuple[Path, str]:
    """Four rules applied to an emulator org; returns (rule file, --api-url)."""
    rules = write(tmp_path / "acme.yaml", [(n, None) for n in ("a", "b", "c", "d")])
    api = f"local:{tmp_path / 'db.sqlite'}"
    assert run("apply", str(rules), "--api-url", api, "--yes").exit_code == EXIT_OK
    return rules, api


def test_expiry_alone_exits_4_and_is_counted_apart(applied: tuple[Path, str]) -> None:
    rules, api = applied
    write(rules, [("a", PAST), ("b", None), ("c", None), ("d", None)])
    result = run("plan", str(rules), "--api-url", api, "--detailed-exitcode")
    assert result.exit_code == EXIT_EXPIRED
    assert "Plan: 0 to create, 0 to update, 1 to delete (1 expired), 3 unchanged." in result.stdout
    doc = json.loads(run("plan", str(rules), "--api-url", api, "--format", "json").stdout)
    assert doc["orgs"][0]["summary"]["expired"] == 1
    markdown = run("plan", str(rules), "--api-url", api, "--format", "markdown").stdout
    assert "| acme | 0 | 0 | 1 (1 expired) | 3 |" in markdown
    assert "**Expired:** 1 of the deletes is a rule whose `expires` date has passed" in markdown


def test_drift_beside_expiry_exits_2(applied: tuple[Path, str]) -> None:
    rules, api = applied
    write(rules, [("a", PAST), ("b", None), ("c", None), ("e", None)])
    result = run("plan", str(rules), "--api-url", api, "--detailed-exitcode")
    assert result.exit_code == EXIT_CHANGES
    assert "3 to delete" not in result.stdout


def test_no_changes_exit_0_and_no_expired_note(applied: tuple[Path, str]) -> None:
    rules, api = applied
    result = run(
        "plan", str(rules), "--api-url", api, "--detailed-exitcode", "--format", "markdown"
    )
    assert result.exit_code == EXIT_OK
    assert "Expired" not in result.stdout


def test_expiring_lists_soonest_first_with_expired_ones(tmp_path: Path) -> None:
    rules = write(
        tmp_path / "a.yaml", [("later", LATER), ("soon", SOON), ("gone", PAST), ("x", None)]
    )
    result = run("expiring", str(rules), "--within", "30", "--detailed-exitcode")
    assert result.exit_code == EXIT_CHANGES
    lines = result.stdout.splitlines()
    assert lines[0].startswith(f"acme  npm/gone  ignore  expired {PAST} (apply removes it)")
    assert lines[1].startswith(f"acme  npm/soon  ignore  expires {SOON} (in 10 days)  owner: web")
    assert lines[-1] == "2 rules expiring within 30 days (1 already expired)."
    doc = json.loads(run("expiring", str(rules), "--format", "json", "--within", "500").stdout)
    assert [(r["label"], r["days_left"]) for r in doc["rules"]] == [
        ("npm/gone", -3),
        ("npm/soon", 10),
        ("npm/later", 400),
    ]


def test_expiring_with_nothing_due_exits_0(tmp_path: Path) -> None:
    rules = write(tmp_path / "a.yaml", [("later", LATER)])
    result = run("expiring", str(rules), "--detailed-exitcode", "--format", "markdown")
    assert result.exit_code == EXIT_OK
    assert "No rule expires within 30 days." in result.stdout


def test_expiring_markdown_fits_an_issue_body(tmp_path: Path) -> None:
    rules = write(tmp_path / "a.yaml", [(f"p{i:05}", SOON) for i in range(3000)])
    body = run("expiring", str(rules), "--format", "markdown").stdout
    assert len(body.encode("utf-8")) <= 65_536
    kept = body.count("\n| `")
    assert f"showing {kept:,} of 3,000 rules" in body


def test_expiring_run_takes_today(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    rules = write(tmp_path / "a.yaml", [("x", "2030-01-10")])
    status = expiring.run(
        [str(rules)], within=9, fmt="text", detailed_exitcode=True, today=dt.date(2030, 1, 1)
    )
    assert status == EXIT_CHANGES
    assert "expires 2030-01-10 (in 9 days)" in capsys.readouterr().out


BAD = "org: acme\nrules:\n  - package: pkg:npm/x\n    state: nope\n    note: n\n"


def test_validate_github_annotates_each_error(tmp_path: Path) -> None:
    bad = tmp_path / "a,b:c.yaml"
    bad.write_text(BAD, encoding="utf-8")
    result = run("validate", str(bad), "--format", "github")
    assert result.exit_code == EXIT_ERROR
    escaped = str(bad).replace(",", "%2C").replace(":", "%3A")
    assert result.stdout.startswith(f"::error file={escaped},line=4,col=12::state: 'nope'")
    assert result.stdout.rstrip().endswith("1 error in the rule files.")


def test_validate_json_lists_errors_and_warnings(tmp_path: Path) -> None:
    (tmp_path / "bad.yaml").write_text(BAD, encoding="utf-8")
    doc = json.loads(run("validate", str(tmp_path), "--format", "json").stdout)
    assert doc["ok"] is False
    assert [(e["line"], e["column"]) for e in doc["errors"]] == [(4, 12)]
    good = write(tmp_path / "bad.yaml", [("x", SOON)])
    result = run("validate", str(good), "--format", "json")
    assert (result.exit_code, json.loads(result.stdout)["ok"]) == (EXIT_OK, True)
    assert json.loads(result.stdout)["warnings"][0]["severity"] == "warning"


def test_validate_github_with_a_missing_path_names_the_file_only(tmp_path: Path) -> None:
    result = run("validate", str(tmp_path / "nope"), "--format", "github")
    assert result.exit_code == EXIT_ERROR
    assert result.stdout.startswith(f"::error file={tmp_path / 'nope'}::")
