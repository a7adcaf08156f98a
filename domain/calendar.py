"""Belgian calendars: wage working days, Mon-Fri business days, and TARGET2 settlement days.

Three different meanings of "a day that counts", each used where the law or the bank uses it:

- **Wage working day** (jour ouvrable / werkdag in labour law): every day except Sundays and
  Belgian public holidays, so **Saturdays count**. The new Civil Code art. 1.7 §3 (in force
  1/1/2023) would have excluded Saturdays, but the law of 26 December 2022 kept the old meaning
  for labour law, social security and social assistance (CNT opinion n° 2.325 of 16/11/2022;
  ../shared/payroll-2026.md §4). The salary must be credited at the latest on the n-th such day
  after the work (law of 12 April 1965 on the protection of wages: the 4th, or up to the 7th if
  the work rules say so): `legal_pay_date`.
- **TARGET2 day**: a SEPA credit transfer settles only on days the Eurosystem's payment system
  is open: every day except Saturdays, Sundays, 1 January, Good Friday, Easter Monday, 1 May,
  25 and 26 December (ECB, "TARGET2 closing days", press releases of 3 September 1998,
  15 July 1999 and 14 December 2000:
  https://www.ecb.europa.eu/press/pr/date/2000/html/pr001214_4.en.html). The `holidays`
  package ships that calendar as the financial market "ECB" (holidays.financial.
  european_central_bank, citing the same ECB pages); we read it from there instead of keeping
  our own list. Belgian public holidays are not TARGET2 closing days (banks settle on 21 July).
  The transfer of a salary executes on the last TARGET2 day on or before its legal date:
  `transfer_execution_date`.
- **Business day (Mon-Fri, not a Belgian public holiday)**: kept only for the dunning letters'
  waiting periods (domain/late_payment.py, Book XIX / Civil Code art. 1.7: a period ending on a
  Saturday moves on); never for wages.
"""

from __future__ import annotations

import re
from datetime import date, datetime, timedelta
from functools import lru_cache

import holidays

from domain.errors import FieldError

__all__ = [
    "add_belgian_working_days",
    "add_days",
    "belgian_holidays",
    "is_belgian_working_day",
    "is_target2_day",
    "is_wage_working_day",
    "legal_pay_date",
    "salary_transfer_date",
    "target2_closing_days",
    "transfer_execution_date",
]

_SATURDAY = 5
_SUNDAY = 6
_ONE_DAY = timedelta(days=1)
# The ECB's TARGET2 calendar as the `holidays` package names that financial market.
_TARGET2_MARKET = "ECB"


@lru_cache(maxsize=64)
def _holidays_of(year: int) -> frozenset[date]:
    """Belgian public holidays of one year (cached: the table is pure data)."""
    return frozenset(holidays.country_holidays("BE", years=year).keys())


@lru_cache(maxsize=64)
def _target2_closed(year: int) -> frozenset[date]:
    """TARGET2 closing days of one year other than weekends (ECB calendar, see the module)."""
    return frozenset(holidays.financial_holidays(_TARGET2_MARKET, years=year).keys())


def belgian_holidays(year: int) -> frozenset[date]:
    """List the Belgian public holidays of `year`."""
    return _holidays_of(year)


def target2_closing_days(year: int) -> frozenset[date]:
    """List the TARGET2 closing days of `year` that are not a Saturday or Sunday anyway."""
    return _target2_closed(year)


def _require_n(n: int) -> None:
    if isinstance(n, bool) or not isinstance(n, int) or n < 1:
        raise ValueError(f"n must be at least 1, got {n!r}")


# ---------------------------------------------------------------- wages (labour law)


def is_wage_working_day(d: date) -> bool:
    """A working day in wage law: not a Sunday nor a Belgian public holiday (Saturday counts)."""
    return d.weekday() != _SUNDAY and d not in _holidays_of(d.year)


def legal_pay_date(end: date, n: int) -> date:
    """The latest day the salary may be credited: the n-th wage working day strictly after the
    last day of the work (`end`). Saturdays count; Sundays and public holidays do not."""
    _require_n(n)
    current = end
    remaining = n
    while remaining:
        current += _ONE_DAY
        if is_wage_working_day(current):
            remaining -= 1
    return current


# ---------------------------------------------------------------- SEPA settlement


def is_target2_day(d: date) -> bool:
    """Whether TARGET2 settles on `d`: Monday-Friday and not an ECB closing day."""
    return d.weekday() < _SATURDAY and d not in _target2_closed(d.year)


def transfer_execution_date(legal: date) -> date:
    """The last TARGET2 day on or before `legal`: the transfer executes then, so that the money
    is never credited after the legal date because the payment system was closed."""
    current = legal
    while not is_target2_day(current):
        current -= _ONE_DAY
    return current


def salary_transfer_date(end: date, n: int) -> date:
    """The day the salary's transfer executes for work ending on `end` (n wage working days)."""
    return transfer_execution_date(legal_pay_date(end, n))


# ---------------------------------------------------------------- business days (not wages)


def is_belgian_working_day(d: date) -> bool:
    """A Mon-Fri business day that is not a Belgian public holiday (dunning periods, not wages)."""
    return d.weekday() < _SATURDAY and d not in _holidays_of(d.year)


def add_belgian_working_days(start: date, n: int) -> date:
    """Give the n-th Mon-Fri business day strictly after `start` (dunning letters' periods).

    Not for wages: there Saturdays count (`legal_pay_date`)."""
    _require_n(n)
    current = start
    remaining = n
    while remaining:
        current += _ONE_DAY
        if is_belgian_working_day(current):
            remaining -= 1
    return current


def add_days(d: date, n: int) -> date:
    """Give the date `n` calendar days after `d` (negative n goes back)."""
    return d + timedelta(days=n)


_ISO_DATE = re.compile(r"^\d{4}-\d{2}-\d{2}$")


def parse_date(value: object, field: str) -> date:
    """A calendar date written YYYY-MM-DD (nothing else), that exists."""
    if not isinstance(value, str) or not _ISO_DATE.match(value):
        raise FieldError(field, "a date written YYYY-MM-DD")
    try:
        return date.fromisoformat(value)
    except ValueError:
        raise FieldError(field, f"{value} is not a day of the calendar") from None


def iso_text(value: date | datetime | None) -> str | None:
    """A date or instant as the JSON contract writes it (ISO 8601), or None."""
    return None if value is None else value.isoformat()
