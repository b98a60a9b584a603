"""The Alert Policies API's vocabulary: ``wire`` (every constant of the contract), ``model``
(desired and live policies, rules, resolutions, migration status), ``selectors`` (vigil
selectors) and ``checks`` (the contract's limits for rules and resolutions in files).
"""
