"""The ``package:`` purl shorthand, read as written.

``pkg:pypi/PyYAML`` stands for ``package_type: pypi`` and ``package_name: PyYAML``, exactly: the
parts are percent-decoded and otherwise kept as the user spelt them. The purl spec would
lowercase that pypi name (and npm names, and more), but a rule's identity is its selector as
written, and Socket's live rules carry names as written too. So switching between the purl and
the four ``package_*`` fields never changes which live rule a rule matches.

Where the spec's normalisation would make two written spellings one package (``PyYAML`` and
``pyyaml``), ``canonical`` gives the loader a key to warn about that.
"""

from __future__ import annotations

from dataclasses import dataclass
from urllib.parse import unquote

from packageurl import PackageURL

from reconciler.vocab.triage.selector import Selector

PREFIX = "pkg:"


@dataclass(frozen=True)
class Package:
    """The four package fields of a purl, as written (percent-decoded)."""

    type: str
    namespace: str | None
    name: str
    version: str | None


def parse(text: str) -> Package:
    """Read a purl without normalising it; ``ValueError`` says why it is not one to use.

    >>> parse("pkg:pypi/PyYAML@6.*")
    Package(type='pypi', namespace=None, name='PyYAML', version='6.*')
    >>> parse("pkg:npm/%40babel/traverse").namespace
    '@babel'
    """
    try:
        checked = PackageURL.from_string(text)  # the library's checks and its wording
    except ValueError as exc:
        raise ValueError(f"is not a valid purl: {exc}") from None
    if checked.qualifiers or checked.subpath:
        raise ValueError("has qualifiers or a subpath, which rules cannot match")
    # The library's own split, without its normalisation: type / [npm @scope /] path [@ version]
    path = text.strip()[len(PREFIX) :].lstrip("/").partition("/")[2]
    path = path.partition("#")[0].partition("?")[0].lstrip("/")
    scope = ""
    if checked.type == "npm" and path.startswith("@"):
        scope, _, path = path.partition("/")
    path, at, version = path.rpartition("@")
    if not at:
        path, version = version, ""
    segments = [unquote(s).strip() for s in (scope, *path.split("/")) if s.strip()]
    return Package(
        type=checked.type,
        namespace="/".join(segments[:-1]) or None,
        name=segments[-1],
        version=unquote(version).strip() or None,
    )


def canonical(selector: Selector) -> Selector:
    """``selector`` with its package fields as the purl spec normalises them.

    >>> canonical(Selector(package_type="pypi", package_name="Py_YAML")).package_name
    'py-yaml'
    """
    ptype, name = selector.package_type, selector.package_name
    if ptype is None or name is None:
        return selector
    try:
        purl = PackageURL(ptype, selector.package_namespace, name, selector.package_version)
    except ValueError:
        return selector
    return selector._replace(
        package_type=purl.type,
        package_namespace=purl.namespace or None,
        package_name=purl.name,
        package_version=purl.version or None,
    )
