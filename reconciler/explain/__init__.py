"""``explain``: which rules decide one alert, in the order Socket applies them.

``alert`` holds what is known about the alert, ``match`` how one selector field matches it
(three-valued: a field the alert does not state is *unknown*, never a match), ``precedence``
the order matching rules are applied in (legacy triage: the tool's documented model; Alert
Policies: file order, first match wins), ``report`` the explanation of one alert against the
files and, optionally, the org's live rules, and ``text`` how a person reads it. Under Alert
Policies: ``policy_alert`` (the alert's selector fields), ``policies`` (governing policy, rules
in evaluation order, resolutions, baseline: the decision), ``policy_files`` and ``policy_live``
(the files' and the org's side), ``policy_text``; selectors match by
``vocab.policies.matching``. docs/matching.md describes all of it.
"""

from typing import Final

FORMATS: Final = ("text", "json")  # explain's --format choices
