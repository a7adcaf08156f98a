"""Simplified payroll estimate: worked examples and the exact-split invariant."""

from __future__ import annotations

import random
from dataclasses import replace
from decimal import Decimal

import pytest

from domain.errors import FieldError
from domain.payroll import PayrollEstimate, PayrollParameters, estimate_payroll

# Illustrative parameters (domain.md §1.3-1.4); real values live in a dated rate table.
PARAMS = PayrollParameters(
    fee_rate=Decimal("0.065"),
    fund_share_of_fee=Decimal("0.5"),
    employer_contribution_rate=Decimal("0.25"),
    employee_contribution_rate=Decimal("0.1307"),
    withholding_tax_rate=Decimal("0.20"),
)


def split_total(e: PayrollEstimate) -> Decimal:
    return (
        e.fee
        + e.expenses
        + e.employer_contributions
        + e.employee_contributions
        + e.withholding_tax
        + e.net_salary
    )


def assert_invariants(e: PayrollEstimate) -> None:
    assert split_total(e) == e.invoiced_excl_vat
    assert e.employment_budget == e.invoiced_excl_vat - e.fee - e.expenses
    assert e.employer_contributions + e.gross_salary == e.employment_budget
    assert e.gross_salary - e.employee_contributions - e.withholding_tax == e.net_salary
    assert e.fund_contribution <= e.fee
    for name in (
        "invoiced_excl_vat",
        "fee",
        "fund_contribution",
        "expenses",
        "employment_budget",
        "employer_contributions",
        "gross_salary",
        "employee_contributions",
        "withholding_tax",
        "net_salary",
    ):
        value = getattr(e, name)
        assert isinstance(value, Decimal)
        assert value >= 0, name
        assert value.as_tuple().exponent == -2, name


def test_1000_invoiced_no_expenses() -> None:
    e = estimate_payroll(Decimal("1000.00"), Decimal("0.00"), PARAMS)
    assert e == PayrollEstimate(
        invoiced_excl_vat=Decimal("1000.00"),
        fee=Decimal("65.00"),
        fund_contribution=Decimal("32.50"),
        expenses=Decimal("0.00"),
        employment_budget=Decimal("935.00"),
        employer_contributions=Decimal("187.00"),
        gross_salary=Decimal("748.00"),
        employee_contributions=Decimal("97.76"),  # 97.7636
        withholding_tax=Decimal("130.05"),  # 650.24 * 20 % = 130.048
        net_salary=Decimal("520.19"),
    )
    assert_invariants(e)


def test_domain_worked_example_2_with_coefficient_1_35() -> None:
    # domain.md §1.3: 1,000 HTVA -> budget 935 -> gross 692.59 (coefficient 1.35) -> net ~482.
    params = replace(PARAMS, employer_contribution_rate=Decimal("0.35"))
    e = estimate_payroll(Decimal("1000"), Decimal("0"), params)
    assert e.employment_budget == Decimal("935.00")
    assert e.gross_salary == Decimal("692.59")
    assert e.employee_contributions == Decimal("90.52")
    assert e.withholding_tax == Decimal("120.41")
    assert e.net_salary == Decimal("481.66")
    assert_invariants(e)


def test_domain_worked_example_1_cost_side() -> None:
    # Invoice 962.57 built from labour 800 + expenses 100: fee 62.57, budget 800.
    e = estimate_payroll(Decimal("962.57"), Decimal("100.00"), PARAMS)
    assert e.fee == Decimal("62.57")  # 62.56705 -> half up
    assert e.employment_budget == Decimal("800.00")
    assert e.gross_salary == Decimal("640.00")
    assert e.employer_contributions == Decimal("160.00")
    assert_invariants(e)


def test_fund_contribution_is_part_of_fee() -> None:
    params = replace(PARAMS, fund_share_of_fee=Decimal("0.3"))
    e = estimate_payroll(Decimal("1234.56"), Decimal("0"), params)
    assert e.fee == Decimal("80.25")  # 80.2464
    assert e.fund_contribution == Decimal("24.08")  # 24.075 -> half up
    assert split_total(e) == Decimal("1234.56")  # the fund share is not added on top


def test_expenses_exactly_consume_budget() -> None:
    e = estimate_payroll(Decimal("100.00"), Decimal("93.50"), PARAMS)
    assert e.employment_budget == Decimal("0.00")
    assert e.net_salary == Decimal("0.00")
    assert_invariants(e)


def test_zero_invoice() -> None:
    assert_invariants(estimate_payroll(Decimal("0"), Decimal("0"), PARAMS))


@pytest.mark.parametrize(
    ("invoiced", "expenses", "field", "reason"),
    [
        ("100.00", "93.51", "expenses", "exceed the amount invoiced minus the fee"),
        ("100.00", "-1.00", "expenses", "must not be negative"),
        ("-100.00", "0", "invoiced_excl_vat", "must not be negative"),
        ("100.001", "0", "invoiced_excl_vat", "at most 2 decimals"),
        ("100.00", "0.001", "expenses", "at most 2 decimals"),
        ("NaN", "0", "invoiced_excl_vat", "finite"),
        ("1e40", "0", "invoiced_excl_vat", "too large"),
    ],
)
def test_refusals(invoiced: str, expenses: str, field: str, reason: str) -> None:
    with pytest.raises(FieldError) as excinfo:
        estimate_payroll(Decimal(invoiced), Decimal(expenses), PARAMS)
    assert excinfo.value.field == field
    assert reason in excinfo.value.message


@pytest.mark.parametrize(
    "change",
    [
        {"fee_rate": Decimal("-0.01")},
        {"fee_rate": Decimal("1.5")},
        {"fund_share_of_fee": Decimal("1.01")},
        {"withholding_tax_rate": Decimal("NaN")},
        {"employee_contribution_rate": 0.1307},
    ],
)
def test_parameters_refused(change: dict[str, object]) -> None:
    with pytest.raises(ValueError):
        replace(PARAMS, **change)  # type: ignore[arg-type]


def test_parameters_are_frozen() -> None:
    with pytest.raises(AttributeError):
        PARAMS.fee_rate = Decimal("0.07")  # type: ignore[misc]


def test_invariant_over_many_generated_values() -> None:
    rng = random.Random(20260302)
    for _ in range(20_000):
        invoiced = Decimal(rng.randint(0, 100_000_000)) / 100
        max_expenses = invoiced - (invoiced * PARAMS.fee_rate).quantize(Decimal("0.01"))
        expenses = Decimal(rng.randint(0, max(0, int(max_expenses * 100)))) / 100
        params = PayrollParameters(
            fee_rate=Decimal(rng.randint(0, 2000)) / 10_000,
            fund_share_of_fee=Decimal(rng.randint(0, 100)) / 100,
            employer_contribution_rate=Decimal(rng.randint(0, 6000)) / 10_000,
            employee_contribution_rate=Decimal(rng.randint(0, 3000)) / 10_000,
            withholding_tax_rate=Decimal(rng.randint(0, 5500)) / 10_000,
        )
        try:
            e = estimate_payroll(invoiced, expenses, params)
        except FieldError as exc:
            assert exc.field == "expenses"
            continue
        assert_invariants(e)
