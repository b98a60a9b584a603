"""The Alert Policies API: policies, rules, resolutions, migration status and translate.

Built on ``http.client.HttpClient`` (gate, retries, counting), which may be shared with the
triage client so both count against one rate limit. This module knows the endpoints, their
bodies (snake_case, see ``wire``), the cursor paging of resolutions, which calls may be retried,
and how refusals are worded (``statuses``).

Retries: reads, updates, moves, deletes and every dry run are idempotent. A real create is not:
if its answer is lost, ``OutcomeUnknownError`` reaches the caller, who re-lists and looks for the
policy or rule by name (or the resolution by selector) before sending it again.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import replace
from functools import partial
from typing import Any, Final, TypeVar
from urllib.parse import quote

from reconciler.errors import ApiError, UsageError
from reconciler.http.body import read_json
from reconciler.http.client import HttpClient, Reply
from reconciler.http.connect import Credentials
from reconciler.http.paginate import OnPage, Page, by_cursor, by_number
from reconciler.policies.changes import Placement
from reconciler.policies.statuses import Call, refusal_error
from reconciler.vocab.policies import wire
from reconciler.vocab.policies.model import (
    LivePolicy,
    LiveRepository,
    LiveResolution,
    LiveRule,
    MigrationStatus,
    Translation,
    Untranslatable,
    parse_translate,
)

T = TypeVar("T")
_DRY_RUN: Final = {wire.DRY_RUN_PARAM: wire.DRY_RUN_TRUE}


def placement_body(placement: Placement | None, ids: Mapping[str, str]) -> dict[str, str]:
    """The one placement field for a create or move. A neighbour without a live id is looked up
    by name in ``ids`` (the rules created so far in this apply); a missing one is a UsageError.

    >>> placement_body(Placement(after="a"), {"a": "r-1"})
    {'after_rule_id': 'r-1'}
    """
    if placement is None:
        return {}
    if placement.position is not None:
        return {wire.POSITION: placement.position}
    name = placement.after if placement.after is not None else placement.before
    rule_id = placement.anchor_id or ids.get(name or "")
    if not rule_id:
        raise UsageError(f"rule {name!r} must exist before a rule can be placed next to it")
    field = wire.AFTER_RULE_ID if placement.after is not None else wire.BEFORE_RULE_ID
    return {field: rule_id}


class PoliciesClient:
    """Alert Policies calls for one base URL, over a (possibly shared) ``HttpClient``.

    >>> from reconciler.emulator import EmulatorTransport, embedded
    >>> http = HttpClient("http://emulator.local/v0", None,
    ...                   transport=EmulatorTransport(embedded(":memory:")))
    >>> [p.id for p in PoliciesClient(http).list_policies("acme")]
    ['default']
    """

    def __init__(self, http: HttpClient, credentials: Credentials | None = None) -> None:
        self.http = http
        # Which token each org's calls carry (as the triage client's, whose ``http`` and
        # ``credentials`` this client may share); None: the HttpClient's own token, if any.
        self.credentials = credentials

    # --- reads ---------------------------------------------------------------------------------

    def migration_status(self, org: str) -> MigrationStatus:
        """The org's migration state. Read-only: it never enrolls the org (contract 3.15)."""
        call = Call(org, "read the migration status", wire.SCOPE_POLICY_LIST)
        reply = self._send("GET", wire.MIGRATION_STATUS_PATH.format(org=_seg(org)), call)
        return MigrationStatus.from_get(_json(reply, f"the migration status of org {org!r}"))

    def list_policies(self, org: str) -> list[LivePolicy]:
        """Every policy, the default first (one call, no paging)."""
        call = Call(org, "list alert policies", wire.SCOPE_POLICY_LIST)
        reply = self._send("GET", wire.POLICIES_PATH.format(org=_seg(org)), call)
        rows = _items(reply, f"the policies of org {org!r}")
        return [LivePolicy.from_get(row, org) for row in rows]

    def list_repositories(self, org: str, *, on_page: OnPage | None = None) -> list[LiveRepository]:
        """Every repository of the org, archived ones included (a policy may still govern one).

        Paged by number like the legacy triage list (``{results, nextPage}``; ``nextPage`` null,
        0 or a string at the end: ``http.paginate``), and read until two passes agree.
        """
        call = Call(org, "list repositories", wire.SCOPE_REPO_LIST)
        path = wire.REPOS_PATH.format(org=_seg(org))
        what = f"the repositories of org {org!r}"

        def fetch(number: int) -> Page[LiveRepository]:
            params: dict[str, Any] = {
                wire.PER_PAGE_PARAM: wire.PER_PAGE_MAX,
                "page": number,
                "sort": "created_at",
                wire.DIRECTION_PARAM: wire.DIRECTION_ASC,
                "include_archived": "true",
            }
            payload = _json(self._send("GET", path, call, params=params), f"a page of {what}")
            rows = payload.get("results") if isinstance(payload, dict) else None
            if not isinstance(rows, list):
                raise ApiError(f"a page of {what} has no results list")
            items = tuple(LiveRepository.from_get(row) for row in rows)
            keys = tuple(item.id or f"slug:{item.slug}" for item in items)
            return Page(items, keys, payload.get("nextPage"))

        return by_number(fetch, what=what, per_page=wire.PER_PAGE_MAX, on_page=on_page)

    def list_rules(self, org: str, policy_id: str) -> list[LiveRule]:
        """A policy's custom rules in evaluation order (one call, no paging)."""
        call = Call(org, f"list the rules of policy {policy_id}", wire.SCOPE_POLICY_LIST)
        path = wire.RULES_PATH.format(org=_seg(org), policy_id=_seg(policy_id))
        rows = _items(self._send("GET", path, call), f"the rules of policy {policy_id} of {org!r}")
        return [LiveRule.from_get(row, policy_id, org) for row in rows]

    def list_resolutions(
        self, org: str, *, per_page: int = wire.PER_PAGE_MAX, on_page: OnPage | None = None
    ) -> list[LiveResolution]:
        """Every active resolution, oldest first, following ``endCursor`` until it is null."""
        call = Call(org, "list alert resolutions", wire.SCOPE_RESOLUTION_LIST)
        path = wire.RESOLUTIONS_PATH.format(org=_seg(org))

        def fetch(cursor: str | None) -> Page[LiveResolution]:
            params: dict[str, Any] = {wire.PER_PAGE_PARAM: per_page}
            params[wire.DIRECTION_PARAM] = wire.DIRECTION_ASC
            if cursor is not None:
                params[wire.CURSOR_PARAM] = cursor
            reply = self._send("GET", path, call, params=params)
            payload = _json(reply, f"a page of the resolutions of org {org!r}")
            rows = _item_list(payload, f"a page of the resolutions of org {org!r}")
            items = tuple(LiveResolution.from_get(row, org) for row in rows)
            return Page(items, tuple(map(_key, rows)), payload.get(wire.CURSOR_FIELD))

        return by_cursor(
            fetch, what=f"the resolutions of org {org!r}", per_page=per_page, on_page=on_page
        )

    # --- policy writes -------------------------------------------------------------------------

    def create_policy(
        self, org: str, body: Mapping[str, Any], *, dry_run: bool = False
    ) -> LivePolicy:
        """POST a policy (``name``, ``description``, ``baseline``, ``repository_ids``). Not
        retried once it may have been sent: a lost answer is ``OutcomeUnknownError``."""
        call = Call(
            org,
            f"create policy {body.get('name')!r}",
            wire.SCOPE_POLICY_CREATE,
            gated=not dry_run,
            conflicts=True,
        )
        path = wire.POLICIES_PATH.format(org=_seg(org))
        reply = self._send("POST", path, call, body=dict(body), dry_run=dry_run, creates=True)
        return LivePolicy.from_get(_json(reply, "the created policy"), org)

    def update_policy(
        self, org: str, policy_id: str, body: Mapping[str, Any], *, dry_run: bool = False
    ) -> LivePolicy:
        """PUT the changed fields of a policy (a partial update; ``repository_ids`` replaces
        the whole set). Idempotent, so retried."""
        call = Call(
            org,
            f"update policy {policy_id}",
            wire.SCOPE_POLICY_UPDATE,
            gated=not dry_run,
            conflicts=True,
        )
        path = _policy_path(org, policy_id)
        reply = self._send("PUT", path, call, body=dict(body), dry_run=dry_run)
        return LivePolicy.from_get(_json(reply, "the updated policy"), org)

    def delete_policy(self, org: str, policy_id: str, *, dry_run: bool = False) -> bool:
        """DELETE a policy with its rules and repository label. ``False`` when it was already
        gone (404) and no earlier try of this call could have deleted it."""
        call = Call(
            org,
            f"delete policy {policy_id}",
            wire.SCOPE_POLICY_DELETE,
            gated=not dry_run,
            conflicts=True,
        )
        path = _policy_path(org, policy_id)
        reply = self._send("DELETE", path, call, dry_run=dry_run, accept=(404,))
        return reply.response.status_code != 404 or reply.after_uncertain

    # --- rule writes ---------------------------------------------------------------------------

    def create_rule(
        self, org: str, policy_id: str, body: Mapping[str, Any], *, dry_run: bool = False
    ) -> LiveRule:
        """POST a rule (``rule_body`` plus at most one placement field)."""
        call = Call(
            org,
            f"create rule {body.get('name')!r} in policy {policy_id}",
            wire.SCOPE_POLICY_CREATE,
            gated=not dry_run,
        )
        path = wire.RULES_PATH.format(org=_seg(org), policy_id=_seg(policy_id))
        reply = self._send("POST", path, call, body=dict(body), dry_run=dry_run, creates=True)
        return LiveRule.from_get(_json(reply, "the created rule"), policy_id, org)

    def update_rule(
        self,
        org: str,
        policy_id: str,
        rule_id: str,
        body: Mapping[str, Any],
        *,
        dry_run: bool = False,
    ) -> LiveRule:
        """PUT changed fields and/or one placement field (a move); a partial update."""
        call = Call(
            org,
            f"update rule {rule_id} in policy {policy_id}",
            wire.SCOPE_POLICY_UPDATE,
            gated=not dry_run,
        )
        path = _rule_path(org, policy_id, rule_id)
        reply = self._send("PUT", path, call, body=dict(body), dry_run=dry_run)
        return LiveRule.from_get(_json(reply, "the updated rule"), policy_id, org)

    def delete_rule(self, org: str, policy_id: str, rule_id: str, *, dry_run: bool = False) -> bool:
        """DELETE a rule. ``False`` when it was already gone (404) and no earlier try of this
        call could have deleted it."""
        call = Call(
            org,
            f"delete rule {rule_id} in policy {policy_id}",
            wire.SCOPE_POLICY_DELETE,
            gated=not dry_run,
        )
        path = _rule_path(org, policy_id, rule_id)
        reply = self._send("DELETE", path, call, dry_run=dry_run, accept=(404,))
        return reply.response.status_code != 404 or reply.after_uncertain

    # --- resolution writes ---------------------------------------------------------------------

    def create_resolution(
        self, org: str, body: Mapping[str, Any], *, dry_run: bool = False
    ) -> LiveResolution:
        """POST a resolution. Resolutions are not gated by the migration (contract 3.18)."""
        call = Call(org, "create a resolution", wire.SCOPE_RESOLUTION_CREATE)
        path = wire.RESOLUTIONS_PATH.format(org=_seg(org))
        reply = self._send("POST", path, call, body=dict(body), dry_run=dry_run, creates=True)
        return LiveResolution.from_get(_json(reply, "the created resolution"), org)

    def delete_resolution(self, org: str, uuid: str) -> bool:
        """DELETE a resolution (there is no dry run for this one). ``False``: already gone."""
        call = Call(org, f"delete resolution {uuid}", wire.SCOPE_RESOLUTION_DELETE)
        path = wire.RESOLUTION_PATH.format(org=_seg(org), uuid=_seg(uuid))
        reply = self._send("DELETE", path, call, accept=(404,))
        return reply.response.status_code != 404 or reply.after_uncertain

    # --- migration -----------------------------------------------------------------------------

    def translate(
        self, org: str, entries: Sequence[Mapping[str, Any]]
    ) -> tuple[list[Translation], list[Untranslatable]]:
        """Translate legacy camelCase triage entries, in batches of at most 100.

        Indexes in the answer refer to ``entries`` as a whole. Translate creates nothing, so a
        batch is retried freely.
        """
        call = Call(org, "translate triage entries", " or ".join(wire.SCOPES_TRANSLATE))
        path = wire.TRANSLATE_PATH.format(org=_seg(org))
        done: list[Translation] = []
        failed: list[Untranslatable] = []
        size = wire.TRANSLATE_BATCH_MAX
        for start in range(0, len(entries), size):
            batch = [dict(e) for e in entries[start : start + size]]
            reply = self._send("POST", path, call, body={wire.TRANSLATE_BODY_FIELD: batch})
            got, missed = parse_translate(_json(reply, f"a translate answer for org {org!r}"))
            done += [_shift(t, start, len(batch)) for t in got]
            failed += [_shift(u, start, len(batch)) for u in missed]
        return done, failed

    # --- plumbing ------------------------------------------------------------------------------

    def _send(
        self,
        method: str,
        path: str,
        call: Call,
        *,
        params: Mapping[str, Any] | None = None,
        body: Any = None,
        dry_run: bool = False,
        creates: bool = False,
        accept: tuple[int, ...] = (),
    ) -> Reply:
        query = {**(params or {}), **(_DRY_RUN if dry_run else {})}
        credential = self.credentials.for_org(call.org) if self.credentials else None
        return self.http.send(
            method,
            path,
            params=query or None,
            body=body,
            idempotent=dry_run or not creates,
            accept=accept,
            refuse=partial(refusal_error, call=replace(call, credential=credential)),
            token=credential.token if credential else None,
        )


