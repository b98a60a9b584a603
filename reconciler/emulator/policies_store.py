"""Alert policies and their rules in SQLite, in the API's row shapes.

Every org has a default policy, made on first use: id ``default`` until it is first customized
(a PUT), then a UUID, with ``default`` still accepted as its id. Rules hang off a policy's
internal key, so their ``alert_policy_id`` follows the policy's id when it changes. Rules are
ordered by ``rank`` (``policies_rank``); a policy never holds two rules with one rank.

Writes take ``rehearse``: a dry run performs the write in a transaction that is rolled back, so
its answer is what the real write would answer and nothing is kept.
"""

from __future__ import annotations

import json
import sqlite3
import uuid as uuidlib
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Final

from reconciler.emulator.database import Org, Store
from reconciler.emulator.policies_rank import key_between

DEFAULT_ID: Final = "default"
DEFAULT_BASELINE: Final = "balanced"  # Socket: the default policy starts on Balanced
# Baseline of a policy created without one: Socket does not say; "none" is the choice here.
NEW_POLICY_BASELINE: Final[str | None] = None
POLICY_FIELDS: Final = ("name", "description", "repository_ids", "baseline")
RULE_FIELDS: Final = ("name", "vigil_selector", "action", "note")


class PlacementError(ValueError):
    """``before_rule_id`` / ``after_rule_id`` names no other rule of the policy."""

    def __init__(self, field: str, rule_id: str) -> None:
        super().__init__(f"{field}: no other rule {rule_id!r} in this policy")
        self.field = field


class RankTakenError(ValueError):
    """An explicit ``rank`` that another rule of the policy already has."""


@dataclass(frozen=True)
class Placement:
    """Where a rule goes: ``first``, ``last``, ``rank`` (explicit key), ``before``, ``after``."""

    kind: str
    value: str | None = None


@dataclass(frozen=True)
class Policy:
    key: int
    id: str
    is_default: bool
    row: dict[str, Any]  # the API shape


