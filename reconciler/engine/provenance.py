"""Where a change came from: commit, pull request, repository, actor.

The reconciler writes this into every note's trailer and into the audit log, so that a rule seen
in Socket's dashboard leads back to the line, commit and review that put it there. ``detect()``
reads GitHub Actions' environment when it runs there, and a plain git checkout otherwise; every
source is optional, and a missing one leaves its fields ``None`` rather than failing a run.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Final

from reconciler import notes
from reconciler.errors import Location
from reconciler.rules.model import Rule

_MAX_VALUE: Final = 48
_GIT_TIMEOUT: Final = 5.0
_GITHUB: Final = "https://github.com"

# Anything that could end the trailer's line, or hide in it: whitespace, control characters,
# bidirectional controls, and the lone surrogates that stand for bytes of a non-UTF-8 name.
_UNSAFE_RE: Final = re.compile(
    r"[\s\x00-\x1f\x7f-\x9f\u200e\u200f\u202a-\u202e\u2066-\u2069\ud800-\udfff]"
)
_PR_REF_RE: Final = re.compile(r"^refs/pull/(\d+)/(?:merge|head)$")
# GitHub's two merge styles: "Merge pull request #12 from a/b" and a squash subject "Fix (#12)".
_MERGE_RE: Final = re.compile(r"^Merge pull request #(\d+)\b")
_SQUASH_RE: Final = re.compile(r"\(#(\d+)\)\s*$")
_GITHUB_REMOTE_RE: Final = re.compile(
    r"^(?:https://(?:[^@/]+@)?github\.com/|ssh://git@github\.com/|git@github\.com:)"
    r"(?P<repo>[\w.-]+/[\w.-]+?)(?:\.git)?/?$"
)


@dataclass(frozen=True)
class Provenance:
    """The origin of a run. Every field is optional: unknown stays ``None``."""

    commit: str | None = None  # full SHA
    pr: int | None = None
    repository: str | None = None  # "owner/name"
    server_url: str | None = None  # "https://github.com"
    actor: str | None = None
    ref: str | None = None

    def trailer(self, rule: Rule) -> str:
        """The one-line note trailer for ``rule``, sealed for its org and selector.

        >>> from reconciler.errors import Location
        >>> from reconciler.vocab.triage.selector import Selector
        >>> rule = Rule("acme", Selector(package_type="npm", package_name="lodash"), "ignore",
        ...             "why", location=Location("triage/npm.yaml", 12, 3))
        >>> origin = Provenance(commit="0123abcdef", pr=42, repository="acme/triage")
        >>> origin.trailer(rule)  # doctest: +ELLIPSIS
        '[socket-triage] source=triage/npm.yaml:12 commit=0123abc pr=42 repo=acme/triage sel=...'
        """
        return self.trailer_at(rule.location, notes.seal(rule.org, rule.selector))

    def trailer_at(self, where: Location | None, seal: str) -> str:
        """The same trailer for any item written at ``where`` and sealed with ``seal``: the
        form Alert Policies rules and resolutions need (``policies.trailer.TrailerFn``).

        >>> Provenance(pr=7).trailer_at(Location("p.yaml", 4, 3), "0123456789ab")
        '[socket-triage] source=p.yaml:4 pr=7 sel=0123456789ab'
        """
        fields: list[tuple[str, str | None]] = [
            ("source", f"{where.file}:{where.line}" if where else None),
            ("commit", self.commit[:7] if self.commit else None),
            ("pr", str(self.pr) if self.pr is not None else None),
            ("repo", self.repository),
        ]
        cleaned = [(key, _clean(value)) for key, value in fields if value]
        return notes.trailer(cleaned, seal)

    def commit_url(self) -> str | None:
        """A link to the commit, when the server, repository and commit are all known."""
        if self.server_url and self.repository and self.commit:
            return f"{self.server_url.rstrip('/')}/{self.repository}/commit/{self.commit}"
        return None

    def pr_url(self) -> str | None:
        """A link to the pull request, when the server, repository and number are all known."""
        if self.server_url and self.repository and self.pr is not None:
            return f"{self.server_url.rstrip('/')}/{self.repository}/pull/{self.pr}"
        return None

    def to_dict(self) -> dict[str, str | int | None]:
        """Every field plus the two links, for the audit log and the JSON plan."""
        return {
            "commit": self.commit,
            "pr": self.pr,
            "repository": self.repository,
            "server_url": self.server_url,
            "actor": self.actor,
            "ref": self.ref,
            "commit_url": self.commit_url(),
            "pr_url": self.pr_url(),
        }


def _clean(value: str) -> str:
    """Escape line breaks and spaces so a value can never split or end the trailer's line."""
    if len(value) > _MAX_VALUE:
        value = "..." + value[-(_MAX_VALUE - 3) :]  # the tail of a path says more than its head
    return _UNSAFE_RE.sub(lambda m: f"%{ord(m.group()):02X}", value)


