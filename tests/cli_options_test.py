"""The command line's own contract: typed dispatch, exit codes, org slugs, output paths, colour.

Every failure here must be one line and exit 1 before any API call; ``local:`` state files
that do not exist afterwards prove that nothing was sent.
"""

from __future__ import annotations

import io
import re
import sys
from dataclasses import dataclass
from pathlib import Path

import click
import pytest
from click.testing import CliRunner, Result
from conftest import TEST_ORG

from reconciler import exits
from reconciler.cli import cli
from reconciler.commands import use_colour
from reconciler.commands.options import click_command, option
from reconciler.emulator import embedded
from reconciler.rules.orgslug import ORG_SLUG
from reconciler.rules.ruleschema import schema

ROOT = Path(__file__).resolve().parent.parent
RULES = """\
org: acme
rules:
  - package_type: npm
    package_name: a
    state: warn
    note: n
"""


def run(*args: str) -> Result:
    return CliRunner().invoke(cli, list(args), env={"NO_COLOR": "1"})


@pytest.fixture
def rules(tmp_path: Path) -> Path:
    path = tmp_path / "acme.yaml"
    path.write_text(RULES)
    return path


@pytest.fixture
def state(tmp_path: Path) -> Path:
    return tmp_path / "state.sqlite"


def test_each_option_is_named_after_its_field_whatever_its_flag() -> None:
    @dataclass(frozen=True)
    class Options:
        detailed_exitcode: bool = option("--detailed-exit-code", is_flag=True)  # flag renamed

    @click_command("plan", Options)
    def command(given: Options) -> int:
        return exits.EXIT_CHANGES if given.detailed_exitcode else exits.EXIT_OK

    assert [p.name for p in command.params if p.expose_value] == ["detailed_exitcode"]
    assert command.main(["--detailed-exit-code"], standalone_mode=False) == exits.EXIT_CHANGES


def test_exit_codes_are_the_documented_ones() -> None:
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    table = readme.split("## Exit codes", 1)[1].split("\n## ", 1)[0]
    documented = {int(code) for code in re.findall(r"^\| (\d+) \|", table, re.MULTILINE)}
    constants = {getattr(exits, name) for name in dir(exits) if name.startswith("EXIT_")}
    assert documented == constants


def test_the_org_slug_pattern_is_the_rule_schemas() -> None:
    assert schema()["properties"]["org"]["pattern"] == f"^{ORG_SLUG.pattern}$"


BAD_SLUGS = ["../x", "a/b", "..", "-x", "a\\b", "acme\x1b[2J", ""]


@pytest.mark.parametrize("slug", BAD_SLUGS)
@pytest.mark.parametrize("command", ["plan", "apply", "export", "emulator"])
def test_org_that_is_not_a_slug_is_refused_in_one_line(
    command: str, slug: str, rules: Path, state: Path, tmp_path: Path
) -> None:
    args = {
        "plan": ["plan", str(rules), "--api-url", f"local:{state}"],
        "apply": ["apply", str(rules), "--api-url", f"local:{state}", "--yes"],
        "export": ["export", "--api-url", f"local:{state}", "--out", str(tmp_path / "out")],
        "emulator": ["emulator", "--port", "0"],
    }[command]
    result = run(*args, "--org", slug)
    assert result.exit_code == exits.EXIT_ERROR
    assert result.output == f"error: --org {slug!r}: not an org slug (letters, digits, '.', " + (
        "'_' or '-', starting with a letter or digit)\n"
    )
    assert not state.exists()
    assert not (tmp_path / "out").exists()


def test_plan_out_into_a_missing_directory_fails_before_any_api_call(
    rules: Path, state: Path, tmp_path: Path
) -> None:
    out = tmp_path / "missing" / "plan.json"
    result = run("plan", str(rules), "--api-url", f"local:{state}", "--out", str(out))
    assert result.exit_code == exits.EXIT_ERROR
    assert result.output == f"error: --out {out}: directory {out.parent} does not exist\n"
    assert not state.exists()


