"""The MCP tools as plain functions: rule files and the org's live rules in, JSON-ready dicts out.

All of them are read-only. The only API calls are reads: the paged GET of an org's live triage
rules (``plan``, ``explain`` with ``live``, ``list_live_rules``, ``check_rule`` with ``live``),
and for ``plan`` and ``explain`` with ``live`` on an Alert Policies org its migration status,
policies, rules, resolutions and repositories, and Socket's translate endpoint (which writes
nothing), made
with the token from the server process's environment (never a tool argument) against the
server's ``--api-url``. The MCP SDK is not imported here; ``server`` adapts these to it, and
redacts and bounds every result (``bounds``).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Final

from reconciler.api import TARGETS, TRIAGE
from reconciler.engine.flow import make_plan
from reconciler.engine.orgs import select_orgs
from reconciler.engine.provenance import detect
from reconciler.errors import ConfigError, Diagnostic, UsageError
from reconciler.explain.alert import describe_alert
from reconciler.explain.policy_alert import describe_policy_alert
from reconciler.explain.query import explain_alert, file_target, one_org
from reconciler.explain.report import live_rule_dict
from reconciler.http.retry import RetryPolicy
from reconciler.mcp import checkrule
from reconciler.mcp.confine import confine
from reconciler.rules import loader
from reconciler.rules.model import utc_today
from reconciler.rules.orgslug import check_org
from reconciler.rules.ruleset import OrgRules, RuleSet
from reconciler.triage.listing import list_live
from reconciler.vocab.triage.selector import LiveRule
from reconciler.vocab.triage.wire import STATES
from reconciler.wiring import Wiring, open_client

MAX_LIMIT: Final = 500
DEFAULT_LIMIT: Final = 50


def diagnostic_dict(diagnostic: Diagnostic) -> dict[str, Any]:
    where = diagnostic.location
    return {
        "file": where.file,
        "line": where.line,
        "column": where.column,
        "severity": diagnostic.severity,
        "message": diagnostic.message,
        "text": str(diagnostic),
    }


@dataclass(frozen=True)
class Tools:
    """The tools of one server: its API URL, retry policy, and the root paths are confined to."""

    api_url: str
    root: Path
    retry: RetryPolicy = RetryPolicy()  # noqa: RUF009 - frozen

    def _load(self, paths: Sequence[str], today: dt.date) -> RuleSet:
        return loader.load(confine(paths, self.root), today=today)

    def validate(self, paths: Sequence[str]) -> dict[str, Any]:
        """Every error and warning in the rule files, as validate prints them."""
        try:
            rule_set = self._load(paths, utc_today())
        except ConfigError as exc:
            found = exc.diagnostics
            return {
                "ok": False,
                "errors": [diagnostic_dict(d) for d in found if d.severity == "error"],
                "warnings": [diagnostic_dict(d) for d in found if d.severity != "error"],
            }
        return {
            "ok": True,
            "rules": rule_set.rule_count,
            "orgs": list(rule_set.orgs),
            "files": list(rule_set.files),
            "errors": [],
            "warnings": [diagnostic_dict(d) for d in rule_set.warnings],
        }

    def plan(self, paths: Sequence[str], org: str | None) -> dict[str, Any]:
        """The JSON plan (as ``plan --format json``) of every org in the files, or of ``org``."""
        rule_set = self._load(paths, utc_today())
        orgs = select_orgs(rule_set, None if org is None else check_org(org, "org"))
        with open_client(self.api_url, retry=self.retry) as client:
            plan = make_plan(Wiring(client), orgs, detect(), utc_today())
        return {
            **plan.to_dict(),
            "warnings": [diagnostic_dict(d) for d in rule_set.warnings],
        }

    def explain(
        self,
        paths: Sequence[str],
        *,
        org: str | None,
        alert: Mapping[str, Any],
        target: str | None,
        live: bool,
        where: Mapping[str, str | None] | None = None,
    ) -> dict[str, Any]:
        """``explain`` of one alert; ``alert`` holds ``describe_alert``'s keyword arguments,
        ``where`` ``describe_policy_alert``'s (``severity``, ``repo``, ``manifest``): under
        Alert Policies, the governing policy, its rules, resolutions and baseline."""
        _check_target(target)
        described = describe_policy_alert(describe_alert(**alert), **(where or {}))
        answer = explain_alert(
            confine(paths, self.root),
            org=None if org is None else check_org(org, "org"),
            alert=described,
            target=target,
            live=live,
            api_url=self.api_url,
            retry=self.retry,
            today=utc_today(),
        )
        return {
            **answer.explanation.to_dict(),
            "warnings": [diagnostic_dict(d) for d in answer.warnings],
        }

    def list_live_rules(
        self,
        org: str,
        *,
        filters: Mapping[str, str | None],
        managed: bool | None,
        limit: int,
        offset: int,
    ) -> dict[str, Any]:
        """The org's live rules, oldest first, filtered, one page of at most ``limit``."""
        if not 1 <= limit <= MAX_LIMIT or offset < 0:
            raise UsageError(f"limit is 1 to {MAX_LIMIT} and offset at least 0")
        state = filters.get("state")
        if state is not None and state not in STATES:
            raise UsageError(f"state {state!r}: choose one of {', '.join(STATES)}")
        rules = self._live(check_org(org, "org"))
        kept = [r for r in rules if _keep(r, filters, managed)]
        page = kept[offset : offset + limit]
        following = offset + limit if offset + limit < len(kept) else None
        return {
            "org": org,
            "total": len(rules),
            "matched": len(kept),
            "offset": offset,
            "next_offset": following,
            "rules": [live_rule_dict(r) for r in page],
        }

    def check_rule(
        self,
        paths: Sequence[str],
        *,
        org: str | None,
        rule_yaml: str | None,
        fields: Mapping[str, Any] | None,
        target: str | None,
        live: bool,
    ) -> dict[str, Any]:
        """Validate a proposed rule, compare it with the files and the org, and place it."""
        _check_target(target)
        text = checkrule.rule_text(rule_yaml, fields)
        today = utc_today()
        rule_set = self._load(paths, today)
        rules = _org_rules(rule_set, org)
        proposal = checkrule.parse_proposal(rules.org, text, today)
        found = [diagnostic_dict(d) for d in proposal.diagnostics]
        if proposal.rule is None:
            return {"valid": False, "org": rules.org, "diagnostics": found}
        chosen = target or file_target(rules) or TRIAGE
        result = checkrule.check(
            rules,
            proposal.rule,
            target=chosen,
            today=today,
            list_live=self._live if live else None,
        )
        return {"org": rules.org, "target": chosen, "diagnostics": found, **result}

    def _live(self, org: str) -> list[LiveRule]:
        with open_client(self.api_url, retry=self.retry) as client:
            return list_live(client, org)


def _check_target(target: str | None) -> None:
    if target is not None and target not in TARGETS:
        raise UsageError(f"target {target!r}: choose one of {', '.join(TARGETS)}")


def _org_rules(rule_set: RuleSet, org: str | None) -> OrgRules:
    """The org's rules; an org the files do not name yet has none (its first rule starts one)."""
    if org is not None and org not in rule_set.orgs:
        return OrgRules(org=check_org(org, "org"), rules=())
    return one_org(rule_set, org)


def _keep(rule: LiveRule, filters: Mapping[str, str | None], managed: bool | None) -> bool:
    if managed is not None and rule.managed != managed:
        return False
    for name in ("package_type", "package_name", "alert_type"):
        wanted = filters.get(name)
        if wanted is not None and getattr(rule.selector, name) != wanted:
            return False
    state = filters.get("state")
    if state is not None and rule.state != state:
        return False
    text = (filters.get("contains") or "").casefold()
    return not text or text in f"{rule.selector.describe()} {rule.human_note}".casefold()
