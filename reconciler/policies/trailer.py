"""The note sent with a rule or resolution: the human text, then a sealed provenance trailer.

Alert Policies limit a rule's note to 256 characters and a resolution's comment to 1024, the
trailer included (counted in UTF-16 code units, ``reconciler.text``). ``fit_note`` makes the
two fit without ever cutting the human text (``checks`` keeps that short enough) or the
trailer's marker and seal (they say the item is ours).
"""

from __future__ import annotations

from collections.abc import Callable

from reconciler import notes, text
from reconciler.errors import Location

# The trailer for an item's note: given where it is written in the files and the seal that binds
# the trailer to its org and identity, the provenance line (``notes.trailer(fields, seal)``).
TrailerFn = Callable[[Location | None, str], str | None]


def fit_note(human: str, trailer: str | None, limit: int) -> str:
    """The note to send: the human text and as much of the trailer as fits in ``limit``.

    The trailer loses whole fields from its end, never its marker or its seal (ownership), and
    the human text is never cut (``checks`` keeps it short enough for the shortest trailer).

    >>> line = notes.trailer([("source", "a.yaml:3"), ("commit", "0123abc")], "0123456789ab")
    >>> fit_note("why", line, 60)
    'why\\n\\n[socket-triage] source=a.yaml:3 sel=0123456789ab'
    """
    note = notes.compose(human, trailer)
    parsed = notes.parse(trailer) if trailer else None
    if parsed is None or text.units(note) <= limit:
        return note
    fields = list(parsed.fields)
    while fields and text.units(note) > limit:
        fields.pop()
        note = notes.compose(human, notes.trailer(fields, parsed.seal))
    return note
