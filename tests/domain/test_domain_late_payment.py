"""Late payment by the book: B2B interest and 40 EUR, Book XIX caps and periods, allocation."""

from __future__ import annotations

import importlib.util
from dataclasses import replace
from datetime import date, timedelta
from decimal import Decimal
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from domain.errors import FieldError
from domain.late_payment import (
    B2B_LAW,
    LEGAL_RATE_LAW,
    Allocation,
    B2BParameters,
    B2CParameters,
    ConsumerTerms,
    PenaltyBand,
    PrincipalMovement,
    RatePeriod,
    accrue_interest,
    allocate_payment,
    b2b_claim,
    b2b_interest,
    b2c_costs_allowed_from,
    b2c_penalty_cap,
    b2c_reminder_fee,
    b2c_waiting_period_end,
    b2c_waiting_period_start,
    charges_for_step,
    civil_working_day,
    next_civil_working_day,
    open_principal_on,
)
from domain.money import to_cents

D = Decimal
MIGRATION = (
    Path(__file__).resolve().parents[2]
    / "alembic"
    / "versions"
    / "20261129_0004_late_payment_parameters.py"
)


def _load_migration() -> ModuleType:
    spec = importlib.util.spec_from_file_location("late_payment_seed", MIGRATION)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


SEED = _load_migration()

# The parameters exactly as seeded (domain.md §3.1-3.2), built through the domain's parsers.
RATES = [
    RatePeriod.from_row(valid_from, valid_to, {"annual_rate": rate, "estimate": estimate})
    for valid_from, valid_to, rate, estimate, _ in SEED.B2B_RATES
]
B2B = B2BParameters.from_value(SEED.B2B)
B2C = B2CParameters.from_value(SEED.B2C)

cents = st.integers(min_value=0, max_value=100_000_000).map(lambda c: D(c) / 100)


# --------------------------------------------------------------------------- parameters


def test_seeded_parameters_match_domain_md() -> None:
    by_half = {(p.valid_from, p.valid_to): p.annual_rate for p in RATES}
    assert by_half == {
        (date(2023, 1, 1), date(2023, 6, 30)): D("10.50"),
        (date(2023, 7, 1), date(2023, 12, 31)): D("12.00"),
        (date(2024, 1, 1), date(2024, 6, 30)): D("12.50"),
        (date(2024, 7, 1), date(2024, 12, 31)): D("12.50"),
        (date(2025, 1, 1), date(2025, 6, 30)): D("11.50"),
        (date(2025, 7, 1), date(2025, 12, 31)): D("10.50"),
        (date(2026, 1, 1), date(2026, 6, 30)): D("10.50"),
        (date(2026, 7, 1), date(2026, 12, 31)): D("10.50"),
        # Not published: carried forward as estimates so the ladder never stalls on 1 January.
        (date(2027, 1, 1), date(2027, 6, 30)): D("10.50"),
        (date(2027, 7, 1), date(2027, 12, 31)): D("10.50"),
    }
    assert [p.valid_from for p in RATES if p.estimate] == [
        date(2026, 7, 1),
        date(2027, 1, 1),
        date(2027, 7, 1),
    ]
    # Half-years follow each other without gap or overlap.
    for before, after in zip(RATES, RATES[1:], strict=False):
        assert after.valid_from == before.valid_to + timedelta(days=1)
    assert B2B.fixed_compensation == D("40.00")
    assert B2C.reminder_fee_max == D("7.50")
    assert B2C.waiting_days == 14
    assert B2C.letter_start_working_days == 3
    assert [b.up_to for b in B2C.bands] == [D("150.00"), D("500.00"), None]
    assert SEED.revision == "0004" and SEED.down_revision == "0003"
    assert SEED.B2C_VALID_FROM == date(2023, 12, 1)


def test_parameters_refuse_nonsense() -> None:
    with pytest.raises(FieldError, match="annual_rate"):
        RatePeriod(date(2025, 1, 1), date(2025, 6, 30), D("-1"))
    with pytest.raises(FieldError, match="annual_rate"):
        RatePeriod(date(2025, 1, 1), date(2025, 6, 30), D("150"))
    with pytest.raises(FieldError, match="valid_to"):
        RatePeriod(date(2025, 7, 1), date(2025, 6, 30), D("10.5"))
    with pytest.raises(FieldError, match="valid_to"):
        RatePeriod.from_row(date(2025, 1, 1), None, {"annual_rate": "10.5"})
    with pytest.raises(FieldError, match="fixed_compensation"):
        B2BParameters(D("40.001"))
    with pytest.raises(FieldError, match="bands"):
        replace(B2C, bands=B2C.bands[:2])  # no open-ended top band
    with pytest.raises(FieldError, match="bands"):
        replace(B2C, bands=(B2C.bands[1], B2C.bands[0], B2C.bands[2]))
    with pytest.raises(FieldError, match="waiting_days"):
        replace(B2C, waiting_days=0)
    with pytest.raises(FieldError, match="percent_above"):
        PenaltyBand(up_to=None, base=D("1.00"), percent_above=D("101"), above=D("0.00"))


