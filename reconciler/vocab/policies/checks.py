"""The contract's limits for rules and resolutions in files, checked before anything is sent.

Each check returns ``Problem``s whose ``path`` starts at the rule's mapping (``("note",)``,
``("vigil_selector", "artifact.type", "$in", 2)``), so the rule loader can turn it into
FILE:LINE:COL. Nothing here reads YAML or raises: it is called once per rule and collects all.

Notes and comments share their limit with the provenance trailer the plan appends, so the human
part may use the limit minus ``TRAILER_RESERVE`` (the separator, the trailer's marker and its
seal). The plan shortens the trailer itself to fit (``diff.fit_note``), never the human text.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any, Final

from reconciler import notes, text
from reconciler.vocab.policies.model import DesiredRule
from reconciler.vocab.policies.selectors import Problem, check_selector, find_shadowed
from reconciler.vocab.policies.wire import (
    ACTIONS,
    BASELINE_NONE,
    BASELINES,
    COMMENT_MAX,
    DEFAULT_POLICY_ID,
    POLICY_DESCRIPTION_MAX,
    POLICY_NAME_MAX,
    POLICY_NAME_MIN,
    REASON_TEXT_MAX,
    REASONS,
    RULE_NAME_MAX,
    RULE_NAME_MIN,
    RULE_NOTE_MAX,
    STATE_INHERIT,
    STATE_TO_ACTION,
    UNKNOWN_INHERIT_ACTION,
)

# "\n\n" + the shortest trailer (marker and seal): the least that lets prune: false still
# recognise the rule as ours.
TRAILER_RESERVE: Final = 2 + len(notes.trailer([], "0" * notes.SEAL_LENGTH))
HUMAN_NOTE_MAX: Final = RULE_NOTE_MAX - TRAILER_RESERVE
HUMAN_COMMENT_MAX: Final = COMMENT_MAX - TRAILER_RESERVE
HUMAN_DESCRIPTION_MAX: Final = POLICY_DESCRIPTION_MAX - TRAILER_RESERVE
# How the files write a policy's baseline: the API's presets, and "none" for its null.
FILE_BASELINES: Final = (*BASELINES, BASELINE_NONE)
_NOTE_WHY: Final = (
    f": a rule's note holds {RULE_NOTE_MAX} with the provenance trailer the tool adds"
)
_COMMENT_WHY: Final = f": a comment holds {COMMENT_MAX} with the provenance trailer the tool adds"
_DESCRIPTION_WHY: Final = (
    f": a policy's description holds {POLICY_DESCRIPTION_MAX} with the provenance trailer the "
    "tool adds"
)


def check_name(value: object, key: str = "name") -> list[Problem]:
    """A rule name: a string of 1-128 characters (``text.units``), no control characters, and
    spelt as a server would keep it (``text.unstable``): the name is the rule's identity."""
    if not isinstance(value, str):
        return [Problem((key,), f"{key} must be a string")]
    name = value.strip()
    if not RULE_NAME_MIN <= text.units(name) <= RULE_NAME_MAX:
        return [
            Problem(
                (key,),
                f"{key} must be {RULE_NAME_MIN}-{RULE_NAME_MAX} characters ({text.has_it(name)})",
            )
        ]
    if text.control_character(value) is not None:
        return [Problem((key,), f"{key} contains a control character")]
    return check_identity(key, value)


def check_identity(key: str, value: object) -> list[Problem]:
    """A name that identifies something (a rule, a policy): refused if a server might respell it.

    >>> check_identity("policy", "prod ")[0].message
    'policy: leading or trailing whitespace, which a server may trim; remove it'
    """
    why = text.unstable(value) if isinstance(value, str) else None
    return [] if why is None else [Problem((key,), f"{key}: {why}")]


def action_for(action: object, state: object) -> tuple[str | None, list[Problem]]:
    """The action a rule asks for: ``action:`` as is, or a legacy ``state:`` by the table.

    >>> action_for(None, "block")
    ('error', [])
    >>> action_for(None, "inherit")[1][0].message.split(":")[0]
    'state inherit has no action'
    """
    if action is not None and state is not None:
        return None, [Problem(("state",), "give either action or state, not both")]
    if action is not None:
        if action not in ACTIONS:
            return None, [Problem(("action",), f"action must be one of {', '.join(ACTIONS)}")]
        return str(action), []
    if state is None:
        return None, [Problem((), "a policy rule needs an action (error, warn, monitor, ignore)")]
    if state == STATE_INHERIT and UNKNOWN_INHERIT_ACTION is None:
        return None, [
            Problem(
                ("state",),
                "state inherit has no action: the baseline decides; remove the rule instead",
            )
        ]
    mapped = STATE_TO_ACTION.get(str(state))
    if mapped is None:
        known = ", ".join([*STATE_TO_ACTION, STATE_INHERIT])
        return None, [Problem(("state",), f"state must be one of {known}")]
    return mapped, []


def check_text(key: str, value: object, *, limit: int, why: str = "") -> list[Problem]:
    """A free-text field (note, comment, reason_text): type, length, control characters, and
    never our trailer marker, which would make a hand-made copy look like ours.

    An empty text is fine: it is sent as null, which is how the API says "none" (the fields
    with a minimum length of 1 are all nullable).
    """
    if value is None:
        return []
    if not isinstance(value, str):
        return [Problem((key,), f"{key} must be a string")]
    stripped = value.strip()
    if text.units(stripped) > limit:
        return [
            Problem(
                (key,), f"{key} must be at most {limit} characters ({text.has_it(stripped)}){why}"
            )
        ]
    if text.control_character(value, prose=True) is not None:
        return [Problem((key,), f"{key} contains a control character")]
    if notes.TRAILER_PREFIX in value:
        return [Problem((key,), f"{key} must not contain {notes.TRAILER_PREFIX}: the tool adds it")]
    return []


