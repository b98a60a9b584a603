"""``socket-triage validate`` through the real CLI: exit codes, stdout and stderr."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest
from click.testing import CliRunner

from reconciler.cli import cli
from reconciler.commands import validate
from reconciler.errors import ConfigError
from reconciler.rules.model import utc_today
from reconciler.rules.textcheck import MISSING_NOTE

ROOT = Path(__file__).resolve().parent.parent


@pytest.fixture(autouse=True)
def _in_repo(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(ROOT)


def invoke(*args: str) -> tuple[int, str, str]:
    result = CliRunner().invoke(cli, ["validate", *args])
    return result.exit_code, result.stdout, result.stderr


def test_examples_are_valid() -> None:
    assert invoke("examples/triage") == (0, "OK: 15 rules for 1 org in 4 files.\n", "")


@pytest.mark.parametrize(
    ("args", "stderr"),
    [
        (
            ["tests/fixtures/bad-state.yaml"],
            "tests/fixtures/bad-state.yaml:4:12: error: state: 'ignor' is not one of block, warn, "
            "monitor, ignore, inherit (did you mean 'ignore'?)\n1 error; nothing was sent.\n",
        ),
        (
            ["no/such/dir/"],
            "no/such/dir/: error: no such file or directory\n1 error; nothing was sent.\n",
        ),
        (
            ["tests/fixtures/bad-broad.yaml", "tests/fixtures/bad-empty.yaml"],
            "tests/fixtures/bad-broad.yaml:3:5: error: broad rule: no alert_key and no "
            "package_name, so it applies across packages; add 'broad: true' to confirm\n"
            "tests/fixtures/bad-empty.yaml:1:1: error: empty rule file\n"
            "2 errors; nothing was sent.\n",
        ),
    ],
)
def test_errors_exit_1_with_one_line_each(args: list[str], stderr: str) -> None:
    assert invoke(*args) == (1, "", stderr)


def test_every_fixture_fails_cleanly_through_the_cli() -> None:
    for path in sorted((ROOT / "tests/fixtures").glob("bad-*.yaml")):
        code, stdout, stderr = invoke(str(path.relative_to(ROOT)))
        assert (code, stdout) == (1, ""), path
        assert "Traceback" not in stderr and "internal error" not in stderr


def test_warnings_go_to_stderr_and_exit_0(tmp_path: Path) -> None:
    soon = utc_today() + dt.timedelta(days=3)  # the code judges expiry in UTC; so must we
    (tmp_path / "w.yaml").write_text(
        "org: acme\nrules:\n"
        "  - {package_name: a, alert_type: highCVE, state: ignore, note: n}\n"
        f"  - {{package_name: b, state: ignore, note: n, expires: {soon}}}\n"
    )
    code, stdout, stderr = invoke(str(tmp_path))
    assert (code, stdout) == (0, "OK: 2 rules for 1 org in 1 file.\n")
    assert stderr.splitlines() == [
        f"{tmp_path}/w.yaml:3:35: warning: alert_type: 'highCVE' is not a known Socket alert "
        "type (did you mean 'cve'?)",
        f"{tmp_path}/w.yaml:4:5: warning: rule expires on {soon} (in 3 days)",
    ]


def test_run_uses_the_given_day_and_lets_errors_propagate(
    capsys: pytest.CaptureFixture[str],
) -> None:
    assert validate.run(["examples/triage/go.yaml"], today=dt.date(2027, 6, 20)) == 0
    out, err = capsys.readouterr()
    assert out == "OK: 2 rules for 1 org in 1 file.\n"
    assert err == "examples/triage/go.yaml:7:5: warning: rule expires on 2027-06-30 (in 10 days)\n"
    with pytest.raises(ConfigError):
        validate.run(["tests/fixtures/bad-cvss.yaml"])


def _placeholder_file(tmp_path: Path, expires: dt.date) -> Path:
    (tmp_path / "w.yaml").write_text(
        "org: acme\nrules:\n"
        f"  - {{package_name: a, state: ignore, note: '{MISSING_NOTE}'}}\n"
        f"  - {{package_name: b, state: ignore, note: n, expires: {expires}}}\n"
    )
    return tmp_path / "w.yaml"


def test_strict_fails_on_the_export_placeholder_as_an_error(tmp_path: Path) -> None:
    soon = utc_today() + dt.timedelta(days=3)
    path = _placeholder_file(tmp_path, soon)
    todo = "note: still the TODO placeholder from export; say why this rule exists"
    expiry = f"{path}:4:5: warning: rule expires on {soon} (in 3 days)"
    assert invoke(str(path)) == (
        0,
        "OK: 2 rules for 1 org in 1 file.\n",
        f"{path}:3:44: warning: {todo}\n{expiry}\n",
    )
    assert invoke("--strict", str(path)) == (
        1,
        "",
        f"{path}:3:44: error: {todo}\n{expiry}\n1 error; nothing was sent.\n",
    )


def test_strict_lets_expiry_warnings_pass(tmp_path: Path) -> None:
    soon = utc_today() + dt.timedelta(days=3)
    (tmp_path / "w.yaml").write_text(
        f"org: acme\nrules:\n  - {{package_name: b, state: ignore, note: n, expires: {soon}}}\n"
    )
    code, stdout, stderr = invoke("--strict", str(tmp_path))
    assert (code, stdout) == (0, "OK: 1 rule for 1 org in 1 file.\n")
    assert stderr == f"{tmp_path}/w.yaml:3:5: warning: rule expires on {soon} (in 3 days)\n"


@pytest.mark.parametrize("fmt", ["json", "github"])
def test_strict_fails_in_every_format(tmp_path: Path, fmt: str) -> None:
    path = _placeholder_file(tmp_path, utc_today() + dt.timedelta(days=300))
    assert invoke("--format", fmt, str(path))[0] == 0
    code, stdout, _ = invoke("--format", fmt, "--strict", str(path))
    assert code == 1
    assert ("::error file=" if fmt == "github" else '"severity": "error"') in stdout
    assert "1 error in the rule files." in stdout