# --------------------------------------------------------------------------- B2B interest


def test_interest_over_a_half_year_boundary() -> None:
    # Due 2025-06-15; interest runs from the day after (2025-06-16) to 2025-07-15 included.
    #   H1 2025 at 11.5 %: 16 Jun..30 Jun = 15 days: 1000.00 x 0.115 x 15/365 = 4.7260274...
    #   H2 2025 at 10.5 %: 1 Jul..15 Jul  = 15 days: 1000.00 x 0.105 x 15/365 = 4.3150684...
    #   total = 1000 x (0.115 x 15 + 0.105 x 15) / 365 = 3.3 x 1000 / 365 = 9.0410958... -> 9.04
    # Rounding once matters: rounding each part first would give 4.73 + 4.32 = 9.05.
    result = b2b_interest(D("1000.00"), date(2025, 6, 15), date(2025, 7, 15), RATES)
    assert result.amount == D("9.04")
    assert result.days == 30
    assert result.first_day == date(2025, 6, 16)
    assert [(p.start, p.end, p.days, p.annual_rate) for p in result.breakdown] == [
        (date(2025, 6, 16), date(2025, 6, 30), 15, D("11.50")),
        (date(2025, 7, 1), date(2025, 7, 15), 15, D("10.50")),
    ]
    assert sum(p.amount for p in result.breakdown) == D("330") / D("36.5")
    assert sum(to_cents(p.amount) for p in result.breakdown) == D("9.05")
    assert "law of 2 Aug 2002, art. 5" in result.rule
    assert "11.50 % p.a. for 15 days" in result.rule
    assert "10.50 % p.a. for 15 days" in result.rule
    assert "9.04 EUR" in result.rule


def test_interest_over_new_year() -> None:
    # Due 2023-12-20: 21..31 Dec = 11 days at 12 %, 1..10 Jan 2024 = 10 days at 12.5 %.
    # 1000 x (12 x 11 + 12.5 x 10) / 36500 = 257 / 36.5 = 7.0410958... -> 7.04
    result = b2b_interest(D("1000.00"), date(2023, 12, 20), date(2024, 1, 10), RATES)
    assert result.amount == D("7.04")
    assert [p.days for p in result.breakdown] == [11, 10]


def test_interest_one_period_and_day_count() -> None:
    # 1000 x 10.5 % x 31/365 = 325.5/36.5 = 8.9178... -> 8.92 (31 days of July 2025)
    result = b2b_interest(D("1000.00"), date(2025, 6, 30), date(2025, 7, 31), RATES)
    assert result.amount == D("8.92")
    assert "10.50 % p.a. for 31 days" in result.rule
    # Same on a 360-day basis: 325.5/36 = 9.041666... -> 9.04
    assert b2b_interest(D("1000.00"), date(2025, 6, 30), date(2025, 7, 31), RATES, 360).amount == D(
        "9.04"
    )


def test_interest_rounds_half_up_once() -> None:
    # A flat 36.5 % table makes one day worth principal / 1000 exactly:
    # 5.00 x 36.5 x 1 / 36500 = 0.005 -> 0.01 (half up); 4.00 -> 0.004 -> 0.00.
    flat = [RatePeriod(date(2025, 1, 1), date(2025, 12, 31), D("36.5"))]
    assert b2b_interest(D("5.00"), date(2025, 3, 1), date(2025, 3, 2), flat).amount == D("0.01")
    assert b2b_interest(D("4.00"), date(2025, 3, 1), date(2025, 3, 2), flat).amount == D("0.00")


def test_no_interest_before_the_day_after_due() -> None:
    for until in (date(2025, 6, 14), date(2025, 6, 15)):
        result = b2b_interest(D("1000.00"), date(2025, 6, 15), until, RATES)
        assert result.amount == D("0.00") and result.breakdown == () and result.days == 0
    one_day = b2b_interest(D("1000.00"), date(2025, 6, 15), date(2025, 6, 16), RATES)
    assert one_day.days == 1
    assert one_day.amount == D("0.32")  # 1000 x 11.5 / 36500 = 0.3150... -> 0.32


def test_missing_rate_is_an_error_never_zero() -> None:
    with pytest.raises(ValueError, match="2022-12-16"):
        b2b_interest(D("1000.00"), date(2022, 12, 15), date(2023, 1, 10), RATES)
    with pytest.raises(ValueError, match="2028-01-01"):
        b2b_interest(D("1000.00"), date(2027, 12, 1), date(2028, 1, 5), RATES)
    holey = [p for p in RATES if p.valid_from != date(2024, 7, 1)]
    with pytest.raises(ValueError, match="2024-07-01"):
        b2b_interest(D("1000.00"), date(2024, 6, 1), date(2024, 8, 1), holey)
    with pytest.raises(ValueError):
        b2b_interest(D("1000.00"), date(2025, 6, 1), date(2025, 6, 5), [])


