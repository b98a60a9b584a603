"""The final listing read from what changed: as the server holds it, and the full one when unsure.

An org of 1,050 rules (11 pages) gets a small change; the verification then reads the most
recently updated page and the last page by creation (2 GETs, not 11), and what it concludes
must equal what the emulator holds. Anything the shortcut cannot vouch for (someone else's
delete, a rule without a stamp, a lost answer) falls back to every page.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
from apply_test import TODAY, make_client, rule, seed
from conftest import TEST_ORG, TEST_TOKEN, TRANSPORT_BASE_URL

from reconciler.emulator import Emulator, EmulatorTransport
from reconciler.engine.apply import apply_org
from reconciler.engine.plan import OrgPlan, diff
from reconciler.engine.recent import after_apply
from reconciler.engine.verify import Conclusion, conclude
from reconciler.rules.model import Rule
from reconciler.triage.client import TriageClient
from reconciler.triage.selector import LiveRule

NAMES = [f"pkg-{i:04d}" for i in range(1050)]


@pytest.fixture
def dashboard(emulator: Emulator) -> Iterator[httpx.Client]:
    """Someone else writing to the org through the emulator's API."""
    with httpx.Client(
        transport=EmulatorTransport(emulator),
        base_url=TRANSPORT_BASE_URL,
        headers={"Authorization": f"Bearer {TEST_TOKEN}"},
    ) as client:
        yield client


def desired() -> list[Rule]:
    """Keep 1,047 rules, change 2, delete 3 (pkg-0000..2), create 5."""
    keep = [rule(n, note="why") for n in NAMES[3:]]
    keep[0] = rule(NAMES[3], state="block", note="changed")
    keep[500] = rule(NAMES[503], state="warn", note="changed")
    return keep + [rule(f"new-{i}") for i in range(5)]


def planned(client: TriageClient) -> tuple[OrgPlan, list[LiveRule]]:
    before = client.live_rules(TEST_ORG)
    return diff(TEST_ORG, desired(), before, today=TODAY, prune=True), before


def gets(emulator: Emulator) -> int:
    count: int = emulator.counters()["calls"]["GET"]
    return count


def held(emulator: Emulator) -> list[tuple[Any, ...]]:
    return [(r["uuid"], r["state"], r["note"], r["updated_at"]) for r in emulator.rules(TEST_ORG)]


def concluded(rules: Conclusion | list[LiveRule] | None) -> list[tuple[Any, ...]]:
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
    emulator: Emulator, dashboard: httpx.Client
) -> None:
    seed(emulator, NAMES)
    with make_client(emulator) as client:
        plan, before = planned(client)
        result = apply_org(client, plan)
        victim = before[700].uuid  # untouched by the plan, so no stamp of ours moves
        assert dashboard.delete(f"/orgs/{TEST_ORG}/triage/alerts/{victim}").status_code == 200
        listed = gets(emulator)
        conclusion = conclude(client, plan, before, result)
    # The 2 pages of the shortcut, which sees the count is off; then every page, twice, as the
    # listing does not hold the number of rules expected either.
    assert gets(emulator) - listed == 2 + 11 + 11
    assert concluded(conclusion) == held(emulator)
    assert conclusion.problems == (f"missing rule {before[700].selector.describe()}",)


def test_someone_elses_update_is_among_the_changed_rules(
    emulator: Emulator, dashboard: httpx.Client
) -> None:
    seed(emulator, NAMES)
    with make_client(emulator) as client:
        plan, before = planned(client)
        result = apply_org(client, plan)
        other = before[900]
        entry = {"uuid": other.uuid, "packageType": "npm", "packageName": NAMES[900]}
        posted = dashboard.post(
            f"/orgs/{TEST_ORG}/triage/alerts",
            json={"alertTriage": [entry | {"state": "block", "note": "dashboard"}]},
        )
        assert posted.status_code == 200
        listed = gets(emulator)
        conclusion = conclude(client, plan, before, result)
    assert gets(emulator) - listed == 2
    assert concluded(conclusion) == held(emulator)
    assert conclusion.problems == (
        f"rule {other.selector.describe()} has state block, expected ignore",
    )


def test_a_rule_without_a_stamp_makes_the_shortcut_step_aside(emulator: Emulator) -> None:
    seed(emulator, NAMES)
    with make_client(emulator) as client:
        plan, before = planned(client)
        result = apply_org(client, plan)
        unstamped = [dataclasses.replace(before[0], updated_at=""), *before[1:]]
        assert after_apply(client, TEST_ORG, unstamped, result) is None


def test_a_lost_answer_needs_the_full_listing(emulator: Emulator) -> None:
    seed(emulator, NAMES)
    with make_client(emulator) as client:
        plan, before = planned(client)
        result = apply_org(client, plan)
        result.sending(plan.changes[:1])  # as if its answer had been lost
        assert after_apply(client, TEST_ORG, before, result) is None


def test_a_small_org_is_listed_whole(emulator: Emulator) -> None:
    seed(emulator, NAMES[:150])
    with make_client(emulator) as client:
        before = client.live_rules(TEST_ORG)
        plan = diff(TEST_ORG, [rule(n) for n in NAMES[1:150]], before, today=TODAY, prune=True)
        result = apply_org(client, plan)
        # 2 pages either way: 1 changed and 1 to count them would save nothing
        assert after_apply(client, TEST_ORG, before, result) is None


def test_a_rule_changed_without_its_stamp_moving_makes_the_shortcut_step_aside(
    emulator: Emulator,
) -> None:
    seed(emulator, NAMES)
    with make_client(emulator) as client:
        plan, before = planned(client)
        result = apply_org(client, plan)
        # The first rule older than the listing's newest stamp is where the shortcut stops; a
        # server that changed it in place without a new stamp breaks the reasoning.
        with emulator.store.transaction() as conn:
            conn.execute(
                "UPDATE triage_rules SET state = 'block' WHERE uuid = ?", (before[-2].uuid,)
            )
        assert after_apply(client, TEST_ORG, before, result) is None
