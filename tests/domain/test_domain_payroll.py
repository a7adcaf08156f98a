"""Belgian payroll engine: the official key-formula example, cases C1-C8 of payroll-2026.md to
the cent, holiday pay, the 108 % artistic base, work bonus proration, monthly cumulation, the
exact split, expenses grossed up, refusals."""

from __future__ import annotations

import datetime as dt
import importlib.util
from dataclasses import replace
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest

from domain.errors import FieldError
from domain.invoice import InvoiceLine, invoice_totals
from domain.payroll import (
    PAYROLL_LINE_CODES,
    BonusPart,
    MonthToDate,
    Payroll,
    PayrollParameters,
    TaxBracket,
    WorkPeriod,
    employer_cost,
    estimate_payroll,
    gross_up_expenses,
    key_formula_tax,
    parse_contract_type,
    price_for_cost,
    price_for_gross,
    scale_tax,
    special_contribution,
    weekdays_between,
)
from services.parameters import PAYROLL_KEYS, DatedParameter, payroll_parameters_from

D = Decimal
ROOT = Path(__file__).resolve().parents[2]
SEPTEMBER = dt.date(2026, 9, 15)


def _migration(pattern: str) -> Any:
    path = next((ROOT / "alembic" / "versions").glob(pattern))
    spec = importlib.util.spec_from_file_location(path.stem, path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


M0003 = _migration("*_0003_payroll_parameters.py")
M0018 = _migration("*_0018_payroll_by_the_book.py")
SEEDED = [(key, dt.date(2026, 1, 1), value) for key, value, _ in M0003.ROWS] + [
    (key, valid_from, value) for key, valid_from, value, _ in M0018.ROWS
]


def seeded_rows(day: dt.date) -> dict[str, DatedParameter]:
    """The seeded rows in force on `day`, as services.parameters.payroll_rows reads them."""
    rows = {}
    for name, key in PAYROLL_KEYS.items():
        key_rows = [r for r in SEEDED if r[0] == key and r[1] <= day]
        assert key_rows, (key, day)
        found = max(key_rows, key=lambda r: r[1])
        rows[name] = DatedParameter(key=key, valid_from=found[1], value=found[2])
    return rows


def seeded_parameters(day: dt.date = SEPTEMBER) -> PayrollParameters:
    return payroll_parameters_from(seeded_rows(day))


PARAMS = seeded_parameters()
# Cases C1-C8 are a monthly employee's full month: no exit holiday pay in that month's pay.
MONTHLY = replace(PARAMS, exit_holiday_pay_rate=D(0), exit_holiday_pay_simple_rate=D(0))
AMOUNTS = (
    "invoiced_excl_vat",
    "fee",
    "fund_contribution",
    "expenses",
    "employment_budget",
    "employer_contributions",
    "exit_holiday_pay",
    "holiday_contribution",
    "other_employer_charges",
    "gross_salary",
    "employee_contributions",
    "work_bonus",
    "special_contribution",
    "taxable_pay",
    "withholding_tax",
    "net_salary",
    "net_paid",
)


def split_total(e: Payroll) -> Decimal:
    """The price's split: the exit holiday pay is inside the net (it is paid to the member)."""
    return (
        e.fee
        + e.expenses
        + e.employer_contributions
        + e.holiday_contribution
        + e.other_employer_charges
        + e.net_employee_contributions
        + e.special_contribution
        + e.withholding_tax
        + e.net_salary
    )


def assert_invariants(e: Payroll, params: PayrollParameters = PARAMS) -> None:
    """The split is exact, every amount a non-negative cent amount, the gross maximal."""
    assert split_total(e) == e.invoiced_excl_vat
    assert e.employment_budget == e.invoiced_excl_vat - e.fee - e.expenses
    assert e.employer_cost + e.gross_salary == e.employment_budget
    assert e.taxable_pay == e.gross_salary + e.exit_holiday_pay - e.net_employee_contributions
    assert e.net_salary == e.taxable_pay - e.special_contribution - e.withholding_tax
    assert e.net_paid == e.net_salary + e.expenses
    assert e.fund_contribution <= e.fee
    assert e.work_bonus <= e.employee_contributions
    for name in AMOUNTS:
        value = getattr(e, name)
        assert isinstance(value, Decimal)
        assert value >= 0, name
        assert value.as_tuple().exponent == -2, name
    codes = [line.code for line in e.lines]
    assert codes == [c for c in PAYROLL_LINE_CODES if c in codes]
    assert all(line.amount >= 0 for line in e.lines)
    # The budget is used exactly: the rounding remainder is below one more cent of gross.
    assert employer_cost(e.gross_salary, params, e.contract_type) <= e.employment_budget
    above = e.gross_salary + D("0.01")
    assert employer_cost(above, params, e.contract_type) > e.employment_budget


# ---------------------------------------------------------------- the seeded rows


def test_seeded_rows_carry_source_and_confidence() -> None:
    for key, _, value, source in M0018.ROWS:
        assert value["source"] and value["confidence"] and source, key
    keys = {key for key, *_ in M0018.ROWS}
    assert set(PAYROLL_KEYS.values()) <= keys | {key for key, _, _ in M0003.ROWS}
    assert "payroll.withholding_scale" not in PAYROLL_KEYS.values()  # superseded, unread
    assert M0018.SUPERSEDED == ("payroll.withholding_scale", "payroll.simplified")


def test_seeded_parameters() -> None:
    assert PARAMS.fee_rate == D("0.065")
    assert PARAMS.employer_contribution_rate == D("0.25")
    assert PARAMS.employee_contribution_rate == D("0.1307")
    assert PARAMS.artistic_contribution_base == D("1.08")
    assert (PARAMS.exit_holiday_pay_rate, PARAMS.exit_holiday_pay_simple_rate) == (
        D("0.1534"),
        D("0.0767"),
    )
    assert PARAMS.artistic_holiday_rate == D("0.1584")  # 10.27 % annual + 5.57 % quarterly
    assert PARAMS.artistic_withholding_rate == D("0.1111")
    assert PARAMS.key_formula.expenses_cap == D("6070.00")
    assert PARAMS.work_bonus.part_a == BonusPart(
        D("127.54"), D("2937.93"), D("3403.62"), D("0.2739")
    )
    # The dated rows: each work-bonus row from its own date, the 2025 key formula before 2026.
    assert seeded_rows(dt.date(2026, 8, 31))["work_bonus"].valid_from == dt.date(2026, 7, 1)
    assert seeded_rows(dt.date(2026, 3, 31))["work_bonus"].valid_from == dt.date(2025, 2, 1)
    assert seeded_rows(dt.date(2026, 4, 1))["work_bonus"].valid_from == dt.date(2026, 4, 1)
    assert seeded_rows(dt.date(2026, 1, 1))["key_formula"].valid_from == dt.date(2026, 1, 1)


# ---------------------------------------------------------------- withholding: key formula


def test_official_key_formula_example_3000_taxable() -> None:
    """SPF key formula 2026 example: 3 000.00 taxable -> 596.93 (payroll-2026.md P1)."""
    assert key_formula_tax(D("3000.00"), PARAMS.key_formula) == D("596.93")


def test_scale_reproduces_the_published_tax_on_lower_bands() -> None:
    scale = PARAMS.key_formula.scale
    assert scale_tax(D("16710.00"), scale) == D("4469.93")
    assert scale_tax(D("29500.00"), scale) == D("9944.05")
    assert scale_tax(D("51050.00"), scale) == D("20320.38")
    assert scale_tax(D("29930.00"), scale) == D("10151.10")  # the official example
    assert seeded_parameters(dt.date(2026, 3, 28)).key_formula.expenses_cap == D("6070.00")
    formula_2025 = payroll_parameters_from(
        {**seeded_rows(SEPTEMBER), "key_formula": _row_2025()}
    ).key_formula
    assert scale_tax(D("16310.00"), formula_2025.scale) == D("4362.93")
    assert scale_tax(D("28790.00"), formula_2025.scale) == D("9704.37")
    assert scale_tax(D("49820.00"), formula_2025.scale) == D("19830.32")
    assert formula_2025.tax_free_amount * formula_2025.scale[0].rate == D("2915.7500")


def _row_2025() -> DatedParameter:
    key, valid_from, value, _ = next(
        r for r in M0018.ROWS if r[0] == "payroll.withholding_key_formula"
    )
    assert valid_from == dt.date(2025, 1, 1)
    return DatedParameter(key=key, valid_from=valid_from, value=value)


@pytest.mark.parametrize(
    ("taxable", "tax"),
    [("0.00", "0.00"), ("-5.00", "0.00"), ("1000.00", "0.00"), ("1500.00", "31.88")],
)
def test_key_formula_low_pay(taxable: str, tax: str) -> None:
    assert key_formula_tax(D(taxable), PARAMS.key_formula) == D(tax)


# ---------------------------------------------------------------- C1-C8, a full month

# gross, ONSS, bonus A, bonus B, taxable, formula, fiscal bonus, withholding, CSSS, net
CASES = [
    ("C1", "1000.00", "130.70", "127.54", "3.16", "1000.00", "0.00", "43.93", "0.00", "0.00", "1000.00"),  # noqa: E501
    ("C2", "1500.00", "196.05", "127.54", "68.51", "1500.00", "31.88", "78.27", "0.00", "0.00", "1500.00"),  # noqa: E501
    ("C3", "2000.00", "261.40", "127.54", "133.86", "2000.00", "167.01", "112.60", "54.41", "2.30", "1943.29"),  # noqa: E501
    ("C4", "2500.00", "326.75", "127.54", "118.18", "2418.97", "346.33", "104.36", "241.97", "13.74", "2163.26"),  # noqa: E501
    ("C5", "2233.61", "291.93", "127.54", "164.39", "2233.61", "266.99", "128.64", "138.35", "10.81", "2084.45"),  # noqa: E501
    ("C6", "3000.00", "392.10", "110.54", "0.00", "2718.44", "474.50", "36.63", "437.87", "19.24", "2261.33"),  # noqa: E501
    ("C7", "3500.00", "457.45", "0.00", "0.00", "3042.55", "617.41", "0.00", "617.41", "24.74", "2400.40"),  # noqa: E501
    ("C8", "4000.00", "522.80", "0.00", "0.00", "3477.20", "826.70", "0.00", "826.70", "36.24", "2614.26"),  # noqa: E501
]  # fmt: skip


@pytest.mark.parametrize("case", CASES, ids=[c[0] for c in CASES])
def test_reference_cases_full_month(case: tuple[str, ...]) -> None:
    """payroll-2026.md §5 C1-C8 (key formula 2026, work bonus from 1/09/2026, CSSS), to the cent.
    C6 is also the published calculator case P2 (3 000.00 gross -> 2 261.33 net)."""
    gross, onss, a, b, taxable, formula, fiscal, withholding, csss, net = (D(v) for v in case[1:])
    price = price_for_gross(gross, D("0"), MONTHLY)
    e = estimate_payroll(price, D("0"), MONTHLY, gross=gross)
    assert e.gross_salary == gross
    assert e.employee_contributions == onss
    assert (e.month_share.work_bonus_a, e.month_share.work_bonus_b) == (a, b)
    assert e.work_bonus == a + b
    assert e.taxable_pay == taxable
    assert e.withholding_tax_formula == formula
    assert e.fiscal_work_bonus == fiscal
    assert e.withholding_tax == withholding
    assert e.special_contribution == csss
    assert e.net_salary == net
    assert_invariants(e, MONTHLY)


@pytest.mark.parametrize(
    ("pay", "tax"),
    [
        ("1945.38", "0.00"),
        ("2000.00", "2.30"),
        ("2732.94", "16.30"),  # the real July-2025 payslip (P3)
        ("3737.00", "27.35"),
        ("4000.00", "36.24"),
        ("6038.82", "60.94"),
        ("9000.00", "60.94"),
    ],
)
def test_special_contribution_table(pay: str, tax: str) -> None:
    assert special_contribution(D(pay), PARAMS.special_contribution) == D(tax)


# ---------------------------------------------------------------- employer side


def test_ordinary_1000_job_pays_holiday_pay() -> None:
    """1 000 excl. VAT: budget 935 pays gross + 15.34 % exit holiday pay + 25 % on gross and the
    simple part: 657.26 gross (not 748: 935 / 1.25 forgot the holiday pay)."""
    e = estimate_payroll(D("1000.00"), D("0.00"), PARAMS)
    assert (e.fee, e.fund_contribution, e.employment_budget) == (
        D("65.00"),
        D("19.50"),
        D("935.00"),
    )
    assert e.gross_salary == D("657.26")
    assert e.exit_holiday_pay == D("100.82")  # 657.26 x 15.34 % = 100.8237
    assert e.onss_base == D("707.67")  # + simple part 50.41 (7.67 %)
    assert e.employer_contributions == D("176.92")  # 176.9175 -> 176.92, remainder 0.00
    assert e.holiday_contribution == D("0.00")
    assert e.employee_contributions == D("92.49")  # 707.67 x 13.07 %
    assert e.work_bonus == D("92.49")  # full month: the bonus covers it all
    assert e.taxable_pay == D("758.08")
    assert e.withholding_tax == D("0.00")
    assert e.net_salary == e.net_paid == D("758.08")
    assert_invariants(e)
    line = e.line("exit_holiday_pay")
    assert line is not None
    assert (line.base, line.rate, line.rule) == (
        D("657.26"),
        D("0.1534"),
        "payroll.exit_holiday_pay",
    )
    assert e.line("holiday_contribution") is None


def test_artistic_1000_job_on_108_percent() -> None:
    e = estimate_payroll(D("1000.00"), D("0.00"), PARAMS, "artistic")
    assert e.gross_salary == D("648.82")
    assert e.onss_base == D("700.73")  # 648.82 x 1.08 = 700.7256
    assert e.employer_contributions == D("175.18")  # 700.73 x 25 % = 175.1825, + 0.00
    assert e.holiday_contribution == D("111.00")  # 700.73 x 15.84 % = 110.9956
    assert e.exit_holiday_pay == D("0.00")
    assert e.employee_contributions == D("91.59")
    assert e.taxable_pay == D("648.82")
    assert e.withholding_tax == D("72.08")  # 11.11 % flat
    assert e.net_salary == D("576.74")
    assert_invariants(e)
    assert e.line("withholding_tax_formula") is None
    line = e.line("withholding_tax")
    assert line is not None and line.rate == D("0.1111")
    assert line.rule == "payroll.artistic_withholding"


@pytest.mark.parametrize("rate", ["0.18", "0.228", "0.30"])
def test_artistic_chosen_rate(rate: str) -> None:
    e = estimate_payroll(D("1000.00"), D("0.00"), PARAMS, "artistic", withholding_rate=D(rate))
    assert e.withholding_tax == (D("648.82") * D(rate)).quantize(D("0.01"))
    assert_invariants(e)


def test_artistic_rate_below_the_flat_rate_refused() -> None:
    with pytest.raises(FieldError) as excinfo:
        estimate_payroll(D("1000"), D("0"), PARAMS, "artistic", withholding_rate=D("0.10"))
    assert excinfo.value.field == "artistic_withholding_rate"


def test_artistic_costs_more_than_ordinary_for_the_same_price() -> None:
    for price in ("50.00", "1000.00", "2500.00", "99999.99"):
        ordinary = estimate_payroll(D(price), D("10.00"), PARAMS)
        artistic = estimate_payroll(D(price), D("10.00"), PARAMS, "artistic")
        assert artistic.employment_budget == ordinary.employment_budget
        assert artistic.gross_salary < ordinary.gross_salary
        assert_invariants(ordinary)
        assert_invariants(artistic)


def test_signed_gross_is_paid_and_the_rest_is_employer_contributions() -> None:
    e = estimate_payroll(D("1000.00"), D("0"), PARAMS, gross=D("650.00"))
    assert e.gross_salary == D("650.00")
    assert split_total(e) == D("1000.00")
    assert e.employer_cost + e.gross_salary == e.employment_budget
    with pytest.raises(FieldError) as excinfo:
        estimate_payroll(D("1000.00"), D("0"), PARAMS, gross=D("657.27"))
    assert excinfo.value.field == "gross_salary"
    assert "more than the employment budget of 935.00" in excinfo.value.message


def test_rounding_remainder_goes_to_employer_contributions() -> None:
    params = replace(PARAMS, fee_rate=D("0"))
    for cents in range(0, 300):
        e = estimate_payroll(D(cents) / 100, D("0"), params)
        assert_invariants(e, params)


def test_domain_worked_example_1_cost_side() -> None:
    # domain.md §1.3: labour cost 800 + expenses 100 -> HTVA 962.57 -> VAT 202.14 -> 1,164.71.
    price = price_for_cost(D("800.00"), D("100.00"), PARAMS.fee_rate)
    assert price == D("962.57")
    e = estimate_payroll(price, D("100.00"), PARAMS)
    assert e.fee == D("62.57")
    assert e.employment_budget == D("800.00")
    # 800 / 1.422575 = 562.37, but 562.37 costs 562.37 + 86.27 + 151.38 = 800.02 (roundings)
    assert e.gross_salary == D("562.36")
    assert_invariants(e)
    totals = invoice_totals([InvoiceLine("work", price)], D("21"))
    assert (totals.vat_amount, totals.total_incl_vat) == (D("202.14"), D("1164.71"))


def test_expenses_exactly_consume_budget() -> None:
    e = estimate_payroll(D("100.00"), D("93.50"), PARAMS)
    assert e.employment_budget == D("0.00")
    assert e.gross_salary == e.net_salary == e.employer_contributions == D("0.00")
    assert e.net_paid == D("93.50")
    assert_invariants(e)


def test_zero_and_one_cent() -> None:
    assert_invariants(estimate_payroll(D("0"), D("0"), PARAMS))
    e = estimate_payroll(D("0.02"), D("0"), PARAMS)
    assert (e.fee, e.gross_salary) == (D("0.00"), D("0.01"))
    assert_invariants(e)


# ---------------------------------------------------------------- expenses outside the salary


@pytest.mark.parametrize(
    ("labour", "expenses"),
    [
        ("1000.00", ["100.00"]),
        ("1234.56", ["0.01", "19.99", "250.00"]),
        ("800.00", ["100.00"]),
        ("0.01", ["5.00", "5.00"]),
        ("99999.99", ["12345.67"]),
    ],
)
def test_expenses_grossed_up_never_lower_the_gross(labour: str, expenses: list[str]) -> None:
    amounts = [D(e) for e in expenses]
    invoiced = gross_up_expenses(D(labour), amounts, PARAMS.fee_rate)
    assert all(i >= a for i, a in zip(invoiced, amounts, strict=True))
    without = estimate_payroll(D(labour), D("0"), PARAMS)
    total = D(labour) + sum(invoiced, D("0"))
    with_expenses = estimate_payroll(total, sum(amounts, D("0")), PARAMS)
    assert with_expenses.employment_budget - without.employment_budget in (D("0.00"), D("0.01"))
    # The signed gross (the one without expenses) is what the budget pays.
    paid = estimate_payroll(total, sum(amounts, D("0")), PARAMS, gross=without.gross_salary)
    assert paid.gross_salary == without.gross_salary
    assert paid.net_salary == without.net_salary
    assert paid.net_paid == without.net_paid + sum(amounts, D("0"))
    assert_invariants(with_expenses)


def test_expense_gross_up_example() -> None:
    # 100 / (1 - 6.5 %) = 106.95: the fee on it (6.95) comes from the client, not the budget.
    assert gross_up_expenses(D("1000.00"), [D("100.00")], PARAMS.fee_rate) == [D("106.95")]


# ---------------------------------------------------------------- short contracts, work bonus


@pytest.mark.parametrize(
    ("daily", "bonus", "net_onss"),
    [("100.00", "13.07", "0.00"), ("150.00", "3.31", "16.30"), ("250.00", "0.00", "32.68")],
)
def test_one_day_contract_work_bonus(daily: str, bonus: str, net_onss: str) -> None:
    """payroll-2026.md §3.2: one day of 21 working days, S = W x 21, bonus / 21."""
    price = price_for_gross(D(daily), D("0"), MONTHLY)
    e = estimate_payroll(price, D("0"), MONTHLY, gross=D(daily), period=WorkPeriod(1, 21))
    assert e.work_bonus == D(bonus)
    assert e.net_employee_contributions == D(net_onss)
    assert e.special_contribution == D("0.00")


def test_work_period_of_a_month() -> None:
    assert WorkPeriod.of(3, dt.date(2026, 9, 10)) == WorkPeriod(3, 22)
    assert WorkPeriod.of(40, dt.date(2026, 2, 10)) == WorkPeriod(20, 20)  # capped: a full month
    assert weekdays_between(dt.date(2026, 12, 7), dt.date(2026, 12, 13)) == 5
    assert weekdays_between(dt.date(2026, 12, 13), dt.date(2026, 12, 7)) == 0


# ---------------------------------------------------------------- monthly cumulation


def test_second_payout_of_the_month_withholds_the_formula_on_the_total() -> None:
    first = estimate_payroll(D("3000.00"), D("0"), PARAMS)
    second = estimate_payroll(D("2000.00"), D("0"), PARAMS, month=first.month_share)
    both = first.month_share.plus(second.month_share)
    assert both.taxable == first.taxable_pay + second.taxable_pay
    formula = key_formula_tax(both.taxable, PARAMS.key_formula)
    assert second.withholding_tax_formula == formula
    fiscal = (both.work_bonus_a * D("0.3314")).quantize(D("0.01")) + (
        both.work_bonus_b * D("0.5254")
    ).quantize(D("0.01"))
    assert second.fiscal_work_bonus == fiscal
    assert second.withheld_earlier_this_month == first.withholding_tax
    assert second.withholding_tax == formula - fiscal - first.withholding_tax
    assert second.withholding_tax > 0
    # Alone, the second pay would have withheld much less: the month's total is progressive.
    alone = estimate_payroll(D("2000.00"), D("0"), PARAMS)
    assert second.withholding_tax > alone.withholding_tax
    # The work bonus and the CSSS cumulate too (the month's pay is above the bonus range).
    assert second.work_bonus == D("0.00") or second.work_bonus < alone.work_bonus
    assert (
        second.special_contribution
        == special_contribution(both.onss_base, PARAMS.special_contribution)
        - first.special_contribution
    )
    line = second.line("withheld_earlier_this_month")
    assert line is not None and line.amount == first.withholding_tax
    assert_invariants(second)


def test_month_to_date_json_round_trip() -> None:
    e = estimate_payroll(D("2500.00"), D("0"), PARAMS, period=WorkPeriod(5, 22))
    assert MonthToDate.from_json(e.month_share.to_json()) == e.month_share
    assert MonthToDate.from_json({}) == MonthToDate()


def test_artistic_payout_does_not_cumulate_the_key_formula() -> None:
    first = estimate_payroll(D("3000.00"), D("0"), PARAMS)
    artistic = estimate_payroll(D("3000.00"), D("0"), PARAMS, "artistic", month=first.month_share)
    assert artistic.month_share.taxable == D("0.00")
    assert artistic.withholding_tax == (artistic.taxable_pay * D("0.1111")).quantize(D("0.01"))


# ---------------------------------------------------------------- inverse


def test_price_for_gross_examples() -> None:
    for contract_type in ("ordinary", "artistic"):
        price = price_for_gross(D("2000.00"), D("0"), PARAMS, contract_type)  # type: ignore[arg-type]
        e = estimate_payroll(price, D("0"), PARAMS, contract_type)  # type: ignore[arg-type]
        assert e.gross_salary == D("2000.00")
        below = estimate_payroll(price - D("0.01"), D("0"), PARAMS, contract_type)  # type: ignore[arg-type]
        assert below.gross_salary < D("2000.00")
    assert price_for_gross(D("657.26"), D("0"), PARAMS) == D("1000.00")


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
        {"exit_holiday_pay_simple_rate": D("0.2")},  # more than the whole
        {"artistic_holiday_quarterly_rate": D("-0.01")},
        {"special_contribution": ()},
        {"other_employer_charges": []},
        {"key_formula": None},
    ],
)
def test_parameters_refused(change: dict[str, object]) -> None:
    with pytest.raises(ValueError):
        replace(PARAMS, **change)  # type: ignore[arg-type]


@pytest.mark.parametrize(
    "scale",
    [
        (),
        (TaxBracket(D("100"), D("0.1")),),  # last band bounded
        (TaxBracket(None, D("0.1")), TaxBracket(None, D("0.2"))),
        (TaxBracket(D("100"), D("0.1")), TaxBracket(D("100"), D("0.2"))),
        (TaxBracket(D("0.001"), D("0.1")), TaxBracket(None, D("0.2"))),
        (TaxBracket(None, D("1.5")),),
    ],
)
def test_key_formula_scale_refused(scale: tuple[TaxBracket, ...]) -> None:
    with pytest.raises(ValueError):
        replace(PARAMS.key_formula, scale=scale)


def test_parameters_are_frozen() -> None:
    with pytest.raises(AttributeError):
        PARAMS.fee_rate = D("0.07")  # type: ignore[misc]