def test_overlapping_rates_are_refused() -> None:
    overlapping = [*RATES, RatePeriod(date(2025, 6, 1), date(2025, 8, 1), D("9"))]
    with pytest.raises(ValueError, match="overlap"):
        b2b_interest(D("1000.00"), date(2025, 6, 15), date(2025, 7, 15), overlapping)


def test_estimated_rate_is_flagged_in_the_rule() -> None:
    result = b2b_interest(D("1000.00"), date(2026, 6, 20), date(2026, 7, 10), RATES)
    assert "estimated rate" in result.rule
    assert [p.estimate for p in result.breakdown] == [False, True]


@pytest.mark.parametrize("bad", [D("-1.00"), D("1.001"), D("NaN"), 1000, 1000.0])
def test_interest_refuses_bad_principal(bad: Any) -> None:
    with pytest.raises(FieldError, match="principal"):
        b2b_interest(bad, date(2025, 6, 15), date(2025, 7, 15), RATES)


def test_b2b_claim_adds_40_once_when_late() -> None:
    claim = b2b_claim(D("1000.00"), date(2025, 6, 15), date(2025, 7, 15), RATES, B2B)
    assert claim.fixed_compensation == D("40.00")
    assert claim.total == D("49.04")
    assert "40.00 EUR" in claim.rule and "art. 6" in claim.rule
    on_time = b2b_claim(D("1000.00"), date(2025, 6, 15), date(2025, 6, 15), RATES, B2B)
    assert on_time.fixed_compensation == D("0.00") and on_time.total == D("0.00")


@settings(max_examples=200, deadline=None, database=None)
@given(
    principal=cents,
    due_offset=st.integers(min_value=0, max_value=1000),
    first=st.integers(min_value=0, max_value=400),
    extra=st.integers(min_value=0, max_value=400),
)
def test_interest_grows_with_time(
    principal: Decimal, due_offset: int, first: int, extra: int
) -> None:
    due = date(2023, 1, 1) + timedelta(days=due_offset)
    end = min(due + timedelta(days=first), date(2026, 12, 31))
    later = min(end + timedelta(days=extra), date(2026, 12, 31))
    a = b2b_interest(principal, due, end, RATES)
    b = b2b_interest(principal, due, later, RATES)
    assert D("0.00") <= a.amount <= b.amount
    assert sum(p.days for p in b.breakdown) == b.days == max(0, (later - due).days)


# --------------------------------------------------------------------------- B2C penalty bands


@pytest.mark.parametrize(
    ("balance", "cap"),
    [
        ("0.00", "0.00"),  # nothing outstanding, nothing to penalise
        ("0.01", "20.00"),
        ("150.00", "20.00"),  # top of band 1
        ("150.01", "30.00"),  # 30 + 10 % x 0.01 = 30.001 -> 30.00
        ("150.05", "30.01"),  # 30.005 -> 30.01 (half up, the project's one rounding rule)
        ("215.00", "36.50"),  # domain.md's example: 30 + 10 % x 65
        ("499.99", "65.00"),  # 30 + 34.999 = 64.999 -> 65.00
        ("500.00", "65.00"),  # top of band 2: 30 + 10 % x 350
        ("500.01", "65.00"),  # 65 + 5 % x 0.01 = 65.0005 -> 65.00
        ("1000.00", "90.00"),  # 65 + 5 % x 500
        ("39199.80", "1999.99"),  # 65 + 5 % x 38,699.80 = 1,999.99
        ("39200.00", "2000.00"),  # 65 + 5 % x 38,700 = 2,000 exactly
        ("39500.00", "2000.00"),  # formula 2,015 -> capped
        ("1000000.00", "2000.00"),
    ],
)
def test_penalty_cap_band_edges(balance: str, cap: str) -> None:
    assert b2c_penalty_cap(D(balance), B2C) == D(cap)


@settings(max_examples=500, deadline=None, database=None)
@given(balance=st.integers(min_value=0, max_value=1_000_000_000).map(lambda c: D(c) / 100))
def test_penalty_cap_never_above_2000_and_never_decreases(balance: Decimal) -> None:
    cap = b2c_penalty_cap(balance, B2C)
    assert D("0.00") <= cap <= D("2000.00")
    assert cap == to_cents(cap)
    assert cap <= b2c_penalty_cap(balance + D("0.01"), B2C)
    if balance > 0:
        assert cap >= D("20.00")


