"""An org's repositories in SQLite, in the repository listing's row shape (getOrgRepoList).

Tests seed them (``seeding.Seeding.seed_repos``); the listing pages through them and the
policies family checks ``repository_ids`` against them. Nothing in the API writes them.
"""

from __future__ import annotations

import sqlite3
import uuid as uuidlib
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any, Final

from reconciler.emulator.database import Org, Store

# What the listing can be sorted by: Socket documents ``created_at`` (the default), ``name``
# and ``updated_at``; ``slug`` is the emulator's, cheap to offer and handy for a readable order.
SORTS: Final = ("created_at", "updated_at", "name", "slug")
DEFAULT_VISIBILITY: Final = "private"
DEFAULT_BRANCH: Final = "main"
# SQLite's OFFSET is a signed 64-bit integer; a page number far past the end is clamped to it
# (the page is empty either way) instead of overflowing.
_MAX_OFFSET: Final = 2**63 - 1
# What a seeded repository may say; the rest of the row is generated.
SEED_FIELDS: Final = (
    "id",
    "slug",
    "name",
    "description",
    "homepage",
    "html_url",
    "visibility",
    "archived",
    "default_branch",
    "workspace",
    "head_full_scan_id",
)


@dataclass(frozen=True)
class RepoQuery:
    """One page of the listing: order, filters, and the window."""

    sort: str = "created_at"
    direction: str = "desc"
    include_archived: bool = False
    workspace: str | None = None
    only_slugs: frozenset[str] | None = None  # a repository-restricted token's grants
    limit: int = 30
    offset: int = 0


class RepoStore:
    def __init__(self, store: Store) -> None:
        self.store = store

    def seed(self, org: Org, repos: Iterable[str | Mapping[str, Any]]) -> list[dict[str, Any]]:
        """Add repositories (a slug, or a mapping of ``SEED_FIELDS``) in order; return them.

        Raises ``ValueError`` for a missing slug, an unknown field or a wrong type, and adds
        none of them then.
        """
        rows = [_seed_row(repo) for repo in repos]
        ids = []
        with self.store.transaction() as conn:
            for row in rows:
                now = self.store.now()
                values = {"org": org.slug, **row, "created_at": now, "updated_at": now}
                columns = ", ".join(values)
                marks = ", ".join("?" * len(values))
                try:
                    conn.execute(
                        f"INSERT INTO repositories ({columns}) VALUES ({marks})",
                        (*values.values(),),
                    )
                except sqlite3.IntegrityError:
                    raise ValueError(f"a repository with id {row['id']!r} exists") from None
                ids.append(row["id"])
        return [self._by_id(repo_id) for repo_id in ids]

    def everything(self, org: Org) -> list[dict[str, Any]]:
        """Every repository of the org, archived ones included, oldest first."""
        rows = self.store.read(
            "SELECT * FROM repositories WHERE org = ? ORDER BY created_at, seq", (org.slug,)
        )
        return [to_api(row) for row in rows]

    def page(self, org: Org, query: RepoQuery) -> tuple[list[dict[str, Any]], bool]:
        """The rows of one page, and whether any row follows it."""
        assert query.sort in SORTS and query.direction in ("asc", "desc")
        where, params = ["org = ?"], [org.slug]
        if not query.include_archived:
            where.append("archived = 0")
        if query.workspace is not None:
            where.append("workspace = ?")
            params.append(query.workspace)
        if query.only_slugs is not None:
            where.append(f"slug IN ({', '.join('?' * len(query.only_slugs))})")
            params.extend(sorted(query.only_slugs))
        order = f"{query.sort} {query.direction}, seq {query.direction}"
        rows = self.store.read(
            f"SELECT * FROM repositories WHERE {' AND '.join(where)} ORDER BY {order} "
            "LIMIT ? OFFSET ?",
            (*params, query.limit + 1, min(query.offset, _MAX_OFFSET)),
        )
        return [to_api(row) for row in rows[: query.limit]], len(rows) > query.limit

    def unknown(self, org: Org, repo_ids: Iterable[str]) -> list[str]:
        """Those of ``repo_ids`` that name no repository of the org, in the order given."""
        known = {
            row[0]
            for row in self.store.read("SELECT id FROM repositories WHERE org = ?", (org.slug,))
        }
        return [repo_id for repo_id in repo_ids if repo_id not in known]

    def _by_id(self, repo_id: str) -> dict[str, Any]:
        (row,) = self.store.read("SELECT * FROM repositories WHERE id = ?", (repo_id,))
        return to_api(row)


def to_api(row: sqlite3.Row) -> dict[str, Any]:
    """A stored repository in the listing's row shape, every field present."""
    return {
        "id": row["id"],
        "created_at": row["created_at"],
        "updated_at": row["updated_at"],
        "html_url": row["html_url"] or f"https://github.com/{row['org']}/{row['slug']}",
        "slug": row["slug"],
        "head_full_scan_id": row["head_full_scan_id"],
        "integration_meta": None,
        "name": row["name"],
        "description": row["description"],
        "homepage": row["homepage"],
        "visibility": row["visibility"],
        "archived": bool(row["archived"]),
        "default_branch": row["default_branch"],
        "workspace": row["workspace"],
    }


def _seed_row(repo: str | Mapping[str, Any]) -> dict[str, Any]:
    given: Mapping[str, Any] = {"slug": repo} if isinstance(repo, str) else repo
    unknown = sorted(set(given) - set(SEED_FIELDS))
    if unknown:
        raise ValueError(f"unknown repository field(s): {', '.join(unknown)}")
    slug = given.get("slug")
    if not isinstance(slug, str) or not slug:
        raise ValueError("a repository needs a non-empty string slug")
    row = {
        "id": given.get("id") or str(uuidlib.uuid4()),
        "slug": slug,
        "name": given.get("name") or slug,
        "description": given.get("description"),
        "homepage": given.get("homepage"),
        "html_url": given.get("html_url"),
        "visibility": given.get("visibility") or DEFAULT_VISIBILITY,
        "archived": given.get("archived", False),
        "default_branch": given.get("default_branch", DEFAULT_BRANCH),
        "workspace": given.get("workspace") or "",
        "head_full_scan_id": given.get("head_full_scan_id"),
    }
    if not isinstance(row["archived"], bool):
        raise ValueError(f"repository {slug!r}: archived must be true or false")
    texts = ("id", "name", "visibility", "workspace")
    if not all(isinstance(row[key], str) for key in texts):
        raise ValueError(f"repository {slug!r}: {', '.join(texts)} must be strings")
    row["archived"] = int(row["archived"])
    return row
