"""Rule files -> a ``RuleSet``: find the files, read each, join them per org, check across files.

Paths may be files or directories; directories are walked recursively for ``*.yaml`` and
``*.yml`` (skipping hidden entries such as ``.git``), following symbolic links to directories.
The files are read in one order, sorted by their real paths, whatever the order or spelling of
the paths given: under Alert Policies file order is evaluation order, and two runs naming the
same directories differently must not reorder an org. Every problem in every file is collected
first and raised once, as a ``ConfigError`` whose diagnostics read ``FILE:LINE:COL: message``.

A file that is not read is never taken for rules that are not declared (apply would delete
them): a missing path, a directory or file that cannot be read, a broken link and a file name
that is not UTF-8 are errors, not skipped.
"""

from __future__ import annotations

import datetime as dt
import gc
import os
from collections.abc import Sequence
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import TYPE_CHECKING, Final, TypeVar

from reconciler.errors import ConfigError, Diagnostic, Location
from reconciler.rules import policydecl, policyfile, purl, rulefile
from reconciler.rules.model import Rule, utc_today
from reconciler.rules.rulefile import FileRules
from reconciler.rules.ruleset import OrgRules, RuleSet
from reconciler.rules.safety import SafetyPolicy
from reconciler.vocab.triage.selector import Selector

if TYPE_CHECKING:
    from reconciler.vocab.policies.model import DesiredPolicy, DesiredResolution, DesiredRule

SUFFIXES: Final = (".yaml", ".yml")
_T = TypeVar("_T")

__all__ = ["OrgRules", "RuleSet", "SafetyPolicy", "find_files", "load"]


def load(paths: Sequence[str], today: dt.date | None = None) -> RuleSet:
    """Load and validate rule files; ``today`` decides expiry (default: today in UTC).

    Raises ``ConfigError`` with every diagnostic (errors and warnings together) if any error
    was found; otherwise returns the ``RuleSet``, whose ``warnings`` hold the rest.
    """
    today = today or utc_today()
    diagnostics: list[Diagnostic] = []
    files = find_files(paths, diagnostics)
    contributions: list[FileRules] = []
    # What the files become holds no reference cycles, but each full pass of the cyclic collector
    # walks every rule kept so far: paused, 100k rules load in ~40% less time (BENCHMARKS.md).
    enabled = gc.isenabled()
    gc.disable()
    try:
        for file in files:
            text = read_text(file, diagnostics)
            if text is not None:
                result, problems = rulefile.parse(file, text, today)
                contributions.append(result)
                diagnostics += problems
    finally:
        if enabled:
            gc.enable()
    orgs = _join_orgs(contributions, diagnostics)
    for draft in orgs.values():
        diagnostics += policyfile.cross_file_problems(draft.policy_rules, draft.resolutions, today)
        diagnostics += policydecl.cross_file_problems(
            draft.policies,
            draft.policy_rules,
            draft.policy_refs,
            declared=draft.policy_names if draft.declares_policies else None,
            today=today,
        )
    unique = sorted(set(diagnostics))
    if any(d.severity == "error" for d in unique):
        raise ConfigError(unique)
    return RuleSet(
        orgs=MappingProxyType({org: orgs[org].freeze() for org in sorted(orgs)}),
        warnings=tuple(unique),
        files=tuple(files),
    )


def find_files(paths: Sequence[str], diagnostics: list[Diagnostic]) -> list[str]:
    """The rule files named by ``paths``, each once, sorted by real path (not by the order of
    ``paths``); problems go to ``diagnostics``."""
    found: list[str] = []
    seen: set[str] = set()
    for path in paths:
        if os.path.isdir(path):
            before = len(diagnostics)
            matches = _walk(path, diagnostics)
            if not matches and len(diagnostics) == before:
                diagnostics.append(whole(path, "no *.yaml or *.yml rule files in directory"))
        elif os.path.exists(path):
            matches = [path]
        else:
            diagnostics.append(whole(path, _missing(path)))
            continue
        for match in matches:
            key = os.path.realpath(match)
            if key in seen:
                continue
            seen.add(key)
            if _utf8(match):
                found.append(match)
            else:
                diagnostics.append(whole(match, "file name is not valid UTF-8; rename the file"))
    return sorted(found, key=os.path.realpath)


def read_text(file: str, diagnostics: list[Diagnostic]) -> str | None:
    """A file's text; ``None`` with a diagnostic if it cannot be read or is not UTF-8."""
    try:
        with open(file, "rb") as handle:
            data = handle.read()
    except OSError as exc:
        diagnostics.append(whole(file, f"cannot read: {exc.strerror or exc}"))
        return None
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        line = data.count(b"\n", 0, exc.start) + 1
        column = exc.start - (data.rfind(b"\n", 0, exc.start) + 1) + 1
        diagnostics.append(Diagnostic(Location(file, line, column), "not UTF-8 text"))
        return None


def whole(path: str, message: str) -> Diagnostic:
    """A finding about a whole file or directory (no line), its name shown escaped if not UTF-8."""
    shown = os.fsencode(path).decode("utf-8", "backslashreplace")
    return Diagnostic(Location(shown, 0, 0), message)


