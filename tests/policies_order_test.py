from __future__ import annotations

import itertools

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from reconciler.policies.order import Step, apply_steps, longest_increasing, plan_order


def _lis_length(values: list[int]) -> int:
    """An independent O(n^2) longest strictly increasing subsequence length."""
    best = [1] * len(values)
    for i in range(len(values)):
        for j in range(i):
            if values[j] < values[i]:
                best[i] = max(best[i], best[j] + 1)
    return max(best, default=0)


@pytest.mark.parametrize(
    ("values", "length"),
    [([], 0), ([5], 1), ([1, 2, 3], 3), ([3, 2, 1], 1), ([3, 0, 1, 4, 2], 3), ([2, 2, 2], 1)],
)
def test_longest_increasing_is_increasing_and_longest(values: list[int], length: int) -> None:
    run = longest_increasing(values)
    assert len(run) == length
    assert run == sorted(run)
    picked = [values[i] for i in run]
    assert all(a < b for a, b in itertools.pairwise(picked))


def test_an_already_ordered_policy_needs_no_steps() -> None:
    assert plan_order(["a", "b", "c"], ["a", "b", "c"]) == []


def test_a_reversal_moves_all_but_one() -> None:
    steps = plan_order(["a", "b", "c", "d"], ["d", "c", "b", "a"])
    assert [s.kind for s in steps] == ["move"] * 3
    assert apply_steps(["a", "b", "c", "d"], steps) == ["d", "c", "b", "a"]


def test_one_rule_moved_to_the_top_is_one_move_before_the_first_rule_that_stays() -> None:
    steps = plan_order(["a", "b", "c", "d"], ["d", "a", "b", "c"])
    assert steps == [Step("d", "move", before="a")]


def test_creates_chain_after_their_predecessor_in_the_files() -> None:
    steps = plan_order(["a", "b"], ["a", "x", "y", "b"])
    assert steps == [Step("x", "create", after="a"), Step("y", "create", after="x")]


def test_a_policy_of_new_rules_goes_after_rules_this_tool_does_not_own() -> None:
    steps = plan_order(["dashboard"], ["x", "y"])
    assert steps == [Step("x", "create", position="last"), Step("y", "create", after="x")]
    assert apply_steps(["dashboard"], steps) == ["dashboard", "x", "y"]


def test_rules_outside_the_files_are_never_moved_nor_anchors() -> None:
    live = ["gone", "a", "foreign", "b"]
    steps = plan_order(live, ["b", "a"])
    assert all(s.key in ("a", "b") for s in steps)
    assert all(
        s.after not in ("gone", "foreign") and s.before not in ("gone", "foreign") for s in steps
    )


def test_duplicate_keys_are_refused() -> None:
    with pytest.raises(ValueError) as raised:
        plan_order(["a", "a"], ["a"])
    assert str(raised.value) == "rule keys must be unique"


def test_a_step_needs_exactly_one_placement() -> None:
    with pytest.raises(ValueError) as raised:
        Step("a", "move", after="b", before="c")
    assert str(raised.value) == "a step has exactly one placement"
    with pytest.raises(ValueError, match="exactly one"):
        Step("a", "move")


def test_apply_steps_refuses_a_position_the_server_does_not_know() -> None:
    with pytest.raises(ValueError) as raised:
        apply_steps(["a"], [Step("x", "create", position="middle")])
    assert str(raised.value) == "unknown position 'middle'"


def test_apply_steps_refuses_an_anchor_that_is_not_there() -> None:
    with pytest.raises(ValueError, match="not in the list"):
        apply_steps(["a"], [Step("x", "create", after="nope")])


@st.composite
def orders(draw: st.DrawFn) -> tuple[list[str], list[str]]:
    """A live order and a desired order sharing some keys; extra live keys are deleted or
    foreign, extra desired keys are creates."""
    live = [f"l{i}" for i in range(draw(st.integers(0, 12)))]
    live = draw(st.permutations(live))
    kept = draw(st.lists(st.sampled_from(live), unique=True)) if live else []
    creates = [f"n{i}" for i in range(draw(st.integers(0, 6)))]
    desired = draw(st.permutations(kept + creates))
    return list(live), list(desired)


@settings(max_examples=400, deadline=None)
@given(orders())
def test_applying_the_steps_gives_the_desired_order(case: tuple[list[str], list[str]]) -> None:
    live, desired = case
    steps = plan_order(live, desired)
    result = apply_steps(live, steps)
    wanted = set(desired)
    assert [k for k in result if k in wanted] == desired
    # Rules the files do not mention keep their relative order: nobody moved them.
    assert [k for k in result if k not in wanted] == [k for k in live if k not in wanted]


@settings(max_examples=400, deadline=None)
@given(orders())
def test_the_number_of_moves_is_minimal(case: tuple[list[str], list[str]]) -> None:
    live, desired = case
    steps = plan_order(live, desired)
    where = {k: i for i, k in enumerate(desired)}
    kept = [where[k] for k in live if k in where]
    moves = [s for s in steps if s.kind == "move"]
    creates = [s for s in steps if s.kind == "create"]
    assert len(moves) == len(kept) - _lis_length(kept)
    assert len(creates) == len(desired) - len(kept)


@settings(max_examples=200, deadline=None)
@given(orders())
def test_every_anchor_is_in_place_when_its_step_is_sent(case: tuple[list[str], list[str]]) -> None:
    live, desired = case
    current = list(live)
    for step in plan_order(live, desired):
        anchor = step.after or step.before
        assert anchor is None or (anchor in current and anchor in desired)
        current = apply_steps(current, [step])


@settings(max_examples=300, deadline=None)
@given(
    st.permutations(range(8)).flatmap(
        lambda p: st.tuples(st.just(list(p)), st.lists(st.integers(0, 1), min_size=8, max_size=8))
    )
)
def test_among_the_longest_the_bonus_decides(case: tuple[list[int], list[int]]) -> None:
    values, bonus = case
    best = (0, 0)
    for mask in range(1 << len(values)):
        picked = [i for i in range(len(values)) if mask >> i & 1]
        if all(values[a] < values[b] for a, b in itertools.pairwise(picked)):
            best = max(best, (len(picked), sum(bonus[i] for i in picked)))
    run = longest_increasing(values, bonus)
    assert all(values[a] < values[b] for a, b in itertools.pairwise(run))
    assert (len(run), sum(bonus[i] for i in run)) == best


def test_rules_updated_anyway_are_the_ones_that_move() -> None:
    assert plan_order(["a", "b"], ["b", "a"]) == [Step("b", "move", before="a")]
    assert plan_order(["a", "b"], ["b", "a"], rather_move={"a"}) == [Step("a", "move", after="b")]
