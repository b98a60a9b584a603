"""Each Socket API's vocabulary: wire spellings, selector and model value types, limits.

It sits below ``rules`` (which reads files into it) and imports only foundations, so both
the providers (``triage``, ``policies``) and the emulator can share it.
"""
