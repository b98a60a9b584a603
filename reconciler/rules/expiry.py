"""``expires``: a date after which a rule (of any kind) counts as removed from the files."""

from __future__ import annotations

import datetime as dt
from typing import Final

EXPIRY_WARNING_DAYS: Final = 14


def expiry_warning(expires: dt.date | None, today: dt.date) -> str | None:
    """The warning for a rule that expired or expires soon, or None.

    >>> expiry_warning(dt.date(2026, 1, 3), dt.date(2026, 1, 1))
    'rule expires on 2026-01-03 (in 2 days)'
    >>> expiry_warning(dt.date(2025, 12, 31), dt.date(2026, 1, 1))
    'rule expired on 2025-12-31; it counts as removed'
    """
    if expires is None:
        return None
    days = (expires - today).days
    if days < 0:
        return f"rule expired on {expires}; it counts as removed"
    if days <= EXPIRY_WARNING_DAYS:
        when = "today" if days == 0 else f"in {days} day{'s' if days != 1 else ''}"
        return f"rule expires on {expires} ({when})"
    return None