@pytest.mark.parametrize("bad", [D("-0.01"), D("10.001")])
def test_penalty_cap_refuses_bad_balance(bad: Decimal) -> None:
    with pytest.raises(FieldError, match="balance"):
        b2c_penalty_cap(bad, B2C)


# --------------------------------------------------------------------------- B2C waiting period


@pytest.mark.parametrize(
    ("sent", "channel", "start", "allowed"),
    [
        # E-mail: day 1 is the next calendar day, weekends included; allowed from start + 14.
        (date(2025, 3, 3), "email", date(2025, 3, 4), date(2025, 3, 18)),
        # Sent Friday: day 1 is Saturday 19 Apr (Easter weekend), allowed Saturday 3 May.
        (date(2025, 4, 18), "email", date(2025, 4, 19), date(2025, 5, 3)),
        # Letter sent Thursday 17 Apr 2025: Fri 18 (Good Friday is a working day in BE) = 1st,
        # Sat/Sun skipped, Mon 21 Easter Monday (holiday) skipped, Tue 22 = 2nd, Wed 23 = 3rd.
        (date(2025, 4, 17), "letter", date(2025, 4, 23), date(2025, 5, 7)),
        # Letter sent Friday 7 Nov 2025: Mon 10 = 1st, Tue 11 Nov (Armistice) skipped,
        # Wed 12 = 2nd, Thu 13 = 3rd.
        (date(2025, 11, 7), "letter", date(2025, 11, 13), date(2025, 11, 27)),
        # Letter sent Tuesday 23 Dec 2025: Wed 24 = 1st, Thu 25 (Christmas) skipped,
        # Fri 26 = 2nd, weekend skipped, Mon 29 = 3rd; the 14th day is Sunday 11 Jan 2026, so
        # the period ends Monday 12 Jan (Civil Code art. 1.7) and costs wait for Tue 13 Jan.
        (date(2025, 12, 23), "letter", date(2025, 12, 29), date(2026, 1, 13)),
        # Same day by e-mail: start Wed 24 Dec, allowed from Wed 7 Jan 2026.
        (date(2025, 12, 23), "email", date(2025, 12, 24), date(2026, 1, 7)),
    ],
)
def test_waiting_period(sent: date, channel: Any, start: date, allowed: date) -> None:
    assert b2c_waiting_period_start(sent, channel, B2C) == start
    assert b2c_costs_allowed_from(sent, channel, B2C) == allowed
    # Day 1 (start) .. day 14 are 14 full calendar days, longer when the 14th day is not a
    # working day (Civil Code art. 1.7): the printed end (allowed - 1) is always a working day.
    end = b2c_waiting_period_end(sent, channel, B2C)
    assert end == allowed - timedelta(days=1) and civil_working_day(end)
    assert (allowed - start).days >= 14
    if (allowed - start).days > 14:
        assert not civil_working_day(start + timedelta(days=13))
    if channel == "letter":
        assert civil_working_day(start)


def test_waiting_period_refuses_unknown_channel() -> None:
    with pytest.raises(FieldError, match="channel"):
        b2c_costs_allowed_from(date(2025, 3, 3), "sms", B2C)  # type: ignore[arg-type]


def test_reminder_fee() -> None:
    assert b2c_reminder_fee(1, B2C) == D("0.00")  # the first reminder is free
    assert b2c_reminder_fee(2, B2C) == D("7.50")
    assert b2c_reminder_fee(3, B2C, requested=D("5.00")) == D("5.00")
    assert b2c_reminder_fee(3, B2C, requested=D("12.00")) == D("7.50")
    assert b2c_reminder_fee(1, B2C, requested=D("12.00")) == D("0.00")
    with pytest.raises(FieldError, match="level"):
        b2c_reminder_fee(0, B2C)


# --------------------------------------------------------------------------- allocation


@pytest.mark.parametrize(
    ("amount", "expected"),
    [
        ("0.00", ("0.00", "0.00", "0.00", "0.00")),
        ("30.00", ("30.00", "0.00", "0.00", "0.00")),  # costs first
        ("47.50", ("47.50", "0.00", "0.00", "0.00")),  # exactly the costs
        ("50.00", ("47.50", "2.50", "0.00", "0.00")),  # then interest
        ("60.00", ("47.50", "9.04", "3.46", "0.00")),  # then principal
        ("1056.54", ("47.50", "9.04", "1000.00", "0.00")),  # everything, exactly
        ("1100.00", ("47.50", "9.04", "1000.00", "43.46")),  # overpaid
    ],
)
def test_allocation_order(amount: str, expected: tuple[str, str, str, str]) -> None:
    got = allocate_payment(D(amount), D("47.50"), D("9.04"), D("1000.00"))
    assert got == Allocation(*(D(x) for x in expected))


