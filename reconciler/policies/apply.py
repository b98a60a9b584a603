"""Send a PolicyPlan: ordered where placement needs it, concurrent where it does not.

Policy objects first and last, rules and resolutions between, so that stopping part-way leaves a
policy, rule or resolution too many, never too few:

0. The policy writes but deletes, one at a time (they are few; ``policy_order``): the updates
   that add no repository, then the creates, then the updates that add one. A repository moving
   between two named policies thus leaves the first before the second takes it: it never holds
   two policy labels (the default policy governs it in between); a policy to delete first gives
   up the repositories another policy takes (``requests.releases``: an update of its own, in
   the report and the audit log too, since its delete comes last). A create whose answer is lost
   is never sent again: after the ``settle`` wait one policy listing looks for it by name
   (``recover.find_policies``); found, it is applied and its rules go on with its id; not
   found, it keeps its unknown outcome and its rules are not sent (not applied).
1. Writes that add or change, as independent lanes run ``concurrency`` at a time: the creates
   and moves in plan order, as runs (``runs``: a step placed next to a rule an earlier step
   placed follows that step in its lane; a run starts next to a rule that stays, so runs are
   independent); each other update; each resolution create (a replace's create half).
2. Once all of phase 1 is confirmed: every rule delete and resolution delete (a replace's
   delete half), concurrently. Rules about to be deleted are never an anchor, so their
   deletes do not touch the order.
3. Once all of that is confirmed: the policy deletes, one at a time (each takes its rules and
   its repository label; its repositories go back to the default policy).

A rule change in a policy the plan creates carries ``new_policy_ref(name)`` as its policy id;
it is sent to the id that policy's create returned (``requests.bound``).

A move and an update of the same rule are one PUT. Updates, moves and deletes are idempotent
and the HTTP layer retries them. A real create is never sent twice in one run: when its answer
is lost (``OutcomeUnknownError``) its lane goes on at once, the next step placed where the lost
rule was to go (relative to what is certain). After phase 1 one wait of ``settle`` seconds (the
request timeout, so that a request still queued at the server has committed) and one listing
per policy find every lost create (``recover``): what is found is applied and put back in its
place (``reorder``, a move), the rest keeps its unknown outcome and the apply ends non-zero,
since a request may commit later still. So lost answers cost one timeout together, not one each.

``apply_org`` never raises for an API failure or Ctrl-C: the ``PolicyResult`` says what was
applied, what was not and what is unknown (``verify.conclude`` settles the rest).
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import TypeVar

from reconciler.engine.lanes import Lane, Stop, parallel, run_lanes
from reconciler.errors import ApplyError, OutcomeUnknownError, ReconcilerError
from reconciler.policies import recover
from reconciler.policies.changes import (
    Placement,
    PolicyObjectChange,
    ResolutionChange,
    RuleChange,
    created_policy_name,
)
from reconciler.policies.client import PoliciesClient, placement_body
from reconciler.policies.outcomes import Item, Listener, PolicyResult
from reconciler.policies.plan import PolicyPlan
from reconciler.policies.rehearse import rehearse
from reconciler.policies.requests import (
    PolicyChange,
    RuleKey,
    bound,
    create_resolution,
    delete_resolution,
    policy_order,
    releases,
    riding_updates,
    rule_key,
    send_policy,
    send_rule,
    unaddressable,
)
from reconciler.policies.snapshot import Snapshot
from reconciler.vocab.policies.model import LiveResolution, LiveRule

DEFAULT_CONCURRENCY = 8
T = TypeVar("T")


@dataclass
class _Run:
    client: PoliciesClient
    plan: PolicyPlan
    result: PolicyResult
    concurrency: int
    settle: float
    old_rules: frozenset[str]
    old_resolutions: frozenset[str]
    riding: dict[RuleKey, RuleChange] = field(default_factory=dict)
    created: dict[str, dict[str, str]] = field(default_factory=dict)  # policy -> name -> id
    replaced: dict[int, LiveResolution] = field(default_factory=dict)  # replace -> its new half
    lost: list[ResolutionChange] = field(default_factory=list)  # creates whose answer was lost
    lost_rules: dict[int, RuleChange] = field(default_factory=dict)  # the same, by id(change)
    lanes: list[list[RuleChange]] = field(default_factory=list)  # phase 1's, as sent
    old_policies: frozenset[str] = frozenset()  # the policy ids listed before the apply
    policy_ids: dict[str, str] = field(default_factory=dict)  # new_policy_ref -> created id
    lost_policies: list[PolicyObjectChange] = field(default_factory=list)  # lost creates

    def send(self, changes: Sequence[PolicyChange], write: Callable[[], T]) -> T:
        """One request for ``changes``; a failure is recorded against them, then raised."""
        self.result.sending(changes)
        try:
            return write()
        except BaseException as exc:
            for change in changes:
                self.result.failed(change, exc)
            raise

    # --- phase 0 and 3: the policy objects ------------------------------------------------------

    def policy_writes(self, changes: Sequence[PolicyObjectChange]) -> None:
        """Send ``changes`` one at a time, from a worker thread so that Ctrl-C lets the request
        in flight finish (its outcome then known); stop at the first failure."""
        parallel(changes, self.send_policy, 1)

    def send_policy(self, change: PolicyObjectChange) -> None:
        try:
            item = self.send([change], lambda: send_policy(self.client, change))
        except OutcomeUnknownError:
            if change.action != "create":
                raise  # an update or delete is retried by the HTTP layer: this is a failure
            with self.result.lock:
                self.lost_policies.append(change)
            return
        if change.action == "create":
            assert item is not None
            self.policy_ids[change.policy_id] = item.id
        self.result.done(change, item)  # a delete answered 404 is gone, as asked: done too

    def recover_policies(self) -> None:
        """Find the policy creates whose answer was lost: one wait, one policy listing. Found,
        a create is applied and its rules go on; else it keeps its unknown outcome."""
        if not self.lost_policies:
            return
        self.result.wait_for_lost_answers(self.settle)
        found = recover.find_policies(
            self.client, self.plan.org, self.lost_policies, self.old_policies
        )
        for change in self.lost_policies:
            if id(change) in found:
                self.policy_ids[change.policy_id] = found[id(change)].id
                self.result.done(change, found[id(change)])

    def sendable(self, change: RuleChange) -> bool:
        """Whether ``change``'s policy exists: not one whose create failed or is unknown."""
        return created_policy_name(change.policy_id) is None or change.policy_id in self.policy_ids

    # --- phase 1 -------------------------------------------------------------------------------

    def placements(self, changes: Sequence[RuleChange]) -> Lane:
        def lane(stop: Stop) -> None:
            sent: list[RuleChange] = []  # the steps done or lost, in order, for ``reorder``
            with self.result.lock:
                self.lanes.append(sent)
            where: Placement | None = None  # a lost create's place, for the next step to take
            for change in changes:
                if stop():
                    return
                # Next to a rule whose create was lost, a step goes where that rule was to go:
                # placed relative to what is certain, it is right whatever the lost one did.
                step = change if where is None else dataclasses.replace(change, placement=where)
                if change.action == "create":
                    lost = not self.create_rule(change, step)
                else:
                    self.change_rule(change, step)
                    lost = False
                sent.append(change)
                where = step.placement if lost else None

        return lane

    def create_rule(self, change: RuleChange, step: RuleChange) -> bool:
        """Send a rule create (``step``: placed where it can be); False when its answer was
        lost: it is never sent again in this run, and ``recover`` looks for it."""
        ids = self.created[change.policy_id]
        try:
            sent = bound(step, self.policy_ids)
            item = self.send([change], lambda: send_rule(self.client, sent, ids=ids))
        except OutcomeUnknownError:
            with self.result.lock:
                self.lost_rules[id(change)] = change
            return False
        assert item is not None
        ids[change.name] = item.id
        self.result.done(change, item)
        return True

    def change_rule(self, change: RuleChange, step: RuleChange | None = None) -> None:
        """An update, a move, or a move with the update riding on it; or a delete."""
        update = self.riding.get(rule_key(change)) if change.action == "move" else None
        together = [change] if update is None else [change, update]
        ids = self.created.get(change.policy_id, {})
        sent = bound(step or change, self.policy_ids)
        item = self.send(together, lambda: send_rule(self.client, sent, update=update, ids=ids))
        for each in together:
            self.result.done(each, item)

    def create_resolution(self, change: ResolutionChange) -> Lane:
        def lane(stop: Stop) -> None:
            if stop():
                return
            try:
                item = self.send([change], lambda: create_resolution(self.client, change))
            except OutcomeUnknownError:
                with self.result.lock:
                    self.lost.append(change)
                return
            self.created_resolution(change, item)

        return lane

    def created_resolution(self, change: ResolutionChange, item: LiveResolution) -> None:
        if change.action == "replace":
            self.replaced[id(change)] = item  # applied once the old one is deleted too
            self.result.half_done(change, item)
        else:
            self.result.done(change, item)

    def recover(self) -> None:
        """Find the creates whose answer was lost: one wait, one listing per policy and one of
        resolutions for all of them. What is found is applied; the rest keeps its unknown
        outcome (never sent again in this run: it may still commit)."""
        if not self.lost_rules and not self.lost:
            return
        self.result.wait_for_lost_answers(self.settle)
        org = self.plan.org
        found: dict[int, LiveRule] = {}
        orders: dict[str, list[str]] = {}  # policy -> its rule ids, in order
        for policy in sorted({c.policy_id for c in self.lost_rules.values()}):
            lost = [c for c in self.lost_rules.values() if c.policy_id == policy]
            live = self.policy_ids.get(policy, policy)
            held, orders[policy] = recover.find_rules(self.client, live, lost, self.old_rules)
            found.update(held)
        for key, rule in found.items():
            change = self.lost_rules[key]
            self.created[change.policy_id][change.name] = rule.id
            self.result.done(change, rule)
        self.reorder(found, orders)
        if self.lost:
            seen = recover.find_resolutions(self.client, org, self.lost, self.old_resolutions)
            for res in self.lost:
                if id(res) in seen:
                    self.created_resolution(res, seen[id(res)])

    def reorder(self, found: Mapping[int, LiveRule], orders: dict[str, list[str]]) -> None:
        """Put each lost create that did commit right before the next rule of its lane.

        The steps after it were placed where it was to go, so it may sit after them: walking
        the lane backwards, each goes before the next step that exists (already in place),
        with a move unless the listing (``orders``) shows it there already.
        """
        for lane in self.lanes:
            for i in reversed(range(len(lane))):
                change = lane[i]
                if id(change) not in found:
                    continue
                later = next((c for c in lane[i + 1 :] if self._exists(c, found)), None)
                if later is None:
                    continue  # nothing after it exists: it is where it was sent, in place
                ids = self.created[change.policy_id]
                anchor = later.existing.id if later.existing else ids[later.name]
                rule_id, order = found[id(change)].id, orders[change.policy_id]
                if rule_id in order and anchor in order:
                    if order.index(rule_id) + 1 == order.index(anchor):
                        continue
                    order.remove(rule_id)
                    order.insert(order.index(anchor), rule_id)
                body = placement_body(Placement(before=later.name, anchor_id=anchor), ids)
                live = self.policy_ids.get(change.policy_id, change.policy_id)
                self.client.update_rule(self.plan.org, live, rule_id, body)

    def _exists(self, change: RuleChange, found: Mapping[int, LiveRule]) -> bool:
        return id(change) not in self.lost_rules or id(change) in found

    # --- phase 2 -------------------------------------------------------------------------------

    def delete_rule(self, change: RuleChange) -> Lane:
        def lane(stop: Stop) -> None:
            if not stop():
                self.change_rule(change)  # already gone (404) is done too: it is gone, as asked

        return lane

    def delete_resolution(self, change: ResolutionChange) -> Lane:
        def lane(stop: Stop) -> None:
            if stop():
                return
            if change.action == "replace" and id(change) not in self.replaced:
                return  # its new half is not confirmed: keep the old one (too many, not too few)
            self.send([change], lambda: delete_resolution(self.client, change))
            self.result.done(change, self.replaced.get(id(change)))

        return lane


