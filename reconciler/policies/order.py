"""From the live rule order to the file order with the fewest moves.

Rules are evaluated in order and the first match wins, so the order in the files is part of the
desired state. The API places one rule per request (``before_rule_id`` / ``after_rule_id`` /
``position``), so every moved rule costs a request; we move as few as possible:

1. Take the live rules the files keep, in live order, and write each as its index in the files.
2. The longest increasing subsequence of those indexes is the largest set of kept rules already
   in the right relative order. They stay; every other kept rule moves. No plan can do with
   fewer moves: the rules that do not move keep their relative order, so they must form an
   increasing subsequence, and this one is longest. Among the longest, we keep the one that
   leaves rules being updated anyway to move, as a move and an update share one request.
3. Walk the files' order. Each rule not yet in place (a move, or a create) goes immediately
   after its predecessor in the files, which is in place by then (it stayed, or it was placed
   by an earlier step). The first rule goes immediately before the first rule that stays; when
   none stays, it goes to ``UNANCHORED_POSITION``.

Rules the files do not mention (rules to delete, and rules this tool does not own under
``prune: false``) are never an anchor and never moved; the steps order the files' rules among
themselves and leave the others where they are. ``apply_steps`` replays steps on a list exactly
as the server places rules, and is what the tests and the emulator agree on.
"""

from __future__ import annotations

from collections.abc import Collection, Hashable, Sequence
from dataclasses import dataclass
from typing import Generic, Literal, TypeVar

from reconciler.vocab.policies.wire import POSITION_FIRST, POSITION_LAST, UNANCHORED_POSITION

K = TypeVar("K", bound=Hashable)


@dataclass(frozen=True)
class Step(Generic[K]):
    """Place ``key`` (a new rule, or a live rule moving). Exactly one of after/before/position."""

    key: K
    kind: Literal["create", "move"]
    after: K | None = None
    before: K | None = None
    position: str | None = None

    def __post_init__(self) -> None:
        given = [self.after is not None, self.before is not None, self.position is not None]
        if sum(given) != 1:
            raise ValueError("a step has exactly one placement")


def longest_increasing(values: Sequence[int], bonus: Sequence[int] | None = None) -> list[int]:
    """Indexes (into ``values``) of one longest strictly increasing subsequence, in order.

    ``values`` are non-negative integers (positions in the files). Among the longest,
    the one with the largest total ``bonus`` wins, then the one ending earliest, so the result
    is deterministic. O(n log n): a Fenwick tree of prefix maxima over the values.

    >>> longest_increasing([3, 0, 1, 4, 2])
    [1, 2, 3]
    >>> longest_increasing([1, 0], bonus=[0, 1])  # both are longest; the bonus picks 0
    [1]
    """
    size = max(values, default=-1) + 1
    gains = bonus if bonus is not None else [0] * len(values)
    tree: list[tuple[int, int, int]] = [(0, 0, 0)] * (size + 1)  # (length, bonus, -end - 1)
    parent: list[int] = []  # each index's predecessor in its run, -1 for none
    best: tuple[int, int, int] = (0, 0, 0)
    for i, value in enumerate(values):
        found: tuple[int, int, int] = (0, 0, 0)
        k = value  # prefix max over values < value: Fenwick positions 1..value
        while k > 0:
            found = max(found, tree[k])
            k -= k & -k
        parent.append(-found[2] - 1)  # (0, 0, 0), no predecessor, decodes to -1 too
        mine = (found[0] + 1, found[1] + gains[i], -i - 1)
        best = max(best, mine)
        k = value + 1
        while k <= size:
            tree[k] = max(tree[k], mine)
            k += k & -k
    run: list[int] = []
    i = -best[2] - 1  # -1 when there are no values
    while i != -1:
        run.append(i)
        i = parent[i]
    return run[::-1]


def plan_order(
    live: Sequence[K], desired: Sequence[K], *, rather_move: Collection[K] = ()
) -> list[Step[K]]:
    """The steps that turn ``live`` into ``desired``, fewest moves first.

    ``live``: every live rule in evaluation order. ``desired``: the rules the files want, in file
    order; a key not in ``live`` is a create. Keys must be unique in each sequence. Of several
    ways with the fewest moves, the one that moves most of ``rather_move`` wins: rules that are
    updated anyway, whose move then rides on the same request.

    >>> plan_order(["a", "b", "c"], ["c", "a", "new", "b"])
    [Step(key='c', kind='move', after=None, before='a', position=None), \
Step(key='new', kind='create', after='a', before=None, position=None)]
    """
    where = {key: i for i, key in enumerate(desired)}
    if len(where) != len(desired) or len(set(live)) != len(live):
        raise ValueError("rule keys must be unique")
    live_keys = set(live)
    kept = [key for key in live if key in where]
    bonus = [0 if key in rather_move else 1 for key in kept]
    stays = {kept[i] for i in longest_increasing([where[key] for key in kept], bonus)}
    first_stay = next((key for key in desired if key in stays), None)
    steps: list[Step[K]] = []
    for i, key in enumerate(desired):
        if key in stays:
            continue
        kind: Literal["create", "move"] = "move" if key in live_keys else "create"
        if i:
            steps.append(Step(key, kind, after=desired[i - 1]))
        elif first_stay is not None:
            steps.append(Step(key, kind, before=first_stay))
        else:
            steps.append(Step(key, kind, position=UNANCHORED_POSITION))
    return steps


def apply_steps(order: Sequence[K], steps: Sequence[Step[K]]) -> list[K]:
    """Replay ``steps`` on ``order`` as the server places rules; an unknown anchor is an error.

    >>> apply_steps(["a", "b"], [Step("b", "move", position="first"), Step("x", "create", after="b")])
    ['b', 'x', 'a']
    """  # noqa: E501
    result = list(order)
    for step in steps:
        if step.key in result:
            result.remove(step.key)
        if step.after is not None:
            result.insert(_index(result, step.after) + 1, step.key)
        elif step.before is not None:
            result.insert(_index(result, step.before), step.key)
        elif step.position == POSITION_FIRST:
            result.insert(0, step.key)
        elif step.position == POSITION_LAST:
            result.append(step.key)
        else:
            raise ValueError(f"unknown position {step.position!r}")
    return result


def _index(order: list[K], anchor: K) -> int:
    try:
        return order.index(anchor)
    except ValueError:
        raise ValueError(f"anchor {anchor!r} is not in the list") from None