def test_allocation_refuses_bad_amounts() -> None:
    with pytest.raises(FieldError, match="amount"):
        allocate_payment(D("-1.00"), D("0"), D("0"), D("10.00"))
    with pytest.raises(FieldError, match="interest"):
        allocate_payment(D("1.00"), D("0"), D("0.001"), D("10.00"))


@settings(max_examples=500, deadline=None, database=None)
@given(amount=cents, costs=cents, interest=cents, principal=cents)
def test_allocation_parts_sum_to_the_amount(
    amount: Decimal, costs: Decimal, interest: Decimal, principal: Decimal
) -> None:
    a = allocate_payment(amount, costs, interest, principal)
    assert a.costs + a.interest + a.principal + a.excess == amount
    assert 0 <= a.costs <= costs and 0 <= a.interest <= interest and 0 <= a.principal <= principal
    assert a.excess >= 0
    # Order: nothing reaches a later bucket before the earlier one is fully paid.
    if a.interest > 0:
        assert a.costs == costs
    if a.principal > 0:
        assert a.interest == interest
    if a.excess > 0:
        assert (a.costs, a.interest, a.principal) == (costs, interest, principal)


# --------------------------------------------------------------------------- dunning rungs

DUE = date(2025, 6, 15)


def _b2b(level: int, on: date, previous: date | None) -> Any:
    return charges_for_step(
        "b2b",
        level,
        on,
        DUE,
        D("1000.00"),
        None,
        None,
        previous_step_date=previous,
        rate_periods=RATES,
        b2b=B2B,
    )


def test_b2b_rungs_interest_and_40_once() -> None:
    r1 = _b2b(1, date(2025, 6, 22), None)
    # 16..22 Jun = 7 days at 11.5 %: 1000 x 11.5 x 7 / 36500 = 2.2054... -> 2.21
    assert (r1.fixed_compensation, r1.interest, r1.penalty, r1.reminder_fee) == (
        D("40.00"),
        D("2.21"),
        D("0.00"),
        D("0.00"),
    )
    assert "law of 2 Aug 2002" in r1.rule and "40.00 EUR" in r1.rule
    r2 = _b2b(2, date(2025, 7, 15), date(2025, 6, 22))
    assert r2.fixed_compensation == D("0.00")  # already claimed at rung 1
    assert r2.interest == D("9.04")  # accrued to the rung's date (half-year example)
    assert "already claimed" in r2.rule
    assert r2.costs == D("0.00")


def test_b2b_rung_before_due_claims_nothing_and_next_rung_gets_the_40() -> None:
    early = _b2b(1, date(2025, 6, 12), None)
    assert (early.fixed_compensation, early.interest) == (D("0.00"), D("0.00"))
    late = _b2b(2, date(2025, 6, 22), date(2025, 6, 12))
    assert late.fixed_compensation == D("40.00")


# The order form's reciprocal clause (2002-law rate and a penalty both ways), as 0021 seeds it.
RECIPROCAL = ConsumerTerms("OF-2026-12", law_2002_rate=True, reciprocal_penalty=True)


def _b2c(
    level: int,
    on: date,
    previous: date | None,
    balance: str = "215.00",
    channel: Any = "email",
    terms: ConsumerTerms | None = RECIPROCAL,
) -> Any:
    return charges_for_step(
        "b2c",
        level,
        on,
        date(2025, 3, 1),
        D(balance),
        date(2025, 3, 8),
        channel,
        previous_step_date=previous,
        rate_periods=RATES,
        b2c=B2C,
        consumer_terms=terms,
    )


def test_b2c_rungs() -> None:
    # Due 1 Mar 2025, first reminder by e-mail on Sat 8 Mar: period from 9 Mar; its 14th day is
    # Saturday 22 Mar, so it ends Monday 24 Mar (Civil Code art. 1.7): costs from 25 Mar.
    r1 = _b2c(1, date(2025, 3, 8), None)
    assert r1.costs == D("0.00") and r1.interest == D("0.00")
    assert "first reminder is free" in r1.rule
    early = _b2c(2, date(2025, 3, 24), date(2025, 3, 8))
    assert (early.reminder_fee, early.penalty, early.interest) == (D("0"), D("0"), D("0"))
    assert "to 2025-03-24 (Civil Code art. 1.7), costs allowed from 2025-03-25" in early.rule
    r2 = _b2c(2, date(2025, 3, 25), date(2025, 3, 8))
    # Interest only from 25 Mar: 1 day x 215 x 11.5 % / 365 = 0.0677... -> 0.07
    assert (r2.fixed_compensation, r2.reminder_fee, r2.penalty, r2.interest) == (
        D("0.00"),
        D("7.50"),
        D("36.50"),
        D("0.07"),
    )
    assert "Book XIX" in r2.rule and "30.00 + 10.00 % above 150.00" in r2.rule
    assert "reminder_fee_max 7.50" in r2.rule and "waiting_days 14" in r2.rule
    r3 = _b2c(3, date(2025, 4, 7), date(2025, 3, 25))
    # Penalty once; interest 25 Mar..7 Apr = 14 days: 215 x 11.5 x 14 / 36500 = 0.9483 -> 0.95
    assert (r3.reminder_fee, r3.penalty, r3.interest) == (D("7.50"), D("0.00"), D("0.95"))
    assert "already claimed" in r3.rule


