"""A token the server echoes in its data never reaches an output or a file.

The org's token planted in a live note (as sent, URL-encoded, base64 as basic auth sends it)
and in a policy rule's note, then every output: ``plan`` in each format and ``--out``, the PR
comment made from it, ``apply``'s report, ``export`` on stdout and to a file, and ``migrate``'s
two files. The token is not shaped like a Socket token, so only the exact-secret net can catch
it (the ``sktsec_`` pattern would hide a Socket-shaped one regardless).
"""

from __future__ import annotations

import base64
import re
from pathlib import Path
from urllib.parse import quote

import pytest
from click.testing import CliRunner, Result
from conftest import ALL_SCOPES, TEST_ORG

from reconciler.cli import cli
from reconciler.emulator import Emulator

TOKEN = "tok-Redact+Me/0123456789"
SPELLINGS = (
    TOKEN,
    quote(TOKEN, safe=""),
    base64.b64encode(f"{TOKEN}:".encode()).decode(),  # basic auth, the token as the user
    base64.urlsafe_b64encode(TOKEN.encode()).decode().rstrip("="),
)
# The files' notes differ, so that plan shows each live note (before -> after) in an update.
PACKAGES = (*(f"p{i}" for i in range(len(SPELLINGS))), "long")
RULES = "org: acme\nrules:\n" + "".join(
    f"  - package_type: npm\n    package_name: {name}\n    state: warn\n    note: reviewed\n"
    for name in PACKAGES
)


def run(url: str, *args: str) -> Result:
    env = {"NO_COLOR": "1", "SOCKET_API_TOKEN": TOKEN}
    return CliRunner().invoke(cli, [*args, "--api-url", url], env=env)


def leaks(text: str) -> list[str]:
    return [form for form in SPELLINGS if form in text]


@pytest.fixture
def seeded(emulator: Emulator) -> Emulator:
    emulator.add_token(TOKEN, TEST_ORG, ALL_SCOPES)
    notes = [f"pasted {form} by mistake" for form in SPELLINGS]
    notes.append("x" * 50 + TOKEN + "y" * 40)  # cut where it is shown, the token across the cut
    emulator.seed_rules(
        TEST_ORG,
        [
            {"package_type": "npm", "package_name": name, "state": "warn", "note": note}
            for name, note in zip(PACKAGES, notes, strict=True)
        ],
    )
    return emulator


@pytest.mark.parametrize("fmt", ["text", "json", "markdown"])
def test_plan_in_every_format_and_its_saved_plan_and_comment(
    seeded: Emulator, http_emulator: str, tmp_path: Path, fmt: str
) -> None:
    rules = tmp_path / "acme.yaml"
    rules.write_text(RULES)
    saved, comment = tmp_path / "plan.json", tmp_path / "comment.md"
    planned = run(http_emulator, "plan", str(rules), "--format", fmt, "--out", str(saved))
    assert planned.exit_code == 0, planned.output
    assert "sktsec_***" in planned.stdout
    assert leaks(planned.output) == []
    assert leaks(saved.read_text()) == []
    made = CliRunner().invoke(cli, ["comment", "--plan", str(saved), "--out", str(comment)])
    assert made.exit_code == 0, made.output
    assert leaks(comment.read_text()) == []


def test_apply_report(seeded: Emulator, http_emulator: str, tmp_path: Path) -> None:
    rules = tmp_path / "acme.yaml"
    rules.write_text(RULES)
    applied = run(http_emulator, "apply", str(rules), "--yes")
    assert applied.exit_code == 0, applied.output
    assert leaks(applied.output) == []


def test_export_to_stdout_and_to_a_file(
    seeded: Emulator, http_emulator: str, tmp_path: Path
) -> None:
    shown = run(http_emulator, "export", "--org", TEST_ORG)
    assert shown.exit_code == 0, shown.output
    assert leaks(shown.output) == []
    out = tmp_path / "acme.yaml"
    written = run(http_emulator, "export", "--org", TEST_ORG, "--out", str(out))
    assert written.exit_code == 0, written.output
    assert leaks(out.read_text()) == [] and "sktsec_***" in out.read_text()


def test_migrate_writes_no_token_into_its_files(
    seeded: Emulator, http_emulator: str, tmp_path: Path
) -> None:
    out = tmp_path / "out"
    done = run(http_emulator, "migrate", "--org", TEST_ORG, "--out", str(out))
    assert done.exit_code == 0, done.output
    for name in ("acme.yaml", "acme-migration.md"):
        text = (out / name).read_text()
        assert leaks(text) == [], name
    assert "pasted sktsec_*** by mistake" in (out / "acme.yaml").read_text()


def test_plan_on_alert_policies_hides_it_in_a_live_policy_rule(
    seeded: Emulator, http_emulator: str, tmp_path: Path
) -> None:
    seeded.set_migration_state(TEST_ORG, "accepted")
    seeded.seed_policy_rules(
        TEST_ORG,
        [
            {
                "name": "pasted",
                "vigil_selector": {"finding.alertType": "malware"},
                "action": "warn",
                "note": f"see {TOKEN}",
            }
        ],
    )
    rules = tmp_path / "acme.yaml"
    rules.write_text("org: acme\ntarget: alert-policies\npolicy_rules: []\n")
    for fmt in ("text", "json", "markdown"):
        planned = run(http_emulator, "plan", str(rules), "--format", fmt)
        assert planned.exit_code == 0, planned.output
        assert leaks(planned.output) == [], fmt


@pytest.mark.parametrize(
    ("flags", "env"),
    [(("--debug", "--debug"), {}), ((), {"SOCKET_TRIAGE_DEBUG": "2"})],
    ids=["flags", "environment"],
)
def test_the_debug_trace_never_holds_the_token(
    seeded: Emulator,
    http_emulator: str,
    tmp_path: Path,
    flags: tuple[str, ...],
    env: dict[str, str],
) -> None:
    rules = tmp_path / "acme.yaml"
    rules.write_text(RULES)
    environ = {"NO_COLOR": "1", "SOCKET_API_TOKEN": TOKEN, **env}
    args = [*flags, "apply", str(rules), "--yes", "--api-url", http_emulator]
    applied = CliRunner().invoke(cli, args, env=environ)
    assert applied.exit_code == 0, applied.output
    trace = applied.stderr
    assert leaks(trace) == []
    assert re.search(
        r"^debug: GET http://127\.0\.0\.1:\d+/v0/orgs/acme/triage/alerts\?", trace, re.M
    )
    assert re.search(r"-> 200 in \d+ ms \(attempt 1\)$", trace, re.M)
    assert "debug: request headers: " in trace and "authorization: <redacted>" in trace
    assert "debug: answer body: " in trace and "pasted sktsec_*** by mistake" in trace
    assert re.search(r"^debug: POST .* -> 20\d in", trace, re.M)
    assert "debug: request body: " in trace
