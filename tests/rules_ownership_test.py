"""Which live rules are ours under ``prune: false``: only those with a trailer sealed for them.

End to end through the CLI on a ``local:`` emulator: apply creates a rule, people then add
dashboard rules whose notes look like ours, and removing the rule from the files deletes it alone.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from click.testing import CliRunner, Result
from conftest import TEST_ORG

from reconciler import notes
from reconciler.cli import cli
from reconciler.emulator import embedded
from reconciler.vocab.triage.selector import LiveRule, Selector

RULES = """\
org: acme
prune: false
rules:
  - {package_type: npm, package_name: lodash, state: ignore, note: build only}
  - {package_type: npm, package_name: keep, state: warn, note: still wanted}
"""


def run(*args: str) -> Result:
    return CliRunner().invoke(cli, list(args), env={"NO_COLOR": "1"})


@pytest.fixture
def local(tmp_path: Path) -> str:
    return f"local:{tmp_path / 'state.sqlite'}"


def live_notes(local: str) -> dict[str, str]:
    emulator = embedded(local.removeprefix("local:"))
    try:
        return {r["package_name"]: r["note"] for r in emulator.rules(TEST_ORG)}
    finally:
        emulator.close()


def test_prune_false_deletes_only_rules_whose_trailer_is_sealed_for_them(
    tmp_path: Path, local: str
) -> None:
    rules = tmp_path / "acme.yaml"
    rules.write_text(RULES)
    assert run("apply", str(rules), "--api-url", local, "--yes").exit_code == 0
    ours = live_notes(local)["lodash"]
    emulator = embedded(local.removeprefix("local:"))
    emulator.seed_rules(
        TEST_ORG,
        [
            # typed in the dashboard: a bare marker, or a marker with made-up fields
            {
                "package_type": "npm",
                "package_name": "bare",
                "state": "warn",
                "note": "[socket-triage]",
            },
            {
                "package_type": "npm",
                "package_name": "made-up",
                "state": "warn",
                "note": "mine\n\n[socket-triage] source=x.yaml:1 sel=0123456789ab",
            },
            # our lodash note, copied onto another package
            {"package_type": "npm", "package_name": "copied", "state": "warn", "note": ours},
            # a trailer written before seals: no longer proof of ownership
            {
                "package_type": "npm",
                "package_name": "legacy",
                "state": "warn",
                "note": "old\n\n[socket-triage] source=acme.yaml:4 commit=0123abc",
            },
        ],
    )
    emulator.close()
    rules.write_text(RULES.replace("  - {package_type: npm, package_name: lodash", "  # -"))
    result = run("plan", str(rules), "--api-url", local, "--format", "json")
    assert result.exit_code == 0, result.output
    assert '"delete": 1' in result.stdout and '"label": "npm/lodash"' in result.stdout
    assert run("apply", str(rules), "--api-url", local, "--yes").exit_code == 0
    assert sorted(live_notes(local)) == ["bare", "copied", "keep", "legacy", "made-up"]


@pytest.mark.parametrize(
    ("note", "managed"),
    [
        ("why\n\n{trailer}", True),
        ("{trailer}", True),
        ("why\n\n{trailer} extra", False),  # not a field: the line does not parse fully
        ("why\n\n{trailer} source=again.yaml:1", False),  # a field twice
        ("why\n\n[socket-triage]", False),
        ("why\n\n[socket-triage] source=a.yaml:3 commit=0123abc", False),  # no seal (0.1.0)
        ("why\n\n[socket-triage] sel=0123456789AB", False),  # not a seal's spelling
        ("{trailer}\nwritten after it", False),  # the trailer must be the last line
    ],
)
def test_only_a_complete_trailer_sealed_for_this_rule_is_ours(note: str, managed: bool) -> None:
    selector = Selector(package_type="npm", package_name="lodash")
    trailer = notes.trailer([("source", "a.yaml:3")], notes.seal("acme", selector))
    live = LiveRule("u", selector, "ignore", note.format(trailer=trailer), org="acme")
    assert live.managed is managed