def test_b2c_penalty_goes_to_the_first_rung_after_the_period() -> None:
    # Rung 2 came too early (nothing charged), so rung 3 carries the penalty.
    r3 = _b2c(3, date(2025, 4, 7), date(2025, 3, 20), balance="1000.00")
    assert r3.penalty == D("90.00") and r3.reminder_fee == D("7.50")


def test_b2c_letter_moves_the_period() -> None:
    # Letter sent Sat 8 Mar: Mon 10, Tue 11, Wed 12 -> starts 12 Mar, costs from 26 Mar.
    assert _b2c(2, date(2025, 3, 25), date(2025, 3, 8), channel="letter").costs == D("0.00")
    assert _b2c(2, date(2025, 3, 26), date(2025, 3, 8), channel="letter").costs == D("44.00")


def test_b2c_rung_needs_the_first_reminder_and_parameters() -> None:
    with pytest.raises(FieldError, match="first_reminder_date"):
        charges_for_step(
            "b2c",
            2,
            date(2025, 4, 1),
            date(2025, 3, 1),
            D("100.00"),
            None,
            None,
            previous_step_date=date(2025, 3, 8),
            rate_periods=RATES,
            b2c=B2C,
        )
    with pytest.raises(FieldError, match="first_reminder_date"):
        charges_for_step(
            "b2c",
            2,
            date(2025, 4, 1),
            date(2025, 3, 1),
            D("100.00"),
            date(2025, 3, 1),  # sent on the due date: not a reminder of a late debt
            "email",
            previous_step_date=date(2025, 3, 1),
            rate_periods=RATES,
            b2c=B2C,
        )
    with pytest.raises(FieldError, match="b2c"):
        _b2c_without_params()
    with pytest.raises(FieldError, match="regime"):
        charges_for_step(
            "b2x",  # type: ignore[arg-type]
            1,
            date(2025, 4, 1),
            date(2025, 3, 1),
            D("100.00"),
            None,
            None,
            previous_step_date=None,
            rate_periods=RATES,
        )


def _b2c_without_params() -> Any:
    return charges_for_step(
        "b2c",
        1,
        date(2025, 3, 8),
        date(2025, 3, 1),
        D("100.00"),
        date(2025, 3, 8),
        "email",
        previous_step_date=None,
        rate_periods=RATES,
    )


# --------------------------------------------------------------------------- issue 12 §5

# The legal rate of the law of 5 May 1865 by calendar year, as migration 0021 seeds it
# (payroll-2026.md §6): 5.75 % in 2024, 4.50 % in 2025 and 2026.
LEGAL = [
    RatePeriod(date(2024, 1, 1), date(2024, 12, 31), D("5.75")),
    RatePeriod(date(2025, 1, 1), date(2025, 12, 31), D("4.50")),
    RatePeriod(date(2026, 1, 1), date(2026, 12, 31), D("4.50")),
]


def test_migration_0021_seeds_the_sourced_rates_and_terms() -> None:
    spec = importlib.util.spec_from_file_location(
        "late_payment_law", MIGRATION.parent / "20261207_0021_late_payment_law.py"
    )
    assert spec is not None and spec.loader is not None
    seed = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(seed)
    assert seed.revision == "0021"  # its place in the chain: tests/migrations
    rows = seed._rows()
    legal = [
        RatePeriod.from_row(r["valid_from"], r["valid_to"], r["value"])
        for r in rows
        if r["key"] == "late_payment.legal_rates"
    ]
    assert [(p.valid_from.year, p.annual_rate, p.estimate) for p in legal] == [
        (2023, D("5.25"), False),
        (2024, D("5.75"), False),
        (2025, D("4.50"), False),
        (2026, D("4.50"), False),
        (2027, D("4.50"), True),  # not published yet: carried forward, flagged
    ]
    assert LEGAL == [p for p in legal if 2024 <= p.valid_from.year <= 2026]
    terms = [r for r in rows if r["key"] == "late_payment.consumer_terms"]
    assert [ConsumerTerms.from_value(r["value"]) for r in terms] == [ConsumerTerms(), RECIPROCAL]
    assert terms[1]["valid_from"] == date(2026, 12, 8)
    assert terms[0]["valid_to"] == date(2026, 12, 7)
    for row in rows:
        value = row["value"]
        assert isinstance(value, dict) and value["source"] and value["confidence"], row
    # H2 2026 commercial rate: still not found, H1 carried forward and said so.
    assert seed.H2_2026_VALUE["annual_rate"] == "10.50" and seed.H2_2026_VALUE["estimate"]
    assert "NOT FOUND" in seed.H2_2026_SOURCE and "carried forward" in seed.H2_2026_SOURCE