class PolicyStore:
    def __init__(self, store: Store) -> None:
        self.store = store

    # Policies -----------------------------------------------------------------------------

    def policies(self, org: Org) -> list[dict[str, Any]]:
        """Every policy of the org: the default first, then by creation."""
        with self.store.transaction() as conn:
            _ensure_default(conn, org.slug)
            rows = conn.execute(
                "SELECT * FROM alert_policies WHERE org = ? ORDER BY is_default DESC, seq",
                (org.slug,),
            ).fetchall()
        return [_policy(row).row for row in rows]

    def policy(self, org: Org, policy_id: str) -> Policy | None:
        with self.store.transaction() as conn:
            _ensure_default(conn, org.slug)
            row = conn.execute(
                "SELECT * FROM alert_policies WHERE org = ? AND (id = ? OR (? = ? AND is_default))",
                (org.slug, policy_id, policy_id, DEFAULT_ID),
            ).fetchone()
        return None if row is None else _policy(row)

    def create_policy(self, org: Org, fields: Mapping[str, Any], *, rehearse: bool) -> Policy:
        """Create a labeled policy (the caller has checked the body and the name is free)."""
        now = self.store.now()
        values = {
            "org": org.slug,
            "id": str(uuidlib.uuid4()),
            "name": fields["name"],
            "description": fields.get("description"),
            "repo_label_id": str(uuidlib.uuid4()),
            "repository_ids": json.dumps(list(fields.get("repository_ids") or [])),
            "baseline": fields.get("baseline", NEW_POLICY_BASELINE),
            "created_at": now,
            "updated_at": now,
        }
        with self.store.transaction(rehearse=rehearse) as conn:
            _ensure_default(conn, org.slug)
            columns = ", ".join(values)
            marks = ", ".join("?" * len(values))
            conn.execute(
                f"INSERT INTO alert_policies ({columns}) VALUES ({marks})", (*values.values(),)
            )
            row = conn.execute(
                "SELECT * FROM alert_policies WHERE id = ?", (values["id"],)
            ).fetchone()
        return _policy(row)

    def name_taken(self, org: Org, name: str, *, other_than: int | None = None) -> bool:
        rows = self.store.read(
            "SELECT seq FROM alert_policies WHERE org = ? AND name = ? AND seq IS NOT ?",
            (org.slug, name, other_than),
        )
        return bool(rows)

    def governing(
        self, org: Org, repo_ids: Sequence[str], *, other_than: int | None = None
    ) -> dict[str, str]:
        """Those of ``repo_ids`` a named policy (other than ``other_than``) scopes, in the order
        given, each with that policy's name."""
        rows = self.store.read(
            "SELECT name, repository_ids FROM alert_policies "
            "WHERE org = ? AND is_default = 0 AND seq IS NOT ? ORDER BY seq",
            (org.slug, other_than),
        )
        owner: dict[str, str] = {}
        for row in rows:
            for repo_id in json.loads(row["repository_ids"]):
                owner.setdefault(repo_id, str(row["name"]))
        return {repo_id: owner[repo_id] for repo_id in repo_ids if repo_id in owner}

    def update_policy(
        self, policy: Policy, changes: Mapping[str, Any], *, rehearse: bool
    ) -> Policy:
        """Change the given fields; the default policy gets a UUID on its first change."""
        now = self.store.now()
        sets = {k: v for k, v in changes.items() if k in POLICY_FIELDS}
        if "repository_ids" in sets:
            sets["repository_ids"] = json.dumps(list(sets["repository_ids"] or []))
        sets["updated_at"] = now
        if policy.is_default and policy.id == DEFAULT_ID:
            sets["id"] = str(uuidlib.uuid4())
            sets["created_at"] = now
        assignments = ", ".join(f"{column} = ?" for column in sets)
        with self.store.transaction(rehearse=rehearse) as conn:
            conn.execute(
                f"UPDATE alert_policies SET {assignments} WHERE seq = ?",
                (*sets.values(), policy.key),
            )
            row = conn.execute(
                "SELECT * FROM alert_policies WHERE seq = ?", (policy.key,)
            ).fetchone()
        return _policy(row)

    def delete_policy(self, policy: Policy, *, rehearse: bool) -> None:
        """Delete the policy with its rules; its repo label goes with it, so its repositories
        (kept in its row) fall back to the default policy at once."""
        with self.store.transaction(rehearse=rehearse) as conn:
            conn.execute("DELETE FROM policy_rules WHERE policy = ?", (policy.key,))
            conn.execute("DELETE FROM alert_policies WHERE seq = ?", (policy.key,))

    # Rules --------------------------------------------------------------------------------

    def rules(self, policy: Policy) -> list[dict[str, Any]]:
        """The policy's rules in evaluation order (ascending rank)."""
        rows = self.store.read(
            "SELECT * FROM policy_rules WHERE policy = ? ORDER BY rank", (policy.key,)
        )
        return [_rule(row, policy.id) for row in rows]

    def rule(self, policy: Policy, rule_id: str) -> dict[str, Any] | None:
        rows = self.store.read(
            "SELECT * FROM policy_rules WHERE policy = ? AND id = ?", (policy.key, rule_id)
        )
        return _rule(rows[0], policy.id) if rows else None

    def create_rule(
        self, policy: Policy, fields: Mapping[str, Any], placement: Placement, *, rehearse: bool
    ) -> dict[str, Any]:
        now = self.store.now()
        rule_id = str(uuidlib.uuid4())
        with self.store.transaction(rehearse=rehearse) as conn:
            rank = _rank_for(conn, policy.key, placement, moving=None)
            conn.execute(
                "INSERT INTO policy_rules (id, policy, rank, name, vigil_selector, action, note, "
                "created_at, updated_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
                (
                    rule_id,
                    policy.key,
                    rank,
                    fields["name"],
                    json.dumps(fields["vigil_selector"]),
                    fields["action"],
                    fields.get("note"),
                    now,
                    now,
                ),
            )
            row = conn.execute("SELECT * FROM policy_rules WHERE id = ?", (rule_id,)).fetchone()
        return _rule(row, policy.id)

    def update_rule(
        self,
        policy: Policy,
        rule_id: str,
        changes: Mapping[str, Any],
        placement: Placement | None,
        *,
        rehearse: bool,
    ) -> dict[str, Any] | None:
        """The rule after the change, or None when it is not (or no longer) in the policy."""
        sets = {k: v for k, v in changes.items() if k in RULE_FIELDS}
        if "vigil_selector" in sets:
            sets["vigil_selector"] = json.dumps(sets["vigil_selector"])
        sets["updated_at"] = self.store.now()
        with self.store.transaction(rehearse=rehearse) as conn:
            if not conn.execute(
                "SELECT 1 FROM policy_rules WHERE id = ? AND policy = ?", (rule_id, policy.key)
            ).fetchone():
                return None
            if placement is not None:
                sets["rank"] = _rank_for(conn, policy.key, placement, moving=rule_id)
            assignments = ", ".join(f"{column} = ?" for column in sets)
            conn.execute(
                f"UPDATE policy_rules SET {assignments} WHERE id = ? AND policy = ?",
                (*sets.values(), rule_id, policy.key),
            )
            row = conn.execute("SELECT * FROM policy_rules WHERE id = ?", (rule_id,)).fetchone()
        return _rule(row, policy.id)

    def delete_rule(self, policy: Policy, rule_id: str, *, rehearse: bool) -> bool:
        with self.store.transaction(rehearse=rehearse) as conn:
            cursor = conn.execute(
                "DELETE FROM policy_rules WHERE id = ? AND policy = ?", (rule_id, policy.key)
            )
        return cursor.rowcount == 1

    def wipe(self) -> None:
        """Remove every policy and rule; default policies come back on next use."""
        with self.store.transaction() as conn:
            conn.execute("DELETE FROM policy_rules")
            conn.execute("DELETE FROM alert_policies")


