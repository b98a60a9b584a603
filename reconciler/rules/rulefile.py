"""One rule file's text -> its org, policy, target and rules, with every problem found.

Legacy triage ``rules`` are built here; ``policy_rules`` and ``resolutions`` by ``policyfile``,
``policies`` by ``policydecl``.

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
import sys
from dataclasses import dataclass, field
from itertools import repeat
from typing import TYPE_CHECKING, Any, Final

from reconciler.api import TARGETS, TRIAGE
from reconciler.errors import Diagnostic, Location
from reconciler.rules import (
    catalogue,
    policydecl,
    policyfile,
    purl,
    ruleschema,
    textcheck,
    yamlnodes,
)
from reconciler.rules.expiry import expiry_warning
from reconciler.rules.model import Rule
from reconciler.rules.safety import SafetyPolicy
from reconciler.rules.yamlnodes import YList, YMap
from reconciler.vocab.triage.selector import Selector, normalise
from reconciler.vocab.triage.wire import PACKAGE_FIELDS, SELECTOR_FIELDS, STATES

if TYPE_CHECKING:
    from reconciler.vocab.policies.model import DesiredPolicy, DesiredResolution, DesiredRule

_KNOWN_FIELDS: Final = frozenset(ruleschema.rule_fields())
_DATE_RE: Final = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}")  # the schema's pattern, in ASCII
# Free text that may hold tabs and line breaks; every other string may not.
_PROSE: Final = frozenset({"note", "comment", "reason_text", "description"})
_SELECTOR_SET: Final = frozenset(SELECTOR_FIELDS)
_CVSS: Final = "cvss_score_cmp"
_STATES: Final = {state: state for state in STATES}  # one copy of each state for all rules
_SHARED_MAX: Final = 40  # longer text (notes, names) rarely repeats


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
    policies: list[DesiredPolicy] = field(default_factory=list)
    declares_policies: bool = False  # the file has a ``policies:`` key
    policy_names: list[str] = field(default_factory=list)  # every name it declares
    policy_refs: dict[Location, Location] = field(default_factory=dict)


@dataclass
class _Context:
    file: str
    today: dt.date
    diagnostics: list[Diagnostic] = field(default_factory=list)
    shared: dict[str, str | None] = field(default_factory=dict)
    # Catalogue entries as the file spelt them, found known: most rules repeat a few.
    known: dict[str, set[str]] = field(
        default_factory=lambda: {"alert_type": set(), "package_type": set()}
    )

    def at(self, pos: int) -> Location:
        line, column = yamlnodes.unpack(pos)
        return Location(self.file, line, column)

    def error(self, pos: int, message: str) -> None:
        self.diagnostics.append(Diagnostic(self.at(pos), message))

    def warn(self, pos: int, message: str, *, dated: bool = False) -> None:
        self.diagnostics.append(Diagnostic(self.at(pos), message, "warning", dated))

    def share(self, name: str, value: str | None) -> str | None:
        """``value`` normalised as a selector field, one copy of each short text: types,
        states and versions repeat across 100k rules. Cached in ``shared`` by what the file
        wrote (except for ``cvss_score_cmp``, whose normal form differs)."""
        result = normalise(name, value)
        if result is not None and len(result) <= _SHARED_MAX:
            result = sys.intern(result)
        if name != _CVSS and value is not None:
            self.shared[value] = result
        return result


def parse(file: str, text: str, today: dt.date) -> tuple[FileRules, list[Diagnostic]]:
    """Read one rule file's text. Returns what it contributes and every diagnostic."""
    ctx = _Context(file, today)
    result = FileRules(file)
    doc = yamlnodes.read(text, _PROSE)
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
    # The common case costs one search over all of the file's names, and one over its prose.
    if not (textcheck.clean("".join(doc.names)) and textcheck.clean("".join(doc.prose), note=True)):
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
    """``policies``, ``policy_rules`` and ``resolutions`` (``policydecl``, ``policyfile``); they
    need the Alert Policies target, so a file that pins ``target: triage`` may not hold them."""
    # Control characters were reported by ``_check_strings``: a check need not say it again.
    said = {yamlnodes.pack(d.location.line, d.location.column) for d in ctx.diagnostics}
    declared = policydecl.read(root, ctx.at, faulted | said)
    entries = policyfile.read(root, ctx.at, ctx.today, faulted | said)
    ctx.diagnostics += declared.diagnostics + entries.diagnostics
    result.policies, result.declares_policies = declared.policies, declared.declared
    result.policy_names = declared.names
    result.policy_rules, result.resolutions = entries.rules, entries.resolutions
    result.policy_refs = entries.policy_refs
    if result.target is not None and result.target[0] == TRIAGE:
        for key in (policydecl.POLICIES_KEY, *policyfile.KEYS):
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


