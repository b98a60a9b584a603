from __future__ import annotations

import datetime as dt
import io
import json

from reconciler.engine.plan import Plan, diff
from reconciler.errors import Location
from reconciler.render import (
    COMMENT_MARKER,
    GITHUB_COMMENT_LIMIT,
    render_json,
    render_markdown,
    render_text,
)
from reconciler.rules.model import Rule
from reconciler.triage.selector import LiveRule, Selector

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
    assert org["summary"] == {"create": 1, "update": 1, "delete": 1, "unchanged": 0}
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
        "| ~ update | `npm/changed` | note: was warn → now blocked<br>state: warn → block" in text
    )
    assert text.rstrip().endswith("</details>")
    assert "truncated" not in text


def test_markdown_for_5000_changes_fits_a_github_comment() -> None:
    out = io.StringIO()
    render_markdown(sample_plan(5000), out)
    text = out.getvalue()
    assert len(text) < GITHUB_COMMENT_LIMIT
    assert "truncated" in text
    assert text.count("<details>") == text.count("</details>")
    assert "| acme | 5000 | 1 | 1 | 0 |" in text


def test_markdown_escapes_notes_that_look_like_markup() -> None:
    plan = Plan(
        (
            diff(
                "acme",
                [Rule("acme", sel("x"), "warn", "a | b </details> <script>")],
                [],
                today=TODAY,
            ),
        )
    )
    out = io.StringIO()
    render_markdown(plan, out)
    assert "a \\| b &lt;/details&gt; &lt;script&gt;" in out.getvalue()
    assert out.getvalue().count("</details>") == 1
