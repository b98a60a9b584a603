"""The repository listing (getOrgRepoList): ``GET /orgs/{org}/repos``, paged by number.

Socket documents the query (``sort`` default ``created_at``, ``direction`` default ``desc``,
``per_page`` 1-100 default 30, ``page`` from 1, ``include_archived`` default false,
``workspace``), the scope ``repo:list`` and the ``{results, nextPage}`` answer. The emulator's
choices where it is silent: ``sort`` also takes ``slug`` (Socket: ``created_at``, ``name``,
``updated_at``); ties keep
seeding order; a page past the end is an empty last page; ``include_archived`` takes ``true``
or ``false`` in any case; an empty ``workspace`` names the repositories outside any workspace;
a repository-restricted token sees only the repositories it was granted, by slug or by full
name (``org/slug``, as ``location.repo`` names them).

``next_page_style`` says how ``nextPage`` is written (switched at run time through
``Emulator.repos_next_page``): ``null`` (a number, then null at the end: the default), ``zero``
(a number, then 0) or ``string`` (numeric strings, then ``"0"``), the forms seen in the wild.
"""

from __future__ import annotations

from collections.abc import Set
from typing import Final

from reconciler.emulator import params as query
from reconciler.emulator.repos_store import SORTS, RepoQuery, RepoStore
from reconciler.emulator.responses import Response, json_response
from reconciler.emulator.routing import Operation, Request, Route, route
from reconciler.vocab.policies.wire import PER_PAGE_MAX, SCOPE_REPO_LIST

DEFAULT_PER_PAGE: Final = 30
NEXT_PAGE_STYLES: Final = ("null", "zero", "string")


class RepoRoutes:
    """The listing over ``repos``."""

    def __init__(self, repos: RepoStore, *, next_page_style: str = "null") -> None:
        self.repos = repos
        self.next_page_style = next_page_style

    def routes(self) -> tuple[Route, ...]:
        return (
            route(
                "/orgs/{org}/repos",
                {"GET": Operation(self.list_repos, (SCOPE_REPO_LIST,))},
            ),
        )

    @property
    def next_page_style(self) -> str:
        return self._style

    @next_page_style.setter
    def next_page_style(self, style: str) -> None:
        if style not in NEXT_PAGE_STYLES:
            raise ValueError(f"nextPage style must be one of {', '.join(NEXT_PAGE_STYLES)}")
        self._style = style

    def list_repos(self, request: Request) -> Response:
        params = request.params
        per_page = query.integer(params, "per_page", DEFAULT_PER_PAGE, 1, PER_PAGE_MAX)
        page = query.integer(params, "page", 1, 1, None)
        archived = query.choice(params, "include_archived", ("true", "false"), "false", lower=True)
        token = request.token
        window = RepoQuery(
            sort=query.choice(params, "sort", SORTS, "created_at"),
            direction=query.choice(params, "direction", ("asc", "desc"), "desc"),
            include_archived=archived == "true",
            workspace=query.one(params, "workspace"),
            only_slugs=None if token is None else _granted(request.org.slug, token.repos),
            limit=per_page,
            offset=(page - 1) * per_page,
        )
        results, more = self.repos.page(request.org, window)
        return json_response(200, {"results": results, "nextPage": self._next(page, more)})

    def _next(self, page: int, more: bool) -> int | str | None:
        number = page + 1 if more else 0
        if self._style == "string":
            return str(number)
        if number == 0 and self._style == "null":
            return None
        return number


def _granted(org: str, repos: Set[str] | None) -> frozenset[str] | None:
    """The slugs a restricted token's grants name (``api`` or ``acme/api``); None: org-wide."""
    if repos is None:
        return None
    return frozenset(repo.removeprefix(f"{org}/") for repo in repos)
