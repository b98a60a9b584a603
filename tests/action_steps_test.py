"""The Action's shell steps, run as a GitHub runner runs them, against the embedded emulator.

Each step's ``run`` script from action.yml is run by bash with the environment its ``env:``
block would give it (the ``${{ }}`` values filled in by the test) and the runner's files
(GITHUB_OUTPUT, GITHUB_PATH, GITHUB_STEP_SUMMARY). The install step is left out: it downloads
from the package index; the CLI of this checkout stands in for what it installs.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
import yaml

from reconciler.rules.textcheck import MISSING_NOTE

ROOT = Path(__file__).resolve().parent.parent
TRIAGE = str(Path(sys.executable).with_name("socket-triage"))
HEAD = "89abcdef0123456789abcdef0123456789abcdef"

pytestmark = pytest.mark.skipif(shutil.which("bash") is None, reason="bash is not installed")


def script(step_id: str) -> str:
    action = yaml.safe_load((ROOT / "action.yml").read_text(encoding="utf-8"))
    (step,) = [s for s in action["runs"]["steps"] if s.get("id") == step_id]
    text: str = step["run"]
    return text


class Runner:
    """One job's runner: its temp dir and files, shared by every step of every action run."""

    def __init__(self, tmp: Path) -> None:
        self.temp = tmp / "runner-temp"
        self.temp.mkdir()
        self.summary = tmp / "step-summary.md"
        self.summary.touch()
        self.tmp = tmp

    def step(
        self, step_id: str, **env: str
    ) -> tuple[dict[str, str], subprocess.CompletedProcess[str]]:
        output = self.tmp / f"output-{step_id}"
        output.write_text("", encoding="utf-8")
        base = {k: v for k, v in os.environ.items() if not k.startswith("SOCKET_")}
        base |= {
            "RUNNER_TEMP": str(self.temp),
            "GITHUB_OUTPUT": str(output),
            "GITHUB_PATH": str(self.tmp / "path"),
            "GITHUB_STEP_SUMMARY": str(self.summary),
            "TRIAGE": TRIAGE,
        }
        done = subprocess.run(
            ["bash", "--noprofile", "--norc", "-e", "-o", "pipefail", "-c", script(step_id)],
            env=base | env,
            cwd=self.tmp,
            capture_output=True,
            text=True,
            timeout=300,
            check=False,
        )
        lines = output.read_text(encoding="utf-8").splitlines()
        return dict(line.split("=", 1) for line in lines), done

    def action(
        self, command: str, org: str = "", paths: str = "triage", **extra: str
    ) -> dict[str, Any]:
        """One run of the action: the run step, then the render step, as a job would."""
        run_env = {
            "SOCKET_API_TOKEN": "",
            "COMMAND": command,
            "PATHS": paths,
            "ORG": org,
            "API_URL": f"local:{self.tmp / 'socket.db'}",
            "WITHIN": "30",
            "STRICT": extra.get("strict", "true"),
            "JOB": "plan",
        }
        outputs, done = self.step("run", **run_env)
        result: dict[str, Any] = {"run": outputs, "log": done.stdout + done.stderr}
        if command != "expiring":
            rendered, done = self.step(
                "render",
                COMMAND=command,
                ORG=org,
                OUT=outputs["dir"],
                EXIT_CODE=outputs["exit-code"],
                VALID=outputs["valid"],
                PLAN_FILE=outputs["plan-file"],
                KEY=outputs["key"],
                ARTIFACT=extra.get("artifact", ""),
                HEAD_SHA=HEAD,
            )
            assert done.returncode == 0, done.stderr
            result["comment"] = Path(rendered["comment-file"]).read_text(encoding="utf-8")
        return result


RULES = {
    "acme": "org: acme\nrules:\n  - package: pkg:npm/left-pad\n    state: warn\n    note: kept\n"
    "  - package: pkg:npm/lodash\n    state: ignore\n    note: dev only\n",
    "beta": "org: beta\nrules:\n  - package: pkg:npm/react\n    state: warn\n    note: watched\n",
}


