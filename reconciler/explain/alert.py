"""One alert, described by what is known about it: the question ``explain`` answers.

An alert's facts are concrete: one package version, one reachability, one CVSS score. A fact
that is not given is *unknown*, which is not the same as "any": a rule that sets that field can
then be neither shown to match nor ruled out (see ``match``). The facts are keyed by the
selector field they are compared with (``wire.SELECTOR``); the CVSS score is compared with
``cvss_score_cmp``.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field, fields
from decimal import Decimal, InvalidOperation
from typing import Final

from reconciler.errors import UsageError
from reconciler.rules import purl as purls
from reconciler.rules.textcheck import control_character
from reconciler.vocab.triage.wire import AVAILABILITY, KEVS, REACHABILITY, WILDCARD

Fact = str | Decimal

# The value an alert may have for each enum field: the field's value set without "*".
CONCRETE: Final[Mapping[str, tuple[str, ...]]] = {
    "fix_available": tuple(v for v in AVAILABILITY if v != WILDCARD),
    "patch_available": tuple(v for v in AVAILABILITY if v != WILDCARD),
    "reachability": tuple(v for v in REACHABILITY if v != WILDCARD),
    "kevs": tuple(v for v in KEVS if v != WILDCARD),
}
MAX_CVSS: Final = Decimal(10)


@dataclass(frozen=True)
class Alert:
    """What is known about one alert; ``None`` means not known.

    Field names are the selector fields' names, except ``cvss_score`` (compared with the rule
    field ``cvss_score_cmp``); ``fact`` reads them by selector field.
    """

    package_type: str | None = None
    package_namespace: str | None = None
    package_name: str | None = None
    package_version: str | None = None
    alert_key: str | None = None
    alert_type: str | None = None
    cve_or_ghsa_id: str | None = None
    fix_available: str | None = None
    patch_available: str | None = None
    reachability: str | None = None
    kevs: str | None = None
    cvss_score: Decimal | None = field(default=None)

    def fact(self, selector_field: str) -> Fact | None:
        """The alert's value for a selector field (the score for ``cvss_score_cmp``)."""
        if selector_field == "cvss_score_cmp":
            return self.cvss_score
        value = getattr(self, selector_field)
        assert value is None or isinstance(value, str)
        return value

    def describe(self) -> str:
        """One line: the package as ``type/namespace/name@version``, then every other fact.

        >>> Alert(package_type="npm", package_name="lodash", package_version="4.17.20",
        ...       alert_type="cve", cvss_score=Decimal("6.5")).describe()
        'npm/lodash@4.17.20 alert_type=cve cvss_score=6.5'
        """
        name = self.package_name or "?"
        if self.package_namespace:
            name = f"{self.package_namespace}/{name}"
        version = f"@{self.package_version}" if self.package_version else ""
        parts = [f"{self.package_type or '?'}/{name}{version}"]
        package = ("package_type", "package_namespace", "package_name", "package_version")
        for item, value in self.to_dict().items():
            if item not in package:
                parts.append(f"{item}={value}")
        return " ".join(parts)

    def to_dict(self) -> dict[str, str]:
        """The known facts, in field order; the score as text (JSON has no decimals)."""
        return {
            f.name: str(getattr(self, f.name))
            for f in fields(self)
            if getattr(self, f.name) is not None
        }


def describe_alert(
    *,
    purl: str | None = None,
    package_type: str | None = None,
    package_namespace: str | None = None,
    package_name: str | None = None,
    package_version: str | None = None,
    alert_type: str | None = None,
    alert_key: str | None = None,
    cve: str | None = None,
    reachability: str | None = None,
    fix_available: bool | None = None,
    patch_available: bool | None = None,
    kev: bool | None = None,
    cvss: float | str | None = None,
) -> Alert:
    """Check and gather an alert's facts as a user gives them; ``UsageError`` says what is wrong.

    ``purl`` (``pkg:npm/lodash@4.17.20``) stands for the four package fields; the booleans say
    whether a fix or patch is available and whether the CVE is in CISA's KEV catalogue.

    >>> describe_alert(purl="pkg:npm/%40babel/traverse@7.23.2", kev=False).describe()
    'npm/@babel/traverse@7.23.2 kevs=none'
    >>> describe_alert(purl="pkg:npm/lodash@4.*")
    Traceback (most recent call last):
    ...
    reconciler.errors.UsageError: package_version '4.*': an alert has one concrete version; '*' is for rules
    """  # noqa: E501 - a doctest's expected output is one line
    package = (package_type, package_namespace, package_name, package_version)
    if purl is not None:
        if any(value is not None for value in package):
            raise UsageError("give the package either as a purl or as package fields, not both")
        package = _from_purl(purl)
    texts = {
        "package_type": package[0],
        "package_namespace": package[1],
        "package_name": package[2],
        "package_version": package[3],
        "alert_key": alert_key,
        "alert_type": alert_type,
        "cve_or_ghsa_id": cve,
        "reachability": reachability,
        "fix_available": _flag(fix_available, "available", "unavailable"),
        "patch_available": _flag(patch_available, "available", "unavailable"),
        "kevs": _flag(kev, "exist", "none"),
    }
    checked = {name: _text(name, value) for name, value in texts.items()}
    return Alert(**checked, cvss_score=_score(cvss))


def _from_purl(text: str) -> tuple[str | None, str | None, str | None, str | None]:
    try:
        package = purls.parse(text.strip())
    except ValueError as exc:
        raise UsageError(f"purl {text!r} {exc}") from None
    return package.type, package.namespace, package.name, package.version


def _flag(value: bool | None, yes: str, no: str) -> str | None:
    if value is None:
        return None
    return yes if value else no


def _text(name: str, value: str | None) -> str | None:
    if value is None:
        return None
    text = value.strip()
    if text in ("", WILDCARD):
        raise UsageError(
            f"{name} {value!r}: an alert has a concrete value ('*' and '' mean \"any\" in a "
            "rule); leave it out when it is not known"
        )
    problem = control_character(name, text)
    if problem is not None:
        raise UsageError(problem)
    if name == "package_version" and WILDCARD in text:
        raise UsageError(f"{name} {text!r}: an alert has one concrete version; '*' is for rules")
    allowed = CONCRETE.get(name)
    if allowed is not None and text not in allowed:
        raise UsageError(f"{name} {text!r}: choose one of {', '.join(allowed)}")
    return text


def _score(value: float | str | None) -> Decimal | None:
    if value is None:
        return None
    try:
        score = Decimal(str(value).strip())
    except InvalidOperation:
        score = Decimal("NaN")
    if not score.is_finite() or not Decimal(0) <= score <= MAX_CVSS:
        raise UsageError(f"cvss {value!r}: a CVSS score is a number from 0 to 10")
    return score
