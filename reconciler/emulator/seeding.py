"""The emulator's Python API for tests, scripts and the ``emulator`` command.

Set-up and inspection without HTTP, without auth and without touching counters or quota:
orgs and their migration state, repositories, triage rules, policies, policy rules and
resolutions. Seeding goes through the same checks as the API where a bad value would make the
emulator answer something Socket never would (a selector, an action, a rank, a repository
under two policy labels).
"""

from __future__ import annotations

import uuid as uuidlib
from collections.abc import Iterable, Mapping
from typing import Any

from reconciler.emulator.database import Org, Store
from reconciler.emulator.policies_bodies import PLACEMENT_FIELDS, policy_body, rule_body
from reconciler.emulator.policies_migration import status_for
from reconciler.emulator.policies_resolution_store import ResolutionStore, checked_body, to_api
from reconciler.emulator.policies_scope import check_scope
from reconciler.emulator.policies_store import DEFAULT_ID, Placement, Policy, PolicyStore
from reconciler.emulator.repos_store import RepoStore
from reconciler.emulator.responses import ApiFailure
from reconciler.emulator.triage_entries import to_stored
from reconciler.emulator.triage_store import TriageRules

# What the ``emulator`` command remembers between runs on one database file: the seed file it
# loaded and the test tokens it generated. A table of its own, created on first use, so that
# the schema (and its version) of the API's state is untouched and older releases still open
# the file.
_KEPT = "CREATE TABLE IF NOT EXISTS emulator_kept (key TEXT PRIMARY KEY, value TEXT NOT NULL)"
_STATE_TABLES = ("triage_rules", "triage_frozen", "policy_rules", "alert_resolutions")


