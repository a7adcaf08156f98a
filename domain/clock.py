"""The business clock: maps real instants to business dates, possibly accelerated for demos.

Pure and stdlib-only so Temporal workflows can use it deterministically. Business day k (k days
after `anchor_date`) begins at `anchor_real + ceil(k * day_seconds)` microseconds; all arithmetic
is done on exact integers/fractions, so `date_at(start_of(d)) == d` holds for any day length.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from fractions import Fraction

__all__ = ["BusinessClock"]

_US_PER_SECOND = 1_000_000
_US_PER_DAY = 86_400 * _US_PER_SECOND


def _require_aware(value: datetime, name: str) -> None:
    if value.tzinfo is None or value.utcoffset() is None:
        raise ValueError(f"{name} must be a timezone-aware datetime, got naive {value!r}")


def _microseconds(delta: timedelta) -> int:
    """Exact length of a timedelta in integer microseconds."""
    return delta.days * _US_PER_DAY + delta.seconds * _US_PER_SECOND + delta.microseconds


@dataclass(frozen=True)
class BusinessClock:
    """Which business date it is at a real instant, and when a business date begins."""

    anchor_real: datetime  # timezone-aware UTC instant at which business day `anchor_date` began
    anchor_date: date
    day_seconds: float  # real seconds per business day (86400 in production, 0.1 in a demo)

    def __post_init__(self) -> None:
        """Refuse naive anchors and unusable day lengths; store the anchor in UTC."""
        _require_aware(self.anchor_real, "anchor_real")
        if isinstance(self.anchor_date, datetime) or not isinstance(self.anchor_date, date):
            raise ValueError("anchor_date must be a date, not a datetime")
        if isinstance(self.day_seconds, bool) or not math.isfinite(self.day_seconds):
            raise ValueError(f"day_seconds must be a finite number, got {self.day_seconds!r}")
        if self.day_seconds < 1e-6:
            raise ValueError(f"day_seconds must be at least one microsecond: {self.day_seconds!r}")
        object.__setattr__(self, "anchor_real", self.anchor_real.astimezone(UTC))

    @property
    def _day_us(self) -> Fraction:
        """Business-day length in microseconds, from the decimal the caller wrote (0.1 is 1/10)."""
        return Fraction(repr(float(self.day_seconds))) * _US_PER_SECOND

    def date_at(self, instant: datetime) -> date:
        """Give the business date in force at a real instant (floor; works before the anchor)."""
        _require_aware(instant, "instant")
        elapsed_us = _microseconds(instant - self.anchor_real)
        days = math.floor(Fraction(elapsed_us) / self._day_us)
        return self.anchor_date + timedelta(days=days)

    def start_of(self, d: date) -> datetime:
        """Give the real UTC instant at which business date `d` begins."""
        days = (d - self.anchor_date).days
        return self.anchor_real + timedelta(microseconds=math.ceil(days * self._day_us))

    def seconds_until(self, d: date, now: datetime) -> float:
        """Give the real seconds to wait from `now` until business date `d` begins (0 if past)."""
        _require_aware(now, "now")
        return max(0.0, (self.start_of(d) - now).total_seconds())
