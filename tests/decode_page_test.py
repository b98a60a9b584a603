"""Decoding a page of the triage listing: the fast paths agree with the plain reading.

A page is converted in one call (``from_get_page``: cached normal forms, rules built through
their slots), a page whose results are not flat objects is refused with the first offender
named (``client._results``), and the paginator takes a page of new keys at once
(``paginate._Collect``). Each test here states the plain rule and checks the code against it
on generated input.
"""

from __future__ import annotations

import json
import sys
from typing import Any

import httpx
import pytest
from conftest import TEST_ORG, TEST_TOKEN, TRANSPORT_BASE_URL
from http_fakes import Forward, Tamper
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from reconciler.emulator import Emulator
from reconciler.errors import ApiError, PaginationError
from reconciler.http.paginate import Page, by_cursor
from reconciler.triage.client import TriageClient
from reconciler.vocab.triage.selector import LiveRule, Selector, from_get_page, normalise
from reconciler.vocab.triage.wire import GET_FIELDS, SELECTOR_FIELDS

WHAT = f"page 1 of the rules of org {TEST_ORG!r}"

# Every spelling the normal form cares about: "any" (null, "", "*"), padding, inner spaces
# (kept except in cvss_score_cmp), the 16-character edge of sharing, and numbers and bools,
# whose text must never be taken from a cached string they compare equal to (True == 1).
TEXTS = st.sampled_from(
    [
        *("", "*", " * ", "npm", " npm\t", "1", "True", "1.0", "1.*", ">= 7.5"),
        *("\u3000>=\u00a07 ", "a" * 16, " " + "a" * 16 + " ", "a" * 17, "None", "{", "[x]"),
    ]
)
SCALARS = st.one_of(
    st.none(), TEXTS, st.text(max_size=20), st.integers(-2, 2), st.booleans(), st.floats()
)
# Any field may be missing, and one the spec does not name may come along.
RESULTS = st.fixed_dictionaries({}, optional=dict.fromkeys((*GET_FIELDS, "extra"), SCALARS))
# Pages of such results are large draws: on a loaded machine generating them trips
# Hypothesis's speed and size health checks, which say nothing about the code under test.
LARGE = [HealthCheck.too_slow, HealthCheck.data_too_large]


def plain(item: dict[str, Any], org: str) -> LiveRule:
    """The straightforward reading of one GET result, field by field, by keyword."""
    return LiveRule(
        uuid=str(item.get("uuid") or ""),
        selector=Selector(**{name: normalise(name, item.get(name)) for name in SELECTOR_FIELDS}),
        state=str(item.get("state") or "inherit"),
        note=str(item.get("note") or ""),
        created_at=str(item.get("created_at") or ""),
        updated_at=str(item.get("updated_at") or ""),
        org=org,
    )


def shared(rule: LiveRule) -> bool:
    """Short selector values and the state are the interned copies, one per distinct text."""
    texts = [v for v in rule.selector if v is not None and len(v) <= 16] + [rule.state]
    return all(text is sys.intern(text) for text in texts)


@settings(deadline=None, suppress_health_check=LARGE)
@given(st.lists(RESULTS, max_size=6))
def test_a_page_converts_as_the_plain_reading_does(results: list[dict[str, Any]]) -> None:
    expected = [plain(item, TEST_ORG) for item in results]
    for _ in range(2):  # the second time, every short value comes from the cache
        rules = from_get_page(results, TEST_ORG)
        assert list(rules) == expected
        assert all(shared(rule) for rule in rules)
    assert [LiveRule.from_get(item, TEST_ORG) for item in results] == expected
    assert [Selector.from_snake(item) for item in results] == [r.selector for r in expected]


def test_equal_numbers_bools_and_text_keep_their_own_spelling() -> None:
    values = ["1", 1, True, 1.0, " 1 ", ">= 1", 0, False, "0", " ", "*"]
    results = [{"package_version": v, "cvss_score_cmp": v, "state": v} for v in values]
    rules = from_get_page(results, TEST_ORG)
    assert [(r.selector.package_version, r.selector.cvss_score_cmp, r.state) for r in rules] == [
        ("1", "1", "1"),
        ("1", "1", "1"),
        ("True", "True", "True"),
        ("1.0", "1.0", "1.0"),
        ("1", "1", " 1 "),
        (">= 1", ">=1", ">= 1"),
        ("0", "0", "inherit"),
        ("False", "False", "inherit"),
        ("0", "0", "0"),
        (None, None, " "),
        (None, None, "*"),
    ]


def test_a_rule_file_value_that_is_no_scalar_reads_as_its_text() -> None:
    assert Selector.from_snake({"package_name": ["a"], "kevs": "*"}) == Selector(
        package_name="['a']"
    )


# --- the shape of a page -----------------------------------------------------------------

