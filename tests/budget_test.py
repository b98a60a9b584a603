"""Quota: what an apply will cost, the free ``GET /v0/quota``, and an apply refused before its
first write when the token's quota cannot finish it."""

from __future__ import annotations

from pathlib import Path

import httpx
import pytest
from apply_support import apply_one
from apply_test import make_client, plan_for, rule
from click.testing import CliRunner, Result
from conftest import TEST_ORG, TEST_TOKEN

from reconciler.budget import estimate
from reconciler.cli import cli
from reconciler.emulator import Emulator
from reconciler.emulator.auth import Quota
from reconciler.errors import ApplyError

RULES = "".join(
    f"  - {{package_type: npm, package_name: p{i}, state: warn, note: n}}\n" for i in range(5)
)


def run(*args: str) -> Result:
    env = {"NO_COLOR": "1", "SOCKET_API_TOKEN": TEST_TOKEN}
    return CliRunner().invoke(cli, list(args), env=env)


@pytest.fixture
def rules(tmp_path: Path) -> Path:
    path = tmp_path / "acme.yaml"
    path.write_text(f"org: acme\nrules:\n{RULES}")
    return path


def test_the_quota_endpoint_says_what_is_left_and_costs_nothing(
    emulator: Emulator, http_emulator: str
) -> None:
    emulator.quota = Quota(5)
    headers = {"Authorization": f"Bearer {TEST_TOKEN}"}
    with httpx.Client(base_url=http_emulator, headers=headers) as api:
        assert api.get(f"/orgs/{TEST_ORG}/triage/alerts").status_code == 200
        answers = [api.get("/quota").json() for _ in range(3)]
        assert httpx.get(f"{http_emulator}/quota").status_code == 401
    assert answers == [{"quota": 4, "maxQuota": 5, "nextWindowRefresh": None}] * 3


def test_plan_says_how_many_calls_apply_makes_and_how_long_they_take(
    rules: Path, http_emulator: str
) -> None:
    result = run("plan", str(rules), "--api-url", http_emulator)
    assert result.exit_code == 0, result.output
    assert (
        "Apply will make about 3 API calls (1 writes, 2 to check before and after): within "
        "the rate limit of 600 a minute, none waits for it." in result.stderr
    )


def test_a_run_past_the_rate_limit_is_said_to_take_minutes(emulator: Emulator) -> None:
    emulator.seed_rules(
        TEST_ORG,
        [
            {"package_type": "npm", "package_name": f"p{i}", "state": "warn", "note": "n"}
            for i in range(1300)
        ],
    )
    with make_client(emulator) as client:
        plan, _ = plan_for(client, [])
    assert estimate([plan]) == (
        "Apply will make about 1326 API calls (1300 writes, 26 to check before and after): at "
        "the rate limit of 600 a minute they take at least 2 min."
    )


def test_apply_refuses_before_any_write_when_the_quota_cannot_finish_it(
    emulator: Emulator, http_emulator: str, rules: Path
) -> None:
    emulator.quota = Quota(3)  # apply's own listing leaves 2; it needs 3 more
    result = run("apply", str(rules), "--api-url", http_emulator, "--yes")
    assert result.exit_code == 1, result.output
    assert (
        "error: org acme needs about 3 API calls (1 writes, 2 to check) and its token has 2 of "
        "this hour's quota left; nothing was written. Wait for the quota to refill (the next "
        "hour), or use --force to start anyway." in result.stderr
    )
    assert emulator.counters()["calls"]["POST"] == 0


def test_a_quota_429_mid_apply_is_reported_as_such_with_what_was_done(
    emulator: Emulator, capsys: pytest.CaptureFixture[str]
) -> None:
    """Started anyway (``--force``): the quota runs out between the writes and the check."""
    emulator.quota = Quota(3)
    with make_client(emulator) as client:
        plan, _ = plan_for(client, [rule(f"p{i}") for i in range(5)])
        with pytest.raises(ApplyError) as raised:
            apply_one(client, plan, None, concurrency=1, settle=0.0)
    assert "the token's hourly quota is likely spent" in str(raised.value)
    assert "Applied 5 of 5 changes to org acme (5 created" in str(raised.value)
    assert "  applied: create npm/p0" in capsys.readouterr().err
