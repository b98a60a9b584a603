"""A seeded org that has moved to Alert Policies, for the proofs of export, plan and explain.

``seed_moved_org(emu, org="acme") -> MovedOrg`` fills an ``Emulator`` (any: ``Emulator()``,
``embedded(":memory:")``, the ``emulator``/``moved`` fixtures, also while ``serve``d on loopback)
through its Python API, so nothing is counted, charged or faulted, and returns what it seeded:

- migration state ``accepted`` (policy writes allowed, legacy triage frozen);
- 6 repositories, in this order: ``api``, ``worker``, ``web``, ``docs`` (archived), ``mobile``,
  ``infra`` (``REPOS``), each named ``<Slug> service``, ids generated;
- 3 policies: the default policy (baseline ``balanced``, description ``DEFAULT_DESCRIPTION``,
  so it has its UUID; ``default`` still names it), ``backend`` (baseline ``comprehensive``,
  description ``BACKEND_DESCRIPTION``, governing ``api``, ``worker``, ``infra``) and
  ``frontend`` (baseline ``essential``, no description, no repository). No description carries
  socket-triage's seal, so neither named policy counts as ``managed``;
- 60 policy rules: 20 in the default policy, 25 in ``backend``, 15 in ``frontend``
  (``RULE_COUNTS``), in evaluation order ``<policy>-01`` ... (names unique in the org). Every
  selector has an ``artifact.name`` of its own (so no rule covers another) plus one of
  ``finding.alertType``/``finding.severity``/``artifact.type``/``artifact.namespace``/
  ``artifact.version``/``location.manifest``, literal or ``$in``; actions cycle through error,
  warn, monitor, ignore; every third rule has a note, none a provenance trailer;
- 20 resolutions (reasons cycling through the four), every fourth anchored to a repository with
  ``location.repo`` (``<org>/<slug>``), every other one with a comment.

Tokens are the caller's: conftest's ``ALL_SCOPES_TOKEN`` holds every scope the production
``PoliciesClient`` reads need (``repo:list`` included); ``embedded`` needs none. Call it once
per org: a second call would seed a second set beside the first (seeding allows two policies
of one name), which is not the org described here.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Final

from reconciler.emulator import Emulator

REPOS: Final = ("api", "worker", "web", "docs", "mobile", "infra")
ARCHIVED: Final = frozenset({"docs"})
BACKEND_REPOS: Final = ("api", "worker", "infra")
DEFAULT_DESCRIPTION: Final = "Every repository no policy below names"
BACKEND_DESCRIPTION: Final = "Services that ship to customers"
BASELINES: Final = {"default": "balanced", "backend": "comprehensive", "frontend": "essential"}
RULE_COUNTS: Final = {"default": 20, "backend": 25, "frontend": 15}
RESOLUTION_COUNT: Final = 20

_ALERT_TYPES = ("malware", "criticalCVE", "cve", "typosquat", "installScripts", "networkAccess")
_SEVERITIES = ("critical", "high", "medium", "low")
_ECOSYSTEMS = ("npm", "pypi", "maven", "gem", "golang", "cargo")
_ACTIONS = ("error", "warn", "monitor", "ignore")
_REASONS = ("false_positive", "remediated", "tolerable_risk", "other")


@dataclass(frozen=True)
class MovedOrg:
    """What ``seed_moved_org`` seeded. Mappings are in seeding order."""

    org: str
    repo_ids: Mapping[str, str]  # slug -> repository id
    policy_ids: Mapping[str, str]  # "default", "backend", "frontend" -> policy id
    governed: Mapping[str, tuple[str, ...]]  # policy name -> repository slugs it names
    rule_names: Mapping[str, tuple[str, ...]]  # policy name -> rule names, evaluation order
    resolution_ids: tuple[str, ...]

    @property
    def rule_count(self) -> int:
        return sum(len(names) for names in self.rule_names.values())


def seed_moved_org(emu: Emulator, org: str = "acme") -> MovedOrg:
    """Seed ``org`` in ``emu`` as the module docstring describes, and say what was seeded."""
    emu.set_migration_state(org, "accepted")
    repos = emu.seed_repos(
        org,
        [
            {"slug": slug, "name": f"{slug.title()} service", "archived": slug in ARCHIVED}
            for slug in REPOS
        ],
    )
    repo_ids = {repo["slug"]: repo["id"] for repo in repos}
    default = emu.seed_policy_update(
        org, "default", baseline=BASELINES["default"], description=DEFAULT_DESCRIPTION
    )
    backend = emu.seed_policy(
        org,
        "backend",
        baseline=BASELINES["backend"],
        description=BACKEND_DESCRIPTION,
        repository_ids=[repo_ids[slug] for slug in BACKEND_REPOS],
    )
    frontend = emu.seed_policy(org, "frontend", baseline=BASELINES["frontend"])
    policy_ids = {"default": default["id"], "backend": backend["id"], "frontend": frontend["id"]}
    rule_names: dict[str, tuple[str, ...]] = {}
    for number, (policy, count) in enumerate(RULE_COUNTS.items()):
        bodies = [_rule(policy, index, number) for index in range(count)]
        made = emu.seed_policy_rules(org, bodies, policy_ids[policy])
        rule_names[policy] = tuple(rule["name"] for rule in made)
    made = emu.seed_resolutions(org, [_resolution(org, i) for i in range(RESOLUTION_COUNT)])
    return MovedOrg(
        org=org,
        repo_ids=repo_ids,
        policy_ids=policy_ids,
        governed={"default": (), "backend": BACKEND_REPOS, "frontend": ()},
        rule_names=rule_names,
        resolution_ids=tuple(resolution["uuid"] for resolution in made),
    )


def _rule(policy: str, index: int, salt: int) -> dict[str, Any]:
    """Rule ``index`` of ``policy``: its own package name, plus one varied condition."""
    name = f"{policy}-{index + 1:02d}"
    selector: dict[str, Any] = {"artifact.name": f"{policy}-pkg-{index + 1:02d}"}
    turn = (index + salt) % 6
    alert = _ALERT_TYPES[index % len(_ALERT_TYPES)]
    if turn == 0:
        selector["finding.alertType"] = alert
    elif turn == 1:
        selector["finding.severity"] = {"$in": list(_SEVERITIES[: 2 + index % 3])}
    elif turn == 2:
        selector["artifact.type"] = _ECOSYSTEMS[index % len(_ECOSYSTEMS)]
        selector["artifact.namespace"] = f"@{policy}"
    elif turn == 3:
        selector["artifact.version"] = {"$in": [f"1.{index}.0", f"1.{index}.1"]}
    elif turn == 4:
        selector["location.manifest"] = f"services/{policy}/package.json"
    else:
        selector["finding.alertType"] = {"$in": [alert, "malware" if alert != "malware" else "cve"]}
        selector["artifact.type"] = {"$in": ["npm", "pypi"]}
    body: dict[str, Any] = {
        "name": name,
        "vigil_selector": selector,
        "action": _ACTIONS[index % len(_ACTIONS)],
    }
    if index % 3 == 0:
        body["note"] = f"Reviewed with the {policy} owners (ticket SEC-{100 + index})"
    return body


def _resolution(org: str, index: int) -> dict[str, Any]:
    selector: dict[str, Any] = {
        "artifact.type": _ECOSYSTEMS[index % len(_ECOSYSTEMS)],
        "artifact.name": f"resolved-pkg-{index + 1:02d}",
        "artifact.version": f"2.{index}.0",
    }
    if index % 4 == 0:
        selector["location.repo"] = f"{org}/{REPOS[index // 4 % len(REPOS)]}"
    body: dict[str, Any] = {"reason": _REASONS[index % len(_REASONS)], "vigil_selector": selector}
    if index % 2 == 0:
        body["comment"] = f"Checked by hand, case {index + 1}"
    return body
