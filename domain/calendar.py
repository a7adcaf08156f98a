"""Belgian working days (Mon-Fri, not a Belgian public holiday) for salary and dunning deadlines."""

from __future__ import annotations

from datetime import date, timedelta
from functools import lru_cache

import holidays

__all__ = ["add_belgian_working_days", "add_days", "belgian_holidays", "is_belgian_working_day"]

_SATURDAY = 5


@lru_cache(maxsize=64)
def _holidays_of(year: int) -> frozenset[date]:
    """Belgian public holidays of one year (cached: the table is pure data)."""
    return frozenset(holidays.country_holidays("BE", years=year).keys())


def belgian_holidays(year: int) -> frozenset[date]:
    """List the Belgian public holidays of `year` (the days no salary or deadline falls on)."""
    return _holidays_of(year)


def is_belgian_working_day(d: date) -> bool:
    """Tell whether `d` is a Belgian working day (Monday-Friday and not a public holiday)."""
    return d.weekday() < _SATURDAY and d not in _holidays_of(d.year)


def add_belgian_working_days(start: date, n: int) -> date:
    """Give the n-th Belgian working day strictly after `start` (e.g. the 7-working-day pay SLA)."""
    if isinstance(n, bool) or n < 1:
        raise ValueError(f"n must be at least 1, got {n!r}")
    current = start
    remaining = n
    while remaining:
        current += timedelta(days=1)
        if is_belgian_working_day(current):
            remaining -= 1
    return current


def add_days(d: date, n: int) -> date:
    """Give the date `n` calendar days after `d` (negative n goes back)."""
    return d + timedelta(days=n)
