from __future__ import annotations

import datetime as dt
import io
import json
from typing import Any

import click
import pytest

from reconciler.cli import cli
from reconciler.engine.plan import Plan
from reconciler.errors import Location
from reconciler.render import (
    RENDERERS,
    Renderer,
    render_json,
    render_markdown,
    render_text,
)
from reconciler.render.markdown import COMMENT_MARKER, GITHUB_COMMENT_LIMIT
from reconciler.rules.model import Rule
from reconciler.triage.plan import diff
from reconciler.vocab.triage.selector import LiveRule, Selector

TODAY = dt.date(2026, 11, 28)


def sel(name: str) -> Selector:
    return Selector(package_type="npm", package_name=name)


def sample_plan(creates: int = 1) -> Plan:
    desired = [
        Rule(
            "acme",
            sel(f"new{i:05}"),
            "ignore",
            f"reason {i}",
            location=Location("rules/npm.yaml", 3 + i, 5),
        )
        for i in range(creates)
    ]
    desired.append(
        Rule(
            "acme",
            sel("changed"),
            "block",
            "now blocked",
            location=Location("rules/npm.yaml", 1, 5),
            owner="sec@acme.dev",
        )
    )
    live = [
        LiveRule("u-1", sel("changed"), "warn", "was warn", "t1", "t1"),
        LiveRule("u-2", sel("gone"), "ignore", "old", "t1", "t1"),
    ]
    return Plan((diff("acme", desired, live, today=TODAY),))


def test_text_is_terraform_like() -> None:
    out = io.StringIO()
    render_text(sample_plan(), out)
    text = out.getvalue()
    assert "  ~ npm/changed  [u-1]" in text
    assert '      state: "warn" → "block"' in text
    assert '      note: "was warn" → "now blocked"' in text
    assert "  - npm/gone  [u-2]" in text
    assert "  + npm/new00000" in text
    assert "      from rules/npm.yaml:3:5" in text
    assert text.rstrip().endswith("Plan: 1 to create, 1 to update, 1 to delete, 0 unchanged.")
    assert "\x1b[" not in text


def test_text_has_colour_only_when_asked() -> None:
    out = io.StringIO()
    render_text(sample_plan(), out, colour=True)
    assert "\x1b[32m  + npm/new00000" in out.getvalue()


def test_json_has_integer_summary_and_before_after() -> None:
    out = io.StringIO()
    render_json(sample_plan(), out)
    doc = json.loads(out.getvalue())
    assert doc["format_version"] == 1
    org = doc["orgs"][0]
    assert org["summary"] == {"create": 1, "update": 1, "delete": 1, "unchanged": 0, "expired": 0}
    update = next(c for c in org["changes"] if c["action"] == "update")
    assert update["before"]["state"] == "warn"
    assert update["after"]["state"] == "block"


def test_rendering_twice_is_byte_identical() -> None:
    first, second = io.StringIO(), io.StringIO()
    render_json(sample_plan(50), first)
    render_json(sample_plan(50), second)
    assert first.getvalue() == second.getvalue()


def test_markdown_puts_summary_first_and_changes_in_details() -> None:
    out = io.StringIO()
    render_markdown(sample_plan(), out)
    text = out.getvalue()
    assert text.startswith(COMMENT_MARKER)
    assert "| acme | 1 | 1 | 1 | 0 |" in text
    assert text.index("| acme |") < text.index("<details>")
    assert (
        "| ~ update | `npm/changed` | note: `was warn` → `now blocked`<br>state: `warn` → `block`"
        "<br>owner: `sec@acme.dev` | `rules/npm.yaml:1:5` |" in text
    )
    assert "| - delete | `npm/gone` | reason: `not in files`<br>note: `old` | live `u-2` |" in text
    assert text.rstrip().endswith("</details>")
    assert "truncated" not in text


def test_markdown_for_5000_changes_fits_a_github_comment() -> None:
    out = io.StringIO()
    render_markdown(sample_plan(5000), out)
    text = out.getvalue()
    assert len(text.encode("utf-8")) < GITHUB_COMMENT_LIMIT
    rows = sum(1 for line in text.splitlines() if line[:4] in ("| + ", "| ~ ", "| - "))
    assert f"showing {rows} of 5,002 changes" in text
    assert text.count("<details>") == text.count("</details>")
    assert "| acme | 5000 | 1 | 1 | 0 |" in text


def one_change_plan(
    name: str = "x", note: str = "n", uuid: str = "u-1", **facts: Any
) -> tuple[Plan, Plan]:
    """(a plan creating a rule with ``facts``, a plan deleting a live rule) for ``name``."""
    rule = Rule("acme", sel(name), "warn", note, **facts)
    live = LiveRule(uuid, sel(name), "warn", note, "t1", "t1")
    create = Plan((diff("acme", [rule], [], today=TODAY),))
    delete = Plan((diff("acme", [], [live], today=TODAY),))
    return create, delete


def rendered(renderer: Renderer, plan: Plan) -> str:
    out = io.StringIO()
    renderer(plan, out)
    return out.getvalue()


