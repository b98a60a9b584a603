"""The org's alert resolutions: desired vs live -> creates, replaces and deletes.

Identity is the canonical selector (resolutions are org-wide). The API cannot update a
resolution, so a changed reason, reason_text or human comment is a ``replace``: a create and a
delete, shown as one change. Of live duplicates of one selector, the one that already says what
the files say is kept, else the oldest; the others are deleted when the tool may (prune, or
sealed as ours).
"""

from __future__ import annotations

from collections.abc import Collection, Sequence

from reconciler import notes
from reconciler.policies.changes import EXPIRED, ResolutionChange
from reconciler.policies.trailer import TrailerFn, fit_note
from reconciler.vocab.policies.model import (
    DesiredResolution,
    LiveResolution,
    resolution_seal_parts,
    timestamp_key,
)
from reconciler.vocab.policies.wire import COMMENT_MAX


def diff_resolutions(
    org: str,
    desired: Sequence[DesiredResolution],
    live: Sequence[LiveResolution],
    *,
    prune: bool = True,
    trailer: TrailerFn | None = None,
    expired: Collection[str] = (),
) -> tuple[list[ResolutionChange], int]:
    """The org's resolutions: (changes, unchanged count). Creates, replaces, then deletes.

    ``expired`` holds the selectors (canonical text) of resolutions the files declared until
    they expired: every live resolution with one is deleted, whoever made it.
    """
    groups: dict[str, list[LiveResolution]] = {}
    for item in live:
        if item.addressable:
            groups.setdefault(item.selector.text, []).append(item)
    for found in groups.values():
        found.sort(key=lambda r: (timestamp_key(r.created_at), r.uuid))
    wanted: dict[str, DesiredResolution] = {}
    for res in desired:
        wanted.setdefault(res.selector.text, res)  # checks report a repeated selector

    def comment(res: DesiredResolution) -> str | None:
        seal = notes.seal(org, resolution_seal_parts(res.selector))
        line = trailer(res.location, seal) if trailer else None
        return fit_note(res.comment, line, COMMENT_MAX) or None

    creates: list[ResolutionChange] = []
    replaces: list[ResolutionChange] = []
    deletes: list[ResolutionChange] = []
    unchanged = 0
    for key, res in sorted(wanted.items()):
        found = groups.get(key, [])
        if not found:
            creates.append(ResolutionChange("create", org, None, res, comment(res)))
            continue
        # One that already says what the files say wins: after a replace whose delete failed,
        # the next plan keeps the new resolution and deletes the old one.
        first = next((r for r in found if not _resolution_differs(r, res)), found[0])
        extras = [r for r in found if r is not first]
        if _resolution_differs(first, res):
            replaces.append(ResolutionChange("replace", org, first, res, comment(res), "changed"))
        else:
            unchanged += 1
        # Extra copies of a selector the files declare are deleted when the tool may (prune, or
        # sealed as ours), and also whenever the one kept already says what the files say: as
        # on triage, a declared selector is ours to keep single (after a replace done by half,
        # the old one goes even under ``prune: false``).
        settled = not _resolution_differs(first, res)
        deletes += [
            ResolutionChange("delete", org, extra, None, reason="duplicate")
            for extra in extras
            if prune or extra.managed or settled
        ]
    for key, found in sorted(groups.items()):
        if key in wanted:
            continue
        if key in expired:
            deletes += [
                ResolutionChange("delete", org, item, None, reason=EXPIRED) for item in found
            ]
        else:
            deletes += [
                ResolutionChange("delete", org, item, None, reason="not in files")
                for item in found
                if prune or item.managed
            ]
    return [*creates, *replaces, *deletes], unchanged


def _resolution_differs(live: LiveResolution, res: DesiredResolution) -> bool:
    return (live.reason, live.reason_text or None, live.human_comment) != (
        res.reason,
        res.reason_text or None,
        res.comment.strip(),
    )
