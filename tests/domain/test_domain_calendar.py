"""Belgian calendars: wage working days (Saturdays count), Mon-Fri business days (dunning), and
TARGET2 settlement days (the salary transfer's execution date)."""

from __future__ import annotations

from datetime import date

import pytest

from domain.calendar import (
    add_belgian_working_days,
    add_days,
    belgian_holidays,
    is_belgian_working_day,
    is_target2_day,
    is_wage_working_day,
    legal_pay_date,
    salary_transfer_date,
    target2_closing_days,
    transfer_execution_date,
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


# ---------------------------------------------------------------- wages: Saturdays count


def test_saturday_is_a_wage_working_day_sunday_and_holidays_are_not() -> None:
    assert is_wage_working_day(date(2026, 12, 19))  # Saturday
    assert is_wage_working_day(date(2026, 12, 26))  # Saturday 26 Dec: no Belgian holiday
    assert not is_wage_working_day(date(2026, 12, 20))  # Sunday
    assert not is_wage_working_day(date(2026, 12, 25))  # Christmas
    assert not is_wage_working_day(date(2027, 3, 29))  # Easter Monday 2027
    assert is_wage_working_day(date(2027, 3, 26))  # Good Friday: not a Belgian public holiday


@pytest.mark.parametrize(
    ("end", "n", "legal"),
    [
        # Christmas 2026: Sat 19 counts, Sun 20 and Fri 25 do not, Sat 26 counts -> Mon 28
        # (the Mon-Fri count gave Wed 30: two days later than the law allows).
        (date(2026, 12, 18), 7, date(2026, 12, 28)),
        # Easter 2027: Good Friday and Saturday count, Sunday and Easter Monday do not.
        (date(2027, 3, 22), 7, date(2027, 3, 31)),
        (date(2027, 3, 26), 1, date(2027, 3, 27)),  # Good Friday -> the Saturday
        (date(2027, 3, 27), 1, date(2027, 3, 30)),  # Saturday -> skips Sunday + Easter Monday
        (date(2026, 4, 24), 7, date(2026, 5, 4)),  # 1 May (Friday) skipped, Saturdays count
        (date(2026, 12, 31), 1, date(2027, 1, 2)),  # 1 Jan skipped, Saturday 2 Jan counts
    ],
)
def test_legal_pay_date_counts_saturdays(end: date, n: int, legal: date) -> None:
    assert legal_pay_date(end, n) == legal
    assert is_wage_working_day(legal)


def test_legal_pay_date_is_never_later_than_the_business_day_count() -> None:
    start = date(2026, 1, 1)
    for offset in range(400):
        end = add_days(start, offset)
        legal = legal_pay_date(end, 7)
        assert end < legal <= add_belgian_working_days(end, 7)
        assert legal.weekday() != 6


@pytest.mark.parametrize("n", [0, -1, True])
def test_legal_pay_date_refuses_non_positive(n: int) -> None:
    with pytest.raises(ValueError):
        legal_pay_date(date(2026, 1, 5), n)


# ---------------------------------------------------------------- TARGET2: the execution date


def test_target2_calendar_is_the_ecb_one() -> None:
    assert target2_closing_days(2026) == {
        date(2026, 1, 1),
        date(2026, 4, 3),  # Good Friday
        date(2026, 4, 6),  # Easter Monday
        date(2026, 5, 1),
        date(2026, 12, 25),
        date(2026, 12, 26),
    }
    assert is_target2_day(date(2026, 7, 21))  # Belgian National Day: TARGET2 is open
    assert not is_target2_day(date(2026, 12, 19))  # Saturday
    assert not is_target2_day(date(2027, 3, 29))  # Easter Monday 2027


@pytest.mark.parametrize(
    ("legal", "execution"),
    [
        (date(2026, 12, 28), date(2026, 12, 28)),  # a Monday: executes that day
        (date(2026, 12, 19), date(2026, 12, 18)),  # Saturday -> Friday
        (date(2026, 12, 26), date(2026, 12, 24)),  # Sat 26 Dec and Fri 25 Dec closed -> Thu 24
        (date(2027, 3, 27), date(2027, 3, 25)),  # Sat before Easter, Good Friday closed -> Thu
        (date(2027, 3, 29), date(2027, 3, 25)),  # Easter Monday 2027 -> Thursday before Easter
        (date(2027, 1, 1), date(2026, 12, 31)),  # New Year -> the last day of the year
    ],
)
def test_execution_moves_back_to_the_previous_target2_day(legal: date, execution: date) -> None:
    assert transfer_execution_date(legal) == execution


def test_salary_transfer_date_end_to_end() -> None:
    # Work ended Fri 2027-03-19: the 7th wage working day is Sat 27 March; Good Friday (26)
    # closes TARGET2, so the transfer executes on Thursday 25 March.
    assert legal_pay_date(date(2027, 3, 19), 7) == date(2027, 3, 27)
    assert salary_transfer_date(date(2027, 3, 19), 7) == date(2027, 3, 25)
    # Work ended Fri 2026-12-11: legal date Sat 19 December, executed Fri 18 December.
    assert salary_transfer_date(date(2026, 12, 11), 7) == date(2026, 12, 18)
    for offset in range(400):
        end = add_days(date(2026, 1, 1), offset)
        executed = salary_transfer_date(end, 7)
        assert is_target2_day(executed) and end < executed <= legal_pay_date(end, 7)
