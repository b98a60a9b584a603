"""The baseline for the whole-process benchmark: a client that sends one entry per call.

It is the pattern Socket's SDKs offer: page through ``nextPage`` one page at a time, then one
POST per created or updated rule and one DELETE at a time, no verification. It plans with
socket-triage's own loader and diff, so both clients make exactly the same changes.

    SOCKET_API_TOKEN=... .venv/bin/python bench/naive_client.py URL RULES_DIR
"""

from __future__ import annotations

import os
import sys

import httpx

from reconciler.engine.provenance import detect
from reconciler.rules import loader
from reconciler.rules.model import utc_today
from reconciler.triage.plan import diff
from reconciler.vocab.triage.selector import LiveRule
from reconciler.vocab.triage.wire import MAX_PER_PAGE, TRIAGE_ITEM_PATH, TRIAGE_PATH


def list_rules(http: httpx.Client, org: str) -> list[LiveRule]:
    rules: list[LiveRule] = []
    page: int | None = 1
    while page:
        params: dict[str, str | int] = {"per_page": MAX_PER_PAGE, "sort": "created_at"}
        params |= {"direction": "asc", "page": page}
        response = http.get(TRIAGE_PATH.format(org=org), params=params)
        response.raise_for_status()
        body = response.json()
        rules.extend(LiveRule.from_get(item, org) for item in body["results"])
        page = body["nextPage"] if body["results"] else None
    return rules


def main(url: str, directory: str) -> int:
    rule_set = loader.load([directory], today=utc_today())
    provenance = detect()
    token = os.environ["SOCKET_API_TOKEN"]
    headers = {"Authorization": f"Bearer {token}"}
    with httpx.Client(base_url=url, headers=headers, timeout=60) as http:
        for org, rules in rule_set.orgs.items():
            live = list_rules(http, org)
            plan = diff(
                org, rules.rules, live, today=utc_today(), prune=rules.prune,
                trailer=provenance.trailer,
            )  # fmt: skip
            for change in plan.changes:
                if change.action == "delete":
                    assert change.uuid is not None
                    response = http.delete(TRIAGE_ITEM_PATH.format(org=org, uuid=change.uuid))
                else:
                    params = {"force": "true"} if change.broad else None
                    body = {"alertTriage": [change.entry()]}
                    response = http.post(TRIAGE_PATH.format(org=org), params=params, json=body)
                response.raise_for_status()
            print(f"{org}: {len(plan.changes)} changes, one call each")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1], sys.argv[2]))
