"""The policy object diff (``policies.objects`` through ``diff``): each create, update and
delete body, the scope of an org that declares policies, the live checks, safety and the saved
form, on live state built by hand (the emulator-backed plans are in policies_objects_plan_test).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import pytest

from reconciler import notes
from reconciler.errors import ConfigError, Location
from reconciler.policies.changes import PolicyObjectChange, new_policy_ref
from reconciler.policies.diff import diff, fingerprint
from reconciler.policies.plan import PolicyPlan
from reconciler.rules.safety import SafetyPolicy
from reconciler.vocab.policies.model import (
    DesiredPolicy,
    DesiredRule,
    LivePolicy,
    LiveRepository,
    LiveRule,
    policy_seal_parts,
)
from reconciler.vocab.policies.selectors import VigilSelector
from reconciler.vocab.policies.wire import POLICY_DESCRIPTION_MAX

ORG = "acme"
REPOS = (
    LiveRepository("r-api", "api"),
    LiveRepository("r-worker", "worker"),
    LiveRepository("r-web", "web"),
)
DEFAULT = LivePolicy("default", None, "unlabeled_repos", baseline="balanced", org=ORG)


def at(line: int, column: int = 5) -> Location:
    return Location("acme.yaml", line, column)


def trailer(where: Location | None, seal: str) -> str:
    return notes.trailer([("source", f"{where.file}:{where.line}")] if where else [], seal)


def sealed(name: str, human: str = "", line: int = 1) -> str:
    return notes.compose(human, trailer(at(line), notes.seal(ORG, policy_seal_parts(name))))


def named(
    pid: str,
    name: str,
    repos: Sequence[str] = (),
    *,
    baseline: str | None = "balanced",
    description: str | None = None,
) -> LivePolicy:
    return LivePolicy(pid, name, "labeled_repos", baseline, tuple(repos), description, org=ORG)


def declare(
    name: str,
    baseline: str | None = "balanced",
    repos: Sequence[str] = (),
    description: str = "",
    line: int = 3,
) -> DesiredPolicy:
    locations = tuple(at(line + 1, 20 + 6 * i) for i in range(len(repos)))
    return DesiredPolicy(name, baseline, description, tuple(repos), at(line), locations)


def sel(alert: str) -> VigilSelector:
    return VigilSelector.from_wire({"finding.alertType": alert})


def want(name: str, policy: str = "default", line: int = 20) -> DesiredRule:
    return DesiredRule(name, sel(name), "error", "", policy, at(line))


def live_rule(name: str, policy_id: str) -> LiveRule:
    return LiveRule(f"id-{name}", policy_id, name, sel(name), "error", org=ORG)


def plan(
    declared: Sequence[DesiredPolicy] | None,
    policies: Sequence[LivePolicy],
    rules: Sequence[DesiredRule] = (),
    live: dict[str, list[LiveRule]] | None = None,
    **kw: Any,
) -> PolicyPlan:
    live_rules: dict[str, list[LiveRule]] = {p.id: [] for p in policies}
    live_rules.update(live or {})
    return diff(
        ORG,
        rules=rules,
        resolutions=[],
        policies=policies,
        live_rules=live_rules,
        live_resolutions=[],
        trailer=trailer,
        declared=declared,
        repositories=REPOS if declared is not None else None,
        **kw,
    )


def brief(p: PolicyPlan) -> list[tuple[str, str]]:
    return [(c.action, c.name) for c in p.policy_changes]


def test_a_declared_policy_not_live_is_a_create_with_every_field() -> None:
    found = plan(
        [declare("backend", "comprehensive", ["api", "worker"], "Services")],
        [DEFAULT],
        [want("b", "backend"), want("a", "backend", 21)],
    )
    (create,) = found.policy_changes
    assert create.action == "create" and create.added == ("api", "worker")
    assert dict(create.body) == {
        "name": "backend",
        "description": sealed("backend", "Services", line=3),
        "baseline": "comprehensive",
        "repository_ids": ["r-api", "r-worker"],
    }
    assert notes.sealed_for(create.body["description"], ORG, policy_seal_parts("backend"))
    # Its rules are creates in the new policy, in file order.
    assert [(c.action, c.name, c.policy_id) for c in found.rule_changes] == [
        ("create", "b", new_policy_ref("backend")),
        ("create", "a", new_policy_ref("backend")),
    ]
    assert found.changes[0] is create  # policy changes come first


def test_the_none_baseline_is_sent_as_null() -> None:
    (create,) = plan([declare("x", None)], [DEFAULT]).policy_changes
    assert create.body["baseline"] is None
    (update,) = plan([declare("x", None)], [DEFAULT, named("p-x", "x")]).policy_changes
    assert dict(update.body) == {"baseline": None}
    assert (
        plan([declare("x", None)], [DEFAULT, named("p-x", "x", baseline="none")]).policy_changes
        == ()
    )


def test_an_update_holds_only_the_fields_that_change() -> None:
    live = named("p-b", "backend", ["r-api"], description=sealed("backend", "old"))
    (update,) = plan(
        [declare("backend", "balanced", ["api"], "new")], [DEFAULT, live]
    ).policy_changes
    assert update.action == "update" and set(update.body) == {"description"}
    assert notes.split(update.body["description"])[0] == "new"
    (update,) = plan(
        [declare("backend", "essential", ["api"], "old")], [DEFAULT, live]
    ).policy_changes
    assert dict(update.body) == {"baseline": "essential"}
    # repository_ids is a full replacement; the slugs say what changes.
    (update,) = plan(
        [declare("backend", "balanced", ["worker", "api"], "old")], [DEFAULT, live]
    ).policy_changes
    assert dict(update.body) == {"repository_ids": ["r-worker", "r-api"]}
    assert (update.added, update.removed) == (("worker",), ())
    # Same set in another order, and the trailer alone: no change.
    live2 = named("p-b", "backend", ["r-worker", "r-api"], description="old")
    assert (
        plan(
            [declare("backend", "balanced", ["api", "worker"], "old")], [DEFAULT, live2]
        ).policy_changes
        == ()
    )


def test_the_default_policy_gets_baseline_and_description_never_name_or_repositories() -> None:
    (update,) = plan(
        [declare("default", "comprehensive", description="All")], [DEFAULT]
    ).policy_changes
    assert update.existing == DEFAULT and set(update.body) == {"baseline", "description"}
    assert "name" not in update.body and "repository_ids" not in update.body
    # Not declared: its object is left as it is, and its rules are still reconciled.
    found = plan([], [DEFAULT], [want("a")])
    assert found.policy_changes == () and brief_rules(found) == [("create", "a", "default")]


def brief_rules(p: PolicyPlan) -> list[tuple[str, str, str]]:
    return [(c.action, c.name, c.policy_id) for c in p.rule_changes]


def test_a_live_policy_not_declared_is_deleted_with_its_rules_and_repositories() -> None:
    legacy = named("p-l", "legacy", ["r-web", "r-gone"])
    rules = {"p-l": [live_rule(n, "p-l") for n in "abcd"]}
    found = plan([], [DEFAULT, legacy], live=rules)
    (delete,) = found.policy_changes
    assert (delete.action, delete.takes_rules, delete.removed) == ("delete", 4, ("web", "r-gone"))
    assert dict(delete.body) == {}
    assert found.rule_changes == ()  # the policy delete removes them: no rule deletes


def test_prune_false_deletes_only_the_policies_we_created() -> None:
    ours = named("p-o", "ours", description=sealed("ours"))
    theirs = named("p-t", "theirs", ["r-web"])
    rules = {"p-t": [live_rule("x", "p-t")], "p-o": [live_rule("y", "p-o")]}
    found = plan([], [DEFAULT, ours, theirs], live=rules, prune=False)
    assert brief(found) == [("delete", "ours")]
    assert found.rule_changes == ()  # theirs keeps its rule
    assert any("'theirs' (1 rule)" in n and n.startswith("left alone") for n in found.notices)


def test_repositories_moved_between_two_named_policies_are_two_updates_and_one_move() -> None:
    front = named("p-f", "frontend", ["r-api", "r-web"])
    back = named("p-b", "backend", [])
    found = plan(
        [declare("frontend", "balanced", ["web"]), declare("backend", "balanced", ["api"])],
        [DEFAULT, front, back],
    )
    # The update that only removes comes first: never two labels at once.
    assert brief(found) == [("update", "frontend"), ("update", "backend")]
    moves = found.to_dict()["repository_moves"]
    assert moves == [{"repository": "api", "from": "frontend", "to": "backend"}]


@pytest.mark.parametrize(
    ("before", "after", "move"),
    [
        (["r-api"], [], {"repository": "api", "from": "backend", "to": "default"}),
        ([], ["api"], {"repository": "api", "from": "default", "to": "backend"}),
    ],
)
def test_a_repository_to_or_from_the_default_policy_is_one_update(
    before: list[str], after: list[str], move: dict[str, str]
) -> None:
    found = plan(
        [declare("backend", "balanced", after)], [DEFAULT, named("p-b", "backend", before)]
    )
    assert brief(found) == [("update", "backend")]
    assert found.to_dict()["repository_moves"] == [move]


def test_a_deleted_policy_sends_its_repositories_back_to_the_default_policy() -> None:
    found = plan([], [DEFAULT, named("p-l", "legacy", ["r-web"])])
    assert found.to_dict()["repository_moves"] == [
        {"repository": "web", "from": "legacy", "to": "default"}
    ]


def test_apply_order_is_removing_updates_creates_adding_updates_deletes() -> None:
    policies = [
        DEFAULT,
        named("p-gain", "gain", []),
        named("p-lose", "lose", ["r-api"]),
        named("p-old", "old"),
    ]
    found = plan(
        [
            declare("gain", "balanced", ["api"]),
            declare("new", "balanced", ["worker"]),
            declare("lose", "essential", []),
        ],
        policies,
    )
    assert brief(found) == [
        ("update", "lose"),
        ("create", "new"),
        ("update", "gain"),
        ("delete", "old"),
    ]


def test_unknown_and_shared_slugs_and_ambiguous_names_are_errors_at_their_place() -> None:
    repos = (*REPOS, LiveRepository("r-twin", "api"))
    policies = [DEFAULT, named("p-1", "twice"), named("p-2", "twice")]
    with pytest.raises(ConfigError) as caught:
        diff(
            ORG,
            rules=[],
            resolutions=[],
            policies=policies,
            live_rules={p.id: [] for p in policies},
            live_resolutions=[],
            declared=[
                declare("backend", "balanced", ["web", "nope", "api"]),
                declare("twice", line=9),
            ],
            repositories=repos,
        )
    lines = [d.line() for d in caught.value.diagnostics]
    assert lines == [
        "acme.yaml:4:26: error: repository 'nope' of policy 'backend' is not in the org's "
        "repository listing (archived ones included); check the slug",
        "acme.yaml:4:32: error: repository slug 'api' is shared by 2 repositories of the org "
        "(ids r-api, r-twin); which one is meant is not guessed",
        "acme.yaml:9:5: error: policy 'twice' is ambiguous: 2 live policies of the org have "
        "that name (ids p-1, p-2); rename or delete one in the dashboard",
    ]


def test_a_rule_naming_an_undeclared_policy_is_refused() -> None:
    with pytest.raises(ConfigError, match="policy 'legacy' is not declared"):
        plan([declare("backend")], [DEFAULT, named("p-l", "legacy")], [want("a", "legacy")])


def test_a_description_is_sealed_within_the_limit() -> None:
    human = "d" * (POLICY_DESCRIPTION_MAX - 34)
    (create,) = plan([declare("backend", description=human)], [DEFAULT]).policy_changes
    sent = create.body["description"]
    assert len(sent) <= POLICY_DESCRIPTION_MAX and notes.split(sent)[0] == human
    assert notes.sealed_for(sent, ORG, policy_seal_parts("backend"))


def test_safety_counts_policies_in_scope_and_the_rules_a_delete_takes() -> None:
    legacy = named("p-l", "legacy")
    rules = {
        "default": [live_rule(f"d{i}", "default") for i in range(6)],
        "p-l": [live_rule(f"l{i}", "p-l") for i in range(4)],
    }
    keep = [want(f"d{i}") for i in range(6)]
    found = plan([], [DEFAULT, legacy], keep, rules, safety=SafetyPolicy(30.0, 10))
    assert found.existing == 6 + 4 + 1  # rules in scope, and the named policy
    assert found.summary()["delete"] == 1
    assert found.unsafe_reasons() == [
        "it updates, replaces or deletes 5 of 11 live policies, rules and resolutions of org "
        "acme (45% > 30%)"
    ]
    # Creates never count.
    grown = plan(
        [declare(f"n{i}") for i in range(9)], [DEFAULT], keep, rules, safety=SafetyPolicy(30.0, 1)
    )
    assert grown.summary()["create"] == 9 and grown.unsafe_reasons() == []


def test_a_policy_update_counts_as_one_change() -> None:
    policies = [DEFAULT, *(named(f"p{i}", f"n{i}") for i in range(10))]
    declared = [declare(f"n{i}", "essential" if i < 4 else "balanced") for i in range(10)]
    found = plan(declared, policies, safety=SafetyPolicy(30.0, 10))
    assert found.existing == 10 and found.summary()["update"] == 4
    assert found.unsafe_reasons() == [
        "it updates, replaces or deletes 4 of 10 live policies, rules and resolutions of org "
        "acme (40% > 30%)"
    ]


def test_a_saved_plan_round_trips_its_policy_changes() -> None:
    legacy = named("p-l", "legacy", ["r-web"], description=sealed("legacy", "was"))
    found = plan(
        [
            declare("default", "essential", description="All"),
            declare("backend", None, ["api"], "Svc"),
            declare("legacy", "balanced", ["worker"], "now"),
        ],
        [DEFAULT, legacy, named("p-x", "extra")],
        [want("a", "backend")],
        {"p-x": [live_rule("z", "p-x")]},
    )
    assert {c.action for c in found.policy_changes} == {"create", "update", "delete"}
    data = found.to_dict()
    again = PolicyPlan.from_dict(data)
    assert again.to_dict() == data
    assert again.declares_policies

    def sent(p: PolicyPlan) -> list[tuple[Any, ...]]:
        return [(c.action, c.policy_id, dict(c.body), c.takes_rules) for c in p.policy_changes]

    assert sent(again) == sent(found)
    assert all(isinstance(c, PolicyObjectChange) for c in again.changes[:4])


def test_the_fingerprint_covers_descriptions_and_the_repository_listing() -> None:
    one = named("p", "x", description="a")
    two = named("p", "x", description="b")
    assert fingerprint([one], {}, []) != fingerprint([two], {}, [])
    assert fingerprint([one], {}, [], REPOS) != fingerprint([one], {}, [], REPOS[:2])
    assert fingerprint([one], {}, [], REPOS) != fingerprint([one], {}, [])


def test_the_default_policy_never_gets_repository_ids_even_when_it_lists_some() -> None:
    listed = LivePolicy("default", None, "unlabeled_repos", "balanced", ("r-api",), org=ORG)
    assert plan([declare("default")], [listed]).policy_changes == ()