NESTED: st.SearchStrategy[Any] = st.one_of(
    st.just({}), st.just([]), st.lists(st.integers(), max_size=2), st.just({"a": [1]})
)
ANY_VALUE = st.one_of(SCALARS, NESTED)
KEYS = st.sampled_from([*GET_FIELDS[:5], "a{b", "[c]"])
ROUGH_RESULTS = st.one_of(
    st.dictionaries(KEYS, SCALARS, max_size=4),  # mostly flat, braces in text and keys
    st.dictionaries(KEYS, ANY_VALUE, max_size=4),
    st.sampled_from([7, "x", None, []]),
)


def refusal(results: list[Any]) -> str | None:
    """The plain shape rule: the first result that is no object or holds a nested value."""
    for index, item in enumerate(results):
        if not isinstance(item, dict):
            return f"rule {index} on {WHAT} is not an object"
        for field, value in item.items():
            if isinstance(value, dict | list):
                return f"rule {index} on {WHAT} has a nested value in {field!r}"
    return None


def plain_key(item: dict[str, Any]) -> str:
    uuid = item.get("uuid")
    if isinstance(uuid, str) and uuid:
        return uuid
    return "content:" + json.dumps(item, sort_keys=True, default=str)


def serving(emulator: Emulator, body: dict[str, bytes]) -> TriageClient:
    """A client whose every listing request is answered with ``body["page"]``."""

    def answer(request: httpx.Request, forward: Forward) -> httpx.Response:
        return httpx.Response(200, content=body["page"])

    return TriageClient(TRANSPORT_BASE_URL, TEST_TOKEN, transport=Tamper(emulator, answer))


def check_page(emulator: Emulator, results: list[Any], extra: str = "") -> None:
    """Serve ``results`` as page 1: refused as the plain rule says, else read as it reads."""
    body = {"page": f'{{"results": {json.dumps(results)}, "nextPage": null{extra}}}'.encode()}
    expected = refusal(results)
    if expected is not None:
        with pytest.raises(ApiError) as info:
            serving(emulator, body).page(TEST_ORG, 1)
        assert str(info.value) == expected
    else:
        page = serving(emulator, body).page(TEST_ORG, 1)
        assert list(page.items) == [plain(item, TEST_ORG) for item in results]
        assert page.keys == tuple(map(plain_key, results))


@settings(
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, *LARGE],
    max_examples=300,
)
@given(results=st.lists(ROUGH_RESULTS, max_size=5), extra=st.sampled_from(["", ', "m": {}']))
def test_a_page_is_refused_exactly_when_a_result_is_not_flat(
    emulator: Emulator, results: list[Any], extra: str
) -> None:
    check_page(emulator, results, extra)


@pytest.mark.parametrize(
    ("results", "expected"),
    [
        ([{"note": "{[ braces ]}"}, {"note": "x"}], None),
        ([{"note": "x"}, {"note": []}], f"rule 1 on {WHAT} has a nested value in 'note'"),
        ([{"note": "x", "kevs": {}}], f"rule 0 on {WHAT} has a nested value in 'kevs'"),
        ([{"note": "{"}, {"note": [1]}], f"rule 1 on {WHAT} has a nested value in 'note'"),
        ([{"a": 1}, 2], f"rule 1 on {WHAT} is not an object"),
    ],
)
def test_text_that_looks_nested_is_read_and_a_nested_value_is_refused(
    emulator: Emulator, results: list[Any], expected: str | None
) -> None:
    assert refusal(results) == expected
    check_page(emulator, results)


# --- the paginator's bookkeeping ---------------------------------------------------------


def plain_collect(pages: list[list[str]], per_page: int, slack: int) -> list[object] | str:
    """The paginator's page rules, written plainly: the kept items, or the error."""
    items: list[object] = []
    seen: set[str] = set()
    page_sets: set[frozenset[str]] = set()
    for number, keys in enumerate(pages, 1):
        if keys:
            if frozenset(keys) in page_sets:
                return f"the API sent page {number} of x twice (a loop)"
            page_sets.add(frozenset(keys))
        for position, key in enumerate(keys):
            if key not in seen:
                seen.add(key)
                items.append((number, position))
        needed = -(-len(seen) // per_page) or 1
        if number > needed + slack:
            return (
                f"the API sent {number} pages of x holding {len(seen)} distinct items, which "
                f"need {needed}: its paging does not end"
            )
    return items


@given(
    pages=st.lists(st.lists(st.sampled_from("abcdefgh"), max_size=4), min_size=1, max_size=8),
    per_page=st.integers(1, 4),
    slack=st.integers(0, 8),
)
def test_pages_are_collected_as_the_plain_rules_say(
    pages: list[list[str]], per_page: int, slack: int
) -> None:
    def fetch(cursor: str | None) -> Page[object]:
        number = int(cursor or "0")
        keys = pages[number]
        following = str(number + 1) if number + 1 < len(pages) else None
        items = tuple((number + 1, position) for position in range(len(keys)))
        return Page(items, tuple(keys), following)

    expected = plain_collect(pages, per_page, slack)
    try:
        got: list[object] | str = by_cursor(fetch, what="x", per_page=per_page, slack=slack)
    except PaginationError as exc:
        got = str(exc)
    assert got == expected
