"""Which API an org is reconciled against, and why: the choice each org's plan carries.

The choice is made where the providers are wired (``reconciler.wiring``: the migration status
read, the files' pin, ``--target``); the engine only carries it into the plan and its saved form.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any, Protocol

from reconciler.api import TARGETS
from reconciler.errors import PlanFileError


class Status(Protocol):
    """The org's migration status as the API states it (``policies.model.MigrationStatus``)."""

    def to_dict(self) -> dict[str, Any]: ...


@dataclass(frozen=True)
class TargetChoice:
    """The target used for one org and why; ``status`` is None when it could not be read."""

    target: str
    reason: str
    status: Status | None = None

    def to_dict(self) -> dict[str, Any]:
        """The keys each org's plan document carries (JSON, saved plans, Markdown)."""
        return {
            "target": self.target,
            "target_reason": self.reason,
            "migration": None if self.status is None else self.status.to_dict(),
        }

    @classmethod
    def from_dict(
        cls, data: Mapping[str, Any], where: str, read_status: Callable[[Mapping[str, Any]], Status]
    ) -> TargetChoice | None:
        """Read ``to_dict()`` keys back from an org's plan document; None if it has none."""
        if "target_reason" not in data:
            return None  # a plan saved before targets were recorded: triage
        target, reason, status = data.get("target"), data["target_reason"], data.get("migration")
        if target not in TARGETS or not isinstance(reason, str):
            raise PlanFileError(f"{where}: target must be one of {', '.join(TARGETS)}")
        if status is not None and not isinstance(status, Mapping):
            raise PlanFileError(f"{where}.migration must be an object or null")
        return cls(target, reason, None if status is None else read_status(status))
