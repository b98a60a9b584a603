"""Org slugs: the one pattern an org name must match, wherever it comes from.

Rule files (``org:``), ``--org`` and the MCP tools' ``org`` argument all name an org, and the
name reaches URL paths and file names, so ``../x`` and ``a/b`` are refused before either.
"""

from __future__ import annotations

import re
from typing import Final

from reconciler.errors import UsageError

# The rule schema's ``org`` pattern (a test checks that they agree).
ORG_SLUG: Final = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]*")


def check_org(org: str, option: str = "--org") -> str:
    """``org`` if it is an org slug; else a one-line ``UsageError`` that names ``option``.

    >>> check_org("acme-corp.eu")
    'acme-corp.eu'
    >>> check_org("../x")
    Traceback (most recent call last):
    ...
    reconciler.errors.UsageError: --org '../x': not an org slug (letters, digits, '.', '_' or '-', starting with a letter or digit)
    """  # noqa: E501 - a doctest's expected output is one line
    if not ORG_SLUG.fullmatch(org):
        raise UsageError(
            f"{option} {org!r}: not an org slug (letters, digits, '.', '_' or '-', "
            "starting with a letter or digit)"
        )
    return org
