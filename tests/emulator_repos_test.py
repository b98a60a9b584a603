"""The repository listing (``GET /orgs/{org}/repos``) and the seeded org of tests/moved_org."""

from __future__ import annotations

import contextlib
from typing import Any

import httpx
import pytest
from conftest import ALL_SCOPES_TOKEN, TEST_ORG, TEST_TOKEN, TRANSPORT_BASE_URL
from moved_org import (
    BACKEND_REPOS,
    REPOS,
    RESOLUTION_COUNT,
    RULE_COUNTS,
    MovedOrg,
    seed_moved_org,
)

from reconciler.emulator import Emulator, EmulatorTransport, embedded, serve
from reconciler.http.client import HttpClient
from reconciler.http.retry import RetryPolicy
from reconciler.policies.client import PoliciesClient

REPOS_PATH = "/orgs/acme/repos"
ROW_FIELDS = {
    "id",
    "created_at",
    "updated_at",
    "html_url",
    "slug",
    "head_full_scan_id",
    "integration_meta",
    "name",
    "description",
    "homepage",
    "visibility",
    "archived",
    "default_branch",
    "workspace",
}
FAST = RetryPolicy(max_attempts=1, base_delay=0.0)


def slugs(payload: dict[str, Any]) -> list[str]:
    return [row["slug"] for row in payload["results"]]


@pytest.fixture
def seeded(emulator: Emulator) -> Emulator:
    """Org acme with repositories r01..r07 (oldest first); r03 archived, r05 and r06 in ``ws``."""
    emulator.seed_repos(
        TEST_ORG,
        [
            {"slug": f"r{n:02d}", "archived": n == 3, "workspace": "ws" if n in (5, 6) else ""}
            for n in range(1, 8)
        ],
    )
    return emulator


def test_seeded_rows_have_every_field_and_generated_ids(emulator: Emulator) -> None:
    made = emulator.seed_repos(TEST_ORG, ["api", {"slug": "web", "name": "Web", "archived": True}])
    assert [set(row) for row in made] == [ROW_FIELDS, ROW_FIELDS]
    assert made[0]["id"] != made[1]["id"] and all(row["id"] for row in made)
    assert (made[0]["name"], made[0]["archived"], made[0]["workspace"]) == ("api", False, "")
    assert (made[1]["name"], made[1]["archived"]) == ("Web", True)
    assert emulator.repositories(TEST_ORG) == made
    assert emulator.repositories("other") == []


@pytest.mark.parametrize(
    "bad",
    [
        {"name": "no slug"},
        {"slug": ""},
        {"slug": "x", "colour": "red"},
        {"slug": "x", "archived": "yes"},
    ],
)
def test_bad_seeds_are_refused_and_add_nothing(emulator: Emulator, bad: dict[str, Any]) -> None:
    with pytest.raises(ValueError):
        emulator.seed_repos(TEST_ORG, ["fine", bad])
    assert emulator.repositories(TEST_ORG) == []


def test_default_listing_is_newest_first_without_archived(
    seeded: Emulator, api: httpx.Client
) -> None:
    page = api.get(REPOS_PATH).json()
    assert set(page) == {"results", "nextPage"}
    assert slugs(page) == ["r07", "r06", "r05", "r04", "r02", "r01"]
    assert page["nextPage"] is None
    assert all(set(row) == ROW_FIELDS for row in page["results"])


def test_pages_follow_next_page_to_the_end(seeded: Emulator, api: httpx.Client) -> None:
    seen, number, calls = [], 1, 0
    while number:
        page = api.get(
            REPOS_PATH, params={"per_page": 2, "page": number, "direction": "asc"}
        ).json()
        seen += slugs(page)
        calls += 1
        number = page["nextPage"]
    assert seen == ["r01", "r02", "r04", "r05", "r06", "r07"] and calls == 3
    past = api.get(REPOS_PATH, params={"per_page": 2, "page": 9**30}).json()
    assert past == {"results": [], "nextPage": None}


