"""Property tests of the payroll estimate: exact split, and both directions inverse to the cent."""

from __future__ import annotations

from decimal import Decimal

from hypothesis import example, given, settings
from hypothesis import strategies as st

from domain.errors import FieldError
from domain.money import to_cents
from domain.payroll import (
    ContractType,
    PayrollParameters,
    TaxBracket,
    estimate_payroll,
    price_for_gross,
)
from tests.domain.test_domain_payroll import PARAMS, assert_invariants

CENT = Decimal("0.01")
cents = st.integers(min_value=0, max_value=100_000_000).map(lambda c: Decimal(c) / 100)
positive_prices = st.integers(min_value=1, max_value=100_000_000).map(lambda c: Decimal(c) / 100)
grosses = st.integers(min_value=0, max_value=70_000_000).map(lambda c: Decimal(c) / 100)
expenses_amounts = st.integers(min_value=0, max_value=5_000_000).map(lambda c: Decimal(c) / 100)
contract_types: st.SearchStrategy[ContractType] = st.sampled_from(["ordinary", "artistic"])


def rate(max_basis_points: int) -> st.SearchStrategy[Decimal]:
    return st.integers(min_value=0, max_value=max_basis_points).map(lambda b: Decimal(b) / 10_000)


@st.composite
def any_parameters(draw: st.DrawFn) -> PayrollParameters:
    """Any valid parameters, not only today's: the arithmetic must not depend on the values."""
    bounds = sorted(set(draw(st.lists(st.integers(1, 1_000_000), max_size=4))))
    brackets = [TaxBracket(Decimal(b) / 100, draw(rate(10_000))) for b in bounds]
    brackets.append(TaxBracket(None, draw(rate(10_000))))
    return PayrollParameters(
        fee_rate=draw(rate(2000)),
        fund_share_of_fee=draw(rate(10_000)),
        employer_contribution_rate=draw(rate(15_000)),
        employee_contribution_rate=draw(rate(3000)),
        artistic_contribution_base=Decimal(10_000 + draw(st.integers(0, 2000))) / 10_000,
        withholding_scale=tuple(brackets),
    )


def fits(price: Decimal, expenses: Decimal, params: PayrollParameters) -> bool:
    return price - to_cents(price * params.fee_rate) >= expenses


@settings(max_examples=600, deadline=None, database=None)
@given(price=cents, expenses_share=rate(10_000), contract_type=contract_types)
def test_split_is_exact_with_todays_parameters(
    price: Decimal, expenses_share: Decimal, contract_type: ContractType
) -> None:
    expenses = to_cents(price * expenses_share)
    try:
        e = estimate_payroll(price, expenses, PARAMS, contract_type)
    except FieldError as exc:
        assert exc.field == "expenses"
        assert not fits(price, expenses, PARAMS)
        return
    assert_invariants(e)


@settings(max_examples=400, deadline=None, database=None)
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
    total = (
        e.fee
        + e.expenses
        + e.employer_contributions
        + e.employee_contributions
        + e.withholding_tax
        + e.net_salary
    )
    assert total == price
    assert min(e.gross_salary, e.net_salary, e.employer_contributions, e.withholding_tax) >= 0


@settings(max_examples=600, deadline=None, database=None)
@given(gross=grosses, expenses=expenses_amounts, contract_type=contract_types)
@example(gross=Decimal("640.00"), expenses=Decimal("100.00"), contract_type="ordinary")
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


@settings(max_examples=600, deadline=None, database=None)
@given(price=positive_prices, expenses_share=rate(10_000), contract_type=contract_types)
@example(price=Decimal("1000.08"), expenses_share=Decimal(0), contract_type="ordinary")
@example(price=Decimal("962.57"), expenses_share=Decimal("0.1039"), contract_type="ordinary")
def test_price_to_net_to_price_round_trip(
    price: Decimal, expenses_share: Decimal, contract_type: ContractType
) -> None:
    """price -> (gross, net) -> price: the same salary to the cent, at a price at most 2 cents
    lower (the smallest price paying that gross; see the module docstring of domain.payroll)."""
    expenses = to_cents(price * expenses_share)
    if not fits(price, expenses, PARAMS):
        return
    first = estimate_payroll(price, expenses, PARAMS, contract_type)
    back = price_for_gross(first.gross_salary, expenses, PARAMS, contract_type)
    second = estimate_payroll(back, expenses, PARAMS, contract_type)
    assert second.gross_salary == first.gross_salary
    assert second.employee_contributions == first.employee_contributions
    assert second.withholding_tax == first.withholding_tax
    assert second.net_salary == first.net_salary
    assert Decimal("0.00") <= price - back <= Decimal("0.02")
    # And the way back is stable: from `back` the inverse returns `back` itself.
    assert price_for_gross(second.gross_salary, expenses, PARAMS, contract_type) == back
