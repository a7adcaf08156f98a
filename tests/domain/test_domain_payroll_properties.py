"""Property tests of the payroll engine: exact split, price <-> gross <-> net round trips, the
monthly cumulation and the expenses' gross-up, with today's and with any valid parameters."""

from __future__ import annotations

from dataclasses import replace
from decimal import Decimal

from hypothesis import example, given, settings
from hypothesis import strategies as st

from domain.errors import FieldError
from domain.money import to_cents
from domain.payroll import (
    ContractType,
    EmployerCharge,
    PayrollParameters,
    WorkPeriod,
    estimate_payroll,
    gross_up_expenses,
    key_formula_tax,
    price_for_gross,
)
from tests.domain.test_domain_payroll import PARAMS, assert_invariants, split_total

CENT = Decimal("0.01")
cents = st.integers(min_value=0, max_value=100_000_000).map(lambda c: Decimal(c) / 100)
positive_prices = st.integers(min_value=1, max_value=100_000_000).map(lambda c: Decimal(c) / 100)
grosses = st.integers(min_value=0, max_value=50_000_000).map(lambda c: Decimal(c) / 100)
expenses_amounts = st.integers(min_value=0, max_value=5_000_000).map(lambda c: Decimal(c) / 100)
contract_types: st.SearchStrategy[ContractType] = st.sampled_from(["ordinary", "artistic"])
periods = st.builds(
    lambda working, paid: WorkPeriod(min(paid, working), working),
    st.integers(1, 23),
    st.integers(1, 23),
)


def rate(max_basis_points: int) -> st.SearchStrategy[Decimal]:
    return st.integers(min_value=0, max_value=max_basis_points).map(lambda b: Decimal(b) / 10_000)


@st.composite
def any_parameters(draw: st.DrawFn) -> PayrollParameters:
    """Any valid employer-side rates, not only today's: the arithmetic must not depend on them."""
    simple = draw(rate(2000))
    return replace(
        PARAMS,
        fee_rate=draw(rate(2000)),
        fund_share_of_fee=draw(rate(10_000)),
        employer_contribution_rate=draw(rate(15_000)),
        employee_contribution_rate=draw(rate(3000)),
        artistic_contribution_base=Decimal(10_000 + draw(st.integers(0, 2000))) / 10_000,
        exit_holiday_pay_simple_rate=simple,
        exit_holiday_pay_rate=simple + draw(rate(2000)),
        artistic_holiday_annual_rate=draw(rate(2000)),
        artistic_holiday_quarterly_rate=draw(rate(1000)),
        other_employer_charges=tuple(
            EmployerCharge(f"charge{i}", r)
            for i, r in enumerate(draw(st.lists(rate(500), max_size=2)))
        ),
    )


def fits(price: Decimal, expenses: Decimal, params: PayrollParameters) -> bool:
    return price - to_cents(price * params.fee_rate) >= expenses


@settings(max_examples=500, deadline=None, database=None)
@given(price=cents, expenses_share=rate(10_000), contract_type=contract_types, period=periods)
def test_split_is_exact_with_todays_parameters(
    price: Decimal, expenses_share: Decimal, contract_type: ContractType, period: WorkPeriod
) -> None:
    expenses = to_cents(price * expenses_share)
    try:
        e = estimate_payroll(price, expenses, PARAMS, contract_type, period=period)
    except FieldError as exc:
        assert exc.field == "expenses"
        assert not fits(price, expenses, PARAMS)
        return
    assert_invariants(e)


@settings(max_examples=300, deadline=None, database=None)
@given(
    price=cents, expenses_share=rate(10_000), contract_type=contract_types, params=any_parameters()
)
def test_split_is_exact_with_any_parameters(
    price: Decimal,
    expenses_share: Decimal,
    contract_type: ContractType,
    params: PayrollParameters,
) -> None:
    expenses = to_cents(price * expenses_share)
    try:
        e = estimate_payroll(price, expenses, params, contract_type)
    except FieldError as exc:
        assert exc.field == "expenses"
        return
    assert_invariants(e, params)


@settings(max_examples=500, deadline=None, database=None)
@given(gross=grosses, expenses=expenses_amounts, contract_type=contract_types)
@example(gross=Decimal("657.26"), expenses=Decimal("0.00"), contract_type="ordinary")
@example(gross=Decimal("0.01"), expenses=Decimal("0.00"), contract_type="artistic")
def test_gross_to_price_to_gross_is_exact(
    gross: Decimal, expenses: Decimal, contract_type: ContractType
) -> None:
    price = price_for_gross(gross, expenses, PARAMS, contract_type)
    e = estimate_payroll(price, expenses, PARAMS, contract_type)
    assert e.gross_salary == gross
    assert_invariants(e)
    # The smallest such price: one cent less pays less gross (or cannot cover the expenses).
    if price > 0:
        below = price - CENT
        if fits(below, expenses, PARAMS):
            assert estimate_payroll(below, expenses, PARAMS, contract_type).gross_salary < gross


