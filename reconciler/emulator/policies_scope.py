"""Which repositories a policy may scope: ``repository_ids`` checked against the org.

Socket says a policy governs the repositories carrying its repo label and that the default
policy governs the rest; it does not say what an unknown repository id or a repository another
policy already governs does to a write. The emulator's choices: an id the org's repository
listing does not hold is a 400 naming it; a repository another named policy already scopes is a
409 naming that policy, so no repository ever carries two policy labels (a client moving one
between policies removes it from the first before adding it to the second); an id given twice
is a 400 (``policies_bodies``). Archived repositories may be scoped like any other.
"""

from __future__ import annotations

from collections.abc import Sequence

from reconciler.emulator.database import Org
from reconciler.emulator.policies_store import Policy, PolicyStore
from reconciler.emulator.repos_store import RepoStore
from reconciler.emulator.responses import ApiFailure

FIELD = "repository_ids"


def check_scope(
    policies: PolicyStore,
    repos: RepoStore,
    org: Org,
    repo_ids: Sequence[str] | None,
    policy: Policy | None,
) -> None:
    """Refuse ``repo_ids`` for ``policy`` (None: one being created) unless each is free."""
    if not repo_ids:
        return
    unknown = repos.unknown(org, repo_ids)
    if unknown:
        message = f"{FIELD}: no repository with id {unknown[0]!r} in this organization"
        raise ApiFailure(400, message, {"field": FIELD})
    governed = policies.governing(org, repo_ids, other_than=None if policy is None else policy.key)
    if governed:
        repo_id, name = next(iter(governed.items()))
        message = (
            f"{FIELD}: repository {repo_id!r} is already governed by alert policy {name!r}; "
            "remove it there first (a repository carries at most one policy label)"
        )
        raise ApiFailure(409, message, {"field": FIELD})
