"""The paginator's guarantees, on the emulator: parallel, consistent, bounded, de-duplicated.

GETs are counted by the emulator itself. A pass over N pages at concurrency C costs N GETs plus
the rest of the wave that found the end (waves of 1, 2, 4, ... pages up to C, then C - 1 ahead),
unless the number of pages is known (a second pass, an expected count);
a listing of more than one page is read twice so that a change made meanwhile is caught.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from typing import Any

import httpx
import pytest
from conftest import TEST_ORG, TEST_TOKEN, TRANSPORT_BASE_URL
from http_fakes import Clock, Forward, Hook, Tamper, entry, page_of, with_json

from reconciler.emulator import Emulator, EmulatorTransport
from reconciler.errors import ApiError, PaginationError
from reconciler.http.client import HttpClient
from reconciler.http.paginate import MAX_PASSES, SLACK, Page, by_cursor
from reconciler.http.retry import RetryPolicy
from reconciler.triage.client import TriageClient

FAST = RetryPolicy(max_attempts=2, base_delay=0.0, max_delay=0.0)


def client_for(emulator: Emulator, hook: Hook | None = None, concurrency: int = 1) -> TriageClient:
    transport = EmulatorTransport(emulator) if hook is None else Tamper(emulator, hook)
    clock = Clock()
    return TriageClient(
        TRANSPORT_BASE_URL,
        TEST_TOKEN,
        transport=transport,
        retry=FAST,
        concurrency=concurrency,
        sleep=clock.sleep,
        clock=clock,
    )


def seed(emulator: Emulator, count: int) -> list[str]:
    emulator.seed_rules(TEST_ORG, [entry(f"pkg-{i}") for i in range(count)])
    return uuids(emulator.rules(TEST_ORG))


def uuids(rules: list[dict[str, Any]]) -> list[str]:
    return [r["uuid"] for r in rules]


def gets(emulator: Emulator) -> int:
    count: int = emulator.counters()["calls"]["GET"]
    return count


@pytest.fixture
def dashboard(emulator: Emulator) -> Iterator[httpx.Client]:
    """Someone else changing the org through the emulator's API while we list it."""
    with httpx.Client(
        transport=EmulatorTransport(emulator),
        base_url=TRANSPORT_BASE_URL,
        headers={"Authorization": f"Bearer {TEST_TOKEN}"},
    ) as client:
        yield client


# --- in parallel -----------------------------------------------------------------------------


@pytest.mark.parametrize(("count", "pages"), [(0, 1), (100, 1), (250, 3), (1050, 11)])
@pytest.mark.parametrize("concurrency", [1, 4, 16])
@pytest.mark.parametrize("zero", [False, True])
def test_parallel_pages_give_one_listing_for_pages_plus_overshoot(
    emulator: Emulator, count: int, pages: int, concurrency: int, zero: bool
) -> None:
    emulator.next_page_zero = zero  # the last page says nextPage 0 rather than null
    expected = seed(emulator, count)
    progress: list[int] = []
    rules = client_for(emulator, concurrency=concurrency).list_rules(TEST_ORG, progress.append)
    assert uuids(rules) == expected
    # Waves 1 | 2-3 | 4-7 | 8-15 at 16; at 4, 1 | 2-3 | 4-7 | 8-11, then 3 ahead: 12-14.
    overshoot = {(11, 4): 3, (11, 16): 4}.get((pages, concurrency), 0)
    second_pass = pages if pages > 1 else 0  # knows where the end is: no overshoot
    assert gets(emulator) == pages + overshoot + second_pass
    assert progress[:pages] == [min(count, 100 * (i + 1)) for i in range(pages)]


