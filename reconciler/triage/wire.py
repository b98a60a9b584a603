"""Constants of the legacy Socket Triage API wire format.

This is the only module the emulator and the reconciler share: the names and value sets the API
defines. Logic lives on each side separately, so that two implementations that agree are a check
on each other.
"""

from __future__ import annotations

import re
from typing import Final

TRIAGE_PATH: Final = "/orgs/{org}/triage/alerts"
TRIAGE_ITEM_PATH: Final = "/orgs/{org}/triage/alerts/{uuid}"

# The 12 selector fields in their GET (snake_case) spelling, in the order of the selector key.
SELECTOR_FIELDS: Final[tuple[str, ...]] = (
    "package_type",
    "package_namespace",
    "package_name",
    "package_version",
    "alert_key",
    "alert_type",
    "cve_or_ghsa_id",
    "fix_available",
    "patch_available",
    "reachability",
    "kevs",
    "cvss_score_cmp",
)

# snake_case (GET) -> camelCase (POST), for every field a POST entry may carry.
SNAKE_TO_CAMEL: Final[dict[str, str]] = {
    "uuid": "uuid",
    "package_type": "packageType",
    "package_namespace": "packageNamespace",
    "package_name": "packageName",
    "package_version": "packageVersion",
    "alert_key": "alertKey",
    "alert_type": "alertType",
    "cve_or_ghsa_id": "cveOrGhsaId",
    "fix_available": "fixAvailable",
    "patch_available": "patchAvailable",
    "reachability": "reachability",
    "kevs": "kevs",
    "cvss_score_cmp": "cvssScoreCmp",
    "note": "note",
    "state": "state",
}
CAMEL_TO_SNAKE: Final[dict[str, str]] = {v: k for k, v in SNAKE_TO_CAMEL.items()}

# Every field of a GET result, in the spec's order.
GET_FIELDS: Final[tuple[str, ...]] = (
    "uuid",
    "package_type",
    "package_namespace",
    "package_name",
    "package_version",
    "alert_key",
    "alert_type",
    "fix_available",
    "patch_available",
    "cvss_score_cmp",
    "created_at",
    "updated_at",
    "note",
    "organization_id",
    "state",
    "cve_or_ghsa_id",
    "reachability",
    "kevs",
)

STATES: Final[tuple[str, ...]] = ("block", "warn", "monitor", "ignore", "inherit")
AVAILABILITY: Final[tuple[str, ...]] = ("available", "unavailable", "*")
REACHABILITY: Final[tuple[str, ...]] = ("reachable", "unreachable", "other", "*")
KEVS: Final[tuple[str, ...]] = ("exist", "none", "*")

# Selector fields whose value set is closed. The POST schema does not allow null for them, so
# "any" travels as "*"; the free-text fields travel as null.
ENUM_FIELDS: Final[dict[str, tuple[str, ...]]] = {
    "fix_available": AVAILABILITY,
    "patch_available": AVAILABILITY,
    "reachability": REACHABILITY,
    "kevs": KEVS,
}

WILDCARD: Final = "*"

# ">=7.5", "<3", "==8.0": an operator and a score from 0 to 10.
CVSS_CMP_RE: Final = re.compile(r"^\s*(>=|<=|==|>|<)\s*(10(?:\.0+)?|\d(?:\.\d+)?)\s*$")

MAX_BATCH: Final = 100
MAX_PER_PAGE: Final = 100

SCOPE_LIST: Final = "triage:alerts-list"
SCOPE_UPDATE: Final = "triage:alerts-update"
