"""The audit record: one JSON line per applied change, the decision history CI keeps."""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

from reconciler.engine.changes import Change
from reconciler.engine.provenance import Provenance
from reconciler.redact import redact
from reconciler.triage.selector import Selector


def record(
    change: Change, provenance: Provenance, *, when: dt.datetime, uuid: str | None
) -> dict[str, Any]:
    """The audit line for one applied change. ``uuid`` is the created rule's, when known."""
    data = change.to_dict()
    after = data["after"]
    prov = provenance.to_dict()
    return {
        "time": when.isoformat(timespec="seconds"),
        "org": change.org,
        "action": change.action,
        "uuid": change.uuid or uuid,
        "selector": data["selector"],
        "before": None
        if data["before"] is None
        else {"state": data["before"]["state"], "note": data["before"]["note"]},
        "after": None if after is None else {"state": after["state"], "note": after["note"]},
        "source": after["source"] if after else None,
        "owner": after["owner"] if after else None,
        "ticket": after["ticket"] if after else None,
        "commit": prov.get("commit"),
        "pr": prov.get("pr"),
        "actor": prov.get("actor"),
        "repository": prov.get("repository"),
    }


def append(
    path: str,
    changes: Iterable[Change],
    provenance: Provenance,
    *,
    created_uuids: Mapping[Selector, str] | None = None,
    when: dt.datetime | None = None,
) -> int:
    """Append one line per change to ``path``; returns how many lines were written."""
    when = when or dt.datetime.now(dt.UTC)
    uuids = created_uuids or {}
    lines = [
        redact(
            json.dumps(record(c, provenance, when=when, uuid=uuids.get(c.selector)), sort_keys=True)
        )
        for c in changes
    ]
    if lines:
        target = Path(path)
        target.parent.mkdir(parents=True, exist_ok=True)
        with target.open("a", encoding="utf-8") as handle:
            handle.write("\n".join(lines) + "\n")
    return len(lines)