def rule_body(name: str, selector: Any, action: str, note: str | None) -> dict[str, Any]:
    """The create / update body of a rule's content (placement is added by the caller)."""
    return {"name": name, "vigil_selector": selector, "action": action, "note": note or None}


def resolution_body(
    selector: Any, reason: str, reason_text: str | None, comment: str | None
) -> dict[str, Any]:
    """The create body of a resolution; empty texts travel as null (their minimum is 1)."""
    return {
        "vigil_selector": selector,
        "reason": reason,
        "reason_text": reason_text or None,
        "comment": comment or None,
    }


_Indexed = TypeVar("_Indexed", Translation, Untranslatable)


def _shift(item: _Indexed, start: int, size: int) -> _Indexed:
    if item.index >= size:
        raise ApiError(f"the translate answer names entry {item.index} of a batch of {size}")
    return type(item)(**{**item.__dict__, "index": item.index + start})


def _seg(value: str) -> str:
    # An org slug or id is one path segment: "/" or "?" in it must not change the route.
    return quote(value, safe="")


def _policy_path(org: str, policy_id: str) -> str:
    if not policy_id:
        raise UsageError("a policy without an id cannot be changed")
    return wire.POLICY_PATH.format(org=_seg(org), policy_id=_seg(policy_id))


def _rule_path(org: str, policy_id: str, rule_id: str) -> str:
    if not rule_id:
        raise UsageError(f"a rule of policy {policy_id} without an id cannot be changed")
    return wire.RULE_PATH.format(org=_seg(org), policy_id=_seg(policy_id), rule_id=_seg(rule_id))


def _json(reply: Reply, what: str) -> Any:
    return read_json(reply.response.content, what, reply.response.status_code)


def _item_list(payload: Any, what: str) -> list[Any]:
    items = payload.get(wire.ITEMS) if isinstance(payload, dict) else None
    if not isinstance(items, list):
        raise ApiError(f"{what} has no items list")
    return items


def _items(reply: Reply, what: str) -> list[Any]:
    return _item_list(_json(reply, what), what)


def _key(row: Any) -> str:
    """A resolution's identity while paging: its uuid, or its content when it has none."""
    uuid = row.get("uuid") if isinstance(row, dict) else None
    if isinstance(uuid, str) and uuid:
        return uuid
    return "content:" + json.dumps(row, sort_keys=True, default=str)
