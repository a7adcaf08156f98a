"""Property-based check of the payroll split (runs only where hypothesis is installed)."""

from __future__ import annotations

from decimal import Decimal

import pytest

from domain.errors import FieldError
from domain.money import to_cents
from domain.payroll import PayrollParameters, estimate_payroll

pytest.importorskip("hypothesis")

from hypothesis import given, settings  # noqa: E402
from hypothesis import strategies as st  # noqa: E402

cents = st.integers(min_value=0, max_value=100_000_000).map(lambda c: Decimal(c) / 100)


def rate(max_basis_points: int) -> st.SearchStrategy[Decimal]:
    return st.integers(min_value=0, max_value=max_basis_points).map(lambda b: Decimal(b) / 10_000)


@settings(max_examples=500, deadline=None, database=None)
@given(
    invoiced=cents,
    expenses_share=rate(10_000),
    fee_rate=rate(2000),
    fund_share=rate(10_000),
    employer=rate(6000),
    employee=rate(3000),
    wht=rate(5500),
)
def test_split_is_exact(
    invoiced: Decimal,
    expenses_share: Decimal,
    fee_rate: Decimal,
    fund_share: Decimal,
    employer: Decimal,
    employee: Decimal,
    wht: Decimal,
) -> None:
    params = PayrollParameters(
        fee_rate=fee_rate,
        fund_share_of_fee=fund_share,
        employer_contribution_rate=employer,
        employee_contribution_rate=employee,
        withholding_tax_rate=wht,
    )
    expenses = to_cents(invoiced * expenses_share)
    try:
        e = estimate_payroll(invoiced, expenses, params)
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
    assert total == invoiced
    assert min(e.gross_salary, e.net_salary, e.employer_contributions, e.withholding_tax) >= 0
    assert e.fund_contribution <= e.fee
