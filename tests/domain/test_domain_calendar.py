"""Belgian working days (salary SLA of 7 working days, dunning deadlines)."""

from __future__ import annotations

from datetime import date

import pytest

from domain.calendar import (
    add_belgian_working_days,
    add_days,
    belgian_holidays,
    is_belgian_working_day,
)


@pytest.mark.parametrize(
    "holiday",
    [
        date(2026, 1, 1),  # New Year (Thursday)
        date(2027, 3, 29),  # Easter Monday 2027
        date(2026, 4, 6),  # Easter Monday 2026
        date(2026, 5, 1),  # Labour Day (Friday)
        date(2026, 5, 14),  # Ascension
        date(2026, 5, 25),  # Whit Monday
        date(2026, 7, 21),  # National Day (Tuesday)
        date(2026, 11, 11),  # Armistice (Wednesday)
        date(2026, 12, 25),  # Christmas (Friday)
    ],
)
def test_public_holidays_are_not_working_days(holiday: date) -> None:
    assert holiday.weekday() < 5
    assert not is_belgian_working_day(holiday)
    assert holiday in belgian_holidays(holiday.year)


@pytest.mark.parametrize(
    "day",
    [
        date(2026, 12, 26),  # Saturday (26 Dec is not a Belgian public holiday anyway)
        date(2026, 12, 27),  # Sunday
        date(2027, 3, 28),  # Easter Sunday
    ],
)
def test_weekends_are_not_working_days(day: date) -> None:
    assert not is_belgian_working_day(day)


@pytest.mark.parametrize(
    "day",
    [
        date(2026, 12, 24),  # Christmas Eve: a normal working day
        date(2026, 4, 3),  # Good Friday: not a Belgian public holiday
        date(2026, 11, 2),  # All Souls: not a public holiday
        date(2026, 12, 28),
    ],
)
def test_ordinary_weekdays_are_working_days(day: date) -> None:
    assert is_belgian_working_day(day)


def test_christmas_example_from_brief() -> None:
    # Work ended Friday 2026-12-18: Mon 21 .. Thu 24, Fri 25 skipped, Mon 28, Tue 29, Wed 30.
    assert add_belgian_working_days(date(2026, 12, 18), 7) == date(2026, 12, 30)


@pytest.mark.parametrize(
    ("start", "n", "expected"),
    [
        (date(2027, 3, 26), 1, date(2027, 3, 30)),  # Fri -> skips weekend + Easter Monday
        (date(2026, 4, 30), 1, date(2026, 5, 4)),  # Thu -> skips 1 May (Fri) + weekend
        (date(2026, 7, 20), 1, date(2026, 7, 22)),  # Mon -> skips 21 July
        (date(2026, 11, 10), 1, date(2026, 11, 12)),  # Tue -> skips 11 Nov
        (date(2026, 12, 24), 1, date(2026, 12, 28)),  # Thu -> skips 25 Dec + weekend
        (date(2026, 12, 31), 1, date(2027, 1, 4)),  # year boundary: skips 1 Jan + weekend
        (date(2026, 12, 19), 1, date(2026, 12, 21)),  # start on a Saturday
        (date(2026, 3, 2), 5, date(2026, 3, 9)),  # plain week
        (date(2026, 4, 24), 7, date(2026, 5, 6)),  # 1 May inside the window
    ],
)
def test_add_working_days(start: date, n: int, expected: date) -> None:
    assert add_belgian_working_days(start, n) == expected


def test_add_working_days_result_is_working_day_and_strictly_after() -> None:
    start = date(2026, 1, 1)
    for offset in range(400):
        day = add_days(start, offset)
        result = add_belgian_working_days(day, 1)
        assert result > day
        assert is_belgian_working_day(result)


@pytest.mark.parametrize("n", [0, -1, True])
def test_add_working_days_refuses_non_positive(n: int) -> None:
    with pytest.raises(ValueError):
        add_belgian_working_days(date(2026, 1, 5), n)


def test_add_days() -> None:
    assert add_days(date(2026, 2, 28), 1) == date(2026, 3, 1)
    assert add_days(date(2028, 2, 28), 1) == date(2028, 2, 29)
    assert add_days(date(2026, 1, 1), -1) == date(2025, 12, 31)
    assert add_days(date(2026, 1, 1), 0) == date(2026, 1, 1)