def runs(changes: Sequence[RuleChange]) -> list[list[RuleChange]]:
    """The creates and moves of a plan as independent runs, each in plan order.

    Every step is placed next to its predecessor in the files (the first next to the first rule
    that stays). A step whose neighbour is placed by an earlier step must follow it; a step
    placed next to a rule that stays depends on nothing, and starts a run of its own. Runs
    touch different places of the order (each rule that stays starts at most one), so they may
    be sent side by side and still give exactly the files' order.

    >>> from reconciler.policies.changes import Placement
    >>> from reconciler.vocab.policies.model import DesiredRule
    >>> from reconciler.vocab.policies.selectors import VigilSelector
    >>> def step(name, after):
    ...     rule = DesiredRule(name, VigilSelector.from_wire({"finding.alertType": name}), "warn")
    ...     return RuleChange("create", "o", "default", None, rule, placement=Placement(after))
    >>> steps = [step("a", "kept"), step("b", "a"), step("c", "also-kept"), step("d", "b")]
    >>> [[c.name for c in run] for run in runs(steps)]
    [['a', 'b', 'd'], ['c']]
    """
    found: list[list[RuleChange]] = []
    lane_of: dict[RuleKey, int] = {}
    for change in changes:
        where = change.placement
        anchor = (where.after or where.before) if where else None
        lane = lane_of.get((change.policy_id, anchor)) if anchor else None
        if lane is None:
            lane = len(found)
            found.append([])
        found[lane].append(change)
        lane_of[(change.policy_id, change.name)] = lane
    return found


