"""Rule files -> a ``RuleSet``: find the files, read each, join them per org, check across files.

Paths may be files or directories; directories are walked recursively for ``*.yaml`` and
``*.yml`` in sorted order (skipping hidden entries such as ``.git``). Every problem in every file
is collected first and raised once, as a ``ConfigError`` whose diagnostics read
``FILE:LINE:COL: message``.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import gc
import os
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Final, TypeVar

from reconciler.engine.safety import SafetyPolicy
from reconciler.errors import ConfigError, Diagnostic, Location
from reconciler.rules import rulefile
from reconciler.rules.model import Rule, utc_today
from reconciler.rules.rulefile import FileRules
from reconciler.rules.ruleset import OrgRules, RuleSet
from reconciler.triage.selector import Selector

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
    with _no_cyclic_gc():
        for file in files:
            text = _read(file, diagnostics)
            if text is not None:
                result, found = rulefile.parse(file, text, today)
                contributions.append(result)
                diagnostics.extend(found)
    orgs = _join_orgs(contributions, diagnostics)
    unique = sorted(set(diagnostics))
    if any(d.severity == "error" for d in unique):
        raise ConfigError(unique)
    return RuleSet(
        orgs=MappingProxyType({org: orgs[org].freeze() for org in sorted(orgs)}),
        warnings=tuple(unique),
        files=tuple(files),
    )


@contextlib.contextmanager
def _no_cyclic_gc() -> Iterator[None]:
    """Pause the cyclic garbage collector while files are read.

    Each file builds ~15 short-lived objects per rule line while the rules kept so far pile up;
    the collector's full passes rescan everything kept and made 100,000 rules take 3x longer.
    What we build holds no reference cycles, so reference counting frees it all the same; the
    one exception, a recursive YAML alias's node, is collected once the collector resumes.
    """
    enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if enabled:
            gc.enable()


def find_files(paths: Sequence[str], diagnostics: list[Diagnostic]) -> list[str]:
    """The rule files named by ``paths``, each once, in order; problems go to ``diagnostics``."""
    found: list[str] = []
    seen: set[str] = set()
    for path in paths:
        if os.path.isdir(path):
            matches = _walk(path)
            if not matches:
                diagnostics.append(_at_start(path, "no *.yaml or *.yml rule files in directory"))
        elif os.path.exists(path):
            matches = [path]
        else:
            diagnostics.append(_at_start(path, "no such file or directory"))
            continue
        for match in matches:
            key = os.path.realpath(match)
            if key not in seen:
                seen.add(key)
                found.append(match)
    return found


def _walk(directory: str) -> list[str]:
    matches: list[str] = []
    for root, dirs, names in os.walk(directory):
        dirs[:] = [d for d in dirs if not d.startswith(".")]
        matches.extend(
            os.path.join(root, name)
            for name in names
            if name.endswith(SUFFIXES) and not name.startswith(".")
        )
    return sorted(matches)


def _at_start(file: str, message: str) -> Diagnostic:
    return Diagnostic(Location(file, 1, 1), message)


def _read(file: str, diagnostics: list[Diagnostic]) -> str | None:
    try:
        with open(file, "rb") as handle:
            data = handle.read()
    except OSError as exc:
        diagnostics.append(_at_start(file, f"cannot read: {exc.strerror or exc}"))
        return None
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        line = data.count(b"\n", 0, exc.start) + 1
        column = exc.start - (data.rfind(b"\n", 0, exc.start) + 1) + 1
        where = Location(file, line, column)
        diagnostics.append(Diagnostic(where, "not UTF-8 text"))
        return None


@dataclass
class _OrgDraft:
    org: str
    rules: list[Rule] = field(default_factory=list)
    files: list[str] = field(default_factory=list)
    prune: tuple[bool, Location] | None = None
    safety: tuple[SafetyPolicy, Location] | None = None
    selectors: dict[Selector, Rule] = field(default_factory=dict)

    def freeze(self) -> OrgRules:
        return OrgRules(
            org=self.org,
            rules=tuple(self.rules),
            prune=self.prune[0] if self.prune else True,
            safety=self.safety[0] if self.safety else SafetyPolicy(),
            files=tuple(self.files),
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
        for rule in part.rules:
            first = draft.selectors.setdefault(rule.selector, rule)
            if first is not rule and rule.location is not None:
                message = f"same selector as {first.location}"
                diagnostics.append(Diagnostic(rule.location, message))
            draft.rules.append(rule)
    return orgs


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