@settings(max_examples=300, deadline=None, database=None)
@given(
    gross=grosses, expenses=expenses_amounts, contract_type=contract_types, params=any_parameters()
)
def test_gross_to_price_to_gross_is_exact_with_any_parameters(
    gross: Decimal, expenses: Decimal, contract_type: ContractType, params: PayrollParameters
) -> None:
    price = price_for_gross(gross, expenses, params, contract_type)
    assert estimate_payroll(price, expenses, params, contract_type).gross_salary == gross


@settings(max_examples=500, deadline=None, database=None)
@given(price=positive_prices, expenses_share=rate(10_000), contract_type=contract_types)
@example(price=Decimal("1000.08"), expenses_share=Decimal(0), contract_type="ordinary")
@example(price=Decimal("962.57"), expenses_share=Decimal("0.1039"), contract_type="ordinary")
def test_price_to_net_to_price_round_trip(
    price: Decimal, expenses_share: Decimal, contract_type: ContractType
) -> None:
    """price -> (gross, net) -> price: the same salary to the cent, at a price a few cents lower
    at most (the smallest price paying that gross)."""
    expenses = to_cents(price * expenses_share)
    if not fits(price, expenses, PARAMS):
        return
    first = estimate_payroll(price, expenses, PARAMS, contract_type)
    back = price_for_gross(first.gross_salary, expenses, PARAMS, contract_type)
    second = estimate_payroll(back, expenses, PARAMS, contract_type)
    assert second.gross_salary == first.gross_salary
    assert second.exit_holiday_pay == first.exit_holiday_pay
    assert second.employee_contributions == first.employee_contributions
    assert second.work_bonus == first.work_bonus
    assert second.special_contribution == first.special_contribution
    assert second.withholding_tax == first.withholding_tax
    assert second.net_salary == first.net_salary
    # A cent of gross costs about 1.42 (ordinary) / 1.44 (artistic) cents of budget.
    assert Decimal("0.00") <= price - back <= Decimal("0.03")
    assert price_for_gross(second.gross_salary, expenses, PARAMS, contract_type) == back
    # Paying the gross found (the signed one) from the original price is the same salary.
    signed = estimate_payroll(price, expenses, PARAMS, contract_type, gross=first.gross_salary)
    assert signed == first


@settings(max_examples=300, deadline=None, database=None)
@given(
    first=st.integers(1, 800_000).map(lambda c: Decimal(c) / 100),
    second=st.integers(1, 800_000).map(lambda c: Decimal(c) / 100),
)
def test_two_payouts_of_a_month_withhold_the_formula_on_the_total(
    first: Decimal, second: Decimal
) -> None:
    one = estimate_payroll(first, Decimal("0"), PARAMS)
    two = estimate_payroll(second, Decimal("0"), PARAMS, month=one.month_share)
    assert_invariants(two)
    month = one.month_share.plus(two.month_share)
    formula = key_formula_tax(month.taxable, PARAMS.key_formula)
    assert two.withholding_tax_formula == formula
    # What the month withholds in all: the formula on the total less the fiscal bonus granted,
    # unless the second pay had too little taxable pay left to take it (then it takes all).
    due = max(Decimal("0"), formula - two.fiscal_work_bonus)
    assert month.withheld <= max(due, one.withholding_tax)
    if two.withholding_tax + two.special_contribution < two.taxable_pay:
        assert month.withheld == max(due, one.withholding_tax)


@settings(max_examples=300, deadline=None, database=None)
@given(
    labour=positive_prices,
    expenses=st.lists(st.integers(1, 1_000_000).map(lambda c: Decimal(c) / 100), max_size=4),
)
def test_expenses_never_lower_the_gross(labour: Decimal, expenses: list[Decimal]) -> None:
    invoiced = gross_up_expenses(labour, expenses, PARAMS.fee_rate)
    without = estimate_payroll(labour, Decimal("0"), PARAMS)
    total = sum(expenses, Decimal("0"))
    with_expenses = estimate_payroll(labour + sum(invoiced, Decimal("0")), total, PARAMS)
    assert with_expenses.gross_salary >= without.gross_salary
    assert with_expenses.employment_budget - without.employment_budget <= CENT
    assert split_total(with_expenses) == with_expenses.invoiced_excl_vat