def _ensure_default(conn: sqlite3.Connection, org: str) -> None:
    conn.execute(
        "INSERT INTO alert_policies (org, id, is_default, baseline) VALUES (?, ?, 1, ?) "
        "ON CONFLICT DO NOTHING",
        (org, DEFAULT_ID, DEFAULT_BASELINE),
    )


def _rank_for(
    conn: sqlite3.Connection, policy: int, placement: Placement, *, moving: str | None
) -> str:
    """The rank that puts a rule where ``placement`` says, among the others of the policy."""
    others = conn.execute(
        "SELECT id, rank FROM policy_rules WHERE policy = ? AND id IS NOT ? ORDER BY rank",
        (policy, moving),
    ).fetchall()
    ranks = [row["rank"] for row in others]
    if placement.kind == "rank":
        assert placement.value is not None
        if placement.value in ranks:
            raise RankTakenError(f"rank {placement.value!r} is already used by another rule")
        return placement.value
    if placement.kind == "first":
        return key_between(None, ranks[0] if ranks else None)
    if placement.kind == "last":
        return key_between(ranks[-1] if ranks else None, None)
    ids = [row["id"] for row in others]
    if placement.value not in ids:
        field = f"{placement.kind}_rule_id"
        raise PlacementError(field, str(placement.value))
    at = ids.index(placement.value)
    if placement.kind == "before":
        return key_between(ranks[at - 1] if at > 0 else None, ranks[at])
    return key_between(ranks[at], ranks[at + 1] if at + 1 < len(ranks) else None)


def _policy(row: sqlite3.Row) -> Policy:
    is_default = bool(row["is_default"])
    api = {
        "id": row["id"],
        "name": row["name"],
        "description": row["description"],
        "apply_method": "unlabeled_repos" if is_default else "labeled_repos",
        "repo_label_id": row["repo_label_id"],
        "repository_ids": json.loads(row["repository_ids"]),
        "baseline": row["baseline"],
        "created_by": row["created_by"],
        "updated_by": row["updated_by"],
        "created_at": row["created_at"],
        "updated_at": row["updated_at"],
    }
    return Policy(int(row["seq"]), str(row["id"]), is_default, api)


def _rule(row: sqlite3.Row, policy_id: str) -> dict[str, Any]:
    return {
        "id": row["id"],
        "alert_policy_id": policy_id,
        "rank": row["rank"],
        "name": row["name"],
        "vigil_selector": json.loads(row["vigil_selector"]),
        "action": row["action"],
        "note": row["note"],
        "created_by": row["created_by"],
        "updated_by": row["updated_by"],
        "created_at": row["created_at"],
        "updated_at": row["updated_at"],
    }
