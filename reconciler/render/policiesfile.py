"""An org's live Alert Policies state as a native rule file, written by ``export``.

The file pins ``target: alert-policies``, carries the ``$schema`` line editors read and declares
the org's policies (``policies:``, the default policy first), then each policy's rules in rank
order (``policy:`` on the rules of named policies) and the resolutions. Notes, descriptions and
comments are the human parts: the provenance trailers are not written.
"""

from __future__ import annotations

from typing import Any, Final

import yaml

from reconciler.api import ALERT_POLICIES
from reconciler.policies.export import NativeState, policy_fields
from reconciler.policies.migrate import resolution_fields, rule_fields
from reconciler.render.common import count
from reconciler.triage.export import SCHEMA_URL

HEADER: Final = (
    f"# yaml-language-server: $schema={SCHEMA_URL}\n"
    "# Exported by `socket-triage export` from the live alert policies of org {org}.\n"
    "# Each policy's rules are in evaluation order: the first matching rule decides.\n"
)


def native_file(org: str, state: NativeState) -> str:
    """The rule file for ``org``'s ``state``; ``policies:`` is always written (even empty):
    the file declares the org's whole set of policies.

    >>> text = native_file("acme", NativeState())
    >>> text.splitlines()[3:]
    ['org: acme', 'target: alert-policies', 'policies: []']
    """
    document: dict[str, Any] = {"org": org, "target": ALERT_POLICIES}
    document["policies"] = [policy_fields(policy) for policy in state.policies]
    if state.rules:
        document["policy_rules"] = [rule_fields(rule) for rule in state.rules]
    if state.resolutions:
        document["resolutions"] = [resolution_fields(res) for res in state.resolutions]
    text = HEADER.format(org=org)
    if state.left_out:
        text += (
            f"# {count(len(state.left_out), 'live item')} could not be written here; export "
            "listed each, with its reason.\n"
        )
    return text + yaml.safe_dump(document, sort_keys=False, allow_unicode=True, width=100)
