"""The flow, once for every API; each API package supplies a ``provider.Provider``.

flow        orgs -> target -> plan -> safety -> apply -> settle -> verify -> audit -> report
provider    the protocols a provider and its org plans meet
plan        ``Plan``: every org's plan in org order, and its saved form
targets     ``TargetChoice``: the target an org is planned on, and why
outcomes    applied / not applied / outcome unknown; ``Conclusion``
audit       the audit log file each provider's lines go to
lanes       requests side by side that all stop at the first failure
orgs        which orgs a run covers
provenance  where a run comes from (commit, PR, actor), for note trailers and audit lines
planfields  reading a saved plan's fields, with where each error is
progress    progress on a terminal
"""