def _walk(directory: str, diagnostics: list[Diagnostic]) -> list[str]:
    """Every rule file under ``directory``, in sorted order.

    Symbolic links to directories are followed; each real directory is walked once, by its
    resolved path, which also ends link loops. A directory that cannot be listed and a link to
    nothing are errors: what is behind them might be rule files.
    """
    matches: list[str] = []
    walked = {os.path.realpath(directory)}

    def unreadable(exc: OSError) -> None:
        where = exc.filename if isinstance(exc.filename, str) else directory
        diagnostics.append(whole(where, f"cannot read directory: {exc.strerror or exc}"))

    for root, dirs, names in os.walk(directory, onerror=unreadable, followlinks=True):
        kept = []
        for name in sorted(d for d in dirs if not d.startswith(".")):
            real = os.path.realpath(os.path.join(root, name))
            if real not in walked:
                walked.add(real)
                kept.append(name)
        dirs[:] = kept
        for name in names:
            path = os.path.join(root, name)
            if name.startswith("."):
                continue
            if name.endswith(SUFFIXES):
                matches.append(path)
            elif os.path.islink(path) and not os.path.exists(path):
                diagnostics.append(whole(path, _missing(path)))
    return sorted(matches)


def _missing(path: str) -> str:
    if os.path.islink(path):
        return "broken symbolic link: its target does not exist"
    return "no such file or directory"


def _utf8(path: str) -> bool:
    """Whether the name is UTF-8; others hold lone surrogates that no report or note can carry."""
    try:
        path.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True


@dataclass
class _OrgDraft:
    org: str
    rules: list[Rule] = field(default_factory=list)
    files: list[str] = field(default_factory=list)
    prune: tuple[bool, Location] | None = None
    safety: tuple[SafetyPolicy, Location] | None = None
    target: tuple[str, Location] | None = None
    policy_rules: list[DesiredRule] = field(default_factory=list)
    resolutions: list[DesiredResolution] = field(default_factory=list)
    policies: list[DesiredPolicy] = field(default_factory=list)
    declares_policies: bool = False
    policy_names: list[str] = field(default_factory=list)
    policy_refs: dict[Location, Location] = field(default_factory=dict)
    selectors: dict[Selector, Rule] = field(default_factory=dict)
    packages: dict[Selector, Rule] = field(default_factory=dict)  # by purl-normalised selector

    def freeze(self) -> OrgRules:
        return OrgRules(
            org=self.org,
            rules=tuple(self.rules),
            prune=self.prune[0] if self.prune else True,
            safety=self.safety[0] if self.safety else SafetyPolicy(),
            files=tuple(self.files),
            policy_rules=tuple(self.policy_rules),
            resolutions=tuple(self.resolutions),
            target=self.target[0] if self.target else None,
            target_at=self.target[1] if self.target else None,
            policies=tuple(self.policies),
            declares_policies=self.declares_policies,
        )


def _join_orgs(
    contributions: list[FileRules], diagnostics: list[Diagnostic]
) -> dict[str, _OrgDraft]:
    orgs: dict[str, _OrgDraft] = {}
    for part in contributions:
        if part.org is None:
            continue
        draft = orgs.setdefault(part.org, _OrgDraft(part.org))
        draft.files.append(part.file)
        draft.prune = _agree("prune", draft.org, draft.prune, part.prune, diagnostics)
        draft.safety = _agree("safety", draft.org, draft.safety, part.safety, diagnostics)
        draft.target = _agree("target", draft.org, draft.target, part.target, diagnostics)
        draft.policy_rules += part.policy_rules
        draft.resolutions += part.resolutions
        draft.policies += part.policies
        draft.declares_policies = draft.declares_policies or part.declares_policies
        draft.policy_names += part.policy_names
        draft.policy_refs.update(part.policy_refs)
        for rule in part.rules:
            first = draft.selectors.setdefault(rule.selector, rule)
            if first is not rule and rule.location is not None:
                message = f"same selector as {first.location}"
                diagnostics.append(Diagnostic(rule.location, message))
            elif first is rule:
                _warn_same_package(draft, rule, diagnostics)
            draft.rules.append(rule)
    return orgs


def _warn_same_package(draft: _OrgDraft, rule: Rule, diagnostics: list[Diagnostic]) -> None:
    """Warn when two rules differ only in a spelling that the purl spec normalises away."""
    key = rule.selector
    name, namespace = key.package_name or "", key.package_namespace or ""
    # Parsing a purl is slow; most names are spelt as the spec normalises them already.
    if name != name.lower() or "_" in name or namespace != namespace.lower():
        key = purl.canonical(key)
    first = draft.packages.setdefault(key, rule)
    if first is not rule and rule.location is not None:
        message = (
            f"same package as {first.location} once spelt as the purl spec normalises it "
            f"({first.selector.purl()} and {rule.selector.purl()}); socket-triage compares "
            "names as written, so these are two rules"
        )
        diagnostics.append(Diagnostic(rule.location, message, "warning"))


def _agree(
    name: str,
    org: str,
    held: tuple[_T, Location] | None,
    new: tuple[_T, Location] | None,
    diagnostics: list[Diagnostic],
) -> tuple[_T, Location] | None:
    """Keep the first setting of an org-wide policy; a different later one is an error."""
    if held is None:
        return new
    if new is not None and new[0] != held[0]:
        message = f"{name} for org {org!r} differs from the setting at {held[1]}; set it once"
        diagnostics.append(Diagnostic(new[1], message))
    return held
