"""Argument checks shared by wsnb's entry points, so one mistake reads the same everywhere.

Contract: a check returns the value it accepted (so it can be used inline) and raises
``TypeError`` for a value of the wrong type or ``ValueError`` for one out of range; the message
names the field and the limit, and shows only the offending value's type or the number itself.
"""

from __future__ import annotations

__all__ = ["check_int"]


def check_int(name: str, value: object, low: int, high: int | None = None) -> int:
    """``value`` if it is an ``int`` from ``low`` to ``high`` inclusive (no upper bound when
    ``high`` is None). ``bool`` is refused although Python counts it as an ``int``: ``True`` as a
    size or a count is a mistake, not a 1."""
    if isinstance(value, bool) or not isinstance(value, int):
        raise TypeError(f"{name} must be an int, got {type(value).__name__}")
    if value < low or (high is not None and value > high):
        limit = f"between {low} and {high}" if high is not None else f"at least {low}"
        raise ValueError(f"{name} must be {limit}, got {value}")
    return value