def detect(env: Mapping[str, str] | None = None, cwd: str | None = None) -> Provenance:
    """Read provenance from GitHub Actions' environment, else from the git checkout at ``cwd``.

    Never raises: outside CI and outside a git repository every field is ``None``.
    """
    env = os.environ if env is None else env
    if env.get("GITHUB_ACTIONS") == "true":
        return _from_github(env, cwd)
    return _from_git(cwd)


def _from_github(env: Mapping[str, str], cwd: str | None) -> Provenance:
    event = _read_event(env.get("GITHUB_EVENT_PATH"))
    ref = env.get("GITHUB_REF") or None
    pull = event.get("pull_request")
    pull = pull if isinstance(pull, dict) else {}
    # On pull_request events GITHUB_SHA is a throwaway merge commit; the head is what people see.
    head = pull.get("head")
    head_sha = head.get("sha") if isinstance(head, dict) else None
    commit = head_sha if isinstance(head_sha, str) else env.get("GITHUB_SHA") or None
    return Provenance(
        commit=commit,
        pr=_pr_from_ref(ref) or _as_int(pull.get("number")) or _pr_from_push(event, commit, cwd),
        repository=env.get("GITHUB_REPOSITORY") or None,
        server_url=env.get("GITHUB_SERVER_URL") or _GITHUB,
        actor=env.get("GITHUB_ACTOR") or None,
        ref=ref,
    )


def _read_event(path: str | None) -> dict[str, Any]:
    if not path:
        return {}
    try:
        with open(path, encoding="utf-8") as fh:
            data = json.load(fh)
    except (OSError, ValueError):
        return {}
    return data if isinstance(data, dict) else {}


def _pr_from_ref(ref: str | None) -> int | None:
    match = _PR_REF_RE.match(ref or "")
    return int(match.group(1)) if match else None


def _pr_from_push(event: Mapping[str, Any], commit: str | None, cwd: str | None) -> int | None:
    """A push of a merged PR names it in the commit subject; the payload carries the message."""
    head_commit = event.get("head_commit")
    message = head_commit.get("message") if isinstance(head_commit, dict) else None
    if not isinstance(message, str) and commit:
        message = _git(["log", "-1", "--format=%s", commit], cwd)
    return pr_from_subject(message or "")


def pr_from_subject(message: str) -> int | None:
    """The PR number GitHub puts in a merge or squash commit's subject line.

    >>> pr_from_subject("Merge pull request #7 from acme/fix")
    7
    >>> pr_from_subject("Ignore lodash in tests (#12)\\n\\nbody")
    12
    >>> pr_from_subject("Plain commit") is None
    True
    """
    subject = message.splitlines()[0] if message else ""
    match = _MERGE_RE.match(subject) or _SQUASH_RE.search(subject)
    return int(match.group(1)) if match else None


def _as_int(value: object) -> int | None:
    return value if isinstance(value, int) and not isinstance(value, bool) else None


def _from_git(cwd: str | None) -> Provenance:
    commit = _git(["rev-parse", "--verify", "-q", "HEAD"], cwd)
    if commit is None:
        return Provenance()
    repository = github_repository(_git(["remote", "get-url", "origin"], cwd) or "")
    return Provenance(
        commit=commit,
        pr=pr_from_subject(_git(["log", "-1", "--format=%s"], cwd) or ""),
        repository=repository,
        server_url=_GITHUB if repository else None,
        actor=_git(["config", "user.name"], cwd),
        ref=_git(["symbolic-ref", "-q", "HEAD"], cwd),
    )


def github_repository(remote_url: str) -> str | None:
    """``owner/name`` from a GitHub remote URL (https or ssh), else ``None``.

    >>> github_repository("git@github.com:acme/triage.git")
    'acme/triage'
    >>> github_repository("https://gitlab.com/acme/triage") is None
    True
    """
    match = _GITHUB_REMOTE_RE.match(remote_url.strip())
    return match.group("repo") if match else None


def _git(args: list[str], cwd: str | None) -> str | None:
    """One git command's stripped stdout, or ``None`` if git is missing, fails or hangs."""
    try:
        done = subprocess.run(
            ["git", *args],
            cwd=cwd,
            capture_output=True,
            text=True,
            timeout=_GIT_TIMEOUT,
            check=False,
        )
    except (OSError, subprocess.SubprocessError):
        return None
    out = done.stdout.strip()
    return out if done.returncode == 0 and out else None
