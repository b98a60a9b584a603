"""One rule file's text -> its org, policy and ``Rule`` objects, with every problem found.

The schema (``ruleschema``) says what is well-formed; this module does what a schema cannot:
merge ``defaults``, expand the purl shorthand, parse dates, require ``broad: true`` on broad
rules, and warn about unknown alert and package types and about expiry. It never raises for bad
input; each problem becomes a ``Diagnostic`` at the node it is about.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from typing import Any, Final

from packageurl import PackageURL

from reconciler.engine.safety import SafetyPolicy
from reconciler.errors import Diagnostic, Location
from reconciler.rules import catalogue, ruleschema, yamlnodes
from reconciler.rules.model import Rule
from reconciler.rules.yamlnodes import YList, YMap
from reconciler.triage.selector import Selector
from reconciler.triage.wire import SELECTOR_FIELDS, STATES

EXPIRY_WARNING_DAYS: Final = 14
_KNOWN_FIELDS: Final = frozenset(ruleschema.rule_fields())
_PACKAGE_FIELDS: Final = ("package_type", "package_namespace", "package_name", "package_version")


@dataclass
class FileRules:
    """What one valid-enough file contributes. ``org`` is ``None`` when the file names none."""

    file: str
    org: str | None = None
    prune: tuple[bool, Location] | None = None
    safety: tuple[SafetyPolicy, Location] | None = None
    rules: list[Rule] = field(default_factory=list)


@dataclass
class _Context:
    file: str
    today: dt.date
    diagnostics: list[Diagnostic] = field(default_factory=list)

    def at(self, pos: int) -> Location:
        line, column = yamlnodes.unpack(pos)
        return Location(self.file, line, column)

    def error(self, pos: int, message: str) -> None:
        self.diagnostics.append(Diagnostic(self.at(pos), message))

    def warn(self, pos: int, message: str) -> None:
        self.diagnostics.append(Diagnostic(self.at(pos), message, "warning"))


def parse(file: str, text: str, today: dt.date) -> tuple[FileRules, list[Diagnostic]]:
    """Read one rule file's text. Returns what it contributes and every diagnostic."""
    ctx = _Context(file, today)
    result = FileRules(file)
    doc = yamlnodes.read(text)
    for problem in doc.problems:
        ctx.error(problem.pos, problem.message)
    root = doc.root
    if root is None:
        if not doc.problems:
            ctx.error(yamlnodes.pack(1, 1), "empty rule file")
        return result, ctx.diagnostics
    if not isinstance(root, YMap):
        ctx.error(
            root.pos if isinstance(root, YList) else yamlnodes.pack(1, 1),
            "a rule file must be a mapping with 'org' and 'rules'",
        )
        return result, ctx.diagnostics
    for finding in ruleschema.findings(root):
        ctx.error(finding.pos, finding.message)
    _read_policy(ctx, root, result)
    rules = root.get("rules")
    defaults = root.get("defaults")
    defaults = defaults if isinstance(defaults, YMap) else YMap(root.pos)
    if isinstance(rules, YList):
        for raw in rules:
            if isinstance(raw, YMap):
                rule = _build_rule(ctx, result.org or "", raw, defaults)
                if rule is not None:
                    result.rules.append(rule)
    return result, ctx.diagnostics


def _read_policy(ctx: _Context, root: YMap, result: FileRules) -> None:
    org = root.get("org")
    if isinstance(org, str) and org.strip():
        result.org = org
    prune = root.get("prune")
    if isinstance(prune, bool):
        result.prune = (prune, ctx.at(root.value_pos("prune")))
    safety = root.get("safety")
    if isinstance(safety, YMap):
        percent = safety.get("max_change_percent", SafetyPolicy.max_change_percent)
        minimum = safety.get("min_existing", SafetyPolicy.min_existing)
        if _is_number(percent) and type(minimum) is int:
            policy = SafetyPolicy(float(percent), minimum)
            result.safety = (policy, ctx.at(root.value_pos("safety")))


def _is_number(value: Any) -> bool:
    return type(value) in (int, float)


