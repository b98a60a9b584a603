"""The JSON plan: the versioned plan document, exactly what ``plan --out`` saves.

``json.dump`` escapes every control character (and, with ``ensure_ascii``, everything beyond
ASCII), so server data cannot reach a terminal raw through this format either.
"""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, TextIO

if TYPE_CHECKING:  # annotations only: --version and validate need not load the engine
    from reconciler.engine.plan import Plan
from reconciler.render.common import plan_dict


def render_json(plan: Plan, out: TextIO, *, colour: bool = False) -> None:
    """The plan document (``common.plan_dict``: each org's summary counts its expiries too) as
    indented JSON with sorted keys, so that it diffs well in review."""
    del colour  # JSON has no colour; the parameter makes every renderer callable alike
    json.dump(plan_dict(plan), out, indent=2, sort_keys=True)
    out.write("\n")