class _Fields(dict[str, Any]):
    """A rule's fields over the defaults' fields; ``pos`` says where a value is written.

    Positions are looked up only for a finding: most rules have none to report.
    """

    __slots__ = ("defaults", "raw")
    raw: YMap
    defaults: YMap

    def pos(self, name: str) -> int:
        raw = self.raw
        if name in raw:
            return raw.value_pos(name)
        if name in PACKAGE_FIELDS and "package" in raw:  # expanded from the purl
            return raw.value_pos("package")
        return self.defaults.value_pos(name)


def _fields(raw: YMap, defaults: YMap) -> _Fields:
    if not defaults:
        fields = _Fields(raw)
    else:
        fields = _Fields(defaults)
        if "package" in raw:  # the purl stands for all four package fields
            for name in PACKAGE_FIELDS:
                fields.pop(name, None)
        fields.update(raw)
    fields.raw, fields.defaults = raw, defaults
    return fields


def _build_rule(ctx: _Context, org: str, raw: YMap, defaults: YMap) -> Rule | None:
    fields = _fields(raw, defaults)
    # An unknown field may be a misspelt selector field: check the rest, but build no rule.
    complete = _KNOWN_FIELDS.issuperset(raw)
    if "package" in raw:
        complete = _expand_purl(ctx, fields) and complete
    valid, expires = _expires(ctx, fields) if "expires" in fields else (True, None)
    _check_note(ctx, raw)
    _warn_catalogue(ctx, fields)
    selector = _selector(ctx, fields)
    state, note = raw.get("state"), raw.get("note")
    owner, ticket = fields.get("owner"), fields.get("ticket")
    typed = _text_or_none(owner) and _text_or_none(ticket)
    if selector is None or not (complete and valid and typed):
        return None  # the schema or a check above has said why
    if state not in STATES or type(note) is not str:
        return None
    broad = raw.get("broad") is True
    if selector.is_broad and not broad:
        ctx.error(
            raw.pos,
            "broad rule: no alert_key and no package_name, so it applies across packages; "
            "add 'broad: true' to confirm",
        )
    pos = raw.pos
    rule = Rule(
        org=org,
        selector=selector,
        state=_STATES[state],
        note=note,
        expires=expires,
        owner=owner if owner is None or len(owner) > _SHARED_MAX else sys.intern(owner),
        ticket=ticket,
        broad=broad,
        location=Location(ctx.file, pos >> 16, pos & 0xFFFF),  # yamlnodes.unpack, inlined
    )
    if expires is not None:
        _warn_expiry(ctx, rule)
    return rule


def _text_or_none(value: Any) -> bool:
    return value is None or type(value) is str


def _selector(ctx: _Context, fields: _Fields) -> Selector | None:
    """The rule's selector, or ``None`` if a selector field is not text (the schema says so).

    Absent fields are "any" (``None``) already; text the file repeats is normalised once.
    """
    shared, share = ctx.shared, ctx.share
    values: dict[str, str | None] = {}
    for name, value in fields.items():
        if name in _SELECTOR_SET:
            if type(value) is str:
                cached = value in shared and name != _CVSS
                values[name] = shared[value] if cached else share(name, value)
            elif value is not None:
                return None
    return Selector(**values)


def _expand_purl(ctx: _Context, fields: _Fields) -> bool:
    """Replace ``package`` with the four package fields, as written; ``False`` if it cannot."""
    raw = fields.raw
    text, pos = fields.pop("package"), raw.value_pos("package")
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
    fields.update(zip(PACKAGE_FIELDS, parts, strict=True))
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


def _expires(ctx: _Context, fields: _Fields) -> tuple[bool, dt.date | None]:
    """(valid?, the parsed ``expires`` date); ``fields`` has one."""
    text = fields["expires"]
    if type(text) is not str or not _DATE_RE.fullmatch(text):
        return False, None  # reported by the schema
    try:
        return True, dt.date.fromisoformat(text)
    except ValueError:
        ctx.error(fields.pos("expires"), f"expires: {text!r} is not a valid date")
        return False, None


def _warn_catalogue(ctx: _Context, fields: _Fields) -> None:
    for name in ("alert_type", "package_type"):
        written = fields.get(name)
        if type(written) is str and written not in ctx.known[name]:
            message = _unknown_message(name, written)
            if message is None:
                ctx.known[name].add(written)
            else:
                ctx.warn(fields.pos(name), message)


def _unknown_message(name: str, written: str) -> str | None:
    """``catalogue.unknown_message`` for what a file wrote."""
    value = normalise(name, written)
    return catalogue.unknown_message(name, value) if value is not None else None


def _warn_expiry(ctx: _Context, rule: Rule) -> None:
    message = expiry_warning(rule.expires, ctx.today)
    if message is not None and rule.location is not None:
        ctx.warn(yamlnodes.pack(rule.location.line, rule.location.column), message, dated=True)
