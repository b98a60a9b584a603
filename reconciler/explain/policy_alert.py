"""One alert as Alert Policies sees it: the package and alert type, plus where it was found.

Alert Policies selectors name fields (``finding.alertType``, ``artifact.name``, ...) rather than
the legacy triage fields; ``PolicyAlert.facts`` gives the alert's value for each field it
supplies, for ``vocab.policies.matching.evaluate``. A field left out is *not supplied*, so a
selector naming it is undecided, never guessed.

Two readings worth stating:

- ``artifact.namespace`` is ``""`` for an unscoped package whose type and name are known
  (Socket documents the field as "empty for unscoped");
- ``location.repo`` is the repository's *full name* (Socket's example: ``my-org/payments-api``),
  so it is supplied only when ``--repo`` is given as ``OWNER/NAME``; the part after the last
  ``/`` is the slug that the files' ``policies:`` and the repository listing name.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from reconciler.errors import UsageError
from reconciler.explain.alert import Alert
from reconciler.rules.textcheck import control_character


@dataclass(frozen=True)
class PolicyAlert:
    """An alert's facts for Alert Policies; ``None`` is not known."""

    alert: Alert
    severity: str | None = None
    repo: str | None = None  # a slug, or OWNER/NAME
    manifest: str | None = None

    @property
    def slug(self) -> str | None:
        """The repository's slug: ``--repo`` after its last ``/``."""
        return None if self.repo is None else self.repo.rsplit("/", 1)[-1]

    def facts(self, repo_label: str | None = None) -> dict[str, str]:
        """Selector field -> the alert's value, for every field it supplies."""
        alert = self.alert
        found: dict[str, str | None] = {
            "finding.alertType": alert.alert_type,
            "finding.severity": self.severity,
            "artifact.type": alert.package_type,
            "artifact.name": alert.package_name,
            "artifact.namespace": alert.package_namespace,
            "artifact.version": alert.package_version,
            "location.repo": self.repo if self.repo and "/" in self.repo else None,
            "location.manifest": self.manifest,
            "location.repoLabel": repo_label,
        }
        if found["artifact.namespace"] is None and alert.package_type and alert.package_name:
            found["artifact.namespace"] = ""
        return {key: value for key, value in found.items() if value is not None}

    def describe(self) -> str:
        """One line: the package and facts, then where it was found."""
        parts = [self.alert.describe()]
        for name in ("severity", "repo", "manifest"):
            value = getattr(self, name)
            if value is not None:
                parts.append(f"{name}={value}")
        return " ".join(parts)

    def to_dict(self) -> dict[str, Any]:
        return {
            **self.alert.to_dict(),
            **{
                name: getattr(self, name)
                for name in ("severity", "repo", "manifest")
                if getattr(self, name) is not None
            },
        }


def describe_policy_alert(
    alert: Alert,
    *,
    severity: str | None = None,
    repo: str | None = None,
    manifest: str | None = None,
) -> PolicyAlert:
    """Check the Alert Policies facts as a user gives them; ``UsageError`` says what is wrong.

    >>> describe_policy_alert(Alert(), repo="acme/api").slug
    'api'
    >>> describe_policy_alert(Alert(), repo="acme/")
    Traceback (most recent call last):
    ...
    reconciler.errors.UsageError: --repo 'acme/': give a repository slug or OWNER/NAME
    """
    checked = {
        "severity": _text("--severity", severity),
        "repo": _text("--repo", repo),
        "manifest": _text("--manifest", manifest),
    }
    slug = checked["repo"]
    if slug is not None and not slug.rsplit("/", 1)[-1]:
        raise UsageError(f"--repo {repo!r}: give a repository slug or OWNER/NAME")
    return PolicyAlert(alert, **checked)


def _text(option: str, value: str | None) -> str | None:
    if value is None:
        return None
    text = value.strip()
    if not text:
        raise UsageError(f"{option} is empty: leave it out when it is not known")
    problem = control_character(option, text)
    if problem is not None:
        raise UsageError(problem)
    return text