def test_the_registry_holds_every_format_the_cli_offers() -> None:
    plan = cli.get_command(click.Context(cli), "plan")
    assert plan is not None
    fmt = next(p for p in plan.params if p.name == "fmt")
    assert isinstance(fmt.type, click.Choice)
    assert list(fmt.type.choices) == list(RENDERERS) == ["text", "json", "markdown"]
    assert RENDERERS["markdown"] is render_markdown


HOSTILE = [
    "\x1b[2K\x1b[1A  + npm/fake",  # CSI: erase the line above and draw a fake one
    "\x1b]8;;https://evil\x07link\x1b]8;;\x07",  # OSC 8 hyperlink, BEL-terminated
    "\x9b2J",  # the one-byte C1 CSI
    "bell\x07del\x7fnul\x00",
    "right\u202eto-left",  # a bidi override
]


@pytest.mark.parametrize("hostile", HOSTILE)
def test_text_escapes_control_characters_from_the_server(hostile: str) -> None:
    create, delete = one_change_plan(name=hostile, note=hostile, uuid=hostile)
    for plan in (create, delete):
        text = rendered(render_text, plan)
        assert not any(ch in text for ch in "\x1b\x07\x9b\x7f\x00\u202e")
        assert text.count("\n") == len(text.splitlines())  # no line breaks smuggled in
        assert "\\x" in text or "\\u" in text  # shown escaped, not dropped


def test_text_escape_is_readable() -> None:
    _, delete = one_change_plan(name="left\x1b[2Kpad", uuid="u-\x9b1")
    assert "  - npm/left\\x1b[2Kpad  [u-\\x9b1]" in rendered(render_text, delete)


def test_text_shows_owner_ticket_expiry_and_broad() -> None:
    rule = Rule(
        "acme",
        Selector(package_type="npm", alert_type="cve"),
        "warn",
        "org-wide",
        expires=dt.date(2027, 6, 30),
        owner="@acme/web",
        ticket="WEB-412",
        broad=True,
        location=Location("rules/npm.yaml", 3, 5),
    )
    text = rendered(render_text, Plan((diff("acme", [rule], [], today=TODAY),)))
    assert "  + npm/* alert_type=cve  (broad)" in text
    assert (
        "      from rules/npm.yaml:3:5  owner: @acme/web  ticket: WEB-412  expires: 2027-06-30"
        in text
    )
    assert "Org acme (0 live rules):" in text


def test_text_says_one_live_rule() -> None:
    _, delete = one_change_plan()
    assert rendered(render_text, delete).startswith("Org acme (1 live rule):")


def test_markdown_writes_selectors_whole_and_unescaped_in_code() -> None:
    long_selector = Selector(
        package_type="npm",
        package_name="a-package-with-a-rather-long-name",
        alert_type="criticalCVE",
        reachability="unreachable",
        cvss_score_cmp=">=9.0",
    )
    rule = Rule("acme", long_selector, "ignore", "n")
    text = rendered(render_markdown, Plan((diff("acme", [rule], [], today=TODAY),)))
    label = long_selector.describe()
    assert len(label) > 80
    assert f"| + create | `{label}` |" in text
    assert "cvss_score_cmp=>=9.0`" in text
    assert "&gt;" not in text


def test_markdown_shows_owner_ticket_expiry_and_broad() -> None:
    rule = Rule(
        "acme",
        Selector(package_type="npm", alert_type="cve"),
        "warn",
        "org-wide",
        expires=dt.date(2027, 6, 30),
        owner="@acme/web",
        ticket="WEB-412",
        broad=True,
    )
    text = rendered(render_markdown, Plan((diff("acme", [rule], [], today=TODAY),)))
    assert "| + create | `npm/* alert_type=cve`<br>broad |" in text
    assert "owner: `@acme/web` · ticket: `WEB-412` · expires: `2027-06-30`" in text


@pytest.mark.parametrize(
    ("name", "span"),
    [
        ("a`b", "``npm/a`b``"),
        ("x``y`", "``` npm/x``y` ```"),
        ("a|b", "`npm/a\\|b`"),
        ("a</details><img src=x>", "`npm/a</details><img src=x>`"),
        ("two\nlines", "`npm/two\\x0alines`"),
    ],
)
def test_markdown_code_spans_hold_any_package_name(name: str, span: str) -> None:
    _, delete = one_change_plan(name=name)
    text = rendered(render_markdown, delete)
    assert f"| - delete | {span} |" in text
    assert text.count("</details>") - name.count("</details>") == 1


@pytest.mark.parametrize(
    "note",
    [
        "![t](https://evil.example/pixel.png)",
        "[click](https://evil.example)",
        "cc @acme/security-team",
        "**bold** <b>html</b> &amp;",
    ],
)
def test_markdown_puts_live_notes_in_code(note: str) -> None:
    _, delete = one_change_plan(note=note)
    assert f"note: `{note}`" in rendered(render_markdown, delete)


def test_markdown_keeps_notes_in_their_cell() -> None:
    create, _ = one_change_plan(note="a | b </details> <script>")
    text = rendered(render_markdown, create)
    assert "note: `a \\| b </details> <script>`" in text