@pytest.mark.parametrize(
    ("params", "expected"),
    [
        (
            {"include_archived": "true", "direction": "asc"},
            ["r01", "r02", "r03", "r04", "r05", "r06", "r07"],
        ),
        (
            {"include_archived": "FALSE", "direction": "asc"},
            ["r01", "r02", "r04", "r05", "r06", "r07"],
        ),
        ({"workspace": "ws"}, ["r06", "r05"]),
        ({"workspace": "", "direction": "asc"}, ["r01", "r02", "r04", "r07"]),
        ({"sort": "slug", "direction": "desc", "per_page": 3}, ["r07", "r06", "r05"]),
        ({"sort": "name", "direction": "asc", "per_page": 1}, ["r01"]),
    ],
)
def test_filters_and_order(
    seeded: Emulator, api: httpx.Client, params: dict[str, str], expected: list[str]
) -> None:
    assert slugs(api.get(REPOS_PATH, params=params).json()) == expected


def test_sort_by_name_or_slug_is_not_creation_order(emulator: Emulator, api: httpx.Client) -> None:
    emulator.seed_repos(TEST_ORG, [{"slug": "b", "name": "Zed"}, {"slug": "c", "name": "Alpha"}])
    emulator.seed_repos(TEST_ORG, [{"slug": "a", "name": "Mid"}])
    by = {
        sort: slugs(api.get(REPOS_PATH, params={"sort": sort, "direction": "asc"}).json())
        for sort in ("created_at", "updated_at", "name", "slug")
    }
    assert by == {
        "created_at": ["b", "c", "a"],
        "updated_at": ["b", "c", "a"],
        "name": ["c", "a", "b"],
        "slug": ["a", "b", "c"],
    }
    (row,) = [r for r in emulator.repositories(TEST_ORG) if r["slug"] == "a"]
    assert row["html_url"] == "https://github.com/acme/a"


@pytest.mark.parametrize(
    ("param", "value"),
    [
        ("per_page", "0"),
        ("per_page", "101"),
        ("per_page", "ten"),
        ("page", "0"),
        ("sort", "stars"),
        ("direction", "up"),
        ("include_archived", "maybe"),
    ],
)
def test_bad_query_values_are_400_naming_the_parameter(
    seeded: Emulator, api: httpx.Client, param: str, value: str
) -> None:
    response = api.get(REPOS_PATH, params={param: value})
    assert response.status_code == 400
    assert response.json()["error"]["details"] == {"param": param}


def test_page_size_bounds_are_inclusive(seeded: Emulator, api: httpx.Client) -> None:
    assert len(api.get(REPOS_PATH, params={"per_page": 1}).json()["results"]) == 1
    assert len(api.get(REPOS_PATH, params={"per_page": 100}).json()["results"]) == 6


def test_scope_is_repo_list(seeded: Emulator, emulator_client: httpx.Client) -> None:
    refused = emulator_client.get(REPOS_PATH)  # TEST_TOKEN holds only the triage scopes
    assert refused.status_code == 403 and "repo:list" in refused.json()["error"]["message"]
    seeded.add_token("sktsec_repos_only", TEST_ORG, ["repo:list"])
    with httpx.Client(
        transport=EmulatorTransport(seeded),
        base_url=TRANSPORT_BASE_URL,
        headers={"Authorization": "Bearer sktsec_repos_only"},
    ) as only:
        assert only.get(REPOS_PATH).status_code == 200
        assert only.get("/orgs/acme/alert-policies").status_code == 403
    assert emulator_client.get("/orgs/other/repos").status_code == 404
    with httpx.Client(transport=EmulatorTransport(seeded), base_url=TRANSPORT_BASE_URL) as anon:
        assert anon.get(REPOS_PATH).status_code == 401


def test_a_repo_restricted_token_sees_only_its_repositories(seeded: Emulator) -> None:
    seeded.add_token("sktsec_two", TEST_ORG, ["repo:list"], repos=["r02", "acme/r06"])
    with httpx.Client(
        transport=EmulatorTransport(seeded),
        base_url=TRANSPORT_BASE_URL,
        headers={"Authorization": "Bearer sktsec_two"},
    ) as limited:
        assert slugs(limited.get(REPOS_PATH).json()) == ["r06", "r02"]


