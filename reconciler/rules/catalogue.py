"""Socket's catalogue of alert types and package (purl) types, for did-you-mean warnings.

The API accepts any string in ``alert_type`` and ``package_type``, so a typo silently creates a
rule that never matches. We warn instead of failing because Socket adds alert types and
ecosystems without notice; a name missing here may simply be newer than this list.

Sources: the alert types of Socket's public security policy in ``@socketsecurity/sdk``
(``publicPolicy`` in ``src/constants.ts``) plus the CVE family (``criticalCVE``, ``cve``,
``mediumCVE``, ``mildCVE``) from socket-cli; the purl types of the ``PURL_Type`` enum in
``@socketsecurity/registry``, plus ``chrome`` and ``vscode`` for the extension ecosystems Socket
scans.
"""

from __future__ import annotations

import difflib
from collections.abc import Iterable
from typing import Final

ALERT_TYPES: Final[frozenset[str]] = frozenset(
    [
        "ambiguousClassifier",
        "badEncoding",
        "badSemver",
        "badSemverDependency",
        "bidi",
        "binScriptConfusion",
        "chromeContentScript",
        "chromeHostPermission",
        "chromePermission",
        "chromeWildcardHostPermission",
        "chronoAnomaly",
        "compromisedSSHKey",
        "copyleftLicense",
        "criticalCVE",
        "cve",
        "debugAccess",
        "deprecated",
        "deprecatedException",
        "deprecatedLicense",
        "didYouMean",
        "dynamicRequire",
        "emptyPackage",
        "envVars",
        "explicitlyUnlicensedItem",
        "extraneousDependency",
        "fileDependency",
        "filesystemAccess",
        "floatingDependency",
        "gitDependency",
        "gitHubDependency",
        "gptAnomaly",
        "gptDidYouMean",
        "gptMalware",
        "gptSecurity",
        "hasNativeCode",
        "highEntropyStrings",
        "homoglyphs",
        "httpDependency",
        "installScripts",
        "invalidPackageJSON",
        "invisibleChars",
        "licenseChange",
        "licenseException",
        "licenseSpdxDisj",
        "longStrings",
        "majorRefactor",
        "malware",
        "manifestConfusion",
        "mediumCVE",
        "mildCVE",
        "minifiedFile",
        "miscLicenseIssues",
        "missingAuthor",
        "missingDependency",
        "missingLicense",
        "missingTarball",
        "mixedLicense",
        "modifiedException",
        "modifiedLicense",
        "networkAccess",
        "newAuthor",
        "noAuthorData",
        "noBugTracker",
        "noLicenseFound",
        "noREADME",
        "noRepository",
        "noTests",
        "noV1",
        "noWebsite",
        "nonFSFLicense",
        "nonOSILicense",
        "nonSPDXLicense",
        "nonpermissiveLicense",
        "notice",
        "obfuscatedFile",
        "obfuscatedRequire",
        "peerDependency",
        "potentialVulnerability",
        "semverAnomaly",
        "shellAccess",
        "shellScriptOverride",
        "shrinkwrap",
        "socketUpgradeAvailable",
        "suspiciousStarActivity",
        "suspiciousString",
        "telemetry",
        "trivialPackage",
        "troll",
        "typeModuleCompatibility",
        "uncaughtOptionalDependency",
        "unclearLicense",
        "unidentifiedLicense",
        "unmaintained",
        "unpopularPackage",
        "unpublished",
        "unresolvedRequire",
        "unsafeCopyright",
        "unstableOwnership",
        "unusedDependency",
        "urlStrings",
        "usesEval",
        "zeroWidth",
    ]
)

PURL_TYPES: Final[frozenset[str]] = frozenset(
    [
        "apk",
        "bitbucket",
        "cargo",
        "chrome",
        "cocoapods",
        "composer",
        "conan",
        "conda",
        "cran",
        "deb",
        "docker",
        "gem",
        "generic",
        "github",
        "golang",
        "hackage",
        "hex",
        "huggingface",
        "maven",
        "mlflow",
        "npm",
        "nuget",
        "oci",
        "pub",
        "pypi",
        "qpkg",
        "rpm",
        "swid",
        "swift",
        "vcs",
        "vscode",
    ]
)

# Names people reach for that difflib would map badly: Socket's high-severity CVE alert is
# plain ``cve`` (the dashboard calls it "high"), and ecosystems are often named by registry.
_ALIASES: Final[dict[str, str]] = {
    "highcve": "cve",
    "lowcve": "mildCVE",
    "go": "golang",
    "rubygems": "gem",
    "ruby": "gem",
    "crates": "cargo",
    "rust": "cargo",
    "python": "pypi",
    "pip": "pypi",
    "java": "maven",
    "dotnet": "nuget",
}


def suggest(name: str, known: Iterable[str]) -> str | None:
    """The nearest known name to ``name``, or ``None`` when nothing is close.

    >>> suggest("highCVE", ALERT_TYPES)
    'cve'
    >>> suggest("instalScripts", ALERT_TYPES)
    'installScripts'
    """
    choices = sorted(known)
    by_lower = {choice.lower(): choice for choice in choices}
    lowered = name.lower()
    alias = _ALIASES.get(lowered)
    if alias is not None and alias in by_lower.values():
        return alias
    if lowered in by_lower:
        return by_lower[lowered]
    close = difflib.get_close_matches(lowered, list(by_lower), n=1, cutoff=0.6)
    return by_lower[close[0]] if close else None


def unknown_message(field: str, value: str) -> str | None:
    """A warning for an ``alert_type`` or ``package_type`` missing from the catalogue."""
    known = ALERT_TYPES if field == "alert_type" else PURL_TYPES
    if value in known:
        return None
    kind = "alert type" if field == "alert_type" else "package type"
    message = f"{field}: {value!r} is not a known Socket {kind}"
    nearest = suggest(value, known)
    return f"{message} (did you mean {nearest!r}?)" if nearest else message
