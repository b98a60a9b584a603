"""Constants of Socket's Alert Policies API family, as the contract states them.

Source: ``docs/socket-api.md``, which gives each fact's public source and maps the section
numbers below, and the OpenAPI in ``reconciler/schemas/``. Every place where the behaviour is
**(unknown)** and this tool had to choose is one ``UNKNOWN_*`` constant at the end of this
module, with the conservative choice named in its comment, so that learning the real behaviour
means changing one line.

Field spelling: unlike the legacy Triage API (GET snake_case, POST camelCase), this family uses
snake_case in request bodies *and* responses (``vigil_selector``, ``before_rule_id``,
``reason_text``, ``repository_ids``). The camelCase exceptions are the resolution cursor
(``startAfterCursor`` in the query, ``endCursor`` in the answer) and the translate request, which
carries legacy camelCase triage entries under ``alertTriage``.
"""

from __future__ import annotations

from typing import Final

# --- Paths (section 3). ``{policy_id}`` is a UUID or DEFAULT_POLICY_ID. -----------------------
POLICIES_PATH: Final = "/orgs/{org}/alert-policies"
POLICY_PATH: Final = "/orgs/{org}/alert-policies/{policy_id}"
RULES_PATH: Final = "/orgs/{org}/alert-policies/{policy_id}/rules"
RULE_PATH: Final = "/orgs/{org}/alert-policies/{policy_id}/rules/{rule_id}"
RESOLUTIONS_PATH: Final = "/orgs/{org}/alerts/resolutions"
RESOLUTION_PATH: Final = "/orgs/{org}/alerts/resolutions/{uuid}"
MIGRATION_STATUS_PATH: Final = "/orgs/{org}/alert-policies/migration/status"
TRANSLATE_PATH: Final = "/orgs/{org}/alert-policies/migration/translate"
# The org's repositories (getOrgRepoList): paged by number, ``{results, nextPage}``.
REPOS_PATH: Final = "/orgs/{org}/repos"

# The default policy's id until it is first customized, and an alias for it at all times (3.3).
DEFAULT_POLICY_ID: Final = "default"
APPLY_LABELED: Final = "labeled_repos"
APPLY_UNLABELED: Final = "unlabeled_repos"  # the default policy
BASELINES: Final[tuple[str, ...]] = ("essential", "balanced", "comprehensive")
# How the files write the "None" preset (the API's ``baseline: null``).
BASELINE_NONE: Final = "none"

# --- Response and body fields ------------------------------------------------------------------
ITEMS: Final = "items"
RULE_FIELDS: Final[tuple[str, ...]] = (
    "id",
    "alert_policy_id",
    "rank",
    "name",
    "vigil_selector",
    "action",
    "note",
    "created_by",
    "updated_by",
    "created_at",
    "updated_at",
)
RESOLUTION_FIELDS: Final[tuple[str, ...]] = (
    "uuid",
    "reason",
    "reason_text",
    "comment",
    "vigil_selector",
    "alert_type",
    "repo",
    "repo_label",
    "artifact_type",
    "artifact_namespace",
    "artifact_name",
    "artifact_version",
    "resolved_by",
    "created_at",
    "updated_at",
)
DRY_RUN_FIELD: Final = "dry_run"  # on write answers; also the query parameter
RESULT_FIELD: Final = "result"  # on a persisted delete

# --- dry_run (1.1) -----------------------------------------------------------------------------
DRY_RUN_PARAM: Final = "dry_run"
DRY_RUN_TRUE: Final = "true"
DRY_RUN_ACCEPTED: Final[tuple[str, ...]] = ("true", "1", "yes")  # anything else present -> 400
STATUS_CREATED: Final = 201  # a real create
STATUS_DRY_RUN_CREATED: Final = 200  # a dry-run create

