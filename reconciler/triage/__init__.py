"""Socket's legacy Triage API: one ``engine.provider.Provider`` over ``/triage/alerts``.

The vocabulary (``wire``, ``selector``) sits below ``rules``, which reads files into it; the
rest is the provider, above ``engine``. This file imports nothing, so that importing the
vocabulary never loads the provider.

wire        the selector fields, states and limits of the API: one table
selector    selectors, live rules, listings; grouping and ordering live rules
client      the endpoints over ``http.client.HttpClient``: paging, batches, tokens per org
statuses    refusals worded for users (scopes, tokens, read-only orgs)
changes     Create / Update / Delete, sorted, with the saved form
plan        diff(desired, live) -> TriagePlan, with octoDNS-style safety
listing     an org's live rules read (progress on a terminal) and planned
stale       a plan whose org changed since is refused (saved, and right before writing)
apply       changes in POST batches and parallel deletes, no blind retry of a create
recent      the listing after apply, from the rules changed since
verify      after apply: outcomes settled, the org checked against the plan
audit       one audit line per confirmed change (a create's once a listing names it)
export      live rules -> a rule file
provider    the ``engine.provider.Provider``
"""
