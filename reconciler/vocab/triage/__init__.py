"""The legacy Triage API's vocabulary: ``wire`` (the one table of selector fields and their
spellings) and ``selector`` (the selector key, live rules, normal forms).
"""
