"""What a triage page costs the emulator in any request order, what it answers while another
thread writes, and the JSON it answers with.

Cost is counted in SQL statements and the rows they skip, not timed: after the strides are
known, a page at any depth is a few index seeks that skip fewer than ``stride`` rows.
"""

from __future__ import annotations

import json
import random
import re
import threading
import time
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import httpx

from reconciler.emulator import Emulator
from reconciler.emulator.database import MigrationStatus, Org, Store
from reconciler.emulator.triage_store import TriageRules
from reconciler.vocab.triage.wire import GET_FIELDS

ORG = Org("acme", "1", MigrationStatus())


class CountingStore(Store):
    """Records every statement other than the seqlock's ``PRAGMA data_version``."""

    def __init__(self) -> None:
        super().__init__()
        self.statements: list[tuple[str, Sequence[Any]]] = []

    def read(self, sql: str, params: Sequence[Any] = ()) -> list[Any]:
        if not sql.startswith("PRAGMA"):
            self.statements.append((sql, params))
        return super().read(sql, params)


def skipped(statement: tuple[str, Sequence[Any]]) -> int:
    """The rows a statement's ``OFFSET`` skips (its last parameter), 0 without one."""
    sql, params = statement
    return int(params[-1]) if re.search(r"OFFSET \?$", sql) else 0


def seeded(rules: int, stride: int) -> tuple[CountingStore, TriageRules]:
    store = CountingStore()
    store.add_org("acme")
    triage = TriageRules(store, stride=stride)
    stamps = [f"2025-01-01T00:00:{i // 7:02d}.000000Z" for i in range(rules)]  # ties of 7
    triage.insert(ORG, [(f"u{i:04d}", {"state": "ignore"}, s, s) for i, s in enumerate(stamps)])
    return store, triage


def test_pages_in_any_order_cost_a_walk_of_the_strides_once_then_a_few_short_seeks() -> None:
    store, triage = seeded(1000, stride=10)
    pages = list(range(1, 112))  # 100 pages of 10, then 11 past the end
    rng = random.Random(7)
    rng.shuffle(pages)
    for page in pages:
        triage.page(ORG, sort="created_at", direction="desc", limit=10, offset=(page - 1) * 10)
    assert triage.keysets.paths["walked"] <= 100  # each stride (rows 9, 19, ..., 999) once
    assert len(store.statements) <= 2 * 100 + 4 * len(pages)
    # LIMIT/OFFSET would skip 61,050 rows: the sum of the pages' offsets.
    assert sum(skipped(s) for s in store.statements) <= 10 * 100 + 10 * len(pages)
    rng.shuffle(pages)
    for page in pages:
        store.statements.clear()
        triage.page(ORG, sort="created_at", direction="desc", limit=10, offset=(page - 1) * 10)
        assert len(store.statements) <= 4
        assert max((skipped(s) for s in store.statements), default=0) < 10
    assert triage.keysets.paths["offset"] == 2  # page 1 alone: OFFSET 0


def test_a_write_between_out_of_order_pages_walks_the_strides_again() -> None:
    _store, triage = seeded(300, stride=10)
    for page in (25, 3, 17):
        triage.page(ORG, sort="updated_at", direction="asc", limit=10, offset=(page - 1) * 10)
    assert triage.keysets.paths["walked"] == 24  # to page 25; pages 3 and 17 only seek
    triage.delete(ORG, "u0000")
    rules, more = triage.page(ORG, sort="updated_at", direction="asc", limit=10, offset=20)
    assert triage.keysets.paths["walked"] == 24 + 2  # the keys before the delete are gone
    assert ([json.loads(rule)["uuid"] for rule in rules], more) == (
        [f"u{i:04d}" for i in range(21, 31)],
        True,
    )


def test_get_form_is_every_field_in_the_spec_order_with_text_escaped(
    emulator: Emulator, emulator_client: httpx.Client
) -> None:
    note = 'é "quoted" \\ back\nnew line\ttab \x01 \u2028 😀'
    emulator.seed_rules("acme", [{"package_name": "p", "note": note, "state": "ignore"}])
    body = emulator_client.get("/orgs/acme/triage/alerts").json()
    (rule,) = body["results"]
    assert list(rule) == list(GET_FIELDS)
    assert (rule["note"], rule["package_name"], rule["alert_type"]) == (note, "p", None)
    assert rule["organization_id"] == emulator.store.org("acme").id  # type: ignore[union-attr]
    assert body["nextPage"] is None
    assert emulator.rules("acme") == [rule]


def test_pages_read_while_another_thread_writes_are_each_an_offset_page_of_some_moment() -> None:
    """Readers ask for pages in any order while a writer inserts and deletes.

    Every answer must be the ``LIMIT/OFFSET`` page of a state the org held while it was asked.
    """
    store = Store()
    store.add_org("acme")
    triage = TriageRules(store, stride=3)
    states = [[f"s{i:03d}" for i in range(60)]]  # every state, in created_at order
    triage.insert(ORG, [(u, {"state": "ignore"}, "2025", "2025") for u in states[0]])
    writing = threading.Lock()
    done = threading.Event()

    def writer() -> None:
        rng = random.Random(5)
        for number in range(150):
            with writing:  # the state is appended before any reader can look at its index
                rules = list(states[-1])
                if rng.random() < 0.5 and rules:
                    triage.delete(ORG, rules.pop(rng.randrange(len(rules))))
                else:
                    rules.append(f"w{number:03d}")
                    triage.write(ORG, [{"state": "warn"}], [rules[-1]])
                states.append(rules)
            time.sleep(0.0005)  # let the readers in between writes
        done.set()

    def reader(seed: int) -> list[tuple[int, int, int, list[str], bool]]:
        rng, seen = random.Random(seed), []
        while not done.is_set():
            page = rng.randrange(1, 30)
            with writing:
                first = len(states) - 1
            rules, more = triage.page(
                ORG, sort="created_at", direction="asc", limit=4, offset=(page - 1) * 4
            )
            with writing:
                last = len(states) - 1
            seen.append((first, last, page, [json.loads(r)["uuid"] for r in rules], more))
        return seen

    with ThreadPoolExecutor(5) as pool:
        readers = [pool.submit(reader, seed) for seed in range(4)]
        pool.submit(writer).result()
        answers = [answer for future in readers for answer in future.result()]
    assert triage.keysets.paths["keyset"] > 100
    assert sum(a[0] != a[1] for a in answers) > 10  # reads that a write overlapped
    for first, last, page, uuids, more in answers:
        offset = (page - 1) * 4
        moments = [(s[offset : offset + 4], len(s) > offset + 4) for s in states[first : last + 1]]
        assert (uuids, more) in moments
