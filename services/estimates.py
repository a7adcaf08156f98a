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
    PAYROLL_LINE_CODES,
    RULES,
    MonthToDate,
    Payroll,
    WorkPeriod,
    estimate_payroll,
    parse_contract_type,
    price_for_gross,
    weekdays_between,
)
from models import Member, Mission
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
        "source": row.cited_source,
    }


# Flat keys of every payroll JSON (estimates, missions.estimate, payouts.payroll): the figures
# kept before issue 12, then every line of the payslip from the employer's side on.
FLAT_KEYS = (
    "contract_type",
    "invoiced_excl_vat",
    "fee",
    "fund_contribution",
    "expenses",
    "employment_budget",
    *PAYROLL_LINE_CODES[PAYROLL_LINE_CODES.index("employer_contributions") :],
)


def basis(payroll: Payroll, *, only_pay_of_month: bool) -> str:
    """The rules behind a payroll, by name (replaces the old "simplified scale" text)."""
    if payroll.contract_type == "artistic":
        parts = [
            "artistic contract (art. 1bis): contributions on 108 % of gross",
            "ONVA/RJV holiday contribution",
            "social work bonus",
            "CSSS monthly advance",
            "flat withholding tax (Annexe III point 80) or the rate the member chose",
        ]
    else:
        parts = [
            "ordinary contract: employer and employee contributions",
            "white-collar exit holiday pay",
            "social work bonus",
            "CSSS monthly advance",
            "withholding tax by the Annexe III AR/CIR 92 key formula with the fiscal work "
            "bonus, on the month's cumulated taxable pay",
        ]
    text = "; ".join(parts)
    if only_pay_of_month:
        text += "; estimated as if this were the member's only pay of the month"
    return text + "; reconciled with the quarterly DmfA"


def _row_of(rows: dict[str, DatedParameter], rule: str) -> DatedParameter | None:
    return next((row for row in rows.values() if row.key == rule), None)


def lines_json(payroll: Payroll, rows: dict[str, DatedParameter]) -> list[dict[str, Any]]:
    """The payslip lines as JSON, each with its parameter row's date and source when it has one."""
    out = []
    for line in payroll.lines:
        row = _row_of(rows, line.rule)
        out.append(
            {
                "code": line.code,
                "amount": _money(line.amount),
                "base": None if line.base is None else _money(line.base),
                "rate": None if line.rate is None else _rate_text(line.rate),
                "rule": line.rule,
                "valid_from": None if row is None else row.valid_from.isoformat(),
                "source": None if row is None else row.cited_source,
            }
        )
    return out


def payroll_json(payroll: Payroll, rows: dict[str, DatedParameter]) -> dict[str, Any]:
    """The flat figures (decimal strings) and the lines of a payroll."""
    out: dict[str, Any] = {
        key: value if isinstance(value := getattr(payroll, key), str) else _money(value)
        for key in FLAT_KEYS
    }
    out["lines"] = lines_json(payroll, rows)
    return out


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
    paid_days: int | None = None,
    withholding_rate: Decimal | None = None,
    today: date,
) -> dict[str, Any]:
    """Estimate the full salary breakdown from a price excl. VAT or from a wanted gross salary.

    Give exactly one of `amount_excl_vat` (expenses included) and `gross_salary`. `vat_rate` is
    the raw request value (percent, default 21, checked against `vat.rates`) or a Decimal rate
    already validated elsewhere (a mission's). The salary is paid `advance_working_days` Belgian
    working days after `end_date` (default: today). `paid_days`: the days the contract pays
    (a short contract's work bonus is prorated, payroll-2026.md §3.2); None: a full month.
    `withholding_rate`: an artist's chosen rate (default: the flat 11.11 %).

    Before any payout the month's other pays are unknown: the estimate is computed as if it
    were the member's only pay of the month (its `basis` says so); the payout cumulates.
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
    period = None if paid_days is None else WorkPeriod.of(paid_days, pay_date)
    options: dict[str, Any] = {
        "period": period,
        "month": MonthToDate(),
        "withholding_rate": withholding_rate,
    }
    if gross_salary is not None:
        price = price_for_gross(gross_salary, expenses, params, kind)
        if price > MAX_AMOUNT:
            raise FieldError(
                "gross_salary",
                f"this gross salary and expenses need a price of {_money(price)} excl. VAT, "
                f"above the maximum of {_money(MAX_AMOUNT)}",
            )
        payroll = estimate_payroll(price, expenses, params, kind, **options)
        computed_from = "gross_salary"
    else:
        assert amount_excl_vat is not None
        payroll = estimate_payroll(amount_excl_vat, expenses, params, kind, **options)
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
            "source": policy_row.cited_source,
        }
    )
    figures = payroll_json(payroll, rows)
    return {
        "basis": basis(payroll, only_pay_of_month=True),
        "computed_from": computed_from,
        **figures,
        "contract_type": payroll.contract_type,
        "amount_excl_vat": _money(totals.total_excl_vat),
        "vat_rate": _rate_text(rate),
        "vat": _money(totals.vat_amount),
        "amount_incl_vat": _money(totals.total_incl_vat),
        "paid_days": None if period is None else period.paid_days,
        "working_days": None if period is None else period.working_days,
        "end_date": end.isoformat(),
        "pay_date": pay_date.isoformat(),
        "rules": rules,
    }


def _payroll_rules(rows: dict[str, DatedParameter], payroll: Payroll) -> list[dict[str, Any]]:
    """Every payroll row behind this payroll, with its date, value and source."""
    used = [
        "fee_rate",
        "fund_share_of_fee",
        "employer_contribution_rate",
        "employee_contribution_rate",
    ]
    if payroll.contract_type == "artistic":
        used += ["artistic_contribution_base", "artistic_holiday_contribution"]
    else:
        used.append("exit_holiday_pay")
    if payroll.other_employer_charges:
        used.append("other_employer_charges")
    used += ["work_bonus", "special_contribution"]
    used.append("artistic_withholding" if payroll.contract_type == "artistic" else "key_formula")
    assert all(name in RULES for name in used)
    return [
        _rule(rows[name], rows[name].value["value"], str(rows[name].value.get("description", name)))
        for name in used
    ]


async def chosen_withholding_rate(
    session: AsyncSession, member_id: int | None, contract_type: object, today: date
) -> Decimal | None:
    """An artist's withholding rate as a fraction: the one chosen on their profile, never below
    the flat rate in force; None for an ordinary contract or no member (the flat rate then)."""
    if contract_type != "artistic" or member_id is None:
        return None
    member = await session.get(Member, member_id)
    if member is None:
        return None
    flat = (await parameters.payroll_parameters(session, today)).artistic_withholding_rate
    return max(member.artistic_withholding_rate / 100, flat)


async def for_mission(session: AsyncSession, mission: Mission, today: date) -> dict[str, Any]:
    """The estimate of a mission as its member signs it: its price and contract type, its
    working days (the work bonus is prorated on them), and an artist's chosen withholding rate
    (never below the flat rate in force)."""
    rate = await chosen_withholding_rate(session, mission.member_id, mission.contract_type, today)
    return await estimate(
        session,
        amount_excl_vat=mission.amount_excl_vat,
        expenses=Decimal("0.00"),
        contract_type=mission.contract_type,
        vat_rate=mission.vat_rate,
        end_date=mission.end_date,
        paid_days=max(1, weekdays_between(mission.start_date, mission.end_date)),
        withholding_rate=rate,
        today=today,
    )