# --- Placement (3.7, 3.9, section 4): at most one per request. ----------------------------------
POSITION: Final = "position"
RANK: Final = "rank"
BEFORE_RULE_ID: Final = "before_rule_id"
AFTER_RULE_ID: Final = "after_rule_id"
PLACEMENT_FIELDS: Final[tuple[str, ...]] = (POSITION, RANK, BEFORE_RULE_ID, AFTER_RULE_ID)
POSITION_FIRST: Final = "first"
POSITION_LAST: Final = "last"
CREATE_DEFAULT_POSITION: Final = POSITION_FIRST  # a create without placement goes first (3.7)

# --- Resolution paging (3.11) ------------------------------------------------------------------
CURSOR_PARAM: Final = "startAfterCursor"
CURSOR_FIELD: Final = "endCursor"
PER_PAGE_PARAM: Final = "per_page"
DIRECTION_PARAM: Final = "direction"
DIRECTION_ASC: Final = "asc"  # oldest first: a stable order while we page
PER_PAGE_DEFAULT: Final = 30
PER_PAGE_MAX: Final = 100

# --- Limits (7.6, 2.x). Lengths are in characters. -----------------------------------------------
POLICY_NAME_MIN: Final = 1
POLICY_NAME_MAX: Final = 120
POLICY_DESCRIPTION_MAX: Final = 256
RULE_NAME_MIN: Final = 1
RULE_NAME_MAX: Final = 128
RULE_NOTE_MAX: Final = 256
REASON_TEXT_MIN: Final = 1
REASON_TEXT_MAX: Final = 256
COMMENT_MIN: Final = 1
COMMENT_MAX: Final = 1024
TRANSLATE_BATCH_MIN: Final = 1
TRANSLATE_BATCH_MAX: Final = 100

# --- Actions and the legacy state -> action table (2.2, 6.2) ------------------------------------
ACTIONS: Final[tuple[str, ...]] = ("error", "warn", "monitor", "ignore")
ACTION_DEFAULT: Final = "monitor"  # the schema default; we always send an action
# "error" is what the dashboard calls Block.
STATE_TO_ACTION: Final[dict[str, str]] = {
    "block": "error",
    "warn": "warn",
    "monitor": "monitor",
    "ignore": "ignore",
}
STATE_INHERIT: Final = "inherit"

# --- Resolutions (2.3) -------------------------------------------------------------------------
REASONS: Final[tuple[str, ...]] = ("false_positive", "remediated", "tolerable_risk", "other")
REASON_DEFAULT: Final = "other"  # the schema default, and what translate emits

# --- Vigil selectors (section 5) ---------------------------------------------------------------
SELECTOR_NAMESPACES: Final[tuple[str, ...]] = ("finding.", "location.", "artifact.")
OP_IN: Final = "$in"
OP_OR: Final = "$or"  # exists on resolutions; its syntax is inferred, so files may not use it
# Documented fields (5.1) plus the two whose key name is inferred (artifact.namespace, .version).
KNOWN_FIELDS: Final[frozenset[str]] = frozenset(
    {
        "location.repo",
        "location.repoLabel",
        "location.manifest",
        "artifact.type",
        "artifact.name",
        "artifact.namespace",
        "artifact.version",
        "finding.alertType",
        "finding.severity",
    }
)
ARTIFACT_TYPES: Final[tuple[str, ...]] = (
    "npm",
    "pypi",
    "maven",
    "gem",
    "golang",
    "nuget",
    "cargo",
    "composer",
    "github",
    "vscode",
    "huggingface",
)
# "Repository ... available on exceptions only - a rule's repositories come from its policy" (5.1).
RESOLUTION_ONLY_FIELDS: Final[frozenset[str]] = frozenset({"location.repo"})

# --- Migration status (3.15) -------------------------------------------------------------------
STATE_PENDING: Final = "pending"
STATE_PREVIEWING: Final = "previewing"
STATE_ACCEPTED: Final = "accepted"
STATE_AUTO_FINALIZED: Final = "auto_finalized"
STATE_ROLLED_BACK: Final = "rolled_back"
# ``None`` (JSON null) means the org is not enrolled.
MIGRATION_STATES: Final[tuple[str | None, ...]] = (
    None,
    STATE_PENDING,
    STATE_PREVIEWING,
    STATE_ACCEPTED,
    STATE_AUTO_FINALIZED,
    STATE_ROLLED_BACK,
)
MIGRATION_FIELDS: Final[tuple[str, ...]] = (
    "state",
    "finalized_at",
    "deadline_at",
    "window_end_at",
    "deadline_admin_paused_at",
    "alert_policies_enabled",
    "legacy_evaluation_enabled",
)

