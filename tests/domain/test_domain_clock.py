"""The business clock (real instant <-> business date), production and accelerated demo speeds."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta, timezone

import pytest

from domain.clock import BusinessClock

ANCHOR = datetime(2026, 3, 2, 8, 0, 0, tzinfo=UTC)
ANCHOR_DATE = date(2026, 3, 2)
SPEEDS = [86400.0, 0.1, 2.5, 1 / 3, 0.001]


def clock(day_seconds: float) -> BusinessClock:
    return BusinessClock(anchor_real=ANCHOR, anchor_date=ANCHOR_DATE, day_seconds=day_seconds)


def test_production_clock() -> None:
    c = clock(86400)
    assert c.date_at(ANCHOR) == ANCHOR_DATE
    assert c.date_at(ANCHOR + timedelta(hours=23, minutes=59)) == ANCHOR_DATE
    assert c.date_at(ANCHOR + timedelta(days=1)) == date(2026, 3, 3)
    assert c.date_at(ANCHOR - timedelta(microseconds=1)) == date(2026, 3, 1)
    assert c.start_of(date(2026, 3, 9)) == ANCHOR + timedelta(days=7)
    assert c.start_of(date(2026, 3, 9)).tzinfo is not None


def test_demo_clock_tenth_of_a_second() -> None:
    c = clock(0.1)
    assert c.date_at(ANCHOR + timedelta(seconds=0.7)) == date(2026, 3, 9)
    assert c.date_at(ANCHOR + timedelta(seconds=0.69)) == date(2026, 3, 8)
    assert c.start_of(date(2026, 3, 9)) == ANCHOR + timedelta(milliseconds=700)


@pytest.mark.parametrize("day_seconds", SPEEDS)
@pytest.mark.parametrize("offset_days", [-1000, -400, -31, -1, 0, 1, 2, 3, 7, 29, 30, 365, 3650])
def test_round_trip(day_seconds: float, offset_days: int) -> None:
    c = clock(day_seconds)
    d = ANCHOR_DATE + timedelta(days=offset_days)
    start = c.start_of(d)
    assert c.date_at(start) == d
    assert c.date_at(start - timedelta(microseconds=1)) == d - timedelta(days=1)
    assert c.start_of(d + timedelta(days=1)) > start


@pytest.mark.parametrize("day_seconds", SPEEDS)
def test_date_at_is_monotonic_and_consistent_with_start_of(day_seconds: float) -> None:
    c = clock(day_seconds)
    step = timedelta(seconds=day_seconds / 7)
    previous = c.date_at(ANCHOR - 50 * step)
    for i in range(-50, 200):
        instant = ANCHOR + i * step
        d = c.date_at(instant)
        assert d >= previous
        assert c.start_of(d) <= instant < c.start_of(d + timedelta(days=1))
        previous = d


def test_before_anchor_floors() -> None:
    c = clock(2.5)
    assert c.date_at(ANCHOR - timedelta(seconds=0.000001)) == date(2026, 3, 1)
    assert c.date_at(ANCHOR - timedelta(seconds=2.5)) == date(2026, 3, 1)
    assert c.date_at(ANCHOR - timedelta(seconds=2.500001)) == date(2026, 2, 28)


def test_seconds_until() -> None:
    c = clock(2.5)
    target = date(2026, 3, 6)  # 4 business days after the anchor
    assert c.seconds_until(target, ANCHOR) == pytest.approx(10.0)
    assert c.seconds_until(target, ANCHOR + timedelta(seconds=9)) == pytest.approx(1.0)
    assert c.seconds_until(target, ANCHOR + timedelta(seconds=10)) == 0.0
    assert c.seconds_until(target, ANCHOR + timedelta(seconds=60)) == 0.0
    assert c.seconds_until(ANCHOR_DATE, ANCHOR - timedelta(seconds=1)) == pytest.approx(1.0)


def test_non_utc_anchor_is_normalised_to_utc() -> None:
    brussels_summer = timezone(timedelta(hours=2))
    anchor = datetime(2026, 7, 1, 0, 0, tzinfo=brussels_summer)
    c = BusinessClock(anchor_real=anchor, anchor_date=date(2026, 7, 1), day_seconds=86400)
    assert c.anchor_real.utcoffset() == timedelta(0)
    assert c.anchor_real == anchor
    assert c.start_of(date(2026, 7, 2)) == datetime(2026, 7, 1, 22, 0, tzinfo=UTC)
    assert c.date_at(datetime(2026, 7, 1, 23, 0, tzinfo=brussels_summer)) == date(2026, 7, 1)


def test_clock_is_frozen_and_hashable() -> None:
    c = clock(86400)
    assert c == clock(86400)
    assert hash(c) == hash(clock(86400))
    with pytest.raises(AttributeError):
        c.day_seconds = 1.0  # type: ignore[misc]


def test_naive_datetimes_refused() -> None:
    naive = datetime(2026, 3, 2, 8, 0)
    with pytest.raises(ValueError, match="timezone-aware"):
        BusinessClock(anchor_real=naive, anchor_date=ANCHOR_DATE, day_seconds=86400)
    c = clock(86400)
    with pytest.raises(ValueError, match="timezone-aware"):
        c.date_at(naive)
    with pytest.raises(ValueError, match="timezone-aware"):
        c.seconds_until(ANCHOR_DATE, naive)


@pytest.mark.parametrize("day_seconds", [0, -1, 1e-9, float("nan"), float("inf"), True])
def test_bad_day_length_refused(day_seconds: float) -> None:
    with pytest.raises(ValueError):
        BusinessClock(anchor_real=ANCHOR, anchor_date=ANCHOR_DATE, day_seconds=day_seconds)


def test_anchor_date_must_be_a_date() -> None:
    with pytest.raises(ValueError):
        BusinessClock(anchor_real=ANCHOR, anchor_date=ANCHOR, day_seconds=86400)
