"""Fractional-index order keys for policy rules, as Socket's ``rank`` field uses them.

Socket orders rules by a base62 ``fractional-indexing`` key (rocicorp's library): an integer part
whose first letter gives its length (``a``..``z`` for 2..27 characters, ``A``..``Z`` for the
negative ones), then an optional fraction with no trailing ``0``. Keys compare as plain ASCII
strings, so a new key can always be made strictly between two others without renumbering.
This is a fresh implementation of the published algorithm, written from its description.

>>> key_between(None, None)
'a0'
>>> key_between('a0', None), key_between(None, 'a0'), key_between('a1', 'a2')
('a1', 'Zz', 'a1V')
"""

from __future__ import annotations

DIGITS = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
_VALUE = {digit: index for index, digit in enumerate(DIGITS)}
_ZERO = DIGITS[0]
_SMALLEST = "A" + _ZERO * 26  # the one integer no key may be, so "before it" always exists


class RankError(ValueError):
    """Not a valid order key, or bounds that are not in order."""


def _integer_length(head: str) -> int:
    if "a" <= head <= "z":
        return ord(head) - ord("a") + 2
    if "A" <= head <= "Z":
        return ord("Z") - ord(head) + 2
    raise RankError(f"invalid order key head {head!r}")


def check_key(key: str) -> None:
    """Raise ``RankError`` unless ``key`` is a valid order key.

    >>> check_key('a0V')
    >>> is_valid('a0V0'), is_valid('b0'), is_valid('a0!')
    (False, False, False)
    """
    if not key or key == _SMALLEST:
        raise RankError(f"invalid order key {key!r}")
    length = _integer_length(key[0])
    if len(key) < length:
        raise RankError(f"invalid order key {key!r}: integer part too short")
    bad = next((c for c in key[1:] if c not in _VALUE), None)
    if bad is not None:
        raise RankError(f"invalid order key {key!r}: {bad!r} is not a base62 digit")
    if len(key) > length and key.endswith(_ZERO):
        raise RankError(f"invalid order key {key!r}: trailing 0")


def is_valid(key: str) -> bool:
    try:
        check_key(key)
    except RankError:
        return False
    return True


def _midpoint(low: str, high: str | None) -> str:
    """A fraction strictly between fractions ``low`` and ``high`` (None: no upper bound)."""
    if high is not None:
        common = 0
        while (low[common] if common < len(low) else _ZERO) == high[common]:
            common += 1
        if common:
            return high[:common] + _midpoint(low[common:], high[common:])
    digit_low = _VALUE[low[0]] if low else 0
    digit_high = _VALUE[high[0]] if high is not None else len(DIGITS)
    if digit_high - digit_low > 1:
        return DIGITS[(digit_low + digit_high + 1) // 2]
    if high is not None and len(high) > 1:
        return high[0]
    return DIGITS[digit_low] + _midpoint(low[1:], None)


def _step(integer: str, delta: int) -> str | None:
    """The integer part one above (``delta=1``) or below (-1), or None past the end."""
    head, digits = integer[0], [_VALUE[c] for c in integer[1:]]
    position = len(digits) - 1
    while position >= 0:
        digits[position] += delta
        if 0 <= digits[position] < len(DIGITS):
            return head + "".join(DIGITS[d] for d in digits)
        digits[position] %= len(DIGITS)
        position -= 1
    body = "".join(DIGITS[d] for d in digits)
    if delta > 0:
        if head == "z":
            return None
        if head == "Z":
            return "a" + _ZERO
        new_head = chr(ord(head) + 1)
        return new_head + (body + _ZERO if new_head > "a" else body[:-1])
    if head == "A":
        return None
    if head == "a":
        return "Z" + DIGITS[-1]
    new_head = chr(ord(head) - 1)
    return new_head + (body + DIGITS[-1] if new_head < "Z" else body[:-1])


def key_between(low: str | None, high: str | None) -> str:
    """A key strictly between ``low`` and ``high``; None means no bound on that side."""
    for key in (low, high):
        if key is not None:
            check_key(key)
    if low is not None and high is not None and low >= high:
        raise RankError(f"{low!r} is not before {high!r}")
    if low is None and high is None:
        return "a" + _ZERO
    if low is None:
        assert high is not None
        integer = high[: _integer_length(high[0])]
        if integer == _SMALLEST:
            return integer + _midpoint("", high[len(integer) :])
        if integer < high:
            return integer
        lower = _step(integer, -1)
        if lower is None:
            raise RankError("no key fits before the smallest integer")
        return lower
    integer = low[: _integer_length(low[0])]
    fraction = low[len(integer) :]
    if high is None:
        higher = _step(integer, 1)
        return higher if higher is not None else integer + _midpoint(fraction, None)
    high_integer = high[: _integer_length(high[0])]
    if integer == high_integer:
        return integer + _midpoint(fraction, high[len(integer) :])
    higher = _step(integer, 1)
    if higher is not None and higher < high:
        return higher
    return integer + _midpoint(fraction, None)
