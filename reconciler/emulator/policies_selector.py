"""Vigil selectors: checking them, and the anchor summary a resolution reads back.

A selector is a JSON object whose keys are dotted field paths under ``finding.``, ``location.``
or ``artifact.`` (AND-ed), each with a literal (equality) or ``{"$in": [...]}``; ``$or`` takes a
list of such objects. Socket documents nothing else, so the emulator refuses everything else:
a client that only sends what is documented never meets a surprise from the real server.

Choices where Socket's docs are silent (docs/emulator.md lists them):
- Literal values must be non-empty strings; ``$in`` a non-empty list of them.
- Any field name under the three namespaces is accepted (the full field list is not public);
  ``artifact.type`` must be one of the documented ecosystems.
- An empty selector (it would match every alert) is refused.
- A rule selector may not name ``location.repo``: a rule's repositories come from its policy.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Final

from reconciler.vocab.policies.wire import ARTIFACT_TYPES, OP_IN, OP_OR, SELECTOR_NAMESPACES

REPO_FIELD: Final = "location.repo"
MAX_DEPTH: Final = 8  # nested $or levels; deeper is refused rather than recursed into

# Selector field -> resolution anchor column, read from top-level equality keys.
ANCHORS: Final[dict[str, str]] = {
    "finding.alertType": "alert_type",
    "location.repo": "repo",
    "location.repoLabel": "repo_label",
    "artifact.type": "artifact_type",
    "artifact.namespace": "artifact_namespace",
    "artifact.name": "artifact_name",
    "artifact.version": "artifact_version",
}


class SelectorError(ValueError):
    """A selector Socket would refuse; the message names the offending key."""


def check_selector(
    selector: Any, *, where: str = "vigil_selector", rule: bool = False, depth: int = 0
) -> None:
    """Raise ``SelectorError`` unless ``selector`` is a selector as documented.

    >>> check_selector({"finding.alertType": "criticalCVE", "artifact.type": {"$in": ["npm"]}})
    >>> try:
    ...     check_selector({"severity": "high"})
    ... except SelectorError as exc:
    ...     print(exc)
    vigil_selector.severity: fields must all be under finding.*, location.*, or artifact.*
    """
    if not isinstance(selector, dict):
        raise SelectorError(f"{where} must be an object")
    if depth > MAX_DEPTH:
        raise SelectorError(f"{where}: $or is nested more than {MAX_DEPTH} levels deep")
    if not selector:
        raise SelectorError(f"{where} must have at least one condition")
    for key, value in selector.items():
        if key == OP_OR:
            _check_or(value, f"{where}.{key}", rule=rule, depth=depth)
            continue
        if not any(key.startswith(ns) and len(key) > len(ns) for ns in SELECTOR_NAMESPACES):
            raise SelectorError(
                f"{where}.{key}: fields must all be under finding.*, location.*, or artifact.*"
            )
        if rule and key == REPO_FIELD:
            raise SelectorError(
                f"{where}.{key}: repositories are available on resolutions only; "
                "a rule's repositories come from the policy it belongs to"
            )
        _check_value(key, value, f"{where}.{key}")


def _check_or(value: Any, where: str, *, rule: bool, depth: int) -> None:
    if not isinstance(value, list) or not value:
        raise SelectorError(f"{where} must be a non-empty array of selectors")
    for index, branch in enumerate(value):
        check_selector(branch, where=f"{where}[{index}]", rule=rule, depth=depth + 1)


def _check_value(key: str, value: Any, where: str) -> None:
    if isinstance(value, dict):
        if set(value) != {OP_IN}:
            names = ", ".join(sorted(value)) or "none"
            raise SelectorError(f"{where}: unsupported operator ({names}); use a value or $in")
        values = value[OP_IN]
        if not isinstance(values, list) or not values:
            raise SelectorError(f"{where}.$in must be a non-empty array of strings")
        for item in values:
            _check_literal(key, item, f"{where}.$in")
        return
    _check_literal(key, value, where)


def _check_literal(key: str, value: Any, where: str) -> None:
    if not isinstance(value, str) or not value:
        raise SelectorError(f"{where} must be a non-empty string, not {value!r}")
    if key == "artifact.type" and value not in ARTIFACT_TYPES:
        raise SelectorError(f"{where} must be one of {', '.join(ARTIFACT_TYPES)}, not {value!r}")


def anchors(selector: Mapping[str, Any]) -> dict[str, str | None]:
    """The anchor columns of a resolution: single top-level values, null otherwise.

    >>> anchors({"artifact.name": "lodash", "location.repo": {"$in": ["a", "b"]}})["artifact_name"]
    'lodash'
    """
    found: dict[str, str | None] = dict.fromkeys(ANCHORS.values())
    for field, column in ANCHORS.items():
        value = selector.get(field)
        if isinstance(value, str):
            found[column] = value
        elif isinstance(value, dict) and len(value.get(OP_IN) or ()) == 1:
            found[column] = str(value[OP_IN][0])
    return found


def mentions_location(selector: Mapping[str, Any]) -> bool:  # only on checked selectors
    """Whether any ``location.*`` key appears, at the top or inside ``$or``."""
    for key, value in selector.items():
        if key.startswith("location."):
            return True
        branches = value if key == OP_OR and isinstance(value, list) else []
        if any(isinstance(b, dict) and mentions_location(b) for b in branches):
            return True
    return False