def _under(prefix: str, problems: list[Problem]) -> list[Problem]:
    return [Problem((prefix, *p.path), p.message, p.severity) for p in problems]


def check_rule(entry: Mapping[str, Any]) -> list[Problem]:
    """Every problem with one policy rule's fields (not its relation to other rules)."""
    problems = check_name(entry.get("name"))
    problems += check_identity("policy", entry.get("policy"))
    problems += action_for(entry.get("action"), entry.get("state"))[1]
    problems += check_text("note", entry.get("note"), limit=HUMAN_NOTE_MAX, why=_NOTE_WHY)
    selector = entry.get("vigil_selector")
    if selector is None:
        problems.append(Problem((), "a policy rule needs a vigil_selector"))
    else:
        problems += _under("vigil_selector", check_selector(selector, for_rule=True))
    return problems


def check_resolution(entry: Mapping[str, Any]) -> list[Problem]:
    """Every problem with one resolution's fields."""
    problems: list[Problem] = []
    reason = entry.get("reason")
    if reason is not None and reason not in REASONS:
        problems.append(Problem(("reason",), f"reason must be one of {', '.join(REASONS)}"))
    problems += check_text("reason_text", entry.get("reason_text"), limit=REASON_TEXT_MAX)
    problems += check_text(
        "comment", entry.get("comment"), limit=HUMAN_COMMENT_MAX, why=_COMMENT_WHY
    )
    selector = entry.get("vigil_selector")
    if selector is None:
        problems.append(Problem((), "a resolution needs a vigil_selector"))
    else:
        problems += _under("vigil_selector", check_selector(selector, for_rule=False))
    return problems


def check_policy(entry: Mapping[str, Any]) -> list[Problem]:
    """Every problem with one declared policy's fields (not its relation to other policies).

    The name is the policy's identity (1-120 characters, kept as written); ``default`` is the
    default policy, which governs every repository no other policy names, so it lists none.

    >>> [p.path for p in check_policy({"name": "default", "baseline": "none",
    ...                                "repositories": ["api"]})]
    [('repositories',)]
    """
    problems = check_policy_name(entry.get("name"))
    baseline = entry.get("baseline")
    if baseline is not None and baseline not in FILE_BASELINES:
        problems.append(
            Problem(("baseline",), f"baseline must be one of {', '.join(FILE_BASELINES)}")
        )
    problems += check_text(
        "description",
        entry.get("description"),
        limit=HUMAN_DESCRIPTION_MAX,
        why=_DESCRIPTION_WHY,
    )
    repositories = entry.get("repositories")
    if entry.get("name") == DEFAULT_POLICY_ID and repositories is not None:
        problems.append(
            Problem(
                ("repositories",),
                "repositories: the default policy governs every repository no other policy "
                "names; list them on a named policy",
            )
        )
    elif isinstance(repositories, Sequence) and not isinstance(repositories, str):
        problems += _check_slugs(repositories)
    return problems


def check_policy_name(value: object) -> list[Problem]:
    """A policy name: 1-120 characters (``text.units``), no control characters, kept as written."""
    if not isinstance(value, str):
        return [Problem(("name",), "name must be a string")]
    if not POLICY_NAME_MIN <= text.units(value.strip()) <= POLICY_NAME_MAX:
        return [
            Problem(
                ("name",),
                f"name must be {POLICY_NAME_MIN}-{POLICY_NAME_MAX} characters "
                f"({text.has_it(value.strip())})",
            )
        ]
    if text.control_character(value) is not None:
        return [Problem(("name",), "name contains a control character")]
    return check_identity("name", value)


def _check_slugs(slugs: Sequence[object]) -> list[Problem]:
    """Repository slugs: non-empty strings, each once (a slug twice would be a typo)."""
    problems: list[Problem] = []
    seen: set[str] = set()
    for index, slug in enumerate(slugs):
        if not isinstance(slug, str):
            continue  # the schema says so
        if not slug.strip():
            problems.append(Problem(("repositories", index), "repositories: a slug is empty"))
        elif text.unstable(slug) is not None:
            problems.append(
                Problem(("repositories", index), f"repositories: {text.unstable(slug)}")
            )
        elif slug in seen:
            problems.append(
                Problem(("repositories", index), f"repositories: {slug!r} is listed twice")
            )
        seen.add(slug)
    return problems


def duplicate_names(rules: Sequence[DesiredRule]) -> list[tuple[DesiredRule, DesiredRule]]:
    """(later, first) for each rule whose name another rule of the same policy already uses.

    Names are the rules' identity, so a duplicate would make the plan ambiguous.
    """
    first: dict[tuple[str, str], DesiredRule] = {}
    found: list[tuple[DesiredRule, DesiredRule]] = []
    for rule in rules:
        key = (rule.policy, rule.name.strip())
        if key in first:
            found.append((rule, first[key]))
        else:
            first[key] = rule
    return found


def shadowed_rules(rules: Sequence[DesiredRule]) -> list[tuple[DesiredRule, DesiredRule]]:
    """(shadowed, by) for each rule that can never match because an earlier rule of the same
    policy covers its selector (first match wins). Rules are in file order."""
    by_policy: dict[str, list[DesiredRule]] = {}
    for rule in rules:
        by_policy.setdefault(rule.policy, []).append(rule)
    found: list[tuple[DesiredRule, DesiredRule]] = []
    for policy_rules in by_policy.values():
        for shadow in find_shadowed([r.selector for r in policy_rules]):
            found.append((policy_rules[shadow.index], policy_rules[shadow.by]))
    return found