@pytest.mark.parametrize("over", ["transport", "loopback"])
def test_each_page_costs_one_unit_of_quota(over: str) -> None:
    limited = Emulator(quota=3)
    limited.add_token(ALL_SCOPES_TOKEN, TEST_ORG, ["repo:list"])
    limited.seed_repos(TEST_ORG, ["a", "b", "c"])
    headers = {"Authorization": f"Bearer {ALL_SCOPES_TOKEN}"}
    with contextlib.ExitStack() as stack:
        if over == "loopback":
            url = stack.enter_context(serve(limited))
            api = stack.enter_context(httpx.Client(base_url=url, headers=headers))
        else:
            transport = EmulatorTransport(limited)
            client = httpx.Client(transport=transport, base_url=TRANSPORT_BASE_URL, headers=headers)
            api = stack.enter_context(client)
        assert api.get("/quota").json()["quota"] == 3
        for number in (1, 2, 3):
            page = api.get(REPOS_PATH, params={"per_page": 1, "page": number})
            assert page.status_code == 200 and len(page.json()["results"]) == 1
        assert api.get("/quota").json()["quota"] == 0
        refused = api.get(REPOS_PATH)
        assert refused.status_code == 429 and refused.headers["Retry-After"].isdigit()
    assert limited.counters()["calls"]["GET"] == 4
    limited.close()


@pytest.mark.parametrize(
    ("style", "middle", "end"), [("null", 2, None), ("zero", 2, 0), ("string", "2", "0")]
)
def test_the_next_page_knob_sets_how_the_end_is_written(
    seeded: Emulator, api: httpx.Client, style: str, middle: object, end: object
) -> None:
    seeded.repos_next_page = style
    params: dict[str, str | int] = {"per_page": 3, "direction": "asc"}
    assert api.get(REPOS_PATH, params={**params, "page": 1}).json()["nextPage"] == middle
    assert api.get(REPOS_PATH, params={**params, "page": 2}).json()["nextPage"] == end
    with pytest.raises(ValueError):
        seeded.repos_next_page = "banana"
    chosen = Emulator(repos_next_page=style)
    assert chosen.repos_next_page == style
    chosen.close()
    with pytest.raises(ValueError):
        Emulator(repos_next_page="banana")


def test_control_endpoints_seed_list_and_switch_the_knob(
    emulator: Emulator, api: httpx.Client
) -> None:
    control = "http://emulator.test/_emulator"
    made = api.post(
        f"{control}/orgs/acme/repos", json={"repos": ["a", {"slug": "b", "archived": True}]}
    )
    assert [row["slug"] for row in made.json()] == ["a", "b"]
    assert api.get(f"{control}/orgs/acme/repos").json() == made.json()
    assert (
        api.post(f"{control}/orgs/acme/repos", json={"repos": [{"name": "x"}]}).status_code == 400
    )
    switched = api.post(f"{control}/repos-next-page", json={"style": "zero"})
    assert switched.json() == {"repos_next_page": "zero"} and emulator.repos_next_page == "zero"
    assert api.post(f"{control}/repos-next-page", json={"style": "x"}).status_code == 400


def test_the_listing_over_a_loopback_server(seeded: Emulator, http_emulator: str) -> None:
    headers = {"Authorization": f"Bearer {ALL_SCOPES_TOKEN}"}
    with httpx.Client(base_url=http_emulator, headers=headers) as api:
        first = api.get(REPOS_PATH, params={"per_page": 4, "direction": "asc"}).json()
        assert slugs(first) == ["r01", "r02", "r04", "r05"] and first["nextPage"] == 2
        assert api.get(REPOS_PATH, params={"per_page": 101}).status_code == 400
        with httpx.Client(
            base_url=http_emulator, headers={"Authorization": f"Bearer {TEST_TOKEN}"}
        ) as weak:
            assert weak.get(REPOS_PATH).status_code == 403


def test_the_production_client_reads_every_repository_with_any_end_marker(seeded: Emulator) -> None:
    seeded.seed_repos(TEST_ORG, [f"more{n:03d}" for n in range(150)])  # two pages of 100
    for style in ("null", "zero", "string"):
        seeded.repos_next_page = style
        client = production_client(seeded)
        listed = client.list_repositories(TEST_ORG)
        client.http.close()
        assert [r.slug for r in listed][:3] == ["r01", "r02", "r03"] and len(listed) == 157
        assert next(r for r in listed if r.slug == "r03").archived