@pytest.fixture
def runner(tmp_path: Path) -> Runner:
    (tmp_path / "triage").mkdir()
    for org, text in RULES.items():
        (tmp_path / "triage" / f"{org}.yaml").write_text(text, encoding="utf-8")
    return Runner(tmp_path)


def test_two_runs_in_one_job_keep_their_own_files_and_comments(runner: Runner) -> None:
    acme = runner.action("plan", org="acme", artifact="a")
    beta = runner.action("plan", org="beta")
    assert acme["run"]["exit-code"] == beta["run"]["exit-code"] == "2"
    assert acme["run"]["dir"] != beta["run"]["dir"]
    assert acme["run"]["artifact"] != beta["run"]["artifact"]
    for result, org in ((acme, "acme"), (beta, "beta")):
        assert Path(result["run"]["plan-file"]).exists()  # the second run deleted nothing
        assert f"| {org} | {2 if org == 'acme' else 1} | 0 | 0 | 0 |" in result["comment"]
    assert acme["comment"].splitlines()[0] != beta["comment"].splitlines()[0]
    assert "### socket-triage plan: acme" in acme["comment"]
    assert "head 89abcde" in acme["comment"]
    assert "artifact `a`" in acme["comment"]
    summary = runner.summary.read_text(encoding="utf-8")
    assert summary.count("### socket-triage plan:") == 2


def test_the_artifact_name_carries_the_comment_markers_digest(runner: Runner) -> None:
    acme = runner.action("plan", org="acme")
    digest = acme["run"]["artifact"].removeprefix("socket-triage-plan-")
    assert acme["comment"].startswith(f"<!-- socket-triage-plan {digest} -->\n")


def test_invalid_files_fail_with_annotations_and_an_open_error(runner: Runner) -> None:
    (runner.tmp / "triage" / "acme.yaml").write_text(
        "org: acme\nrules:\n  - package: pkg:npm/x\n    state: nope\n    note: n\n",
        encoding="utf-8",
    )
    result = runner.action("plan", org="acme")
    assert result["run"]["exit-code"] == "1"
    assert result["run"]["plan-file"] == ""
    assert "::error file=triage/acme.yaml,line=4,col=12::state:" in result["log"]
    assert "<details open>\n<summary>Messages</summary>" in result["comment"]
    assert "### Validation failed · socket-triage plan: acme" in result["comment"]
    assert result["run"]["valid"] == "false"


@pytest.mark.parametrize(("strict", "code"), [("true", "1"), ("false", "2")])
def test_a_todo_note_fails_validation_unless_strict_is_off(
    runner: Runner, strict: str, code: str
) -> None:
    (runner.tmp / "triage" / "acme.yaml").write_text(
        f"org: acme\nrules:\n  - package: pkg:npm/x\n    state: warn\n    note: '{MISSING_NOTE}'\n",
        encoding="utf-8",
    )
    result = runner.action("plan", org="acme", strict=strict)
    assert result["run"]["exit-code"] == code, result["log"]
    annotation = "::error file=triage/acme.yaml,line=5,col=11::note: still the TODO placeholder"
    assert (annotation in result["log"]) == (strict == "true")


def test_expire_applies_only_expiries_and_leaves_drift_alone(runner: Runner) -> None:
    assert runner.action("apply")["run"]["exit-code"] == "0"
    acme = runner.tmp / "triage" / "acme.yaml"
    acme.write_text(acme.read_text(encoding="utf-8") + "    expires: 2020-01-01\n", "utf-8")
    expired = runner.action("expire", org="acme")
    assert expired["run"]["exit-code"] == "0", expired["log"]
    assert expired["run"]["has-changes"] == "true"
    assert Path(expired["run"]["audit-log"]).read_text(encoding="utf-8").count("\n") == 1
    assert runner.action("plan", org="acme")["run"]["exit-code"] == "0"

    beta = runner.tmp / "triage" / "beta.yaml"
    beta.write_text(beta.read_text(encoding="utf-8").replace("watched", "edited"), "utf-8")
    drift = runner.action("expire", org="beta")
    assert (drift["run"]["exit-code"], drift["run"]["audit-log"]) == ("2", "")


