"""The Alert Policies family: policies and their ordered rules.

Every write takes ``?dry_run`` (``params.dry_run``): a rehearsal answers 200 with
``"dry_run": true`` and the body the real write would give, and keeps nothing; a real create
answers 201. Real writes are 409 until the org has moved (``policies_migration``). Status choices
where Socket is silent: a duplicate policy name is 409; deleting the default policy, an unknown
``before_rule_id``/``after_rule_id`` and more than one placement field are 400; an explicit
``rank`` another rule has is 409; ``repository_ids`` naming no repository of the org is 400 and
one another named policy governs is 409 (``policies_scope``). Deleting a policy takes its rules
and its label: its repositories fall back to the default policy.

The handlers are methods of ``PolicyRoutes``, built over the policies store and the change
counters; migration status and translate need nothing but the request. Resolutions are their own
family (``policies_resolutions``).
"""

from __future__ import annotations

from typing import Any

from reconciler.emulator import policies_migration as migration
from reconciler.emulator import policies_translate as translate
from reconciler.emulator.faults import Counters
from reconciler.emulator.params import json_object
from reconciler.emulator.policies_bodies import policy_body, rule_body
from reconciler.emulator.policies_scope import check_scope
from reconciler.emulator.policies_store import PlacementError, Policy, PolicyStore, RankTakenError
from reconciler.emulator.repos_store import RepoStore
from reconciler.emulator.responses import ApiFailure, Response, json_response
from reconciler.emulator.routing import GATE_POLICY_WRITE, Handler, Operation, Request, Route, route

LIST, READ = "alert-policy:list", "alert-policy:read"
CREATE, UPDATE, DELETE = "alert-policy:create", "alert-policy:update", "alert-policy:delete"


def written(payload: dict[str, Any], request: Request, *, created: bool = False) -> Response:
    """The answer to a write: 201 for a real create, else 200; ``dry_run: true`` on a rehearsal."""
    if request.dry_run:
        return json_response(200, {**payload, "dry_run": True})
    return json_response(201 if created else 200, payload)


