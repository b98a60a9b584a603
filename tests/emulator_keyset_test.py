"""Triage pages by key: each answer is what LIMIT/OFFSET gives, whatever happens between pages.

Most tests use a stride of a few rows (a key every few rows, as ``STRIDE`` is at 100), so that
small listings cross many strides.
"""

from __future__ import annotations

import json
import random
import sys
import threading
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import httpx
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from reconciler.emulator import Emulator
from reconciler.emulator.database import MigrationStatus, Org, Store
from reconciler.emulator.triage_store import FROZEN, LIVE, TriageRules

LIVE_ORG = Org("acme", "1", MigrationStatus())
MOVED_ORG = Org("acme", "1", MigrationStatus(legacy_evaluation_enabled=False))
STAMPS = [f"2025-01-0{d}T00:00:00.000000Z" for d in range(1, 4)]  # few, so ties are common
ORDERS = [(s, d) for s in ("created_at", "updated_at") for d in ("asc", "desc")]


def by_offset(
    store: Store, org: Org, sort: str, direction: str, limit: int, offset: int
) -> tuple[list[str], bool]:
    """The reference: what the emulator answered before it paged by key."""
    table = FROZEN if org.migrated else LIVE
    order = direction.upper()
    rows = store.read(
        f"SELECT uuid FROM {table} WHERE org = ? ORDER BY {sort} {order}, seq {order} "
        "LIMIT ? OFFSET ?",
        (org.slug, limit + 1, offset),
    )
    return [row["uuid"] for row in rows[:limit]], len(rows) > limit


def served(
    triage: TriageRules, org: Org, sort: str, direction: str, limit: int, offset: int
) -> tuple[list[str], bool]:
    rules, more = triage.page(org, sort=sort, direction=direction, limit=limit, offset=offset)
    return [json.loads(rule)["uuid"] for rule in rules], more


def add(triage: TriageRules, names: Sequence[str], stamp: str) -> None:
    triage.insert(
        LIVE_ORG, [(n, {"package_name": n, "state": "ignore"}, stamp, stamp) for n in names]
    )


Step = tuple[str, int, int]
steps = st.lists(
    st.one_of(
        st.tuples(st.just("page"), st.integers(0, 3), st.integers(1, 9)),  # order, page
        st.tuples(st.just("walk"), st.integers(0, 3), st.integers(1, 4)),  # order, per_page
        st.tuples(st.just("shuffle"), st.integers(0, 3), st.integers(1, 4)),  # order, per_page
        st.tuples(st.sampled_from(["insert", "update", "delete"]), st.integers(0, 99), st.just(0)),
        st.tuples(st.sampled_from(["freeze", "thaw"]), st.just(0), st.just(0)),
    ),
    max_size=40,
)


