"""Live rules -> a rule file, so that an existing org can be adopted: export, plan, commit."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Final

import yaml

from reconciler import __version__
from reconciler.rules.textcheck import MISSING_NOTE
from reconciler.vocab.triage.selector import LiveRule, group_live
from reconciler.vocab.triage.wire import SELECTOR_FIELDS

# The schema of the release that wrote the file, for editors that speak yaml-language-server:
# the release workflow attaches reconciler/schemas/*.json to each GitHub release, so the URL
# works wherever the file is copied. The repository is the one the README installs from.
SCHEMA_URL: Final = (
    "https://github.com/socket-triage/socket-triage/releases/download/"
    f"v{__version__}/triage-rules.schema.json"
)
HEADER: Final = (
    f"# yaml-language-server: $schema={SCHEMA_URL}\n"
    "# Exported by `socket-triage export` from the live triage rules of org {org}.\n"
    "# Every note needs a real reason: it is the audit trail.\n"
)
# libyaml's emitter when PyYAML was built with it: the pure-Python one spent most of a 100k-rule
# export's 35 s. Both write YAML that loads back to the same document; only line folding differs.
_DUMPER: Final = getattr(yaml, "CSafeDumper", yaml.SafeDumper)
# Rules written per call to the emitter (see ``render_rule_file``).
_CHUNK: Final = 1000


@dataclass(frozen=True)
class RuleFile:
    """An exported rule file and what went into it: ``rules`` written, ``duplicates`` left
    out (plan deletes them), ``missing_notes`` rules given the TODO placeholder."""

    text: str
    rules: int
    duplicates: int
    missing_notes: int


def rule_document(rule: LiveRule) -> dict[str, Any]:
    """One exported rule: set selector fields, state, the human note, and ``broad`` if needed."""
    doc: dict[str, Any] = {
        name: value
        for name, value in zip(SELECTOR_FIELDS, rule.selector, strict=True)
        if value is not None
    }
    doc["state"] = rule.state
    # The files require a reason; a live rule without one gets a placeholder to fill in (plan
    # then shows it as a note update, which is the honest state of affairs).
    doc["note"] = rule.human_note or MISSING_NOTE
    if rule.selector.is_broad:
        doc["broad"] = True
    return doc


def _plural(number: int, singular: str, plural: str) -> str:
    return f"{number} {singular if number == 1 else plural}"


def render_rule_file(org: str, live: Sequence[LiveRule]) -> RuleFile:
    """A rule file for ``org``: one rule per selector (the oldest, as plan keeps), sorted.

    >>> exported = render_rule_file("acme", [])
    >>> exported.rules, exported.text.splitlines()[0].startswith("# yaml-language-server:")
    (0, True)
    """
    groups = group_live(live)
    keys = sorted(groups, key=lambda s: tuple(v or "" for v in s))
    kept = [groups[k][0] for k in keys]
    duplicates = len(live) - len(kept)
    missing = sum(1 for rule in kept if not rule.human_note)
    text = HEADER.format(org=org)
    if duplicates:
        left_out = _plural(duplicates, "duplicate live rule was", "duplicate live rules were")
        deletes = "it as a delete" if duplicates == 1 else "them as deletes"
        text += f"# {left_out} left out; plan shows {deletes}.\n"
    if missing:
        text += f"# {_plural(missing, 'rule', 'rules')} had no note in Socket: replace each "
        text += "TODO with the reason.\n"
    parts = [text, _dump({"org": org})]
    # The rules in chunks, so that libyaml's node tree never holds 1M rules at once: a list
    # under a key is written at the key's own indent, so "rules:" and the chunks, each dumped as
    # a list, are the same text as the whole document dumped at once.
    parts.append("rules:\n" if kept else "rules: []\n")
    for start in range(0, len(kept), _CHUNK):
        parts.append(_dump([rule_document(rule) for rule in kept[start : start + _CHUNK]]))
    return RuleFile("".join(parts), rules=len(kept), duplicates=duplicates, missing_notes=missing)


def _dump(data: object) -> str:
    return yaml.dump(data, Dumper=_DUMPER, sort_keys=False, allow_unicode=True, width=100)
