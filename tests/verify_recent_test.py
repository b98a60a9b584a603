"""The final listing read from what changed: as the server holds it, and the full one when unsure.

An org of 1,050 rules (11 pages) gets a small change; the verification then reads the most
recently updated page and the last page by creation (2 GETs, not 11), and what it concludes
must equal what the emulator holds. Anything the shortcut cannot vouch for (someone else's
delete, a rule without a stamp, a lost answer) falls back to every page.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import json
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from apply_support import InFlight, apply_one
from apply_test import NO_WAIT, TODAY, make_client, rule, seed
from conftest import TEST_ORG, TEST_TOKEN, TRANSPORT_BASE_URL

from reconciler.emulator import Emulator
from reconciler.emulator.database import format_timestamp
from reconciler.engine.outcomes import Conclusion
from reconciler.http.paginate import Page
from reconciler.rules.model import Rule
from reconciler.triage.apply import ApplyResult, apply_org
from reconciler.triage.client import TriageClient
from reconciler.triage.plan import TriagePlan, diff
from reconciler.triage.recent import _changed_since, _ends_with, _last, after_apply
from reconciler.triage.verify import conclude
from reconciler.vocab.triage.selector import LiveRule, parse_time

NAMES = [f"pkg-{i:04d}" for i in range(1050)]


@dataclasses.dataclass(frozen=True)
class Applied:
    """The org of 1,050 rules after ``desired()`` was applied, before the final listing."""

    client: TriageClient
    plan: TriagePlan
    before: list[LiveRule]
    result: ApplyResult


@pytest.fixture
def applied(emulator: Emulator) -> Iterator[Applied]:
    seed(emulator, NAMES)
    with make_client(emulator) as client:
        plan, before = planned(client)
        yield Applied(client, plan, before, apply_org(client, plan))


def desired() -> list[Rule]:
    """Keep 1,047 rules, change 2, delete 3 (pkg-0000..2), create 5."""
    keep = [rule(n, note="why") for n in NAMES[3:]]
    keep[0] = rule(NAMES[3], state="block", note="changed")
    keep[500] = rule(NAMES[503], state="warn", note="changed")
    return keep + [rule(f"new-{i}") for i in range(5)]


def planned(client: TriageClient) -> tuple[TriagePlan, list[LiveRule]]:
    before = client.live_rules(TEST_ORG)
    return diff(TEST_ORG, desired(), before, today=TODAY, prune=True), before


def gets(emulator: Emulator) -> int:
    count: int = emulator.counters()["calls"]["GET"]
    return count


def held(emulator: Emulator) -> list[tuple[Any, ...]]:
    return [(r["uuid"], r["state"], r["note"], r["updated_at"]) for r in emulator.rules(TEST_ORG)]


def concluded(rules: Conclusion[Any, Any] | list[LiveRule] | None) -> list[tuple[Any, ...]]:
    after = rules.after if isinstance(rules, Conclusion) else rules
    assert after is not None
    return [(r.uuid, r.state, r.note, r.updated_at) for r in after]


def test_the_final_listing_reads_the_changed_rules_and_one_count_page(emulator: Emulator) -> None:
    seed(emulator, NAMES)
    with make_client(emulator) as client:
        plan, before = planned(client)
        assert (
            sorted(c.action for c in plan.changes)
            == ["create"] * 5 + ["delete"] * 3 + ["update"] * 2
        )
        result = apply_org(client, plan)
        listed = gets(emulator)
        conclusion = conclude(client, plan, before, result)
    assert gets(emulator) - listed == 2  # 7 changed rules fit a page; the count is one more
    assert conclusion.problems == ()
    assert concluded(conclusion) == held(emulator)


def test_someone_elses_delete_changes_the_count_and_every_page_is_read(
    emulator: Emulator, applied: Applied, emulator_client: httpx.Client
) -> None:
    before = applied.before
    victim = before[700].uuid  # untouched by the plan, so no stamp of ours moves
    assert emulator_client.delete(f"/orgs/{TEST_ORG}/triage/alerts/{victim}").status_code == 200
    listed = gets(emulator)
    conclusion = conclude(applied.client, applied.plan, before, applied.result)
    # The 2 pages of the shortcut, which sees the count is off; then every page, twice, as the
    # listing does not hold the number of rules expected either.
    assert gets(emulator) - listed == 2 + 11 + 11
    assert concluded(conclusion) == held(emulator)
    assert conclusion.problems == (f"missing rule {before[700].selector.describe()}",)


def test_someone_elses_update_is_among_the_changed_rules(
    emulator: Emulator, applied: Applied, emulator_client: httpx.Client
) -> None:
    other = applied.before[900]
    entry = {"uuid": other.uuid, "packageType": "npm", "packageName": NAMES[900]}
    posted = emulator_client.post(
        f"/orgs/{TEST_ORG}/triage/alerts",
        json={"alertTriage": [entry | {"state": "block", "note": "dashboard"}]},
    )
    assert posted.status_code == 200
    listed = gets(emulator)
    conclusion = conclude(applied.client, applied.plan, applied.before, applied.result)
    assert gets(emulator) - listed == 2
    assert concluded(conclusion) == held(emulator)
    assert conclusion.problems == (
        f"rule {other.selector.describe()} has state block, expected ignore",
    )


@pytest.mark.parametrize("blank", ["updated_at", "uuid"])
def test_a_rule_without_a_stamp_or_a_uuid_makes_the_shortcut_step_aside(
    applied: Applied, blank: str
) -> None:
    before = applied.before
    one = before[500]  # a rule the plan leaves alone, on a page the count does not read
    blanked = dataclasses.replace(one, updated_at="") if blank == "updated_at" else None
    unstamped = [*before[:500], blanked or dataclasses.replace(one, uuid=""), *before[501:]]
    assert after_apply(applied.client, TEST_ORG, unstamped, applied.result) is None


def test_a_lost_answer_needs_the_full_listing(applied: Applied) -> None:
    applied.result.sending(applied.plan.changes[:1])  # as if its answer had been lost
    assert after_apply(applied.client, TEST_ORG, applied.before, applied.result) is None


def test_a_small_org_is_listed_whole(emulator: Emulator) -> None:
    seed(emulator, NAMES[:150])
    with make_client(emulator) as client:
        before = client.live_rules(TEST_ORG)
        plan = diff(TEST_ORG, [rule(n) for n in NAMES[1:150]], before, today=TODAY, prune=True)
        result = apply_org(client, plan)
        # 2 pages either way: 1 changed and 1 to count them would save nothing
        assert after_apply(client, TEST_ORG, before, result) is None


def test_a_rule_changed_without_its_stamp_moving_makes_the_shortcut_step_aside(
    emulator: Emulator, applied: Applied
) -> None:
    # The first rule older than the listing's newest stamp is where the shortcut stops; a
    # server that changed it in place without a new stamp breaks the reasoning.
    with emulator.store.transaction() as conn:
        conn.execute(
            "UPDATE triage_rules SET state = 'block' WHERE uuid = ?", (applied.before[-2].uuid,)
        )
    assert after_apply(applied.client, TEST_ORG, applied.before, applied.result) is None


def test_a_delete_while_the_changed_rules_are_read_shows_in_the_count(
    emulator: Emulator, emulator_client: httpx.Client
) -> None:
    """150 changed rules take two pages, newest first. Someone deletes one of page 1's rules
    after it was read and before page 2 is: page 2 then starts one rule later, and a rule is
    missed. The count, read after the changed rules, is one short, so the shortcut steps aside
    (read beside them, it could still hold the deleted rule and agree)."""
    from http_fakes import Forward, Tamper

    seed(emulator, NAMES)
    deleted: list[str] = []
    counted = threading.Event()

    def delete_before_recent_page_2(request: httpx.Request, forward: Forward) -> httpx.Response:
        params = request.url.params
        if params.get("sort") == "created_at":  # the count page
            response = forward(request)
            counted.set()
            return response
        if params.get("sort") == "updated_at" and params.get("page") == "2" and not deleted:
            counted.wait(timeout=0.5)  # a count read beside the pages would come first: let it
            page_1 = request.url.copy_set_param("page", "1")
            first = forward(httpx.Request("GET", page_1, headers=request.headers))
            victim = first.json()["results"][0]["uuid"]  # read on page 1 a moment ago
            gone = emulator_client.delete(f"/orgs/{TEST_ORG}/triage/alerts/{victim}")
            assert gone.status_code == 200
            deleted.append(victim)
        return forward(request)

    transport = Tamper(emulator, delete_before_recent_page_2)
    with make_client(emulator, transport=transport) as client:
        before = client.live_rules(TEST_ORG)
        counted.clear()  # that listing read pages by creation too
        wanted = [rule(n, state="block", note="changed") for n in NAMES[:150]]
        wanted += [rule(n) for n in NAMES[150:]]
        plan = diff(TEST_ORG, wanted, before, today=TODAY, prune=True)
        result = apply_org(client, plan)
        assert after_apply(client, TEST_ORG, before, result) is None
    assert deleted


def test_the_audit_log_names_every_created_rule_from_the_changed_rules(
    emulator: Emulator, tmp_path: Path
) -> None:
    """Creates are audited once a listing names their uuid; here that listing is the one read
    from the changed rules, and every line must name a rule the server holds as written."""
    from reconciler.engine.audit import AuditLog
    from reconciler.engine.provenance import Provenance

    seed(emulator, NAMES)
    log_path = tmp_path / "audit.jsonl"
    log = AuditLog.open(str(log_path), Provenance())
    with make_client(emulator) as client:
        plan, _ = planned(client)
        listed = gets(emulator)
        apply_one(client, plan, log, concurrency=4, settle=0.0)
    log.close()
    # The check before writing (11 pages), then 1 page of changed rules and the count page.
    assert gets(emulator) - listed == 11 + 2
    lines = [json.loads(line) for line in log_path.read_text().splitlines()]
    held_now = {r["uuid"]: r for r in emulator.rules(TEST_ORG)}
    assert sorted(line["action"] for line in lines) == sorted(c.action for c in plan.changes)
    for line in lines:
        if line["action"] == "delete":
            assert line["uuid"] not in held_now
        else:
            assert held_now[line["uuid"]]["state"] == line["after"]["state"]


# triage/recent.py (_last, _ends_with, _changed_since): what the shortcut trusts of one page.
def _page(rules: list[LiveRule], next_page: object = None) -> Page[LiveRule]:
    return Page(tuple(rules), tuple(r.uuid for r in rules), next_page)


def _stamped(uuid: str, updated_at: str = "2026-01-02T00:00:00Z") -> LiveRule:
    return LiveRule(uuid, rule(uuid or "nameless").selector, "ignore", "why", updated_at=updated_at)


@pytest.mark.parametrize(("next_page", "last"), [(None, True), (0, True), (2, False), ("x", False)])
def test_only_a_page_without_a_next_one_is_the_last(next_page: object, last: bool) -> None:
    assert _last(_page([], next_page)) is last


def test_the_count_page_must_be_the_last_and_end_with_the_same_rules() -> None:
    after = [_stamped("a"), _stamped("b")]
    assert _ends_with(_page(after), 1, after)
    assert not _ends_with(_page(after, 2), 1, after)  # more pages follow: the count is wrong
    assert not _ends_with(_page(after[:1]), 1, after)
    assert not _ends_with(_page([after[0], _stamped("c")]), 1, after)


def test_a_changed_rule_without_a_uuid_makes_the_shortcut_step_aside() -> None:
    stamp = parse_time("2026-01-01T00:00:00Z")
    assert stamp is not None
    assert _changed_since(stamp, [_page([_stamped("a")])], []) == {"a": _stamped("a")}
    assert _changed_since(stamp, [_page([_stamped("")])], []) is None
    assert _changed_since(stamp, [_page([_stamped("a", "")])], []) is None


# triage/recent.py (after_apply, _newest_stamp): how many pages the shortcut reads is the
# quota an apply spends on its final listing; each case sits on a page boundary.
_BASE = dt.datetime(2020, 1, 1, tzinfo=dt.UTC)
NAMES_2K = [f"pkg-{i:04d}" for i in range(2000)]


def _seed_stamped(emulator: Emulator, count: int, tied: int) -> None:
    """``count`` rules created a second apart; the last ``tied`` share one updated_at."""

    def stamp(i: int) -> str:
        return format_timestamp(_BASE + dt.timedelta(seconds=i))

    emulator.seed_rules(
        TEST_ORG,
        [
            {
                "package_type": "npm",
                "package_name": NAMES_2K[i],
                "state": "ignore",
                "note": "why",
                "created_at": stamp(i),
                "updated_at": stamp(min(i, count - tied)),
            }
            for i in range(count)
        ],
    )


@pytest.mark.parametrize(
    ("count", "tied", "updates", "deletes", "creates", "pages"),
    [
        # The count page is the one the creates open (1,002 rules: page 11) ...
        (1000, 1, 0, 0, 2, 2),
        # ... or the one they fill (1,000 rules: page 10); updates and deletes add no rule.
        (998, 1, 0, 0, 2, 2),
        # 150 creates: 2 pages of changed rules, and the count page 12 (1,150 rules).
        (1000, 1, 0, 0, 150, 3),
        (1001, 1, 1, 1, 0, 2),
        # 98 updates and the rule at the newest stamp fill one page; a delete takes no room.
        (1000, 1, 98, 2, 0, 2),
        # 99 updates and that rule run onto a second page.
        (1000, 1, 99, 0, 0, 3),
        # 100 rules share the newest stamp: all are read again with the change, on 2 pages.
        (1000, 100, 1, 0, 0, 3),
        # 150 (a bulk import in one instant): every page, nothing spent on the shortcut first.
        (1000, 150, 1, 0, 0, 10),
        # 3 pages by creation: 1 changed and 1 to count them is still one request fewer.
        (250, 1, 1, 0, 0, 2),
    ],
)
def test_the_final_listing_reads_only_the_pages_it_needs(
    emulator: Emulator,
    count: int,
    tied: int,
    updates: int,
    deletes: int,
    creates: int,
    pages: int,
) -> None:
    _seed_stamped(emulator, count, tied)
    names = NAMES_2K[:count]
    wanted = [rule(n, state="block") for n in names[:updates]]
    wanted += [rule(n) for n in names[updates + deletes :]]
    wanted += [rule(f"new-{i}") for i in range(creates)]
    with make_client(emulator) as client:
        before = client.live_rules(TEST_ORG)
        plan = diff(TEST_ORG, wanted, before, today=TODAY, prune=True)
        assert len(plan.changes) == updates + deletes + creates
        result = apply_org(client, plan)
        listed = gets(emulator)
        conclusion = conclude(client, plan, before, result)
    assert gets(emulator) - listed == pages
    assert conclusion.problems == ()
    assert concluded(conclusion) == held(emulator)


def test_the_changed_rules_are_read_no_wider_than_the_client_concurrency(
    emulator: Emulator,
) -> None:
    _seed_stamped(emulator, 1000, 1)
    transport = InFlight(emulator, lambda r: r.url.params.get("sort") == "updated_at")
    client = TriageClient(
        TRANSPORT_BASE_URL, TEST_TOKEN, transport=transport, retry=NO_WAIT, concurrency=1
    )
    with client:
        before = client.live_rules(TEST_ORG)
        wanted = [rule(n, state="block") for n in NAMES_2K[:150]] + [
            rule(n) for n in NAMES_2K[150:1000]
        ]
        plan = diff(TEST_ORG, wanted, before, today=TODAY, prune=True)
        result = apply_org(client, plan, concurrency=1)
        after = after_apply(client, TEST_ORG, before, result)
    assert after is not None and len(after) == 1000  # read from 2 pages of changed rules
    assert transport.most == 1