@settings(max_examples=250, deadline=None)
@given(
    steps=steps, per_page=st.integers(1, 4), stride=st.integers(1, 5), seed=st.integers(0, 2**16)
)
def test_every_page_equals_offset_paging_with_writes_in_between(
    steps: list[Step], per_page: int, stride: int, seed: int
) -> None:
    store = Store()
    store.add_org("acme")
    triage = TriageRules(store, stride=stride)
    rng = random.Random(seed)
    add(triage, [f"u{i}" for i in range(rng.randrange(12))], STAMPS[0])
    org, made = LIVE_ORG, 100
    for kind, a, b in steps:
        uuids = [u for (u,) in store.read("SELECT uuid FROM triage_rules ORDER BY seq")]
        if kind in ("page", "walk", "shuffle"):
            sort, direction = ORDERS[a]
            size = per_page if kind == "page" else b
            pages = [b] if kind == "page" else list(range(1, len(uuids) // size + 3))
            if kind == "shuffle":  # as parallel clients ask: any order
                rng.shuffle(pages)
            for page in pages:  # a walk goes one past the end
                args = (org, sort, direction, size, (page - 1) * size)
                assert served(triage, *args) == by_offset(store, *args)
        elif kind == "insert":
            made += 1
            add(triage, [f"u{made}"], rng.choice(STAMPS))
        elif kind == "update" and uuids:
            triage.write(org, [{"uuid": uuids[a % len(uuids)], "state": "warn"}], [])
        elif kind == "delete" and uuids:
            triage.delete(org, uuids[a % len(uuids)])
        elif kind == "freeze":
            triage.freeze("acme")
            org = MOVED_ORG
        elif kind == "thaw":
            triage.thaw("acme")
            org = LIVE_ORG


def test_a_walk_pages_by_key_after_page_one_and_a_write_forgets_the_keys() -> None:
    store = Store()
    store.add_org("acme")
    triage = TriageRules(store, stride=3)
    add(triage, [f"u{i:02d}" for i in range(10)], STAMPS[0])
    for page in range(4):  # 3, 3, 3, 1 rules; each page ends on the key the next starts from
        served(triage, LIVE_ORG, "created_at", "desc", 3, page * 3)
    assert triage.keysets.paths == {"offset": 1, "keyset": 3}
    triage.delete(LIVE_ORG, "u05")
    args = (LIVE_ORG, "created_at", "desc", 3, 6)
    assert served(triage, *args) == by_offset(store, *args)  # shifted by the delete
    assert triage.keysets.paths == {"offset": 1, "keyset": 4, "walked": 2}  # keys found anew


def test_parallel_pages_out_of_order_equal_offset_pages() -> None:
    store = Store()
    store.add_org("acme")
    triage = TriageRules(store, stride=5)
    add(triage, [f"u{i:03d}" for i in range(250)], STAMPS[1])
    offsets = [page * 7 for page in range(40)]  # up to 6 pages past the end
    for _ in range(3):
        random.shuffle(offsets)
        with ThreadPoolExecutor(8) as pool:
            got = list(
                pool.map(lambda o: served(triage, LIVE_ORG, "updated_at", "asc", 7, o), offsets)
            )
        assert got == [by_offset(store, LIVE_ORG, "updated_at", "asc", 7, o) for o in offsets]
    assert triage.keysets.paths["keyset"] == 3 * 39  # all but page 1, by key from the first
    assert triage.keysets.paths["walked"] <= 50  # each stride found once at most


class RacingStore(Store):
    """A store where another writer deletes a rule just after the first keyset query runs."""

    race: Any = None

    def read(self, sql: str, params: Sequence[Any] = ()) -> list[Any]:
        rows = super().read(sql, params)
        if "seq <" in sql and self.race is not None:
            race, self.race = self.race, None
            race()
        return rows


def test_a_write_during_a_keyset_read_gives_the_offset_answer_after_the_write() -> None:
    store = RacingStore()
    store.add_org("acme")
    triage = TriageRules(store, stride=3)
    add(triage, [f"u{i}" for i in range(9)], STAMPS[0])
    served(triage, LIVE_ORG, "created_at", "desc", 3, 0)
    store.race = lambda: triage.delete(LIVE_ORG, "u8")  # the newest: on page 1
    got = served(triage, LIVE_ORG, "created_at", "desc", 3, 3)
    assert store.race is None, "the keyset query never ran"
    assert (
        got == by_offset(store, LIVE_ORG, "created_at", "desc", 3, 3) == (["u4", "u3", "u2"], True)
    )


def test_a_page_near_the_end_of_100k_rules_is_read_by_key() -> None:
    store = Store()
    store.add_org("acme")
    triage = TriageRules(store)
    add(triage, [f"u{i:06d}" for i in range(100_000)], STAMPS[2])
    for page in range(1000):
        rules, more = served(triage, LIVE_ORG, "created_at", "asc", 100, page * 100)
    assert (rules[-1], more) == ("u099999", False)
    assert triage.keysets.paths == {"offset": 1, "keyset": 999}
    assert (rules, more) == by_offset(store, LIVE_ORG, "created_at", "asc", 100, 99_900)


@pytest.mark.parametrize(("zero", "last"), [(False, None), (True, 0)])
def test_over_http_markers_and_pages_past_the_end_are_unchanged(
    emulator: Emulator, emulator_client: httpx.Client, zero: bool, last: int | None
) -> None:
    emulator.next_page_zero = zero
    emulator.triage.keysets.stride = 3
    emulator.seed_rules("acme", [{"package_name": f"p{i}", "state": "ignore"} for i in range(7)])
    path = "/orgs/acme/triage/alerts"
    query: dict[str, Any] = {"per_page": 3, "direction": "asc"}
    bodies = [emulator_client.get(path, params={**query, "page": p}).json() for p in range(1, 6)]
    names = [[r["package_name"] for r in body["results"]] for body in bodies]
    assert names == [["p0", "p1", "p2"], ["p3", "p4", "p5"], ["p6"], [], []]
    assert [body["nextPage"] for body in bodies] == [2, 3, last, last, last]
    assert emulator.triage.keysets.paths["keyset"] == 4  # past the end too: no OFFSET walk
    emulator.set_migration_state("acme", "accepted")
    emulator.seed_rules("acme", [{"package_name": "late", "state": "ignore"}])  # not frozen
    again = [emulator_client.get(path, params={**query, "page": p}).json() for p in range(1, 6)]
    assert again == bodies


def test_a_page_served_while_another_walks_the_strides_does_not_shift_them() -> None:
    """Reproduces a race: a request for the next page notes its stride key just as another
    request starts walking from the known keys. The walk must start from the keys it counted;
    starting from the newest key put every key found one stride too far, until the next write.
    """
    store = Store()
    triage = TriageRules(store, stride=4)
    add(triage, [f"p{i:03d}" for i in range(40)], "2025-01-01T00:00:00.000000Z")

    def read(offset: int) -> Any:
        return served(triage, LIVE_ORG, sort="created_at", direction="asc", limit=4, offset=offset)

    read(0)  # notes the first stride's key
    (strides,) = triage.keysets._held[LIVE_ORG.slug][1].values()

    class Interleaved(list[Any]):
        fired = False

        def __len__(self) -> int:
            counted = list.__len__(self)
            if not Interleaved.fired and sys._getframe(1).f_code.co_name == "_walk":
                Interleaved.fired = True
                # Another client's request for page 2, on its own thread, at this moment.
                other = threading.Thread(target=read, args=(4,))
                other.start()
                other.join(timeout=0.5)  # it may have to wait for the walk's lock
            return counted

    strides.keys = Interleaved(strides.keys)
    read(20)  # beyond the known keys: a walk
    assert Interleaved.fired
    for offset in range(0, 40, 4):
        want = by_offset(store, LIVE_ORG, "created_at", "asc", 4, offset)
        assert read(offset) == want, offset