def _phases(run: _Run) -> tuple[list[Lane], list[Lane]]:
    """Phases 1 and 2; a rule in a policy whose create is not confirmed is left out (not
    applied: its policy may not exist)."""
    plan = run.plan
    rules = [c for c in plan.rule_changes if run.sendable(c)]
    placed = [c for c in rules if c.action in ("create", "move")]
    first = [run.placements(steps) for steps in sorted(runs(placed), key=len, reverse=True)]
    first += [
        run.placements([c]) for c in rules if c.action == "update" and rule_key(c) not in run.riding
    ]
    first += [run.create_resolution(c) for c in plan.resolution_changes if c.action != "delete"]
    second = [run.delete_rule(c) for c in rules if c.action == "delete"]
    second += [run.delete_resolution(c) for c in plan.resolution_changes if c.action != "create"]
    return first, second


def writable(plan: PolicyPlan) -> None:
    """Refuse, before anything is sent, a change of a policy, rule or resolution without an
    id, or of a rule in a policy the plan neither has nor creates."""
    blind = unaddressable(plan)
    if blind:
        raise ApplyError(
            f"refusing the plan of org {plan.org}: {', '.join(blind)}: an item without an id can "
            "be neither changed nor deleted; nothing was written"
        )


def apply_org(
    client: PoliciesClient,
    plan: PolicyPlan,
    *,
    before: Snapshot | None = None,
    concurrency: int = DEFAULT_CONCURRENCY,
    settle: float = 0.0,
    listener: Listener | None = None,
    progress: Callable[[int], None] | None = None,
) -> PolicyResult:
    """Send one org's policy changes; see the module docstring. Never raises for an API
    failure or Ctrl-C: see the result.

    ``before`` is the listing made right before (``snapshot.unchanged_snapshot``): what existed
    then is never taken for the answer to a lost create (of a policy, rule or resolution).
    ``settle`` is how long a request whose answer was lost may still commit: the client's
    request timeout.
    """
    writable(plan)
    result = PolicyResult(plan.org, listener=listener, progress=progress)
    run = _Run(
        client,
        plan,
        result,
        max(1, concurrency),
        settle,
        before.rule_ids() if before else frozenset(c.rule_id or "" for c in plan.rule_changes),
        before.resolution_uuids()
        if before
        else frozenset(c.uuid or "" for c in plan.resolution_changes),
        riding=riding_updates(plan),
        created={c.policy_id: {} for c in plan.rule_changes},  # one per policy, before any lane
        old_policies=frozenset(p.id for p in before.policies)
        if before
        else frozenset(c.existing.id for c in plan.policy_changes if c.existing),
    )
    result.releases = releases(plan.policy_changes)
    writes, deletes = policy_order(plan.policy_changes, result.releases)
    try:
        run.policy_writes(writes)
        run.recover_policies()
        first, second = _phases(run)
        run_lanes(first, run.concurrency)
        run.recover()
        run_lanes(second, run.concurrency)
        run.policy_writes(deletes)
    except ReconcilerError as exc:
        result.error = exc
    except KeyboardInterrupt:
        result.interrupted = True
    return result


class _Report:
    def __init__(self, done: Callable[[PolicyChange], None]) -> None:
        self._done = done

    def applied(self, change: PolicyChange, item: Item | None) -> None:
        self._done(change)

    def half_done(self, change: ResolutionChange, item: LiveResolution) -> None:
        """Told again, as applied, once the delete half is confirmed too."""


def apply_plan(
    client: PoliciesClient,
    plan: PolicyPlan,
    *,
    dry_run: bool = False,
    done: Callable[[PolicyChange], None] | None = None,
) -> int:
    """Send ``plan`` one request at a time and raise the first failure; the requests sent.

    A library convenience (the CLI uses ``apply_org`` with a rehearsal, audit and verification
    around it). ``dry_run`` rehearses instead and raises the first refusal.
    """
    if dry_run:
        rehearsal = rehearse(client, plan, concurrency=1)
        if rehearsal.refused:
            raise rehearsal.refused[0].error
        return rehearsal.sent
    result = apply_org(client, plan, concurrency=1, listener=_Report(done) if done else None)
    if result.interrupted:
        raise KeyboardInterrupt
    if result.error is not None:
        raise result.error
    return result.requests