def test_expiring_writes_an_issue_body(runner: Runner) -> None:
    acme = runner.tmp / "triage" / "acme.yaml"
    acme.write_text(acme.read_text(encoding="utf-8") + "    expires: 2020-01-01\n", "utf-8")
    result = runner.action("expiring")
    assert result["run"]["exit-code"] == "2"
    report = Path(result["run"]["report-file"]).read_text(encoding="utf-8")
    assert report.startswith("<!-- socket-triage-expiring -->")
    assert "`npm/lodash`" in report


def test_a_token_input_reaches_only_the_run_step() -> None:
    action = yaml.safe_load((ROOT / "action.yml").read_text(encoding="utf-8"))
    holders = [
        s.get("id") for s in action["runs"]["steps"] if "inputs.api-token" in str(s.get("env", {}))
    ]
    assert holders == ["run"]
    assert 'case "$name" in SOCKET_*) unset "$name"' in script("install")


FORK_SKIP = (
    "socket-triage: no Socket token in a pull request from a fork (GitHub gives forks no "
    "secrets): the files are valid, the plan is skipped."
)


def fork_plan(runner: Runner, fork_pr: str, **env: str) -> tuple[dict[str, str], str]:
    outputs, done = runner.step(
        "run",
        COMMAND="plan",
        PATHS="triage",
        ORG="",
        API_URL="http://127.0.0.1:9/v0",  # never reached when the plan is skipped
        WITHIN="30",
        STRICT="true",
        JOB="plan",
        FORK_PR=fork_pr,
        SOCKET_TRIAGE_MAX_ATTEMPTS="1",  # port 9 refuses at once; no retrying
        **{"SOCKET_API_TOKEN": "", **env},
    )
    return outputs, done.stdout + done.stderr


def test_a_fork_pull_request_without_a_token_validates_and_skips_the_plan(
    runner: Runner,
) -> None:
    outputs, log = fork_plan(runner, "true")
    assert outputs["exit-code"] == "0"
    assert outputs["plan-file"] == ""
    assert f"::notice::{FORK_SKIP}\n" in log
    assert log.count("::notice::") == 1
    messages = Path(outputs["dir"], "stderr.txt").read_text(encoding="utf-8")
    assert messages == FORK_SKIP + "\n"  # the summary and the comment say it too


def test_a_fork_pull_request_with_a_token_plans(runner: Runner) -> None:
    outputs, log = fork_plan(runner, "true", SOCKET_API_TOKEN_ACME="sktsec_" + "0" * 40)
    assert "::notice::" not in log
    assert outputs["exit-code"] == "1"  # it tried: nothing listens on port 9


@pytest.mark.parametrize("fork_pr", ["false", ""])
def test_a_missing_token_outside_a_fork_pull_request_is_still_an_error(
    runner: Runner, fork_pr: str
) -> None:
    outputs, log = fork_plan(runner, fork_pr)
    assert outputs["exit-code"] == "1"
    assert "::notice::" not in log


def test_fork_pull_requests_are_told_apart_and_the_docs_quote_the_notice() -> None:
    action = yaml.safe_load((ROOT / "action.yml").read_text(encoding="utf-8"))
    (run,) = [s for s in action["runs"]["steps"] if s.get("id") == "run"]
    assert run["env"]["FORK_PR"] == (
        "${{ github.event.pull_request && "
        "github.event.pull_request.head.repo.full_name != github.repository }}"
    )
    docs = (ROOT / "docs/ci.md").read_text(encoding="utf-8")
    assert f"```\n{FORK_SKIP}\n```" in docs
