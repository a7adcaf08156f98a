"""Salary estimates: what a member will get for a price (or must charge for a gross), and when.

Every figure comes from the dated parameters in force on the day of the estimate, and the answer
lists those rows under `rules`, so a member (or an auditor) can see which rates produced it.
"""

from __future__ import annotations

from datetime import date, timedelta
from decimal import Decimal
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from domain.calendar import salary_transfer_date
from domain.errors import FieldError
from domain.invoice import InvoiceLine, invoice_totals
from domain.money import MAX_AMOUNT, parse_vat_rate
from domain.payroll import (
    WITHHOLDING_SCALE_LABEL,
    PayrollEstimate,
    estimate_payroll,
    parse_contract_type,
    price_for_gross,
)
from services import parameters
from services.parameters import DatedParameter

DEFAULT_VAT_RATE = "21"
MAX_DAYS_BACK = 366
MAX_DAYS_AHEAD = 2 * 366


def _money(value: Decimal) -> str:
    return f"{value:.2f}"


def _rate_text(rate: Decimal) -> str:
    return format(rate.normalize(), "f")


def _rule(row: DatedParameter, value: Any, description: str) -> dict[str, Any]:
    return {
        "key": row.key,
        "valid_from": row.valid_from.isoformat(),
        "value": value,
        "description": description,
    }


def check_end_date(end_date: date | None, today: date) -> date | None:
    """Refuse an end date of the work absurdly far from today (the estimate's horizon)."""
    if end_date is None:
        return None
    if end_date < today - timedelta(days=MAX_DAYS_BACK):
        raise FieldError("end_date", f"at most {MAX_DAYS_BACK} days in the past")
    if end_date > today + timedelta(days=MAX_DAYS_AHEAD):
        raise FieldError("end_date", f"at most {MAX_DAYS_AHEAD} days ahead")
    return end_date


async def estimate(
    session: AsyncSession,
    *,
    amount_excl_vat: Decimal | None = None,
    gross_salary: Decimal | None = None,
    expenses: Decimal,
    contract_type: object,
    vat_rate: object = None,
    end_date: date | None = None,
    today: date,
) -> dict[str, Any]:
    """Estimate the full salary breakdown from a price excl. VAT or from a wanted gross salary.

    Give exactly one of `amount_excl_vat` (expenses included) and `gross_salary`. `vat_rate` is
    the raw request value (percent, default 21, checked against `vat.rates`) or a Decimal rate
    already validated elsewhere (a mission's). The salary is paid `advance_working_days` Belgian
    working days after `end_date` (default: today).
    """
    if amount_excl_vat is not None and gross_salary is not None:
        raise FieldError(
            "gross_salary", "give either amount_excl_vat (the price) or gross_salary, not both"
        )
    if amount_excl_vat is None and gross_salary is None:
        raise FieldError(
            "amount_excl_vat",
            "is required: give amount_excl_vat (the price excl. VAT) or gross_salary",
        )
    kind = parse_contract_type(contract_type)
    vat_row = await parameters.dated_parameter(session, parameters.VAT_RATES, today)
    allowed = [Decimal(str(r)) for r in vat_row.value["rates"]]
    if isinstance(vat_rate, Decimal):
        rate = vat_rate
    else:
        raw = DEFAULT_VAT_RATE if vat_rate is None else vat_rate
        rate = parse_vat_rate(raw, field="vat_rate", allowed=allowed)
    end = today if end_date is None else end_date
    policy_row = await parameters.dated_parameter(session, parameters.LIFECYCLE, today)
    advance_days = int(policy_row.value["advance_working_days"])
    pay_date = salary_transfer_date(end, advance_days)

    rows = await parameters.payroll_rows(session, today)
    params = parameters.payroll_parameters_from(rows)
    if gross_salary is not None:
        price = price_for_gross(gross_salary, expenses, params, kind)
        if price > MAX_AMOUNT:
            raise FieldError(
                "gross_salary",
                f"this gross salary and expenses need a price of {_money(price)} excl. VAT, "
                f"above the maximum of {_money(MAX_AMOUNT)}",
            )
        payroll = estimate_payroll(price, expenses, params, kind)
        computed_from = "gross_salary"
    else:
        assert amount_excl_vat is not None
        payroll = estimate_payroll(amount_excl_vat, expenses, params, kind)
        computed_from = "amount_excl_vat"
    totals = invoice_totals(
        [InvoiceLine(label="estimate", amount_excl_vat=payroll.invoiced_excl_vat)], rate
    )
    rules = _payroll_rules(rows, payroll)
    rules.append(
        _rule(
            vat_row,
            _rate_text(rate),
            "VAT rate applied to the price excl. VAT (allowed: "
            + ", ".join(_rate_text(r) for r in sorted(allowed))
            + ")",
        )
    )
    rules.append(
        {
            "key": f"{parameters.LIFECYCLE}.advance_working_days",
            "valid_from": policy_row.valid_from.isoformat(),
            "value": advance_days,
            "description": f"salary paid {advance_days} Belgian working days after the work ends",
        }
    )
    return {
        "basis": "estimate: reconciled with the quarterly DmfA; "
        f"withholding tax on a {WITHHOLDING_SCALE_LABEL}",
        "computed_from": computed_from,
        "contract_type": payroll.contract_type,
        "amount_excl_vat": _money(totals.total_excl_vat),
        "vat_rate": _rate_text(rate),
        "vat": _money(totals.vat_amount),
        "amount_incl_vat": _money(totals.total_incl_vat),
        "fee": _money(payroll.fee),
        "fund_contribution": _money(payroll.fund_contribution),
        "expenses": _money(payroll.expenses),
        "employment_budget": _money(payroll.employment_budget),
        "employer_contributions": _money(payroll.employer_contributions),
        "gross_salary": _money(payroll.gross_salary),
        "employee_contributions": _money(payroll.employee_contributions),
        "withholding_tax": _money(payroll.withholding_tax),
        "net_salary": _money(payroll.net_salary),
        "end_date": end.isoformat(),
        "pay_date": pay_date.isoformat(),
        "rules": rules,
    }


def _payroll_rules(
    rows: dict[str, DatedParameter], payroll: PayrollEstimate
) -> list[dict[str, Any]]:
    """The payroll rows behind this estimate (the 108 % base only for an artistic contract)."""
    used = [
        "fee_rate",
        "fund_share_of_fee",
        "employer_contribution_rate",
        "employee_contribution_rate",
    ]
    if payroll.contract_type == "artistic":
        used.append("artistic_contribution_base")
    used.append("withholding_scale")
    out = []
    for name in used:
        row = rows[name]
        description = str(row.value.get("description", name))
        if name == "withholding_scale" and WITHHOLDING_SCALE_LABEL not in description:
            description = f"{WITHHOLDING_SCALE_LABEL}; {description}"
        out.append(_rule(row, row.value["value"], description))
    return out
