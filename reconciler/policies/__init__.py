"""Socket's Alert Policies API: policy rules in rank order, resolutions, migration, translate.

The vocabulary (``wire``, ``model``, ``selectors``, ``checks``) sits below ``rules``, which reads
files into it; the rest is the provider (``provider``), above ``engine``. This file imports
nothing, so that importing the vocabulary never loads the provider.

wire         every constant of the contract; each (unknown) that code depends on is one choice
model        desired and live policies, rules, resolutions, migration status, translate answers
selectors    vigil selectors: canonical form, validation with paths, "covers" and shadowing
checks       the contract's limits for rules and resolutions in files, as problems with paths
order        the fewest moves from the live order to the file order (longest kept subsequence)
trailer      the note sent: human text plus a sealed provenance trailer, within the limit
changes      rule create / update / delete / move, resolution create / delete / replace
resolutions  desired vs live resolutions
diff         desired vs live for a whole org -> PolicyPlan (with ``plan``: summary, safety)
statuses     refusals worded for users (scope, migration gate, ...)
client       the endpoints over ``http.client.HttpClient``: paging, dry runs, translate batches
requests     each change as its request (a move and an update share one PUT)
rehearse     the dry run of every write, refusals at the files' FILE:LINE
apply        a PolicyPlan sent: ordered runs as ``engine.lanes``, lost creates found again
recover      what a create whose answer was lost made, found in a fresh listing
outcomes     applied / not applied / outcome unknown, per change
snapshot     the org's live state at one moment; a stale plan is refused
verify       after apply: outcomes settled, content and exact order checked
audit        one audit line per confirmed change
translate    legacy triage-style rules translated by the server (the translate endpoint)
orgs         one org's desired state in file order, its live state, its plan
migrate      legacy rules -> native policy rules and resolutions (``migrate``)
provider     the ``engine.provider.Provider``: plan, stale check, gate, rehearsal, apply, verify
"""