def production_client(emu: Emulator, token: str | None = ALL_SCOPES_TOKEN) -> PoliciesClient:
    http = HttpClient(TRANSPORT_BASE_URL, token, transport=EmulatorTransport(emu), retry=FAST)
    return PoliciesClient(http)


# --- the seeded moved org ------------------------------------------------------------------------


def check_moved_org(client: PoliciesClient, seeded: MovedOrg) -> None:
    """What the production client reads is exactly what ``seed_moved_org`` says it seeded."""
    org = seeded.org
    assert client.migration_status(org).state == "accepted"
    repos = client.list_repositories(org)
    assert [r.slug for r in repos] == list(REPOS)
    assert {r.slug: r.id for r in repos} == dict(seeded.repo_ids)
    assert [r.slug for r in repos if r.archived] == ["docs"]
    policies = client.list_policies(org)
    assert [p.name or "default" for p in policies] == ["default", "backend", "frontend"]
    by_name = {p.name or "default": p for p in policies}
    assert {name: p.id for name, p in by_name.items()} == dict(seeded.policy_ids)
    assert [p.baseline for p in policies] == ["balanced", "comprehensive", "essential"]
    assert by_name["default"].description == "Every repository no policy below names"
    backend_ids = [seeded.repo_ids[slug] for slug in BACKEND_REPOS]
    assert list(by_name["backend"].repository_ids) == backend_ids
    assert list(by_name["frontend"].repository_ids) == []
    assert not any(p.managed for p in policies)
    total = 0
    for name, count in RULE_COUNTS.items():
        rules = client.list_rules(org, seeded.policy_ids[name])
        assert [r.name for r in rules] == list(seeded.rule_names[name]) and len(rules) == count
        assert not any(r.managed for r in rules)
        total += len(rules)
    assert total == seeded.rule_count == 60
    resolutions = client.list_resolutions(org)
    assert [r.uuid for r in resolutions] == list(seeded.resolution_ids)
    assert len(resolutions) == RESOLUTION_COUNT
    anchored = [r for r in resolutions if "location.repo" in r.selector.fields]
    assert len(anchored) == 5


@pytest.fixture
def moved_org(emulator: Emulator) -> MovedOrg:
    return seed_moved_org(emulator)


def test_the_moved_org_reads_back_through_the_production_client(
    emulator: Emulator, moved_org: MovedOrg
) -> None:
    client = production_client(emulator)
    check_moved_org(client, moved_org)
    assert emulator.counters()["policies"] == {"created": 0, "updated": 0, "deleted": 0}
    client.http.close()


def test_the_moved_org_over_a_loopback_server(emulator: Emulator, moved_org: MovedOrg) -> None:
    with serve(emulator) as url:
        client = PoliciesClient(HttpClient(url, ALL_SCOPES_TOKEN, retry=FAST))
        check_moved_org(client, moved_org)
        client.http.close()


def test_the_moved_org_in_an_embedded_emulator_of_another_org() -> None:
    emu = embedded(":memory:")
    seeded = seed_moved_org(emu, org="globex")
    client = production_client(emu, token=None)
    check_moved_org(client, seeded)
    client.http.close()
    emu.close()


def test_selectors_of_the_moved_org_are_varied_and_literal(
    moved_org: MovedOrg, emulator: Emulator
) -> None:
    fields: set[str] = set()
    operators: set[str] = set()
    selectors = []
    for policy_id in moved_org.policy_ids.values():
        for rule in emulator.policy_rules(moved_org.org, policy_id):
            selectors.append(rule["vigil_selector"])
            fields |= set(rule["vigil_selector"])
            for value in rule["vigil_selector"].values():
                operators |= set(value) if isinstance(value, dict) else {"literal"}
    assert fields == {
        "finding.alertType",
        "finding.severity",
        "artifact.type",
        "artifact.name",
        "artifact.namespace",
        "artifact.version",
        "location.manifest",
    }
    assert operators == {"literal", "$in"}
    assert len({repr(sorted(s.items())) for s in selectors}) == 60
    notes = [
        r["note"] for p in moved_org.policy_ids.values() for r in emulator.policy_rules("acme", p)
    ]
    assert 0 < sum(1 for n in notes if n) < 60
