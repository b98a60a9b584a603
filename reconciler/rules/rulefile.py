"""One rule file's text -> its org, policy, target and rules, with every problem found.

Legacy triage ``rules`` are built here; ``policy_rules`` and ``resolutions`` by ``policyfile``.

The schema (``ruleschema``) says what is well-formed; this module does what a schema cannot:
merge ``defaults``, expand the purl shorthand, parse dates, refuse control characters and the
trailer's marker (``textcheck``), require ``broad: true`` on broad rules, and warn about unknown
alert and package types, placeholder notes and expiry. It never raises for bad input; each
problem becomes a ``Diagnostic`` at the node it is about.

Each check runs whatever the others found, so one run reports a rule's schema errors and its
semantic errors together; only what needs a whole, valid rule (the broad check, duplicates)
waits for one.
"""

from __future__ import annotations

import datetime as dt
import math
import re
from dataclasses import dataclass, field
from itertools import repeat
from typing import TYPE_CHECKING, Any, Final

from reconciler.api import TARGETS, TRIAGE
from reconciler.engine.safety import SafetyPolicy
from reconciler.errors import Diagnostic, Location
from reconciler.rules import catalogue, policyfile, purl, ruleschema, textcheck, yamlnodes
from reconciler.rules.expiry import expiry_warning
from reconciler.rules.model import Rule
from reconciler.rules.yamlnodes import YList, YMap
from reconciler.triage.selector import Selector, normalise
from reconciler.triage.wire import PACKAGE_FIELDS, SELECTOR_FIELDS, STATES

if TYPE_CHECKING:
    from reconciler.policies.model import DesiredResolution, DesiredRule

_KNOWN_FIELDS: Final = frozenset(ruleschema.rule_fields())
_DATE_RE: Final = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}")  # the schema's pattern, in ASCII
# Free text that may hold tabs and line breaks; every other string may not.
_PROSE: Final = frozenset({"note", "comment", "reason_text"})


@dataclass
class FileRules:
    """What one valid-enough file contributes. ``org`` is ``None`` when the file names none."""

    file: str
    org: str | None = None
    prune: tuple[bool, Location] | None = None
    safety: tuple[SafetyPolicy, Location] | None = None
    target: tuple[str, Location] | None = None
    rules: list[Rule] = field(default_factory=list)
    policy_rules: list[DesiredRule] = field(default_factory=list)
    resolutions: list[DesiredResolution] = field(default_factory=list)


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
    # One message per value: one that YAML already faulted (".nan") gets no schema error too.
    faulted = {problem.pos for problem in doc.problems}
    for finding in ruleschema.findings(root, doc.texts):
        if finding.pos not in faulted:
            ctx.error(finding.pos, finding.message)
        faulted.add(finding.pos)
    _check_strings(ctx, root)
    _read_policy(ctx, root, result)
    _read_policy_entries(ctx, root, result, faulted)
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
    target = root.get("target")
    if target in TARGETS:
        result.target = (target, ctx.at(root.value_pos("target")))
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


def _read_policy_entries(ctx: _Context, root: YMap, result: FileRules, faulted: set[int]) -> None:
    """``policy_rules`` and ``resolutions`` (``policyfile``); they need the Alert Policies
    target, so a file that pins ``target: triage`` may not hold them."""
    # Control characters were reported by ``_check_strings``: a check need not say it again.
    said = {yamlnodes.pack(d.location.line, d.location.column) for d in ctx.diagnostics}
    entries = policyfile.read(root, ctx.at, ctx.today, faulted | said)
    ctx.diagnostics.extend(entries.diagnostics)
    result.policy_rules, result.resolutions = entries.rules, entries.resolutions
    if result.target is not None and result.target[0] == TRIAGE:
        for key in policyfile.KEYS:
            if key in root:
                ctx.error(
                    root.key_pos(key),
                    f"{key} need the alert-policies target, but this file pins 'target: {TRIAGE}'",
                )


def _is_number(value: Any) -> bool:
    return type(value) in (int, float) and math.isfinite(value)


def _check_strings(ctx: _Context, root: YMap) -> None:
    """Refuse control characters in every string of the file (see ``textcheck``)."""
    seen: set[int] = set()  # an aliased subtree is checked once
    stack: list[YMap | YList] = [root]
    while stack:
        node = stack.pop()
        if id(node) in seen:
            continue
        seen.add(id(node))
        names: list[str] = []
        prose: list[str] = []
        pairs = node.items() if isinstance(node, YMap) else zip(repeat("item"), node)
        for label, value in pairs:
            kind = type(value)
            if kind is str:
                if label in _PROSE:
                    prose.append(value)
                else:
                    names.append(value)
            elif kind is YMap or kind is YList:
                stack.append(value)
        # The common case costs one search over all of a node's names, and one over its note.
        if not (textcheck.clean("".join(names)) and textcheck.clean("".join(prose), note=True)):
            _report_control_characters(ctx, node)


