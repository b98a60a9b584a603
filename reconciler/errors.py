"""The exception tree. Every failure a user can cause or meet is a ``ReconcilerError``.

ReconcilerError            root: the CLI prints its message on one line and exits 1
├── ConfigError            rule files are invalid; carries every Diagnostic, sorted
├── UsageError             the command line is wrong (bad option value, missing --org, ...)
├── PlanFileError          a saved plan file cannot be read or is not ours
├── UnsafePlanError        the plan crosses a safety threshold; --force overrides
├── StalePlanError         the live state changed since the saved plan was made
├── ApplyError             apply stopped part-way; says what was and was not applied
├── VerificationError      apply finished but the org still differs from the files
├── IncompleteMigrationError  migrate wrote its files without a rule that decides alerts
└── ApiError               an API call failed for good
    ├── InsecureUrlError   plain http to a non-loopback host
    ├── AuthError          401: token missing or invalid
    ├── ScopeError         403: the token lacks a scope
    ├── NotFoundError      404: unknown org, or uuid
    ├── ReadOnlyError      409 / 405: the org moved to Alert Policies
    ├── BadRequestError    400: the server refused the entries
    ├── RateLimitError     429 after the retry budget
    ├── ServerError        5xx or transport failure after the retry budget
    ├── OutcomeUnknownError  a create POST may or may not have been applied
    └── PaginationError    the server's paging loops or does not advance
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass


@dataclass(frozen=True, order=True)
class Location:
    """Where a YAML node starts: 1-based line and column, as editors count.

    Line 0 means the file (or directory) as a whole: "no such file", "cannot read".
    """

    file: str
    line: int
    column: int

    def __str__(self) -> str:
        if self.line == 0:
            return self.file
        return f"{self.file}:{self.line}:{self.column}"


class ReconcilerError(Exception):
    """Root of every expected failure. ``str(err)`` is the one-line message for the user."""


@dataclass(frozen=True, order=True)
class Diagnostic:
    """One finding about a rule file, printed as ``FILE:LINE:COL: message``."""

    location: Location
    message: str
    severity: str = "error"  # "error" or "warning"
    # A warning about the calendar (a rule expires soon or has expired), not about what the
    # file says: ``validate --strict`` lets it pass, or the job that removes it would fail.
    dated: bool = False

    def __str__(self) -> str:
        label = "warning: " if self.severity == "warning" else ""
        return f"{self.location}: {label}{self.message}"

    def line(self) -> str:
        """The finding as a person reads it on a terminal, its severity always said, as
        compilers print theirs: ``FILE:LINE:COL: error: message`` (or ``warning:``)."""
        return f"{self.location}: {self.severity}: {self.message}"


class ConfigError(ReconcilerError):
    """The rule files are invalid. Holds every error found, sorted by file and line."""

    def __init__(self, diagnostics: Iterable[Diagnostic]) -> None:
        self.diagnostics = sorted(diagnostics)
        super().__init__("\n".join(str(d) for d in self.diagnostics))


class UsageError(ReconcilerError):
    """The command line asks for something impossible."""


class PlanFileError(ReconcilerError):
    """A saved plan file is unreadable, from another version, or for other inputs."""


class UnsafePlanError(ReconcilerError):
    """The plan would change too much of an org at once; ``--force`` overrides."""


class StalePlanError(ReconcilerError):
    """The org's live rules changed since the saved plan was made."""


class ApplyError(ReconcilerError):
    """Apply stopped part-way. The message says what was applied and what was not."""


class VerificationError(ReconcilerError):
    """Apply finished, but a fresh plan still shows changes."""


class IncompleteMigrationError(ReconcilerError):
    """``migrate`` wrote its files, but left out a legacy rule that decides alerts."""


class ApiError(ReconcilerError):
    """An API call failed for good (after any retries)."""

    def __init__(self, message: str, status: int | None = None) -> None:
        self.status = status
        super().__init__(message)


class InsecureUrlError(ApiError):
    """Plain http is allowed only to loopback hosts."""


class AuthError(ApiError):
    """401."""


class ScopeError(ApiError):
    """403."""


class NotFoundError(ApiError):
    """404."""


class ReadOnlyError(ApiError):
    """409 on POST or 405 on DELETE: the org moved to Alert Policies."""


class BadRequestError(ApiError):
    """400."""


class RateLimitError(ApiError):
    """429 after the retry budget was spent."""


class ServerError(ApiError):
    """5xx or a transport failure after the retry budget was spent."""


class OutcomeUnknownError(ApiError):
    """A POST that creates rules failed in a way that may or may not have applied it."""


class PaginationError(ApiError):
    """The server's pagination loops or does not advance."""
