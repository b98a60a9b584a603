"""Whether a vigil selector matches one alert: matched, not matched, or undecided and why.

The one place that states what a selector means for an alert (docs/matching.md, "Alert
Policies selectors", says the same with its public sources, docs.socket.dev's vigil and
rule-conditions pages). What Socket documents, and nothing more:

- a selector is an object whose keys are fields under ``finding.``, ``location.`` or
  ``artifact.``; its keys are AND-ed;
- a literal value matches when the alert's value for the field is equal to it, exactly as
  written (case included);
- ``{"$in": [...]}`` matches when the alert's value is one of the listed values.

Everything else is **undecided**, with the reason, never guessed:

- a field outside ``wire.KNOWN_FIELDS`` (its meaning is not documented);
- an operator other than ``$in`` (``wire.UNKNOWN_FILE_OPERATORS``), ``$or`` included: its syntax
  is inferred, not documented; a top-level key that is not a field (``$or``, ...) makes the whole
  selector undecided, since how it combines with the other keys is not documented either;
- a value that is not a string (the documented values are all strings);
- a field the alert does not supply (``location.repoLabel`` when the repository's label is not
  known, ``finding.severity`` when no severity is given, ...);
- an empty selector, or one that is not an object.

The AND is three-valued: one field that certainly does not match makes the selector not
matched, whatever the undecided fields would say; otherwise one undecided field makes the
selector undecided; otherwise it is matched.
"""

from __future__ import annotations

import enum
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Final

from reconciler.vocab.policies.selectors import VigilSelector
from reconciler.vocab.policies.wire import (
    KNOWN_FIELDS,
    OP_IN,
    SELECTOR_NAMESPACES,
    UNKNOWN_FILE_OPERATORS,
)

# The operators whose meaning is documented (5.2): literal equality and these.
DOCUMENTED_OPERATORS: Final[tuple[str, ...]] = UNKNOWN_FILE_OPERATORS


class Answer(enum.Enum):
    MATCHED = "matched"
    NOT_MATCHED = "not matched"
    UNDECIDED = "undecided"


@dataclass(frozen=True)
class FieldCheck:
    """One key of the selector against the alert; ``reason`` says why when undecided."""

    field: str
    answer: Answer
    reason: str = ""


@dataclass(frozen=True)
class Evaluation:
    """A selector against an alert: the answer and each key's part in it."""

    answer: Answer
    checks: tuple[FieldCheck, ...] = ()
    reason: str = ""  # why the whole selector is undecided, when no single field says

    @property
    def reasons(self) -> tuple[str, ...]:
        """Why the answer is undecided (empty for matched and not matched)."""
        if self.answer is not Answer.UNDECIDED:
            return ()
        found = [c.reason for c in self.checks if c.answer is Answer.UNDECIDED]
        return tuple(found) or (self.reason,)


def evaluate(selector: VigilSelector | Mapping[str, Any], facts: Mapping[str, str]) -> Evaluation:
    """Whether ``selector`` matches the alert whose field values are ``facts``.

    ``facts`` maps a selector field (``finding.alertType``) to the alert's value; a field not in
    it is not supplied. Read the module doc for the semantics.

    >>> alert = {"finding.alertType": "malware", "artifact.name": "lodash"}
    >>> evaluate({"finding.alertType": "malware"}, alert).answer.value
    'matched'
    >>> evaluate({"finding.alertType": {"$in": ["cve", "mediumCVE"]}}, alert).answer.value
    'not matched'
    >>> evaluate({"finding.severity": "high"}, alert).reasons
    ('the alert does not supply finding.severity (--severity)',)
    """
    value = selector.to_wire() if isinstance(selector, VigilSelector) else selector
    if not isinstance(value, Mapping):
        return Evaluation(Answer.UNDECIDED, reason="the selector is not an object")
    if not value:
        return Evaluation(Answer.UNDECIDED, reason="an empty selector: Socket documents no meaning")
    strange = sorted(str(k) for k in value if not _is_field(k))
    if strange:
        return Evaluation(
            Answer.UNDECIDED,
            reason=f"top-level {', '.join(strange)} is not a field; how it combines with the "
            "other keys is not documented",
        )
    checks = tuple(_check(str(key), item, facts) for key, item in value.items())
    found = {check.answer for check in checks}
    for answer in (Answer.NOT_MATCHED, Answer.UNDECIDED):
        if answer in found:
            return Evaluation(answer, checks)
    return Evaluation(Answer.MATCHED, checks)


def _is_field(key: object) -> bool:
    return isinstance(key, str) and any(
        key.startswith(ns) and len(key) > len(ns) for ns in SELECTOR_NAMESPACES
    )


# How a person supplies each field's value to explain (for "the alert does not supply ...").
SUPPLIED_BY: Final[Mapping[str, str]] = {
    "finding.alertType": "--alert-type",
    "finding.severity": "--severity",
    "artifact.type": "--purl",
    "artifact.namespace": "--purl",
    "artifact.name": "--purl",
    "artifact.version": "--purl with a version",
    "location.repo": "--repo OWNER/NAME",
    "location.manifest": "--manifest",
    "location.repoLabel": "the repository's label, which explain does not know",
}


def _check(key: str, item: Any, facts: Mapping[str, str]) -> FieldCheck:
    if key not in KNOWN_FIELDS:
        return FieldCheck(key, Answer.UNDECIDED, f"{key} is not a documented field")
    if isinstance(item, Mapping):
        ops = sorted(str(op) for op in item)
        if ops != [OP_IN] or OP_IN not in DOCUMENTED_OPERATORS:
            shown = ", ".join(ops) or "{}"
            return FieldCheck(key, Answer.UNDECIDED, f"{key}: operator {shown} is not documented")
        members = item[OP_IN]
        if not isinstance(members, list) or not members:
            return FieldCheck(key, Answer.UNDECIDED, f"{key}: $in without a list of values")
        wanted = members
    else:
        wanted = [item]
    if not all(isinstance(m, str) for m in wanted):
        return FieldCheck(key, Answer.UNDECIDED, f"{key}: a value that is not a string")
    fact = facts.get(key)
    if fact is None:
        how = SUPPLIED_BY.get(key, key)
        return FieldCheck(key, Answer.UNDECIDED, f"the alert does not supply {key} ({how})")
    return FieldCheck(key, Answer.MATCHED if fact in wanted else Answer.NOT_MATCHED)