@pytest.mark.parametrize("command", ["plan", "export"])
def test_out_under_a_regular_file_fails_before_any_api_call(
    command: str, rules: Path, state: Path
) -> None:
    out = rules / "sub" / "x.json"
    args = ["plan", str(rules)] if command == "plan" else ["export", "--org", TEST_ORG]
    result = run(*args, "--api-url", f"local:{state}", "--out", str(out))
    assert result.exit_code == exits.EXIT_ERROR
    assert result.output.startswith("error: --out ")
    assert result.output.endswith(f"{rules} is a file, not a directory\n")
    assert not state.exists()


def test_plan_out_naming_a_directory_is_refused(rules: Path, state: Path, tmp_path: Path) -> None:
    result = run("plan", str(rules), "--api-url", f"local:{state}", "--out", str(tmp_path))
    assert result.exit_code == exits.EXIT_ERROR
    assert "error: --out" in result.output
    assert not state.exists()


def test_plan_out_writes_the_json_plan(rules: Path, state: Path, tmp_path: Path) -> None:
    out = tmp_path / "plan.json"
    result = run("plan", str(rules), "--api-url", f"local:{state}", "--out", str(out))
    assert result.exit_code == exits.EXIT_OK, result.output
    assert '"format_version": 1' in out.read_text()
    assert not (tmp_path / "plan.json.tmp").exists()


def seed(state: Path, names: list[str]) -> None:
    emulator = embedded(str(state))
    emulator.seed_rules(
        TEST_ORG,
        [{"package_type": "npm", "package_name": n, "state": "warn", "note": "n"} for n in names],
    )
    emulator.close()


@pytest.mark.parametrize(("names", "wrote"), [(["a"], "1 live rule"), (["a", "b"], "2 live rules")])
def test_export_counts_exactly(names: list[str], wrote: str, state: Path, tmp_path: Path) -> None:
    seed(state, names)
    out = tmp_path / "triage" / "nested"
    result = run("export", "--org", TEST_ORG, "--api-url", f"local:{state}", "--out", str(out))
    assert result.exit_code == exits.EXIT_OK, result.output
    target = out / f"{TEST_ORG}.yaml"
    assert result.stderr == f"Wrote {wrote} of org {TEST_ORG} to {target}.\n"
    text = target.read_text()
    assert text.startswith("# yaml-language-server: $schema=https://")
    assert text.count("package_name:") == len(names)


def test_export_refuses_to_overwrite_without_force(state: Path, tmp_path: Path) -> None:
    seed(state, ["a", "b"])
    out = tmp_path / "triage"
    out.mkdir()
    target = out / f"{TEST_ORG}.yaml"
    target.write_text("edited: by hand\n")
    args = ("export", "--org", TEST_ORG, "--api-url", f"local:{state}", "--out")
    result = run(*args, str(out))
    assert result.exit_code == exits.EXIT_ERROR
    assert result.stderr == (
        f"error: --out {target}: already exists; pass --force to overwrite it\n"
    )
    assert target.read_text() == "edited: by hand\n"
    assert [p.name for p in out.iterdir()] == [target.name]
    forced = run(*args, str(out), "--force")
    assert forced.exit_code == exits.EXIT_OK, forced.output
    assert forced.stderr == f"Wrote 2 live rules of org {TEST_ORG} to {target}.\n"
    assert target.read_text().count("package_name:") == 2


def test_export_does_not_count_duplicates_as_written(state: Path, tmp_path: Path) -> None:
    seed(state, ["a", "a", "b", "c", "d", "e"])
    out = tmp_path / "acme.yaml"
    result = run("export", "--org", TEST_ORG, "--api-url", f"local:{state}", "--out", str(out))
    assert result.exit_code == exits.EXIT_OK, result.output
    assert "Wrote 5 live rules of org acme" in result.stderr
    assert "(1 duplicate left out)" in result.stderr
    assert "# 1 duplicate live rule was left out; plan shows it as a delete." in out.read_text()


def test_server_text_in_a_plan_reaches_the_terminal_escaped(rules: Path, state: Path) -> None:
    seed(state, ["evil\x1b[2K\x1b[1A  + npm/fake\x9b2J"])
    result = run("plan", str(rules), "--api-url", f"local:{state}")
    assert result.exit_code == exits.EXIT_OK, result.output
    assert "\x1b" not in result.output and "\x9b" not in result.output
    assert "  - npm/evil\\x1b[2K\\x1b[1A  + npm/fake\\x9b2J  [" in result.output