class Seeding:
    """Mixed into ``core.Emulator``; every method is thread-safe."""

    store: Store
    triage: TriageRules
    policies: PolicyStore
    resolutions: ResolutionStore
    repos: RepoStore

    def _org(self, slug: str) -> Org:
        return self.store.add_org(slug)

    # Orgs and migration -------------------------------------------------------------------

    def add_org(self, slug: str, *, migrated: bool | None = None) -> None:
        """Create the org if it is new. ``migrated=True`` moves it to Alert Policies (state
        ``accepted``), ``False`` takes it back to not enrolled; None leaves its state alone."""
        self._org(slug)
        if migrated is not None:
            self.set_migration_state(slug, "accepted" if migrated else None)

    def set_migration_state(self, org: str, state: str | None, **overrides: Any) -> dict[str, Any]:
        """Put the org in migration ``state`` and return its new status (as the API shows it).

        The flags and timestamps follow ``policies_migration.STATES``; ``overrides`` set any
        status field explicitly (e.g. ``alert_policies_enabled=True`` with state None for an
        org that started on Alert Policies). Leaving legacy evaluation freezes the org's triage
        rules for legacy reads; returning to it thaws them. Raises ``ValueError`` when unknown.
        """
        with self.store.transaction():
            current = self._org(org)
            status = status_for(state, current.status, self.store.now(), overrides)
            self.store.set_status(org, status)
            was, now = current.status.legacy_evaluation_enabled, status.legacy_evaluation_enabled
            if was and not now:
                self.triage.freeze(org)
            elif now:
                self.triage.thaw(org)
        return status.to_dict()

    def migration_status(self, org: str) -> dict[str, Any]:
        return self._org(org).status.to_dict()

    # Repositories -------------------------------------------------------------------------

    def seed_repos(
        self, org: str, repos: Iterable[str | Mapping[str, Any]]
    ) -> list[dict[str, Any]]:
        """Add repositories to ``org``, in order, and return them as the listing shows them.

        Each is a slug or a mapping with ``slug`` and any of ``name`` (default: the slug),
        ``archived`` (false), ``workspace`` (""), ``id`` (default: a generated UUID),
        ``description``, ``homepage``, ``html_url`` (a GitHub URL), ``visibility`` ("private"),
        ``default_branch`` ("main"), ``head_full_scan_id``. Raises ``ValueError`` (adding
        none) for a bad one.
        """
        return self.repos.seed(self._org(org), repos)

    def repositories(self, org: str) -> list[dict[str, Any]]:
        """Every repository of ``org``, archived ones included, oldest first."""
        return self.repos.everything(self._org(org))

    # Legacy triage ------------------------------------------------------------------------

    def rules(self, org: str) -> list[dict[str, Any]]:
        """Every live triage rule of ``org`` in GET form, oldest first."""
        found = self.store.org(org)
        return [] if found is None else self.triage.everything(found)

    def seed_rules(self, org: str, rules: Iterable[Mapping[str, Any]]) -> None:
        """Insert triage rules directly (snake_case or camelCase; uuid and timestamps optional)."""
        target = self._org(org)
        rows = []
        for rule in rules:
            stamp = self.store.now()
            rows.append(
                (
                    str(rule.get("uuid") or uuidlib.uuid4()),
                    to_stored(rule),
                    str(rule.get("created_at") or rule.get("createdAt") or stamp),
                    str(rule.get("updated_at") or rule.get("updatedAt") or stamp),
                )
            )
        self.triage.insert(target, rows)

    # Alert Policies -----------------------------------------------------------------------

    def alert_policies(self, org: str) -> list[dict[str, Any]]:
        """Every policy of ``org``, the default first."""
        return self.policies.policies(self._org(org))

    def seed_policy(self, org: str, name: str, **fields: Any) -> dict[str, Any]:
        """Create a labeled policy (``description``, ``repository_ids``, ``baseline``).

        The body is checked as the API checks it, and each repository id must name a repository
        of the org (``seed_repos``) that no other policy governs. A name another policy has is
        allowed here (the API refuses it; whether Socket does is unknown), so that tests can
        hold two live policies of one name.
        """
        checked = _checked(policy_body, {"name": name, **fields}, create=True)
        target = self._org(org)
        self._check_scope(target, checked.get("repository_ids"), None)
        return self.policies.create_policy(target, checked, rehearse=False).row

    def seed_policy_update(self, org: str, policy: str, **fields: Any) -> dict[str, Any]:
        """Change a policy (id or ``default``) as a PUT would: only the fields given.

        The default policy takes ``description`` and ``baseline`` (and gets its UUID, as on
        its first PUT); a named one also ``name`` and ``repository_ids`` (checked as for
        ``seed_policy``).
        """
        target = self._policy(org, policy)
        checked = _checked(policy_body, dict(fields), create=False, default=target.is_default)
        self._check_scope(self._org(org), checked.get("repository_ids"), target)
        return self.policies.update_policy(target, checked, rehearse=False).row

    def policy_rules(self, org: str, policy: str = DEFAULT_ID) -> list[dict[str, Any]]:
        """The rules of a policy (id or ``default``) in evaluation order."""
        return self.policies.rules(self._policy(org, policy))

    def seed_policy_rules(
        self, org: str, rules: Iterable[Mapping[str, Any]], policy: str = DEFAULT_ID
    ) -> list[dict[str, Any]]:
        """Append rules after the policy's last one, in the order given; return them.

        Each is a create body (``name``, ``vigil_selector``, ``action``, ``note``); a ``rank``
        or other placement field in it is honoured instead of appending.
        """
        target = self._policy(org, policy)
        made = []
        for rule in rules:
            fields, placement = _checked(rule_body, dict(rule), create=True)
            if not any(key in rule for key in PLACEMENT_FIELDS):
                placement = Placement("last")
            made.append(self.policies.create_rule(target, fields, placement, rehearse=False))
        return made

    def alert_resolutions(self, org: str) -> list[dict[str, Any]]:
        """Every resolution of ``org``, oldest first."""
        rows = self.resolutions.page(self._org(org), direction="asc", after=None, limit=-1)
        return [to_api(row) for row in rows]

    def seed_resolutions(
        self, org: str, resolutions: Iterable[Mapping[str, Any]]
    ) -> list[dict[str, Any]]:
        """Create resolutions (create bodies: ``reason``, ``vigil_selector``, ...); return them."""
        target = self._org(org)
        made = []
        for resolution in resolutions:
            fields = _checked(checked_body, dict(resolution))
            made.append(to_api(self.resolutions.create(target, fields, rehearse=False)))
        return made

    # Kept between runs ---------------------------------------------------------------------

    def seeded_from(self) -> str | None:
        """The seed file this database was seeded from; ``""`` when it holds rules that came
        another way (an older release's seeding, or writes through the API); None when empty."""
        kept = self._kept("seeded-from")
        if kept is not None:
            return kept
        holds = any(self.store.read(f"SELECT 1 FROM {table} LIMIT 1") for table in _STATE_TABLES)
        return "" if holds else None

    def mark_seeded(self, source: str) -> None:
        """Remember that ``source`` was loaded, so that a restart does not load it again."""
        self._keep("seeded-from", source)

    def kept_token(self, org: str) -> str | None:
        """The test token generated for ``org`` by an earlier run on this database."""
        return self._kept(f"token:{org}")

    def keep_token(self, org: str, token: str) -> None:
        """Remember ``org``'s generated test token (never a token the user gave)."""
        self._keep(f"token:{org}", token)

    def _kept(self, key: str) -> str | None:
        with self.store.transaction() as conn:
            conn.execute(_KEPT)
            row = conn.execute("SELECT value FROM emulator_kept WHERE key = ?", (key,)).fetchone()
        return None if row is None else str(row[0])

    def _keep(self, key: str, value: str) -> None:
        with self.store.transaction() as conn:
            conn.execute(_KEPT)
            conn.execute(
                "INSERT INTO emulator_kept (key, value) VALUES (?, ?) "
                "ON CONFLICT (key) DO UPDATE SET value = excluded.value",
                (key, value),
            )

    def _check_scope(self, org: Org, repo_ids: Any, policy: Policy | None) -> None:
        try:
            check_scope(self.policies, self.repos, org, repo_ids, policy)
        except ApiFailure as exc:
            raise ValueError(exc.message) from None

    def _policy(self, org: str, policy_id: str) -> Policy:
        found = self.policies.policy(self._org(org), policy_id)
        if found is None:
            raise ValueError(f"org {org} has no alert policy {policy_id!r}")
        return found


def _checked(check: Any, body: dict[str, Any], **options: Any) -> Any:
    """Run an API body check, turning its 400 into a ``ValueError`` for Python callers."""
    try:
        return check(body, **options)
    except ApiFailure as exc:
        raise ValueError(exc.message) from None