def _due(on: date, amount: str) -> PrincipalMovement:
    return PrincipalMovement(on, D(amount), "invoice due")


def test_partial_payment_changes_the_base_from_its_date() -> None:
    # Due 31 Mar 2026, 1000.00 open; 400.00 of principal paid on 11 Apr; interest to 30 Apr.
    #   1..10 Apr  = 10 days on 1000.00 at 10.5 %: 105000 / 36500
    #   11..30 Apr = 20 days on  600.00 at 10.5 %: 126000 / 36500   (from the payment's date)
    #   total 231000 / 36500 = 6.3287... -> 6.33
    # (600 retroactively over 30 days would give 5.18; 1000 over 30 days 8.63.)
    moves = [_due(date(2026, 3, 31), "1000.00"), PrincipalMovement(date(2026, 4, 11), D("-400"))]
    result = accrue_interest(moves, date(2026, 4, 1), date(2026, 4, 30), RATES)
    assert result.amount == D("6.33")
    assert [(p.start, p.end, p.days, p.base) for p in result.breakdown] == [
        (date(2026, 4, 1), date(2026, 4, 10), 10, D("1000.00")),
        (date(2026, 4, 11), date(2026, 4, 30), 20, D("600.00")),
    ]
    assert "on 600.00 EUR (2026-04-11 to 2026-04-30)" in result.rule
    # A credit note is a movement like any other; paying everything stops the interest.
    moves.append(PrincipalMovement(date(2026, 4, 21), D("-600.00"), "credit note"))
    stopped = accrue_interest(moves, date(2026, 4, 1), date(2026, 5, 31), RATES)
    # 10 days on 1000 + 10 days on 600 (11..20 Apr): (105000 + 63000) / 36500 = 4.6027 -> 4.60
    assert stopped.amount == D("4.60")
    assert open_principal_on(moves, date(2026, 4, 20)) == D("600.00")
    assert open_principal_on(moves, date(2026, 4, 21)) == D("0.00")


def test_a_rate_change_and_a_payment_split_the_accrual() -> None:
    # B2B, due 15 Jun 2025; 500.00 paid on 1 Jul, the day the half-yearly rate changes:
    #   16..30 Jun = 15 days on 1000.00 at 11.5 % = 172500 / 36500
    #   1..15 Jul  = 15 days on  500.00 at 10.5 % =  78750 / 36500  -> 251250 / 36500 = 6.88
    moves = [_due(date(2025, 6, 15), "1000.00"), PrincipalMovement(date(2025, 7, 1), D("-500"))]
    result = accrue_interest(moves, date(2025, 6, 16), date(2025, 7, 15), RATES)
    assert result.amount == D("6.88")
    assert [(p.days, p.annual_rate, p.base) for p in result.breakdown] == [
        (15, D("11.50"), D("1000.00")),
        (15, D("10.50"), D("500.00")),
    ]
    # Consumer at the legal rate over New Year: 16..31 Dec 2024 at 5.75 %, 1..15 Jan 2025 at
    # 4.50 %: 1000 x (5.75 x 16 + 4.5 x 15) / 36500 = 159500 / 36500 = 4.3698... -> 4.37
    legal = accrue_interest(
        [_due(date(2024, 12, 15), "1000.00")],
        date(2024, 12, 16),
        date(2025, 1, 15),
        LEGAL,
        law=LEGAL_RATE_LAW,
    )
    assert legal.amount == D("4.37")
    assert [(p.days, p.annual_rate) for p in legal.breakdown] == [(16, D("5.75")), (15, D("4.50"))]
    assert "law of 5 May 1865, art. 2 par. 1" in legal.rule


def test_interest_keeps_accruing_after_the_last_rung() -> None:
    # B2B, due 31 Jan 2026, formal notice on day 35 (7 Mar), still unpaid 60 days later.
    due = date(2026, 1, 31)
    notice = due + timedelta(days=35)
    at_notice = _b2b_on(due, notice)
    later = accrue_interest(
        [_due(due, "1000.00")], due + timedelta(days=1), notice + timedelta(days=60), RATES
    )
    # 35 days: 1000 x 10.5 x 35 / 36500 = 10.07; 95 days: 1000 x 10.5 x 95 / 36500 = 27.33
    assert at_notice.interest == D("10.07")
    assert later.amount == D("27.33") and later.days == 95


def _b2b_on(due: date, on: date) -> Any:
    return charges_for_step(
        "b2b",
        3,
        on,
        due,
        D("1000.00"),
        None,
        None,
        previous_step_date=due + timedelta(days=21),
        rate_periods=RATES,
        b2b=B2B,
    )


