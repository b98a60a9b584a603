"""Constants of the legacy Socket Triage API wire format.

This is the only module the emulator and the reconciler share: the names and value sets the API
defines. Logic lives on each side separately, so that two implementations that agree are a check
on each other.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Final

TRIAGE_PATH: Final = "/orgs/{org}/triage/alerts"
TRIAGE_ITEM_PATH: Final = "/orgs/{org}/triage/alerts/{uuid}"

STATES: Final[tuple[str, ...]] = ("block", "warn", "monitor", "ignore", "inherit")
AVAILABILITY: Final[tuple[str, ...]] = ("available", "unavailable", "*")
REACHABILITY: Final[tuple[str, ...]] = ("reachable", "unreachable", "other", "*")
KEVS: Final[tuple[str, ...]] = ("exist", "none", "*")

WILDCARD: Final = "*"


@dataclass(frozen=True)
class SelectorField:
    """One selector field: its spellings, its value set, and how a plan shows it."""

    name: str  # snake_case: the GET spelling, and the key in rule files
    post: str  # camelCase: the POST spelling
    values: tuple[str, ...] = ()  # the closed value set of an enum field; () for free text
    package: bool = False  # a package coordinate: plans show the four together, as a purl

    @property
    def any_wire(self) -> str | None:
        """How "any" travels. The POST schema allows no null for the enum fields, so ``"*"``."""
        return WILDCARD if self.values else None


# The one table of selector fields, in the order of the selector key (``Selector``'s fields).
# Everything below and the ``Selector`` type derive from it; a test checks that they agree.
SELECTOR: Final[tuple[SelectorField, ...]] = (
    SelectorField("package_type", "packageType", package=True),
    SelectorField("package_namespace", "packageNamespace", package=True),
    SelectorField("package_name", "packageName", package=True),
    SelectorField("package_version", "packageVersion", package=True),
    SelectorField("alert_key", "alertKey"),
    SelectorField("alert_type", "alertType"),
    SelectorField("cve_or_ghsa_id", "cveOrGhsaId"),
    SelectorField("fix_available", "fixAvailable", AVAILABILITY),
    SelectorField("patch_available", "patchAvailable", AVAILABILITY),
    SelectorField("reachability", "reachability", REACHABILITY),
    SelectorField("kevs", "kevs", KEVS),
    SelectorField("cvss_score_cmp", "cvssScoreCmp"),
)

SELECTOR_FIELDS: Final[tuple[str, ...]] = tuple(f.name for f in SELECTOR)
PACKAGE_FIELDS: Final[tuple[str, ...]] = tuple(f.name for f in SELECTOR if f.package)

# snake_case (GET) -> camelCase (POST), for every field a POST entry may carry.
SNAKE_TO_CAMEL: Final[dict[str, str]] = {
    "uuid": "uuid",
    **{f.name: f.post for f in SELECTOR},
    "note": "note",
    "state": "state",
}
CAMEL_TO_SNAKE: Final[dict[str, str]] = {v: k for k, v in SNAKE_TO_CAMEL.items()}

# Selector fields whose value set is closed; "any" travels as "*", free text as null.
ENUM_FIELDS: Final[dict[str, tuple[str, ...]]] = {f.name: f.values for f in SELECTOR if f.values}

# Every field of a GET result, in the spec's order: the record's own fields with every selector
# field among them (a test checks that the two lists agree).
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

# ">=7.5", "<3", "==8.0": an operator and a score from 0 to 10. ASCII only, written without
# \d and \s: the JSON Schema uses this pattern too, and Python's \d would take "٧" for a digit.
CVSS_CMP_RE: Final = re.compile(r"^ *(>=|<=|==|>|<) *(10(?:\.0+)?|[0-9](?:\.[0-9]+)?) *$")

MAX_BATCH: Final = 100
MAX_PER_PAGE: Final = 100

SCOPE_LIST: Final = "triage:alerts-list"
SCOPE_UPDATE: Final = "triage:alerts-update"
