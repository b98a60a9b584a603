"""Legacy triage rules -> Alert Policies rules and resolutions, through Socket's translate.

The server is the authority on selector syntax: this module never guesses a selector key. It
sends each rule as the legacy entry the Triage API would take (camelCase, ``state``, the human
note), in batches of at most 100 (``PoliciesClient.translate``), and reads back for each one
either a request body (a policy rule for the default policy, or a resolution) or a code and a
reason for why it has no equivalent.

``translate_rules`` is shared by ``plan`` (triage-style rules in files under the Alert Policies
target) and ``migrate`` (an org's legacy rules, written out as native policy rules).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from reconciler.errors import ApiError
from reconciler.policies.client import PoliciesClient
from reconciler.vocab.policies.checks import HUMAN_COMMENT_MAX, HUMAN_NOTE_MAX
from reconciler.vocab.policies.model import (
    DesiredResolution,
    DesiredRule,
    Translation,
    Untranslatable,
)
from reconciler.vocab.policies.selectors import MAX_DEPTH, VigilSelector, nesting
from reconciler.vocab.policies.wire import (
    DEFAULT_POLICY_ID,
    REASON_DEFAULT,
    TARGET_RESOLUTION,
    TARGET_RULE,
)

Desired = DesiredRule | DesiredResolution


@dataclass(frozen=True)
class Outcome:
    """What translate said about one entry: ``desired`` (a rule or a resolution, its note in
    full as the server echoed it) or ``refused`` (the server's code and reason)."""

    desired: Desired | None = None
    refused: Untranslatable | None = None

    @property
    def note_limit(self) -> int:
        """How long the human note may be once the provenance trailer is appended."""
        return HUMAN_COMMENT_MAX if isinstance(self.desired, DesiredResolution) else HUMAN_NOTE_MAX

    @property
    def note(self) -> str:
        desired = self.desired
        if isinstance(desired, DesiredRule):
            return desired.note
        return desired.comment if desired is not None else ""


def translate_rules(
    client: PoliciesClient, org: str, entries: Sequence[Mapping[str, Any]]
) -> list[Outcome]:
    """One ``Outcome`` per legacy camelCase entry, in the order given.

    An entry the answer leaves out of both lists is an ``ApiError``: nothing is guessed.
    """
    if not entries:
        return []
    done, refused = client.translate(org, entries)
    outcomes: dict[int, Outcome] = {}
    for item in done:
        outcomes[item.index] = Outcome(desired=_desired(item))
    for miss in refused:
        outcomes[miss.index] = Outcome(refused=miss)
    missing = [i for i in range(len(entries)) if i not in outcomes]
    if missing:
        raise ApiError(
            f"the translate answer for org {org!r} says nothing about {len(missing)} of "
            f"{len(entries)} entries (the first is entry {missing[0]}); nothing was written"
        )
    return [outcomes[i] for i in range(len(entries))]


def _desired(item: Translation) -> Desired:
    """A translation's body as a desired value; a shape we cannot read is an ``ApiError``."""
    body = item.body
    selector = body.get("vigil_selector")
    if not isinstance(selector, Mapping):
        raise ApiError(f"translation {item.index} has no vigil_selector object")
    if nesting(selector) > MAX_DEPTH:
        raise ApiError(f"translation {item.index} has a vigil_selector nested too deeply")
    text = body.get("note") if item.target == TARGET_RULE else body.get("comment")
    human = text.strip() if isinstance(text, str) else ""
    if item.target == TARGET_RESOLUTION:
        reason_text = body.get("reason_text")
        return DesiredResolution(
            selector=VigilSelector.from_wire(selector),
            reason=str(body.get("reason") or REASON_DEFAULT),
            reason_text=reason_text.strip() or None if isinstance(reason_text, str) else None,
            comment=human,
        )
    if item.target != TARGET_RULE:
        raise ApiError(f"translation {item.index} has an unknown target {item.target!r}")
    name, action = body.get("name"), body.get("action")
    if not isinstance(name, str) or not isinstance(action, str):
        raise ApiError(f"translation {item.index} has no rule name or action")
    return DesiredRule(
        name=name.strip(),
        selector=VigilSelector.from_wire(selector),
        action=action,
        note=human,
        policy=DEFAULT_POLICY_ID,  # translate targets the default policy (contract 3.16)
    )