@pytest.mark.parametrize(("count", "concurrency"), [(1050, 4), (250, 16), (99, 8)])
def test_an_expected_count_fetches_exactly_the_pages_it_needs(
    emulator: Emulator, count: int, concurrency: int
) -> None:
    expected = seed(emulator, count)
    client = client_for(emulator, concurrency=concurrency)
    assert uuids(client.list_rules(TEST_ORG, expected=count)) == expected
    assert gets(emulator) == -(-count // 100)


def test_a_wrong_expected_count_falls_back_to_two_passes(emulator: Emulator) -> None:
    expected = seed(emulator, 350)
    client = client_for(emulator, concurrency=4)
    assert uuids(client.list_rules(TEST_ORG, expected=250)) == expected
    # Pass 1 reads the 3 pages expected, then a wave of 2 (pages 4 and 5, and 4 is the end);
    # finding 350 rules, not 250, it reads the 4 pages again.
    assert gets(emulator) == 4 + 1 + 4


# --- while the org changes -------------------------------------------------------------------


def delete_after_page_1(dashboard: httpx.Client, victims: list[str]) -> Hook:
    """After answering page 1, delete the next victim, as someone in the dashboard would."""

    def hook(request: httpx.Request, forward: Forward) -> httpx.Response:
        response = forward(request)
        if page_of(request) == 1 and victims:
            gone = dashboard.delete(f"/orgs/{TEST_ORG}/triage/alerts/{victims.pop(0)}")
            assert gone.status_code == 200
        return response

    return hook


@pytest.mark.parametrize("concurrency", [1, 4])
def test_a_delete_during_paging_is_caught_and_the_org_read_again(
    emulator: Emulator, dashboard: httpx.Client, concurrency: int
) -> None:
    before = seed(emulator, 250)
    # Deleting rule 0 after page 1 moves rule 100 onto page 1, which was already read: a single
    # pass lists rule 0 (gone) and misses rule 100 (still there).
    hook = delete_after_page_1(dashboard, [before[0]])
    rules = client_for(emulator, hook, concurrency).list_rules(TEST_ORG)
    assert uuids(rules) == before[1:] == uuids(emulator.rules(TEST_ORG))


def test_a_listing_that_keeps_changing_is_refused(
    emulator: Emulator, dashboard: httpx.Client
) -> None:
    before = seed(emulator, 250)
    hook = delete_after_page_1(dashboard, before[:MAX_PASSES])
    with pytest.raises(PaginationError) as info:
        client_for(emulator, hook).list_rules(TEST_ORG)
    assert str(info.value) == (
        f"the listing of org 'acme' kept changing while it was read (two passes disagreed in "
        f"each of {MAX_PASSES} tries); try again when it is not being changed"
    )


def test_an_older_rule_arriving_during_paging_is_listed_once(emulator: Emulator) -> None:
    seed(emulator, 150)
    arrivals = [entry("early", created_at="2000-01-01T00:00:00.000000Z")]

    def older_rule_arrives(request: httpx.Request, forward: Forward) -> httpx.Response:
        if page_of(request) == 2 and arrivals:  # shifts every rule one place later
            emulator.seed_rules(TEST_ORG, [arrivals.pop()])
        return forward(request)

    rules = client_for(emulator, older_rule_arrives).list_rules(TEST_ORG)
    assert uuids(rules) == uuids(emulator.rules(TEST_ORG))
    assert [r["package_name"] for r in rules].count("pkg-99") == 1
    assert len(rules) == 151


def empty_page(at: int, times: int) -> Hook:
    """Page ``at`` answers no results but still names the next page, ``times`` times."""
    left = [times]

    def hook(request: httpx.Request, forward: Forward) -> httpx.Response:
        response = forward(request)
        if page_of(request) == at and left[0] > 0:
            left[0] -= 1
            return with_json(response, results=[], nextPage=at + 1)
        return response

    return hook


def test_an_empty_page_naming_a_next_page_does_not_end_the_listing(emulator: Emulator) -> None:
    before = seed(emulator, 250)
    assert uuids(client_for(emulator, empty_page(2, times=1)).list_rules(TEST_ORG)) == before


def test_an_empty_page_followed_by_rules_every_time_is_refused(emulator: Emulator) -> None:
    seed(emulator, 250)
    with pytest.raises(PaginationError, match="page 2 was empty but items followed it"):
        client_for(emulator, empty_page(2, times=99)).list_rules(TEST_ORG)


def test_an_empty_last_page_that_names_a_next_page_is_followed_to_the_end(
    emulator: Emulator,
) -> None:
    before = seed(emulator, 200)  # page 2 is full; page 3 is empty and the end

    def one_more(request: httpx.Request, forward: Forward) -> httpx.Response:
        response = forward(request)
        return with_json(response, nextPage=3) if page_of(request) == 2 else response

    assert uuids(client_for(emulator, one_more).list_rules(TEST_ORG)) == before
    assert gets(emulator) == 3 + 3


# --- what the server sends -------------------------------------------------------------------


def next_page_as(convert: Callable[[Any], Any]) -> Hook:
    def hook(request: httpx.Request, forward: Forward) -> httpx.Response:
        response = forward(request)
        return with_json(response, nextPage=convert(response.json()["nextPage"]))

    return hook


@pytest.mark.parametrize(
    "convert",
    [
        lambda n: None if n is None else str(n),  # the sibling endpoint's numeric strings
        lambda n: "0" if n is None else n,
        lambda n: 0 if n is None else n,
    ],
)
def test_next_page_as_int_null_zero_or_numeric_string(
    emulator: Emulator, convert: Callable[[Any], Any]
) -> None:
    before = seed(emulator, 250)
    assert uuids(client_for(emulator, next_page_as(convert)).list_rules(TEST_ORG)) == before


def deep(levels: int) -> Any:
    value: Any = 1
    for _ in range(levels):
        value = [value]
    return value


@pytest.mark.parametrize(
    ("value", "message"),
    [
        (1, "nextPage 1 after page 1 of org 'acme' does not advance"),
        ("two", "nextPage 'two' after page 1 of org 'acme' is not a page number"),
        (True, "nextPage True after page 1 of org 'acme' is not a page number"),
        (-3, "nextPage -3 after page 1 of org 'acme' is not a page number"),
        (2.0, "nextPage 2.0 after page 1 of org 'acme' is not a page number"),
        (deep(200), r"nextPage \[\[\[...\]\]\] after page 1 of org 'acme' is not a page number"),
        (5, "nextPage 5 after page 1 of org 'acme' skips pages"),
    ],
)
def test_a_next_page_that_is_not_the_next_page_is_refused(
    emulator: Emulator, value: Any, message: str
) -> None:
    seed(emulator, 150)

    def hook(request: httpx.Request, forward: Forward) -> httpx.Response:
        return with_json(forward(request), nextPage=value)

    client = client_for(emulator, hook)
    with pytest.raises(PaginationError, match=message):
        client.list_rules(TEST_ORG)
    assert client.total_calls == 1


def test_the_same_page_twice_is_a_loop(emulator: Emulator) -> None:
    seed(emulator, 150)

    def same_page_forever(request: httpx.Request, forward: Forward) -> httpx.Response:
        page = page_of(request)
        request.url = request.url.copy_set_param("page", "1")
        return with_json(forward(request), nextPage=page + 1)

    client = client_for(emulator, same_page_forever)
    with pytest.raises(PaginationError, match="sent page 2 of org 'acme' twice"):
        client.list_rules(TEST_ORG)
    assert client.total_calls == 2


def test_endless_empty_pages_stop_at_what_the_rules_need(emulator: Emulator) -> None:
    seed(emulator, 150)  # two pages' worth

    def endless(request: httpx.Request, forward: Forward) -> httpx.Response:
        return with_json(forward(request), nextPage=page_of(request) + 1)

    client = client_for(emulator, endless)
    with pytest.raises(PaginationError) as info:
        client.list_rules(TEST_ORG)
    pages = 2 + SLACK + 1
    assert str(info.value) == (
        f"the API sent {pages} pages of org 'acme' holding 150 distinct items, which need 2: "
        "its paging does not end"
    )
    assert gets(emulator) == pages


@pytest.mark.parametrize(
    ("body", "message"),
    [
        (
            b"[" * 100_000 + b"]" * 100_000,
            "page 1 of the rules of org 'acme' is nested too deeply to read",
        ),
        (b"<html>oops</html>", "page 1 of the rules of org 'acme' is not JSON"),
        (b'{"results": {}}', "page 1 of the rules of org 'acme' has no results list"),
        (b'{"results": [7]}', "rule 0 on page 1 of the rules of org 'acme' is not an object"),
        (
            b'{"results": [{"uuid": "u", "note": ' + json.dumps(deep(900)).encode() + b"}]}",
            "rule 0 on page 1 of the rules of org 'acme' has a nested value in 'note'",
        ),
    ],
)
def test_a_hostile_page_is_an_api_error(emulator: Emulator, body: bytes, message: str) -> None:
    def hook(request: httpx.Request, forward: Forward) -> httpx.Response:
        return httpx.Response(200, content=body)

    with pytest.raises(ApiError) as info:
        client_for(emulator, hook).list_rules(TEST_ORG)
    assert str(info.value) == message


def test_rules_without_a_uuid_are_kept_apart_by_content(emulator: Emulator) -> None:
    seed(emulator, 3)

    def no_uuids(request: httpx.Request, forward: Forward) -> httpx.Response:
        response = forward(request)
        results = [{**r, "uuid": None} for r in response.json()["results"]]
        return with_json(response, results=results)

    rules = client_for(emulator, no_uuids).list_rules(TEST_ORG)
    assert [r["package_name"] for r in rules] == ["pkg-0", "pkg-1", "pkg-2"]


# --- cursors ---------------------------------------------------------------------------------

RESOLUTIONS_TOKEN = "sktsec_resolutions_reader"


@pytest.mark.parametrize("lazy", [False, True])
def test_cursor_paging_follows_end_cursor_to_null(emulator: Emulator, lazy: bool) -> None:
    # The generic layers alone, on another API family's endpoint: nothing here is triage.
    emulator.lazy_end_cursor = lazy  # a full last page still carries a cursor; then one empty
    emulator.add_token(RESOLUTIONS_TOKEN, TEST_ORG, ["alert-resolution:list"])
    made = emulator.seed_resolutions(
        TEST_ORG,
        [
            {"reason": "other", "vigil_selector": {"finding.alertType": f"type{i}"}}
            for i in range(60)
        ],
    )
    http = HttpClient(TRANSPORT_BASE_URL, RESOLUTIONS_TOKEN, transport=EmulatorTransport(emulator))
    path = f"/orgs/{TEST_ORG}/alerts/resolutions"

    def fetch(cursor: str | None) -> Page[str]:
        params = {"per_page": 20, "direction": "asc"}
        params |= {"startAfterCursor": cursor} if cursor else {}
        body = http.send("GET", path, params=params).response.json()
        ids = tuple(item["uuid"] for item in body["items"])
        return Page(ids, ids, body["endCursor"])

    with http:
        listed = by_cursor(fetch, what="the resolutions of org 'acme'", per_page=20)
    assert listed == [r["uuid"] for r in made]
    assert gets(emulator) == 3 + (1 if lazy else 0)


# --- one pass for a plan, the second before a write ------------------------------------------


def test_a_plan_reads_one_pass_and_apply_rereads_before_writing(
    emulator: Emulator, dashboard: httpx.Client
) -> None:
    """The plan's one pass misses a rule shifted by a dashboard delete; the re-read before the
    first write sees the difference and refuses, so nothing is written from that listing."""
    from reconciler.engine.provenance import Provenance
    from reconciler.errors import StalePlanError
    from reconciler.rules.model import utc_today
    from reconciler.rules.ruleset import OrgRules
    from reconciler.triage.listing import plan_org
    from reconciler.triage.stale import unchanged_live

    before = seed(emulator, 250)
    client = client_for(emulator, delete_after_page_1(dashboard, [before[0]]), concurrency=4)
    org_plan = plan_org(client, OrgRules(TEST_ORG, ()), Provenance(), utc_today())
    live = list(org_plan.live)
    assert gets(emulator) == 3  # one pass (waves 1 | 2-3, the end on 3), no second pass
    assert before[100] not in {r.uuid for r in live}  # shifted onto page 1 after it was read
    writes_before = sum(emulator.counters()["calls"].get(m, 0) for m in ("POST", "DELETE"))
    with pytest.raises(StalePlanError):
        unchanged_live(client, org_plan)
    writes_after = sum(emulator.counters()["calls"].get(m, 0) for m in ("POST", "DELETE"))
    assert writes_after == writes_before  # the dashboard's delete came earlier; none of ours


# --- the confirmation before writing: the same bytes on every page ------------------------


def test_the_confirmation_reads_each_page_once_and_decodes_none(emulator: Emulator) -> None:
    seed(emulator, 250)
    client = client_for(emulator, concurrency=4)
    listing = client.listing(TEST_ORG)
    assert len(listing.rules) == 250 and len(listing.pages) == 3
    before = gets(emulator)
    assert client.unchanged(TEST_ORG, listing.pages)
    assert gets(emulator) - before == 3


def test_an_edit_that_shifts_nothing_still_changes_the_bytes(
    emulator: Emulator, dashboard: httpx.Client
) -> None:
    rules = seed(emulator, 250)
    client = client_for(emulator, concurrency=4)
    listing = client.listing(TEST_ORG)
    entry = {"uuid": rules[150], "packageType": "npm", "packageName": "pkg-150"}
    edited = dashboard.post(
        f"/orgs/{TEST_ORG}/triage/alerts",
        json={"alertTriage": [entry | {"state": "block", "note": "edited on page 2"}]},
    )
    assert edited.status_code == 200
    assert not client.unchanged(TEST_ORG, listing.pages)


def test_answers_that_differ_each_time_cost_one_request_then_the_full_listing(
    emulator: Emulator,
) -> None:
    """An API that stamps every answer (a request id) never repeats its bytes: the check gives
    up after page 1, and apply's usual second reading, compared rule by rule, decides."""
    from reconciler.engine.provenance import Provenance
    from reconciler.rules.model import utc_today
    from reconciler.rules.ruleset import OrgRules
    from reconciler.triage.listing import plan_org
    from reconciler.triage.stale import unchanged_live

    seed(emulator, 250)
    served = iter(range(1_000_000))

    def stamp(request: httpx.Request, forward: Forward) -> httpx.Response:
        response = forward(request)
        if request.method == "GET" and "/triage/alerts" in request.url.path:
            return with_json(response, request_id=next(served))
        return response

    client = client_for(emulator, stamp, concurrency=4)
    org_plan = plan_org(client, OrgRules(TEST_ORG, ()), Provenance(), utc_today())
    live = list(org_plan.live)
    before = gets(emulator)
    assert unchanged_live(client, org_plan) == live
    assert gets(emulator) - before == 1 + 3  # page 1 differs; then the 3 pages, expected


def test_a_confirmed_listing_is_one_pass_and_the_same_bytes_again(emulator: Emulator) -> None:
    from reconciler.triage.listing import list_live

    expected = seed(emulator, 250)
    live = list_live(client_for(emulator, concurrency=4), TEST_ORG)
    assert [r.uuid for r in live] == expected
    assert gets(emulator) == 3 + 3  # waves 1 | 2-3 end on page 3: nothing past it


def test_a_confirmed_listing_that_changed_while_read_is_read_again(
    emulator: Emulator, dashboard: httpx.Client
) -> None:
    from reconciler.triage.listing import list_live

    before = seed(emulator, 250)
    hook = delete_after_page_1(dashboard, [before[0]])
    live = list_live(client_for(emulator, hook, concurrency=4), TEST_ORG)
    assert [r.uuid for r in live] == before[1:] == uuids(emulator.rules(TEST_ORG))
