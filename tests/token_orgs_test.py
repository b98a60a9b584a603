"""One run over several orgs, each with its own token (``SOCKET_API_TOKEN_<ORG>``).

The emulator binds every token to one org, as Socket does: another org's token gets a 404.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from click.testing import CliRunner, Result
from conftest import TEST_ORG, TEST_TOKEN, TRANSPORT_BASE_URL
from http_fakes import entry

from reconciler.api import TOKEN_ENV_VARS
from reconciler.cli import cli
from reconciler.emulator import Emulator, EmulatorTransport
from reconciler.errors import AuthError
from reconciler.http.connect import Credentials
from reconciler.triage.client import TriageClient
from reconciler.vocab.triage.wire import SCOPE_LIST

BETA = "beta-corp"
BETA_TOKEN = "sktsec_beta_corp_only_0123456789"
ACME_VAR, BETA_VAR = "SOCKET_API_TOKEN_ACME", "SOCKET_API_TOKEN_BETA_CORP"
RULE = """\
org: {org}
rules:
  - package_type: npm
    package_name: {package}
    state: ignore
    note: build only
"""


@pytest.fixture
def rules(tmp_path: Path, emulator: Emulator) -> Path:
    """Rule files for ``acme`` and ``beta-corp``; ``beta-corp`` exists with its own token."""
    emulator.add_token(BETA_TOKEN, BETA)
    emulator.seed_rules(BETA, [entry("made-in-the-dashboard")])
    for org, package in ((TEST_ORG, "lodash"), (BETA, "left-pad")):
        (tmp_path / f"{org}.yaml").write_text(RULE.format(org=org, package=package))
    return tmp_path


def run(*args: str, env: dict[str, str]) -> Result:
    clean: dict[str, str | None] = dict.fromkeys(TOKEN_ENV_VARS)  # whatever the shell has set
    return CliRunner().invoke(cli, list(args), env={**clean, "NO_COLOR": "1", **env})


@pytest.mark.parametrize(
    "env",
    [
        {ACME_VAR: TEST_TOKEN, BETA_VAR: BETA_TOKEN},
        {"SOCKET_API_TOKEN": TEST_TOKEN, BETA_VAR: BETA_TOKEN},  # the org's own one wins
        {"SOCKET_SECURITY_API_KEY": BETA_TOKEN, ACME_VAR: TEST_TOKEN},
    ],
)
def test_one_plan_over_two_orgs_uses_each_orgs_token(
    rules: Path, http_emulator: str, env: dict[str, str]
) -> None:
    result = run("plan", str(rules), "--api-url", http_emulator, env=env)
    assert result.exit_code == 0, result.output
    # Each org's plan opens with the API it was planned on (these tokens cannot read the
    # migration status: legacy triage); the changes follow.
    shown = "\n".join(line for line in result.output.splitlines() if "  target: " not in line)
    assert "Org acme (0 live rules):\n  + npm/lodash" in shown
    assert f"Org {BETA} (1 live rule):\n  + npm/left-pad" in shown  # read with its token
    assert result.output.count("Plan: 1 to create, 0 to update, 1 to delete") == 1
    assert TEST_TOKEN not in result.output and BETA_TOKEN not in result.output


def test_one_apply_over_two_orgs_writes_each_with_its_token(
    rules: Path, http_emulator: str, emulator: Emulator
) -> None:
    env = {ACME_VAR: TEST_TOKEN, BETA_VAR: BETA_TOKEN}
    args = ("apply", str(rules), "--api-url", http_emulator, "--yes", "--force")
    result = run(*args, env=env)
    assert result.exit_code == 0, result.output
    assert "Apply complete: 2 created, 0 updated, 1 deleted" in result.output
    with TriageClient(TRANSPORT_BASE_URL, BETA_TOKEN, transport=EmulatorTransport(emulator)) as c:
        assert [rule["package_name"] for rule in c.list_rules(BETA)] == ["left-pad"]


def test_the_generic_token_of_one_org_sent_to_another_names_the_variable_to_set(
    rules: Path, http_emulator: str
) -> None:
    result = run(
        "plan", str(rules), "--api-url", http_emulator, env={"SOCKET_API_TOKEN": TEST_TOKEN}
    )
    assert result.exit_code == 1
    (line,) = [line for line in result.output.splitlines() if line.startswith("error:")]
    assert (
        f"org '{BETA}' was not found, or the token from SOCKET_API_TOKEN belongs to another org "
        "(404)"
    ) in line
    assert f"set {BETA_VAR} to a token of org '{BETA}'" in line
    assert "it takes precedence over SOCKET_API_TOKEN" in line
    assert TEST_TOKEN not in result.output


def test_an_org_left_without_a_token_gets_the_401_wording_naming_its_variable(
    rules: Path, http_emulator: str
) -> None:
    # Loopback may run without auth, so beta-corp's calls go without a token and get 401.
    result = run("plan", str(rules), "--api-url", http_emulator, env={ACME_VAR: TEST_TOKEN})
    assert result.exit_code == 1
    (line,) = [line for line in result.output.splitlines() if line.startswith("error:")]
    assert f"the Socket API refused the token for org '{BETA}' (401)" in line
    assert f"set {BETA_VAR}, or one of {', '.join(TOKEN_ENV_VARS)}, to a valid token" in line


def test_a_refused_org_token_is_named_by_its_variable(
    rules: Path, http_emulator: str, emulator: Emulator
) -> None:
    emulator.add_token("sktsec_beta_list_only_01234", BETA, [SCOPE_LIST])
    env = {ACME_VAR: TEST_TOKEN, BETA_VAR: "sktsec_beta_list_only_01234"}
    result = run("apply", str(rules), "--api-url", http_emulator, "--yes", "--force", env=env)
    assert result.exit_code == 1
    assert f"the token from {BETA_VAR} lacks the triage:alerts-update scope" in result.output
    env = {ACME_VAR: TEST_TOKEN, BETA_VAR: TEST_TOKEN}  # acme's token set for beta-corp
    wrong = run("plan", str(rules), "--api-url", http_emulator, env=env)
    assert f"the token from {BETA_VAR} belongs to another org" in wrong.output
    assert f"set {BETA_VAR} to a valid token of org '{BETA}'" in wrong.output


def test_against_a_remote_api_an_org_without_a_token_sends_nothing(
    emulator: Emulator, rules: Path
) -> None:
    credentials = Credentials.from_env({ACME_VAR: TEST_TOKEN}, required=True)
    transport = EmulatorTransport(emulator)
    with TriageClient(TRANSPORT_BASE_URL, credentials, transport=transport) as client:
        assert client.list_rules(TEST_ORG) == []
        with pytest.raises(
            AuthError, match=f"no Socket API token for org '{BETA}': set {BETA_VAR}"
        ):
            client.list_rules(BETA)
        assert client.total_calls == 1
