"""``POST /alert-policies/migration/translate``: legacy triage entries -> the new requests.

Stateless: it creates nothing and works in every migration state. The body is a legacy
``{"alertTriage": [...]}`` of 1-100 entries, each checked as a legacy write (one bad entry is a
400 for all). Every entry lands in exactly one of ``translations`` or ``untranslatable``, by index.

Socket documents the state -> action table (``ACTIONS``) and the untranslatable codes; the rest
is the emulator's guess (docs/emulator.md says so): which legacy fields map to which selector
key (``FIELD_MAP``), which filters have no selector (``UNTRANSLATABLE_FILTERS``), when an entry
becomes a resolution rather than a rule, the generated rule name, and the ``path`` string.
"""

from __future__ import annotations

import uuid as uuidlib
from typing import Any, Final
from urllib.parse import quote

from reconciler.emulator.responses import Response, json_response
from reconciler.emulator.routing import Request
from reconciler.emulator.triage_entries import BROAD_UNSET, bad, checked_entries
from reconciler.vocab.policies.wire import ARTIFACT_TYPES

SCOPES: Final = ("triage:alerts-update", "alert-policy:read", "alert-resolution:create")

# Legacy state -> rule action (Socket's table). ``inherit`` has none: the baseline decides.
ACTIONS: Final[dict[str, str]] = {
    "block": "error",
    "warn": "warn",
    "monitor": "monitor",
    "ignore": "ignore",
}
# Legacy field -> selector key (the emulator's guess; only the field names are documented).
FIELD_MAP: Final[dict[str, str]] = {
    "packageType": "artifact.type",
    "packageNamespace": "artifact.namespace",
    "packageName": "artifact.name",
    "packageVersion": "artifact.version",
    "alertType": "finding.alertType",
}
# Filters no documented selector key expresses: set to anything but "any", they are refused.
UNTRANSLATABLE_FILTERS: Final = (
    "cveOrGhsaId",
    "cvssScoreCmp",
    "reachability",
    "kevs",
    "fixAvailable",
    "patchAvailable",
)
RULE_NOTE_MAX: Final = 256
COMMENT_MAX: Final = 1024
RULE_NAME_MAX: Final = 128

REASONS: Final[dict[str, str]] = {
    "inherit_not_translatable": (
        "An inherit entry needs no rule: the policy's baseline preset decides. Drop it."
    ),
    "alert_key_not_translatable": (
        "Alert keys have no selector. Create an alert resolution for that finding instead."
    ),
    "matches_all_alerts": (
        "The entry matches every alert. Choose a baseline preset instead of a catch-all rule."
    ),
    "filter_not_translatable": (
        "The entry uses a filter ({fields}) that selectors cannot express. Write the rule by hand."
    ),
    "note_too_long": "The note is longer than the {limit} characters the new {target} allows.",
}


def translate(request: Request) -> Response:
    entries = checked_entries(request.body)
    for index, entry in enumerate(entries):
        _check_uuid(index, entry.get("uuid"))
    translations: list[dict[str, Any]] = []
    untranslatable: list[dict[str, Any]] = []
    for index, entry in enumerate(entries):
        result = translate_entry(request.org.slug, entry)
        (translations if "body" in result else untranslatable).append({"index": index, **result})
    return json_response(200, {"translations": translations, "untranslatable": untranslatable})


def translate_entry(org: str, entry: dict[str, Any]) -> dict[str, Any]:
    """One entry's request (``target``, ``method``, ``path``, ``body``) or ``code``/``reason``."""
    state = entry["state"]
    if state not in ACTIONS:
        return _refusal("inherit_not_translatable")
    if _given(entry.get("alertKey")):
        return _refusal("alert_key_not_translatable")
    filters = [f for f in UNTRANSLATABLE_FILTERS if _given(entry.get(f))]
    version = entry.get("packageVersion")
    if _given(version) and str(version).endswith("*"):
        filters.append("packageVersion prefix")
    package_type = entry.get("packageType")
    if _given(package_type) and package_type not in ARTIFACT_TYPES:
        filters.append(f"packageType {package_type}")
    if filters:
        return _refusal("filter_not_translatable", fields=", ".join(filters))
    selector = {key: entry[field] for field, key in FIELD_MAP.items() if _given(entry.get(field))}
    if not selector:
        return _refusal("matches_all_alerts")
    note = entry.get("note") or None
    if _is_resolution(state, selector):
        if note is not None and len(note) > COMMENT_MAX:
            return _refusal("note_too_long", limit=COMMENT_MAX, target="resolution comment")
        body = {"reason": "other", "comment": note, "vigil_selector": selector}
        return _request("alert_resolution", f"/orgs/{quote(org, safe='')}/alerts/resolutions", body)
    if note is not None and len(note) > RULE_NOTE_MAX:
        return _refusal("note_too_long", limit=RULE_NOTE_MAX, target="rule note")
    body = {
        "name": rule_name(selector),
        "action": ACTIONS[state],
        "note": note,
        "vigil_selector": selector,
    }
    path = f"/orgs/{quote(org, safe='')}/alert-policies/default/rules"
    return _request("alert_policy_rule", path, body)


def rule_name(selector: dict[str, str]) -> str:
    """A readable name from the selector, the same for the same entry in any batch.

    >>> rule_name({"finding.alertType": "cve", "artifact.type": "npm", "artifact.name": "x"})
    'cve in npm/x'
    """
    alert = selector.get("finding.alertType", "any alert")
    parts = [selector.get(k) for k in ("artifact.type", "artifact.namespace", "artifact.name")]
    package = "/".join(p for p in parts if p) or "any package"
    if "artifact.version" in selector:
        package += f"@{selector['artifact.version']}"
    return f"{alert} in {package}"[:RULE_NAME_MAX]


def _check_uuid(index: int, value: Any) -> None:
    if value is None:
        return
    try:
        uuidlib.UUID(str(value))
    except ValueError:
        raise bad(f"alertTriage[{index}].uuid is not a UUID: {value!r}", index, "uuid") from None


def _is_resolution(state: str, selector: dict[str, str]) -> bool:
    """An ignore of one exact package version suppresses findings in one place: a resolution."""
    exact = all(k in selector for k in ("artifact.type", "artifact.name", "artifact.version"))
    return state == "ignore" and exact


def _given(value: Any) -> bool:
    return value not in BROAD_UNSET


def _refusal(code: str, **words: Any) -> dict[str, Any]:
    return {"code": code, "reason": REASONS[code].format(**words)}


def _request(target: str, path: str, body: dict[str, Any]) -> dict[str, Any]:
    return {"target": target, "method": "POST", "path": path, "body": body}