def test_error_messages_reach_the_terminal_escaped(tmp_path: Path) -> None:
    missing = tmp_path / "rules\x1b]8;;evil\x07.yaml"
    result = run("validate", str(missing))
    assert result.exit_code == exits.EXIT_ERROR
    assert "\x1b" not in result.output and "\x07" not in result.output
    assert "rules\\x1b]8;;evil\\x07.yaml" in result.output


class _Terminal(io.StringIO):
    def isatty(self) -> bool:
        return True


def test_colour_on_a_terminal_unless_no_color(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(sys, "stdout", _Terminal())
    monkeypatch.delenv("NO_COLOR", raising=False)
    assert use_colour()
    with click.Context(cli, color=False):  # what --no-color sets
        assert not use_colour()
    monkeypatch.setenv("NO_COLOR", "1")
    assert not use_colour()


@pytest.mark.parametrize(
    ("before", "after", "colour"),
    [([], [], None), (["--no-color"], [], False), ([], ["--no-color"], False)],
)
def test_no_color_flag_reaches_the_command(
    before: list[str],
    after: list[str],
    colour: bool | None,
    rules: Path,
    state: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """``--no-color`` before or after the command name; ``use_colour`` reads the context."""
    seen: list[bool | None] = []

    def record() -> bool:
        seen.append(click.get_current_context().color)
        return False

    monkeypatch.setattr("reconciler.commands.plan.use_colour", record)
    result = run(*before, "plan", str(rules), "--api-url", f"local:{state}", *after)
    assert result.exit_code == exits.EXIT_OK, result.output
    assert seen == [colour]


def test_every_command_takes_no_color() -> None:
    context = click.Context(cli)
    for name in cli.list_commands(context):
        command = cli.get_command(context, name)
        assert command is not None, name
        assert "--no-color" in {o for p in command.params for o in p.opts}, name


def test_shell_completion_lists_the_commands() -> None:
    # docs/install.md: eval "$(_SOCKET_TRIAGE_COMPLETE=bash_source socket-triage)"
    env = {
        "_SOCKET_TRIAGE_COMPLETE": "bash_complete",
        "COMP_WORDS": "socket-triage ex",
        "COMP_CWORD": "1",
    }
    result = CliRunner().invoke(cli, [], env=env, prog_name="socket-triage")
    assert result.exit_code == 0
    assert {"plain,expiring", "plain,export"} <= set(result.output.split())


@pytest.mark.parametrize(
    ("args", "last"),
    [
        (["plan", "--nosuch"], "error: No such option '--nosuch'. Did you mean '--out'?"),
        (
            ["validate", "--format", "nope"],
            "error: Invalid value for '--format': 'nope' is not one of 'text', 'json', 'github'.",
        ),
        (["apply", "--plan", "missing.json", "--api-url", "http://example.com"], "error: "),
    ],
)
def test_every_text_error_starts_with_error(args: list[str], last: str) -> None:
    result = run(*args)
    assert result.exit_code == exits.EXIT_ERROR
    assert result.stderr.splitlines()[-1].startswith(last), result.stderr
    assert "Error:" not in result.stderr


@pytest.mark.parametrize(
    ("args", "env", "traceback"),
    [
        (["validate"], {}, False),
        (["validate"], {"SOCKET_TRIAGE_DEBUG": "0"}, False),
        (["validate"], {"SOCKET_TRIAGE_DEBUG": "1"}, True),
        (["--debug", "validate"], {}, True),
        (["validate", "--debug"], {}, True),
    ],
)
def test_an_internal_error_shows_its_traceback_only_when_debugging(
    monkeypatch: pytest.MonkeyPatch, args: list[str], env: dict[str, str], traceback: bool
) -> None:
    from reconciler.commands import validate

    def broken(*_args: object, **_kwargs: object) -> int:
        raise RuntimeError("boom")

    monkeypatch.setattr(validate, "run", broken)
    result = CliRunner().invoke(cli, args, env={"NO_COLOR": "1", **env})
    assert result.exit_code == exits.EXIT_INTERNAL
    assert result.stderr.startswith("internal error: RuntimeError('boom')\n")
    assert ("Traceback (most recent call last)" in result.stderr) == traceback
    hint = "Run with --debug (or SOCKET_TRIAGE_DEBUG=1) to see the traceback.\n"
    assert result.stderr.endswith(hint) != traceback