def _merged(raw: YMap, defaults: YMap) -> dict[str, tuple[Any, int]]:
    """Rule fields over default fields, each with the position of its value."""
    fields = {key: (value, defaults.value_pos(key)) for key, value in defaults.items()}
    if "package" in raw:  # the purl stands for all four package fields
        for name in _PACKAGE_FIELDS:
            fields.pop(name, None)
    fields.update((key, (value, raw.value_pos(key))) for key, value in raw.items())
    return fields


def _build_rule(ctx: _Context, org: str, raw: YMap, defaults: YMap) -> Rule | None:
    if not _KNOWN_FIELDS.issuperset(raw):
        return None  # an unknown field may be a misspelt selector field: judge nothing more
    fields = _merged(raw, defaults)
    if "package" in raw and not _expand_purl(ctx, raw, fields):
        return None
    values = {name: fields[name][0] for name in SELECTOR_FIELDS if name in fields}
    state, note = raw.get("state"), raw.get("note")
    meta = [fields.get(name, (None, 0))[0] for name in ("owner", "ticket")]
    if not all(v is None or type(v) is str for v in (*values.values(), *meta)):
        return None  # the schema has said which value has the wrong type
    if state not in STATES or type(note) is not str:
        return None
    valid, expires = _expires(ctx, fields)
    if not valid:
        return None
    selector = Selector.from_snake(values)
    _warn_catalogue(ctx, selector, fields)
    broad = raw.get("broad") is True
    if selector.is_broad and not broad:
        ctx.error(
            raw.pos,
            "broad rule: no alert_key and no package_name, so it applies across packages; "
            "add 'broad: true' to confirm",
        )
    rule = Rule(
        org=org,
        selector=selector,
        state=state,
        note=note,
        expires=expires,
        owner=meta[0],
        ticket=meta[1],
        broad=broad,
        location=ctx.at(raw.pos),
    )
    _warn_expiry(ctx, rule)
    return rule


def _expand_purl(ctx: _Context, raw: YMap, fields: dict[str, tuple[Any, int]]) -> bool:
    """Replace ``package`` with the four package fields; ``False`` if it cannot."""
    text, pos = fields.pop("package")
    mixed = [name for name in _PACKAGE_FIELDS if name in raw]
    if mixed:
        ctx.error(
            raw.key_pos("package"),
            f"package: give either a purl or package_* fields, not both (also has {mixed[0]})",
        )
        return False
    if type(text) is not str or not text.startswith("pkg:"):
        return False  # reported by the schema
    try:
        purl = PackageURL.from_string(text)
    except ValueError as exc:
        ctx.error(pos, f"package: {text!r} is not a valid purl: {exc}")
        return False
    if purl.qualifiers or purl.subpath:
        ctx.error(pos, f"package: {text!r} has qualifiers or a subpath, which rules cannot match")
        return False
    parts = (purl.type, purl.namespace, purl.name, purl.version)
    for name, value in zip(_PACKAGE_FIELDS, parts, strict=True):
        fields[name] = (value, pos)
    return True


def _expires(ctx: _Context, fields: dict[str, tuple[Any, int]]) -> tuple[bool, dt.date | None]:
    """(valid?, the parsed ``expires`` date or ``None`` when absent)."""
    if "expires" not in fields:
        return True, None
    text, pos = fields["expires"]
    if type(text) is not str or len(text) != 10:
        return False, None  # reported by the schema
    try:
        return True, dt.date.fromisoformat(text)
    except ValueError:
        ctx.error(pos, f"expires: {text!r} is not a valid date")
        return False, None


def _warn_catalogue(ctx: _Context, selector: Selector, fields: dict[str, tuple[Any, int]]) -> None:
    for name in ("alert_type", "package_type"):
        value = getattr(selector, name)
        message = catalogue.unknown_message(name, value) if value is not None else None
        if message is not None:
            ctx.warn(fields[name][1], message)


def _warn_expiry(ctx: _Context, rule: Rule) -> None:
    if rule.expires is None or rule.location is None:
        return
    days = (rule.expires - ctx.today).days
    pos = yamlnodes.pack(rule.location.line, rule.location.column)
    if days < 0:
        ctx.warn(pos, f"rule expired on {rule.expires}; it counts as removed")
    elif days <= EXPIRY_WARNING_DAYS:
        when = "today" if days == 0 else f"in {days} day{'s' if days != 1 else ''}"
        ctx.warn(pos, f"rule expires on {rule.expires} ({when})")
