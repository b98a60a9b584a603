"""The evaluation order is the files' own: the order of PATHS on the command line is not.

Under Alert Policies file order is evaluation order, so two CI jobs that list the same
directories differently must plan the same org, not move its rules back and forth.
"""

from __future__ import annotations

from pathlib import Path

from click.testing import CliRunner, Result
from conftest import ALL_SCOPES_TOKEN, TEST_ORG

from reconciler.cli import cli
from reconciler.emulator import Emulator
from reconciler.rules import loader


def team(root: Path, name: str, alert: str) -> Path:
    directory = root / name
    directory.mkdir()
    (directory / "rules.yaml").write_text(
        "org: acme\ntarget: alert-policies\npolicy_rules:\n"
        f"  - name: {name} {alert}\n    vigil_selector: {{finding.alertType: {alert}}}\n"
        f"    action: warn\n    note: {name} reviews it\n"
    )
    return directory


def run(url: str, *args: str) -> Result:
    env = {"NO_COLOR": "1", "SOCKET_API_TOKEN": ALL_SCOPES_TOKEN}
    return CliRunner().invoke(cli, [*args, "--api-url", url], env=env)


def test_apply_a_b_then_plan_b_a_has_no_changes(
    emulator: Emulator, http_emulator: str, tmp_path: Path
) -> None:
    emulator.set_migration_state(TEST_ORG, "accepted")
    a, b = team(tmp_path, "team-a", "malware"), team(tmp_path, "team-b", "installScripts")
    applied = run(http_emulator, "apply", str(a), str(b), "--yes")
    assert applied.exit_code == 0, applied.output
    again = run(http_emulator, "plan", str(b), str(a), "--detailed-exitcode")
    assert again.exit_code == 0, again.output
    assert "0 to move" in again.stdout, again.stdout


def test_files_are_in_one_order_whatever_the_paths_order_or_spelling(tmp_path: Path) -> None:
    a, b = team(tmp_path, "team-a", "malware"), team(tmp_path, "team-b", "installScripts")
    orders = [
        loader.load([str(first), str(second)]).files
        for first, second in [(a, b), (b, a), (b, Path(f"{a}/./"))]
    ]
    real = [str(Path(f).resolve()) for f in orders[0]]
    assert real == [str(a / "rules.yaml"), str(b / "rules.yaml")]
    assert all([str(Path(f).resolve()) for f in files] == real for files in orders)