def _report_control_characters(ctx: _Context, node: YMap | YList) -> None:
    if isinstance(node, YMap):
        texts = [(key, value, node.value_pos(key)) for key, value in node.items()]
    else:
        texts = [("item", value, pos) for value, pos in zip(node, node.item_pos, strict=True)]
    for label, value, pos in texts:
        if type(value) is str:
            problem = textcheck.control_character(label, value, note=label in _PROSE)
            if problem is not None:
                ctx.error(pos, problem)


def _merged(raw: YMap, defaults: YMap) -> dict[str, tuple[Any, int]]:
    """Rule fields over default fields, each with the position of its value."""
    fields = {key: (value, defaults.value_pos(key)) for key, value in defaults.items()}
    if "package" in raw:  # the purl stands for all four package fields
        for name in PACKAGE_FIELDS:
            fields.pop(name, None)
    fields.update((key, (value, raw.value_pos(key))) for key, value in raw.items())
    return fields


def _build_rule(ctx: _Context, org: str, raw: YMap, defaults: YMap) -> Rule | None:
    fields = _merged(raw, defaults)
    # An unknown field may be a misspelt selector field: check the rest, but build no rule.
    complete = _KNOWN_FIELDS.issuperset(raw)
    if "package" in raw:
        complete = _expand_purl(ctx, raw, fields) and complete
    valid, expires = _expires(ctx, fields)
    _check_note(ctx, raw)
    _warn_catalogue(ctx, fields)
    values = {name: fields[name][0] for name in SELECTOR_FIELDS if name in fields}
    state, note = raw.get("state"), raw.get("note")
    meta = [fields.get(name, (None, 0))[0] for name in ("owner", "ticket")]
    typed = all(v is None or type(v) is str for v in (*values.values(), *meta))
    if not (complete and valid and typed and state in STATES and type(note) is str):
        return None  # the schema or a check above has said why
    selector = Selector.from_snake(values)
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
    """Replace ``package`` with the four package fields, as written; ``False`` if it cannot."""
    text, pos = fields.pop("package")
    mixed = [name for name in PACKAGE_FIELDS if name in raw]
    if mixed:
        ctx.error(
            raw.key_pos("package"),
            f"package: give either a purl or package_* fields, not both (also has {mixed[0]})",
        )
        return False
    if type(text) is not str or not text.startswith(purl.PREFIX):
        return False  # reported by the schema
    try:
        package = purl.parse(text)
    except ValueError as exc:
        ctx.error(pos, f"package: {text!r} {exc}")
        return False
    parts = (package.type, package.namespace, package.name, package.version)
    problems = [textcheck.control_character("package", p) for p in parts if p is not None]
    if package.version is not None and "*" in package.version[:-1]:
        problems.append(
            f"package: {text!r} has a '*' before the end of its version; '*' is allowed only "
            "as a suffix, e.g. '7.*'"
        )
    for problem in problems:
        if problem is not None:
            ctx.error(pos, problem)
    for name, value in zip(PACKAGE_FIELDS, parts, strict=True):
        fields[name] = (value, pos)
    return not any(problems)


def _check_note(ctx: _Context, raw: YMap) -> None:
    note = raw.get("note")
    if type(note) is not str:
        return
    reserved = textcheck.reserved_marker(note)
    if reserved is not None:
        ctx.error(raw.value_pos("note"), reserved)
    placeholder = textcheck.placeholder(note)
    if placeholder is not None:
        ctx.warn(raw.value_pos("note"), placeholder)


def _expires(ctx: _Context, fields: dict[str, tuple[Any, int]]) -> tuple[bool, dt.date | None]:
    """(valid?, the parsed ``expires`` date or ``None`` when absent)."""
    if "expires" not in fields:
        return True, None
    text, pos = fields["expires"]
    if type(text) is not str or not _DATE_RE.fullmatch(text):
        return False, None  # reported by the schema
    try:
        return True, dt.date.fromisoformat(text)
    except ValueError:
        ctx.error(pos, f"expires: {text!r} is not a valid date")
        return False, None


def _warn_catalogue(ctx: _Context, fields: dict[str, tuple[Any, int]]) -> None:
    for name in ("alert_type", "package_type"):
        written, pos = fields.get(name, (None, 0))
        value = normalise(name, written) if type(written) is str else None
        message = catalogue.unknown_message(name, value) if value is not None else None
        if message is not None:
            ctx.warn(pos, message)


def _warn_expiry(ctx: _Context, rule: Rule) -> None:
    message = expiry_warning(rule.expires, ctx.today)
    if message is not None and rule.location is not None:
        ctx.warn(yamlnodes.pack(rule.location.line, rule.location.column), message)