class PolicyRoutes:
    """Policies and their rules over ``policies`` (scoping ``repos``); real changes are counted
    in ``counters``."""

    def __init__(self, policies: PolicyStore, repos: RepoStore, counters: Counters) -> None:
        self.policies = policies
        self.repos = repos
        self.counters = counters

    def routes(self) -> tuple[Route, ...]:
        """Migration status, translate, policies and rules, for ``core``'s routing table."""
        return (
            route(
                "/orgs/{org}/alert-policies/migration/status",
                {"GET": Operation(migration.get_status, (LIST,), org_wide=True)},
            ),
            route(
                "/orgs/{org}/alert-policies/migration/translate",
                {"POST": Operation(translate.translate, translate.SCOPES)},
            ),
            route(
                "/orgs/{org}/alert-policies",
                {
                    "GET": Operation(self.list_policies, (LIST,), org_wide=True),
                    "POST": _write(self.create_policy, CREATE),
                },
            ),
            route(
                "/orgs/{org}/alert-policies/{policy_id}",
                {
                    "GET": Operation(self.get_policy, (READ,), org_wide=True),
                    "PUT": _write(self.update_policy, UPDATE),
                    "DELETE": _write(self.delete_policy, DELETE),
                },
            ),
            route(
                "/orgs/{org}/alert-policies/{policy_id}/rules",
                {
                    "GET": Operation(self.list_rules, (LIST,), org_wide=True),
                    "POST": _write(self.create_rule, CREATE),
                },
            ),
            route(
                "/orgs/{org}/alert-policies/{policy_id}/rules/{rule_id}",
                {
                    "GET": Operation(self.get_rule, (READ,), org_wide=True),
                    "PUT": _write(self.update_rule, UPDATE),
                    "DELETE": _write(self.delete_rule, DELETE),
                },
            ),
        )

    def _policy(self, request: Request) -> Policy:
        policy = self.policies.policy(request.org, request.args[0])
        if policy is None:
            raise ApiFailure(404, f"No alert policy {request.args[0]!r} in this organization")
        return policy

    def _rule(self, request: Request, policy: Policy) -> dict[str, Any]:
        rule = self.policies.rule(policy, request.args[1])
        if rule is None:
            raise ApiFailure(404, f"No rule {request.args[1]!r} in alert policy {policy.id!r}")
        return rule

    def _name_free(self, request: Request, name: Any, other: Policy | None) -> None:
        taken = self.policies.name_taken(
            request.org, str(name), other_than=None if other is None else other.key
        )
        if taken:
            raise ApiFailure(
                409, f"An alert policy named {name!r} already exists", {"field": "name"}
            )

    def list_policies(self, request: Request) -> Response:
        return json_response(200, {"items": self.policies.policies(request.org)})

    def create_policy(self, request: Request) -> Response:
        fields = policy_body(json_object(request.body), create=True)
        self._name_free(request, fields["name"], None)
        check_scope(self.policies, self.repos, request.org, fields.get("repository_ids"), None)
        policy = self.policies.create_policy(request.org, fields, rehearse=request.dry_run)
        if not request.dry_run:
            self.counters.changed("policies", created=1)
        return written(policy.row, request, created=True)

    def get_policy(self, request: Request) -> Response:
        return json_response(200, self._policy(request).row)

    def update_policy(self, request: Request) -> Response:
        policy = self._policy(request)
        changes = policy_body(json_object(request.body), create=False, default=policy.is_default)
        if "name" in changes:
            self._name_free(request, changes["name"], policy)
        ids = changes.get("repository_ids")
        check_scope(self.policies, self.repos, request.org, ids, policy)
        updated = self.policies.update_policy(policy, changes, rehearse=request.dry_run)
        if not request.dry_run:
            self.counters.changed("policies", updated=1)
        return written(updated.row, request)

    def delete_policy(self, request: Request) -> Response:
        policy = self._policy(request)
        if policy.is_default:
            raise ApiFailure(400, "The default policy cannot be deleted", {"field": "policy_id"})
        self.policies.delete_policy(policy, rehearse=request.dry_run)
        if request.dry_run:
            return json_response(200, {"dry_run": True})
        self.counters.changed("policies", deleted=1)
        return json_response(200, {"result": f"Deleted alert policy {policy.id}"})

    def list_rules(self, request: Request) -> Response:
        policy = self._policy(request)
        return json_response(200, {"items": self.policies.rules(policy)})

    def create_rule(self, request: Request) -> Response:
        policy = self._policy(request)
        fields, placement = rule_body(json_object(request.body), create=True)
        assert placement is not None  # a create always has one
        try:
            rule = self.policies.create_rule(policy, fields, placement, rehearse=request.dry_run)
        except PlacementError as exc:
            raise ApiFailure(400, str(exc), {"field": exc.field}) from None
        except RankTakenError as exc:
            raise ApiFailure(409, str(exc), {"field": "rank"}) from None
        if not request.dry_run:
            self.counters.changed("policy_rules", created=1)
        return written(rule, request, created=True)

    def get_rule(self, request: Request) -> Response:
        policy = self._policy(request)
        return json_response(200, self._rule(request, policy))

    def update_rule(self, request: Request) -> Response:
        policy = self._policy(request)
        self._rule(request, policy)
        changes, placement = rule_body(json_object(request.body), create=False)
        try:
            rule = self.policies.update_rule(
                policy, request.args[1], changes, placement, rehearse=request.dry_run
            )
        except PlacementError as exc:
            raise ApiFailure(400, str(exc), {"field": exc.field}) from None
        except RankTakenError as exc:
            raise ApiFailure(409, str(exc), {"field": "rank"}) from None
        if rule is None:
            raise ApiFailure(404, f"No rule {request.args[1]!r} in alert policy {policy.id!r}")
        if not request.dry_run:
            self.counters.changed("policy_rules", updated=1, moved=int(placement is not None))
        return written(rule, request)

    def delete_rule(self, request: Request) -> Response:
        policy = self._policy(request)
        rule = self._rule(request, policy)
        if not self.policies.delete_rule(policy, rule["id"], rehearse=request.dry_run):
            raise ApiFailure(404, f"No rule {rule['id']!r} in alert policy {policy.id!r}")
        if request.dry_run:
            return json_response(200, {"dry_run": True})
        self.counters.changed("policy_rules", deleted=1)
        return json_response(200, {"result": f"Deleted rule {rule['id']}"})


def _write(handler: Handler, scope: str) -> Operation:
    return Operation(
        handler, (scope,), write=True, dry_run=True, gate=GATE_POLICY_WRITE, org_wide=True
    )
