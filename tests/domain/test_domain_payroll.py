"""Payroll estimate: worked examples, exact split, 108 % artistic base, the scale's edges."""

from __future__ import annotations

import importlib.util
from dataclasses import replace
from datetime import date
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest

from domain.errors import FieldError
from domain.invoice import InvoiceLine, invoice_totals
from domain.payroll import (
    PayrollEstimate,
    PayrollParameters,
    TaxBracket,
    employer_contributions_on,
    estimate_payroll,
    parse_contract_type,
    price_for_cost,
    price_for_gross,
    withholding_tax,
)
from services.parameters import PAYROLL_KEYS, DatedParameter, payroll_parameters_from

D = Decimal
ROOT = Path(__file__).resolve().parents[2]

# The values seeded by alembic/versions/*0003* (checked against the migration below).
SCALE = (
    TaxBracket(D("500.00"), D("0.10")),
    TaxBracket(D("1500.00"), D("0.25")),
    TaxBracket(D("3000.00"), D("0.40")),
    TaxBracket(D("5000.00"), D("0.45")),
    TaxBracket(None, D("0.50")),
)
PARAMS = PayrollParameters(
    fee_rate=D("0.065"),
    fund_share_of_fee=D("0.30"),
    employer_contribution_rate=D("0.25"),
    employee_contribution_rate=D("0.1307"),
    artistic_contribution_base=D("1.08"),
    withholding_scale=SCALE,
)
AMOUNTS = (
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


def assert_invariants(e: PayrollEstimate, params: PayrollParameters = PARAMS) -> None:
    """The split is exact, every amount is a non-negative cent amount, the gross is maximal."""
    assert split_total(e) == e.invoiced_excl_vat
    assert e.employment_budget == e.invoiced_excl_vat - e.fee - e.expenses
    assert e.employer_contributions + e.gross_salary == e.employment_budget
    assert e.gross_salary - e.employee_contributions - e.withholding_tax == e.net_salary
    assert e.fund_contribution <= e.fee
    for name in AMOUNTS:
        value = getattr(e, name)
        assert isinstance(value, Decimal)
        assert value >= 0, name
        assert value.as_tuple().exponent == -2, name
    employer = employer_contributions_on(e.gross_salary, params, e.contract_type)
    # The budget is used exactly: the rounding remainder (at most a cent) is employer ONSS.
    assert e.employer_contributions - employer in (D("0.00"), D("0.01"))
    above = e.gross_salary + D("0.01")
    assert above + employer_contributions_on(above, params, e.contract_type) > e.employment_budget


def test_seeded_rows_build_these_parameters() -> None:
    path = next((ROOT / "alembic" / "versions").glob("*_0003_payroll_parameters.py"))
    spec = importlib.util.spec_from_file_location("migration_0003", path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    by_key: dict[str, Any] = {key: value for key, value, _ in module.ROWS}
    rows = {
        name: DatedParameter(key=key, valid_from=date(2026, 1, 1), value=by_key[key])
        for name, key in PAYROLL_KEYS.items()
    }
    assert payroll_parameters_from(rows) == PARAMS
    assert (
        "simplified scale, not the official précompte tables"
        in (by_key["payroll.withholding_scale"]["description"])
    )


# ---------------------------------------------------------------- forward, worked figures
def test_ordinary_1000_no_expenses() -> None:
    e = estimate_payroll(D("1000.00"), D("0.00"), PARAMS)
    assert e == PayrollEstimate(
        contract_type="ordinary",
        invoiced_excl_vat=D("1000.00"),
        fee=D("65.00"),
        fund_contribution=D("19.50"),
        expenses=D("0.00"),
        employment_budget=D("935.00"),
        employer_contributions=D("187.00"),  # 748 x 25 %
        gross_salary=D("748.00"),  # 935 / 1.25
        employee_contributions=D("97.76"),  # 748 x 13.07 % = 97.7636
        withholding_tax=D("87.56"),  # 500 x 10 % + 150.24 x 25 % = 87.56
        net_salary=D("562.68"),
    )
    assert_invariants(e)


def test_artistic_contributions_on_108_percent_of_gross() -> None:
    e = estimate_payroll(D("1000.00"), D("0.00"), PARAMS, "artistic")
    assert e.employment_budget == D("935.00")
    # G + cents(G x 1.08 x 25 %) <= 935: 935 / 1.27 = 736.22...
    assert e.gross_salary == D("736.22")
    assert e.employer_contributions == D("198.78")  # 736.22 x 1.08 x 0.25 = 198.7794
    assert e.employee_contributions == D("103.92")  # 736.22 x 1.08 x 0.1307 = 103.9219...
    assert e.withholding_tax == D("83.08")  # 50 + (632.30 - 500) x 25 % = 83.075
    assert e.net_salary == D("549.22")
    assert_invariants(e)


def test_artistic_costs_more_than_ordinary_for_the_same_price() -> None:
    for price in ("50.00", "1000.00", "2500.00", "99999.99"):
        ordinary = estimate_payroll(D(price), D("10.00"), PARAMS)
        artistic = estimate_payroll(D(price), D("10.00"), PARAMS, "artistic")
        assert artistic.employment_budget == ordinary.employment_budget
        assert artistic.gross_salary < ordinary.gross_salary
        assert artistic.employer_contributions > ordinary.employer_contributions
        assert artistic.net_salary < ordinary.net_salary


def test_with_expenses() -> None:
    e = estimate_payroll(D("2500.00"), D("150.00"), PARAMS)
    assert e.fee == D("162.50")
    assert e.fund_contribution == D("48.75")
    assert e.employment_budget == D("2187.50")
    assert e.gross_salary == D("1750.00")
    assert e.employer_contributions == D("437.50")
    assert e.employee_contributions == D("228.73")  # 228.725 -> half up
    assert e.withholding_tax == D("308.51")  # 50 + 250 + (1521.27 - 1500) x 40 % = 308.508
    assert e.net_salary == D("1212.76")
    assert_invariants(e)


def test_rounding_remainder_goes_to_employer_contributions() -> None:
    # Budget 0.02: G = 0.01 costs 0.01 + cents(0.0025) = 0.01; G = 0.02 costs 0.03 (0.005 -> 0.01).
    params = replace(PARAMS, fee_rate=D("0"))
    e = estimate_payroll(D("0.02"), D("0"), params)
    assert e.gross_salary == D("0.01")
    assert employer_contributions_on(D("0.01"), params, "ordinary") == D("0.00")
    assert e.employer_contributions == D("0.01")
    assert_invariants(e, params)


def test_domain_worked_example_1_cost_side() -> None:
    # domain.md §1.3: labour cost 800 + expenses 100 -> HTVA 962.57 -> VAT 202.14 -> 1,164.71.
    price = price_for_cost(D("800.00"), D("100.00"), PARAMS.fee_rate)
    assert price == D("962.57")
    e = estimate_payroll(price, D("100.00"), PARAMS)
    assert e.fee == D("62.57")  # SMart's share; 62.56705 -> half up
    assert e.employment_budget == D("800.00")  # the labour cost comes back exactly
    assert e.gross_salary == D("640.00")
    assert e.employer_contributions == D("160.00")
    assert_invariants(e)
    totals = invoice_totals([InvoiceLine("work", price)], D("21"))
    assert (totals.vat_amount, totals.total_incl_vat) == (D("202.14"), D("1164.71"))


def test_domain_worked_example_2_with_coefficient_1_35() -> None:
    # domain.md §1.3: 1,000 HTVA -> budget 935 -> gross 692.59 with a 1.35 coefficient.
    params = replace(PARAMS, employer_contribution_rate=D("0.35"))
    e = estimate_payroll(D("1000"), D("0"), params)
    assert e.employment_budget == D("935.00")
    assert e.gross_salary == D("692.59")
    assert e.employee_contributions == D("90.52")
    assert_invariants(e, params)


def test_fund_contribution_is_part_of_fee() -> None:
    e = estimate_payroll(D("1234.56"), D("0"), PARAMS)
    assert e.fee == D("80.25")  # 80.2464
    assert e.fund_contribution == D("24.08")  # 24.075 -> half up
    assert split_total(e) == D("1234.56")  # the fund share is not added on top


def test_expenses_exactly_consume_budget() -> None:
    e = estimate_payroll(D("100.00"), D("93.50"), PARAMS)
    assert e.employment_budget == D("0.00")
    assert e.gross_salary == e.net_salary == e.employer_contributions == D("0.00")
    assert_invariants(e)


def test_zero_and_one_cent() -> None:
    assert_invariants(estimate_payroll(D("0"), D("0"), PARAMS))
    e = estimate_payroll(D("0.01"), D("0"), PARAMS)
    assert (e.fee, e.gross_salary, e.net_salary) == (D("0.00"), D("0.01"), D("0.01"))


# ---------------------------------------------------------------- the simplified scale
@pytest.mark.parametrize(
    ("taxable", "tax"),
    [
        ("0.00", "0.00"),
        ("0.04", "0.00"),  # 0.004 -> 0.00
        ("0.05", "0.01"),  # 0.005 -> half up
        ("500.00", "50.00"),  # top of the 10 % band
        ("500.01", "50.00"),  # 50 + 0.0025
        ("500.02", "50.01"),  # 50 + 0.005 -> half up
        ("1500.00", "300.00"),  # 50 + 1000 x 25 %
        ("1500.01", "300.00"),  # + 0.004
        ("1500.02", "300.01"),  # + 0.008
        ("3000.00", "900.00"),  # + 1500 x 40 %
        ("3000.01", "900.00"),  # + 0.0045
        ("3000.02", "900.01"),  # + 0.009
        ("5000.00", "1800.00"),  # + 2000 x 45 %
        ("5000.01", "1800.01"),  # + 0.005 -> half up
        ("10000.00", "4300.00"),  # + 5000 x 50 %
    ],
)
def test_scale_bracket_edges(taxable: str, tax: str) -> None:
    assert withholding_tax(D(taxable), SCALE) == D(tax)


def test_scale_is_progressive() -> None:
    previous_tax, previous_rate = D(0), D(0)
    for cents in range(0, 700_000, 997):
        taxable = D(cents) / 100
        tax = withholding_tax(taxable, SCALE)
        assert tax >= previous_tax
        if taxable >= 100:  # below, the half-cent rounding moves the average rate
            assert tax / taxable >= previous_rate - D("0.0001")  # average rate never falls
            previous_rate = tax / taxable
        previous_tax = tax
        assert tax <= taxable * D("0.5")


def test_single_flat_bracket() -> None:
    assert withholding_tax(D("650.24"), (TaxBracket(None, D("0.20")),)) == D("130.05")


# ---------------------------------------------------------------- inverse
def test_price_for_gross_examples() -> None:
    for contract_type, gross in (("ordinary", "2000.00"), ("artistic", "2000.00")):
        price = price_for_gross(D(gross), D("0"), PARAMS, contract_type)  # type: ignore[arg-type]
        e = estimate_payroll(price, D("0"), PARAMS, contract_type)  # type: ignore[arg-type]
        assert e.gross_salary == D(gross)
        below = estimate_payroll(price - D("0.01"), D("0"), PARAMS, contract_type)  # type: ignore[arg-type]
        assert below.gross_salary < D(gross)
    assert price_for_gross(D("2000.00"), D("0"), PARAMS) == D("2673.80")
    assert price_for_gross(D("2000.00"), D("0"), PARAMS, "artistic") == D("2716.58")
    assert price_for_gross(D("748.00"), D("0"), PARAMS) == D("1000.00")
    assert price_for_gross(D("640.00"), D("100.00"), PARAMS) == D("962.57")  # example 1


def test_price_round_trip_can_land_two_cents_lower() -> None:
    # Price -> gross is many-to-one (a cent of gross costs ~1.34 cents of price, and the fee's
    # and the contributions' roundings can stack): 1000.08 and 1000.06 both pay 748.05 gross.
    e = estimate_payroll(D("1000.08"), D("0"), PARAMS)
    assert e.gross_salary == D("748.05")
    back = price_for_gross(e.gross_salary, D("0"), PARAMS)
    assert back == D("1000.06")
    again = estimate_payroll(back, D("0"), PARAMS)
    assert (again.gross_salary, again.net_salary) == (e.gross_salary, e.net_salary)


def test_price_for_cost_refusals() -> None:
    with pytest.raises(FieldError) as excinfo:
        price_for_cost(D("-1"), D("0"), PARAMS.fee_rate)
    assert excinfo.value.field == "labour_cost"
    with pytest.raises(ValueError):
        price_for_cost(D("1"), D("0"), D("1"))


# ---------------------------------------------------------------- refusals
@pytest.mark.parametrize(
    ("invoiced", "expenses", "field", "reason"),
    [
        ("100.00", "93.51", "expenses", "exceed what the price leaves after the fee"),
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
        estimate_payroll(D(invoiced), D(expenses), PARAMS)
    assert excinfo.value.field == field
    assert reason in excinfo.value.message


def test_gross_refusals() -> None:
    with pytest.raises(FieldError) as excinfo:
        price_for_gross(D("10.005"), D("0"), PARAMS)
    assert (excinfo.value.field, excinfo.value.message) == ("gross_salary", "at most 2 decimals")


@pytest.mark.parametrize("value", ["", "Ordinary", "artistic ", "interim", None, 1])
def test_contract_type_refused(value: object) -> None:
    with pytest.raises(FieldError) as excinfo:
        parse_contract_type(value)
    assert excinfo.value.field == "contract_type"
    assert '"ordinary" or "artistic"' in excinfo.value.message
    with pytest.raises(FieldError):
        estimate_payroll(D("100"), D("0"), PARAMS, value)  # type: ignore[arg-type]


@pytest.mark.parametrize(
    "change",
    [
        {"fee_rate": D("-0.01")},
        {"fee_rate": D("1")},
        {"fund_share_of_fee": D("1.01")},
        {"employee_contribution_rate": D("NaN")},
        {"employee_contribution_rate": 0.1307},
        {"employee_contribution_rate": D("0.95")},  # x 1.08 > 100 % of gross
        {"artistic_contribution_base": D("0.99")},
        {"withholding_scale": ()},
        {"withholding_scale": (TaxBracket(D("100"), D("0.1")),)},  # last band bounded
        {"withholding_scale": (TaxBracket(None, D("0.1")), TaxBracket(None, D("0.2")))},
        {"withholding_scale": (TaxBracket(D("100"), D("0.1")), TaxBracket(D("100"), D("0.2")))},
        {"withholding_scale": (TaxBracket(D("0"), D("0.1")), TaxBracket(None, D("0.2")))},
        {"withholding_scale": (TaxBracket(D("0.001"), D("0.1")), TaxBracket(None, D("0.2")))},
        {"withholding_scale": (TaxBracket(None, D("1.5")),)},
        {"withholding_scale": [TaxBracket(None, D("0.2"))]},
    ],
)
def test_parameters_refused(change: dict[str, object]) -> None:
    with pytest.raises(ValueError):
        replace(PARAMS, **change)  # type: ignore[arg-type]


def test_parameters_are_frozen() -> None:
    with pytest.raises(AttributeError):
        PARAMS.fee_rate = D("0.07")  # type: ignore[misc]
