"""Policy object changes in the text, Markdown and JSON plans: what each create, update and
delete does, one line per repository whose governing policy changes, and server text escaped."""

from __future__ import annotations

import io
import json

from reconciler import notes
from reconciler.engine.plan import Plan
from reconciler.errors import Location
from reconciler.policies.diff import diff
from reconciler.policies.plan import PolicyPlan
from reconciler.render import render_json, render_markdown, render_text
from reconciler.vocab.policies.model import (
    DesiredPolicy,
    DesiredRule,
    LivePolicy,
    LiveRepository,
    LiveRule,
)
from reconciler.vocab.policies.selectors import VigilSelector

ORG = "acme"
REPOS = tuple(LiveRepository(f"r-{s}", s) for s in ("api", "worker", "web", "x", "y"))


def at(line: int) -> Location:
    return Location("acme.yaml", line, 5)


def trailer(where: Location | None, seal: str) -> str:
    return notes.trailer([], seal)


def named(pid: str, name: str, repos: tuple[str, ...] = (), description: str = "") -> LivePolicy:
    return LivePolicy(pid, name, "labeled_repos", "balanced", repos, description, org=ORG)


def live_rule(name: str, policy_id: str) -> LiveRule:
    selector = VigilSelector.from_wire({"finding.alertType": name})
    return LiveRule(f"id-{name}", policy_id, name, selector, "warn", org=ORG)


def policy_plan(
    declared: list[DesiredPolicy], policies: list[LivePolicy], *, rules: bool = True
) -> PolicyPlan:
    live_rules: dict[str, list[LiveRule]] = {p.id: [] for p in policies}
    live_rules["p-l"] = [live_rule(n, "p-l") for n in "abcd"]
    rule = DesiredRule(
        "block", VigilSelector.from_wire({"finding.alertType": "malware"}), "error", "", "backend"
    )
    return diff(
        ORG,
        rules=[rule] if rules else [],
        resolutions=[],
        policies=policies,
        live_rules=live_rules,
        live_resolutions=[],
        trailer=trailer,
        declared=declared,
        repositories=REPOS,
    )


def sample() -> Plan:
    policies = [
        LivePolicy("default", None, "unlabeled_repos", "balanced", org=ORG),
        named("p-f", "frontend", ("r-api", "r-web"), "a"),
        named("p-l", "legacy", ("r-x", "r-y")),
    ]
    declared = [
        DesiredPolicy("default", "comprehensive"),
        DesiredPolicy("frontend", "balanced", "b", ("web",)),
        DesiredPolicy("backend", "comprehensive", "", ("api", "worker"), at(5)),
    ]
    return Plan((policy_plan(declared, policies),))


def text(plan: Plan) -> str:
    out = io.StringIO()
    render_text(plan, out, width=200)
    return out.getvalue()


def test_text_says_what_each_policy_change_does() -> None:
    lines = text(sample()).splitlines()
    assert lines[1:12] == [
        "  ~ policy default: baseline balanced -> comprehensive",
        "  ~ policy frontend: description 'a' -> 'b'; removes repositories api",
        "  + policy backend: baseline comprehensive, repositories api, worker (acme.yaml:5:5)",
        "  - policy legacy: deletes its 4 rules and its repository label; repositories x, y go "
        "back to the default policy",
        "  ~ repository api: policy frontend -> backend",
        "  ~ repository worker: policy default -> backend",
        "  ~ repository x: policy legacy -> default",
        "  ~ repository y: policy legacy -> default",
        "  + rule block: finding.alertType=malware",
        '      action: "error"',
        "      position 1, last in policy backend (created by this plan)",
    ]
    assert (
        lines[-1]
        == "Plan: 2 to create, 2 to update, 0 to move, 0 to replace, 1 to delete, 0 unchanged."
    )


def test_markdown_rows_carry_the_same() -> None:
    out = io.StringIO()
    render_markdown(sample(), out)
    markdown = out.getvalue()
    assert (
        "| ~ update | `policy default` | `baseline balanced -> comprehensive` | live `default` |"
        in markdown
    )
    assert (
        "| + create | `policy backend` | `baseline comprehensive`<br>`repositories api, worker` "
        "| `acme.yaml:5:5` |"
    ) in markdown
    assert (
        "| - delete | `policy legacy` | `deletes its 4 rules and its repository label`<br>"
        "`repositories x, y go back to the default policy` | live `p-l` |"
    ) in markdown
    assert "| ~ repository | `repository api` | policy `frontend` → `backend` |  |" in markdown
    assert "| acme | 2 | 2 | 1 | 0 |" in markdown  # the summary table counts policies


def test_json_carries_the_changes_and_the_repository_moves() -> None:
    out = io.StringIO()
    render_json(sample(), out)
    (org,) = json.loads(out.getvalue())["orgs"]
    assert [(c["kind"], c["action"], c["name"]) for c in org["changes"][:4]] == [
        ("policy", "update", "default"),
        ("policy", "update", "frontend"),
        ("policy", "create", "backend"),
        ("policy", "delete", "legacy"),
    ]
    assert org["repository_moves"][0] == {"repository": "api", "from": "frontend", "to": "backend"}
    assert org["changes"][3]["takes_rules"] == 4 and org["declares_policies"] is True


def test_server_text_in_policy_lines_is_escaped() -> None:
    hostile = "evil\x1b[2K\u202e"
    policies = [
        LivePolicy("default", None, "unlabeled_repos", "balanced", org=ORG),
        named("p-l", hostile, ("r-x",), "x\x1b]8;;https://evil\x07"),
    ]
    plan = Plan((policy_plan([DesiredPolicy("default", "balanced")], policies, rules=False),))
    shown = text(plan)
    assert "\x1b" not in shown and "\u202e" not in shown
    assert (
        "  - policy evil\\x1b[2K\\u202e: deletes its 4 rules and its repository label; "
        "repository x goes back" in shown
    )
    assert "  ~ repository x: policy evil\\x1b[2K\\u202e -> default" in shown
    out = io.StringIO()
    render_markdown(plan, out)
    assert "\x1b" not in out.getvalue()
    assert "`policy evil\\x1b[2K\\u202e`" in out.getvalue()