def test_consumer_without_the_reciprocal_clause_gets_the_legal_rate_and_no_penalty() -> None:
    # Same case as test_b2c_rungs (costs from 25 Mar 2025), 215.00 open.
    def rung(terms: ConsumerTerms | None, rates: list[RatePeriod], on: date) -> Any:
        return charges_for_step(
            "b2c",
            2,
            on,
            date(2025, 3, 1),
            D("215.00"),
            date(2025, 3, 8),
            "email",
            previous_step_date=date(2025, 3, 8),
            rate_periods=rates,
            b2c=B2C,
            consumer_terms=terms,
        )

    for terms in (None, ConsumerTerms(), ConsumerTerms("OF-x", True, False)):
        assert (terms or ConsumerTerms()).rate_law == LEGAL_RATE_LAW
        plain = rung(terms, LEGAL, date(2025, 4, 7))
        # 25 Mar..7 Apr = 14 days x 215 x 4.5 % / 365 = 0.3710 -> 0.37; no penalty at all.
        assert (plain.penalty, plain.reminder_fee, plain.interest) == (
            D("0.00"),
            D("7.50"),
            D("0.37"),
        )
        assert "law of 5 May 1865" in plain.rule and "void unless reciprocal" in plain.rule
    # Only the 2002-law rate AND a reciprocal penalty make the 2002-law rate apply.
    assert ConsumerTerms("OF-x", False, True).rate_law == LEGAL_RATE_LAW
    assert RECIPROCAL.rate_law == B2B_LAW
    stipulated = rung(RECIPROCAL, RATES, date(2025, 4, 7))
    # 14 days x 215 x 11.5 % / 365 = 0.9483 -> 0.95; penalty 30 + 10 % above 150 = 36.50.
    assert (stipulated.penalty, stipulated.interest) == (D("36.50"), D("0.95"))
    assert "law of 2 Aug 2002" in stipulated.rule


def test_consumer_terms_from_their_parameter_row() -> None:
    assert ConsumerTerms.from_value(None) == ConsumerTerms()
    assert (
        ConsumerTerms.from_value(
            {"version": "OF-2026-12", "law_2002_rate": True, "reciprocal_penalty": True}
        )
        == RECIPROCAL
    )
    with pytest.raises(FieldError, match="reciprocal_penalty"):
        ConsumerTerms.from_value({"version": "x", "reciprocal_penalty": "yes"})


@pytest.mark.parametrize(
    ("sent", "start", "end"),
    [
        # Sent Sat 12 Dec 2026: the 14th day is Saturday 26 Dec -> Monday 28 Dec 2026.
        (date(2026, 12, 12), date(2026, 12, 13), date(2026, 12, 28)),
        # Sent Sun 13 Dec: the 14th day is Sunday 27 Dec -> Monday 28 Dec.
        (date(2026, 12, 13), date(2026, 12, 14), date(2026, 12, 28)),
        # Sent Fri 11 Dec: the 14th day is Christmas (Fri 25 Dec), then a weekend -> Mon 28 Dec.
        (date(2026, 12, 11), date(2026, 12, 12), date(2026, 12, 28)),
        # Sent Fri 18 Dec: the 14th day is New Year's Day 2027 (Fri) -> Monday 4 Jan 2027.
        (date(2026, 12, 18), date(2026, 12, 19), date(2027, 1, 4)),
        # Sent Mon 14 Dec: the 14th day is Monday 28 Dec, a working day: not moved.
        (date(2026, 12, 14), date(2026, 12, 15), date(2026, 12, 28)),
    ],
)
def test_book_xix_end_moves_to_the_next_working_day(sent: date, start: date, end: date) -> None:
    assert b2c_waiting_period_start(sent, "email", B2C) == start
    assert b2c_waiting_period_end(sent, "email", B2C) == end
    # Costs only after the printed end (INV-8).
    assert b2c_costs_allowed_from(sent, "email", B2C) == end + timedelta(days=1)
    assert next_civil_working_day(end) == end
    first = charges_for_step(
        "b2c",
        2,
        end,
        sent - timedelta(days=7),
        D("215.00"),
        sent,
        "email",
        previous_step_date=sent,
        rate_periods=RATES,
        b2c=B2C,
        consumer_terms=RECIPROCAL,
    )
    assert first.costs == D("0.00") and first.interest == D("0.00")


def test_civil_working_days_exclude_saturdays() -> None:
    assert not civil_working_day(date(2026, 12, 26))  # Saturday
    assert not civil_working_day(date(2026, 12, 25))  # Christmas
    assert civil_working_day(date(2026, 12, 28))
    assert next_civil_working_day(date(2026, 12, 24)) == date(2026, 12, 24)  # a Thursday