# --- Translate (3.16) --------------------------------------------------------------------------
TRANSLATE_BODY_FIELD: Final = "alertTriage"
TARGET_RESOLUTION: Final = "alert_resolution"
TARGET_RULE: Final = "alert_policy_rule"
UNTRANSLATABLE_CODES: Final[tuple[str, ...]] = (
    "inherit_not_translatable",
    "alert_key_not_translatable",
    "matches_all_alerts",
    "filter_not_translatable",
    "note_too_long",
)

# --- Token scopes (1.2) ------------------------------------------------------------------------
SCOPE_POLICY: Final = "alert-policy"
SCOPE_POLICY_LIST: Final = "alert-policy:list"
SCOPE_POLICY_READ: Final = "alert-policy:read"
SCOPE_POLICY_CREATE: Final = "alert-policy:create"
SCOPE_POLICY_UPDATE: Final = "alert-policy:update"
SCOPE_POLICY_DELETE: Final = "alert-policy:delete"
SCOPE_RESOLUTION: Final = "alert-resolution"
SCOPE_RESOLUTION_LIST: Final = "alert-resolution:list"
SCOPE_RESOLUTION_CREATE: Final = "alert-resolution:create"
SCOPE_RESOLUTION_READ: Final = "alert-resolution:read"
SCOPE_RESOLUTION_DELETE: Final = "alert-resolution:delete"
SCOPE_REPO_LIST: Final = "repo:list"
# translate accepts any one of these (3.16).
SCOPES_TRANSLATE: Final[tuple[str, ...]] = (
    "triage:alerts-update",
    SCOPE_POLICY_READ,
    SCOPE_RESOLUTION_CREATE,
)

# === Choices where the contract says (unknown) ===================================================
# Each constant below is the conservative reading, used where the behaviour is implemented, so
# learning the real answer is a one-line change. docs/alert-policies-design.md lists them all,
# together with the readings that need no switch (end of listing, gate flags, name uniqueness).

# 6.2: `inherit` has no action ("no rule needed; the baseline preset decides"; translate answers
# inherit_not_translatable). A file rule with `state: inherit` is an error, not silently dropped,
# so nobody believes a rule exists that the tool never wrote. (checks.action_for)
UNKNOWN_INHERIT_ACTION: Final[str | None] = None

# 3.7 / 5.1: whether `location.repo` in a *rule* selector is refused, and with what status.
# We refuse it in `validate` before anything is sent. (selectors.check_selector)
UNKNOWN_RULE_ALLOWS_REPO: Final = False

# 5.2: operators beyond literal and `$in` (`$or` syntax, `$gte`, `$nin`, ...). Files may use only
# these; live selectors with anything else are compared as opaque values and never "cover".
# (selectors.check_selector)
UNKNOWN_FILE_OPERATORS: Final[tuple[str, ...]] = (OP_IN,)

# Whether the server accepts an empty selector (a catch-all rule that overrides every baseline
# decision). Refused in files: translate calls its legacy twin "matches_all_alerts".
# (selectors.check_selector)
UNKNOWN_ALLOW_EMPTY_SELECTOR: Final = False

# Section 9: where rules with no neighbour in the files go when the policy holds rules this tool
# does not manage (prune: false). Last, so rules people made in the dashboard keep deciding
# first for the alerts they match, as they did before we arrived. (order.plan_order)
UNANCHORED_POSITION: Final = POSITION_LAST

# 7.1 / unknown 6: a repository carrying two policy labels. A repository moved between two named
# policies is therefore taken out of the one it leaves (that policy's update is sent first, and
# the default policy governs it in between) before the policy it joins is updated: never two
# labels at once. A move from or to the default policy is one update. (policies.apply)
UNKNOWN_TWO_LABELS_ALLOWED: Final = False
