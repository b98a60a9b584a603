"""Where a proposed rule belongs, and the exact YAML to add there.

The file: among the org's files, the one with the most rules of the proposed rule's package
type (for a rule without one, the most rules without one); on a tie, the first in file order;
when no file has any, the first file without a ``defaults`` package type. The YAML is written
against that file's ``defaults``: a field the defaults already give is left out, and a
selector field the defaults set and the proposed rule leaves as "any" is written as ``"*"``.
The result is then checked by appending it to the file's text and reading it back:
``verified`` says the rule read back is the proposed rule. Metadata the proposed rule leaves
unset (owner, ticket, expires) is taken from the file's defaults, as for every rule there;
``inherits`` says which.
"""

from __future__ import annotations

import datetime as dt
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Final

import yaml

from reconciler.rules import rulefile
from reconciler.rules.model import Rule
from reconciler.rules.ruleset import OrgRules
from reconciler.vocab.triage.selector import normalise
from reconciler.vocab.triage.wire import SELECTOR_FIELDS, WILDCARD

DEFAULT_INDENT: Final = 2


@dataclass(frozen=True)
class Placement:
    file: str
    yaml: str
    reason: str
    new_file: bool = False
    verified: bool = False
    inherits: dict[str, str] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        return {
            "file": self.file,
            "new_file": self.new_file,
            "yaml": self.yaml,
            "reason": self.reason,
            "verified": self.verified,
            "inherits": dict(self.inherits),
        }


def place(rules: OrgRules, proposal: Rule, today: dt.date, folder: str = ".") -> Placement:
    """The file of ``rules`` the proposal belongs in and the YAML to append to it."""
    if not rules.files:
        document = {"org": rules.org, "rules": [_fields(proposal, {})[0]]}
        text = yaml.safe_dump(document, sort_keys=False, allow_unicode=True, width=1000)
        path = os.path.join(folder, f"{rules.org}.yaml")
        return Placement(path, text, f"no file names org {rules.org}", new_file=True)
    file, reason = _choose(rules, proposal)
    source = Path(file).read_text(encoding="utf-8-sig")
    loaded = yaml.safe_load(source)
    defaults = loaded.get("defaults") if isinstance(loaded, dict) else None
    fields, inherits = _fields(proposal, defaults if isinstance(defaults, dict) else {})
    snippet = _snippet(fields, _indent(rules, file))
    expected = {**_metadata(proposal), **inherits}
    verified = _read_back(file, source, snippet, proposal, expected, today)
    return Placement(file, snippet, reason, verified=verified, inherits=inherits)


def _choose(rules: OrgRules, proposal: Rule) -> tuple[str, str]:
    wanted = proposal.selector.package_type
    counts = dict.fromkeys(rules.files, 0)
    for rule in rules.rules:
        if rule.location and rule.selector.package_type == wanted:
            counts[rule.location.file] = counts.get(rule.location.file, 0) + 1
    best = max(rules.files, key=lambda f: (counts[f], -rules.files.index(f)))
    kind = f"package_type {wanted}" if wanted else "no package_type"
    if counts[best]:
        return best, f"{counts[best]} of its rules have {kind}, the most of the org's files"
    plain = [f for f in rules.files if not _default_type(f)]
    chosen = plain[0] if plain else rules.files[0]
    return chosen, f"no file of the org has rules with {kind}; a file without a default type"


def _default_type(file: str) -> bool:
    loaded = yaml.safe_load(Path(file).read_text(encoding="utf-8-sig"))
    defaults = loaded.get("defaults") if isinstance(loaded, dict) else None
    return isinstance(defaults, dict) and bool(
        normalise("package_type", defaults.get("package_type"))
    )


def _fields(proposal: Rule, defaults: dict[str, Any]) -> tuple[dict[str, Any], dict[str, str]]:
    """The rule's fields to write under ``defaults``, and the metadata it takes from them."""
    out: dict[str, Any] = {}
    for name, value in zip(SELECTOR_FIELDS, proposal.selector, strict=True):
        given = normalise(name, defaults.get(name))
        if value != given:
            out[name] = WILDCARD if value is None else value
    out["state"] = proposal.state
    out["note"] = proposal.note
    inherits: dict[str, str] = {}
    for name, value in _metadata(proposal).items():
        default = defaults.get(name)
        if value is None and default is not None:
            inherits[name] = str(default)  # metadata, not meaning: take the file's default
        elif value is not None and (default is None or value != str(default)):
            out[name] = value
    if proposal.broad:
        out["broad"] = True
    return out, inherits


def _metadata(rule: Rule) -> dict[str, str | None]:
    return {
        "owner": rule.owner,
        "ticket": rule.ticket,
        "expires": rule.expires.isoformat() if rule.expires else None,
    }


def _indent(rules: OrgRules, file: str) -> int:
    """Spaces before the ``-`` of the file's rules (a rule's location is its first key)."""
    for rule in rules.rules:
        if rule.location and rule.location.file == file:
            return max(0, rule.location.column - 3)
    return DEFAULT_INDENT


def _snippet(fields: dict[str, Any], indent: int) -> str:
    text = yaml.safe_dump(fields, sort_keys=False, allow_unicode=True, width=1000)
    lines = text.splitlines()
    pad = " " * indent
    return "\n".join([f"{pad}- {lines[0]}", *(f"{pad}  {line}" for line in lines[1:])]) + "\n"


def _read_back(
    file: str,
    source: str,
    snippet: str,
    proposal: Rule,
    metadata: dict[str, str | None],
    today: dt.date,
) -> bool:
    """Whether appending ``snippet`` to the file makes the proposed rule with ``metadata``."""
    before = source.rstrip("\n").count("\n") + 1
    result, _ = rulefile.parse(file, source.rstrip("\n") + "\n" + snippet, today)
    added = [r for r in result.rules if r.location and r.location.line > before]
    if len(added) != 1:
        return False
    got = added[0]
    same = (got.selector, got.state, got.note, got.broad) == (
        proposal.selector,
        proposal.state,
        proposal.note,
        proposal.broad,
    )
    return same and _metadata(got) == metadata
