"""jsonschema, the reference implementation, as a second opinion on the rule-file schema.

``ruleschema`` checks files with jsonschema-rs alone; these tests hold it to what jsonschema
(here a dev dependency, through openapi-schema-validator) says of the same document, so that
a difference between the two (a regex dialect, a draft 2020-12 keyword) cannot slip in.
"""

from __future__ import annotations

import functools
from typing import Any

from jsonschema import Draft202012Validator

from reconciler.rules import ruleschema


@functools.cache
def _reference() -> Draft202012Validator:
    return Draft202012Validator(ruleschema.schema())


def agrees_with_jsonschema(root: Any) -> bool:
    """True when ``ruleschema.findings`` refuses ``root`` exactly when jsonschema does."""
    return bool(ruleschema.findings(root)) == (not _reference().is_valid(root))
