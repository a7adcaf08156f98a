"""Dated parameters: every rate, threshold and policy is read for the date it applies to."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from typing import Any

from sqlalchemy import or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from contracts.mission import LifecyclePolicy
from domain.payroll import PayrollParameters, TaxBracket
from models import Parameter

LIFECYCLE = "policy.lifecycle"
PAYROLL = "payroll.simplified"  # 0002's flat rates, superseded by PAYROLL_KEYS
PAYROLL_KEYS = {
    "fee_rate": "payroll.fee_rate",
    "fund_share_of_fee": "payroll.fund_share_of_fee",
    "employer_contribution_rate": "payroll.employer_contribution_rate",
    "employee_contribution_rate": "payroll.employee_contribution_rate",
    "artistic_contribution_base": "payroll.artistic_contribution_base",
    "withholding_scale": "payroll.withholding_scale",
}
VAT_RATES = "vat.rates"
B2B_RATES = "late_payment.b2b_rates"
B2B = "late_payment.b2b"
B2C = "late_payment.b2c"


class MissingParameter(LookupError):
    pass


@dataclass(frozen=True)
class DatedParameter:
    """One dated row as it was used: which key, in force since when, with what value."""

    key: str
    valid_from: date
    value: dict[str, Any]


async def parameter(session: AsyncSession, key: str, on: date) -> dict[str, Any]:
    """The value of parameter `key` in force on `on` (the latest row that started by then)."""
    return dict((await dated_parameter(session, key, on)).value)


async def dated_parameter(session: AsyncSession, key: str, on: date) -> DatedParameter:
    """The row of parameter `key` in force on `on`, with the date it took effect."""
    row = await session.scalar(
        select(Parameter)
        .where(
            Parameter.key == key,
            Parameter.valid_from <= on,
            or_(Parameter.valid_to.is_(None), Parameter.valid_to >= on),
        )
        .order_by(Parameter.valid_from.desc())
        .limit(1)
    )
    if row is None:
        raise MissingParameter(f"no value of {key} is in force on {on.isoformat()}")
    return DatedParameter(key=row.key, valid_from=row.valid_from, value=dict(row.value))


async def lifecycle_policy(session: AsyncSession, on: date) -> LifecyclePolicy:
    return LifecyclePolicy.model_validate(await parameter(session, LIFECYCLE, on))


async def payroll_rows(session: AsyncSession, on: date) -> dict[str, DatedParameter]:
    """The dated payroll rows in force on `on`, by PayrollParameters field name."""
    return {name: await dated_parameter(session, key, on) for name, key in PAYROLL_KEYS.items()}


def payroll_parameters_from(rows: dict[str, DatedParameter]) -> PayrollParameters:
    """Build the payroll rates from their dated rows (values are decimal strings)."""
    rates = {
        name: Decimal(str(row.value["value"]))
        for name, row in rows.items()
        if name != "withholding_scale"
    }
    scale = tuple(
        TaxBracket(
            up_to=None if b["up_to"] is None else Decimal(str(b["up_to"])),
            rate=Decimal(str(b["rate"])),
        )
        for b in rows["withholding_scale"].value["value"]
    )
    return PayrollParameters(**rates, withholding_scale=scale)


async def payroll_parameters(session: AsyncSession, on: date) -> PayrollParameters:
    """The payroll rates and withholding scale in force on `on`."""
    return payroll_parameters_from(await payroll_rows(session, on))


async def vat_rates(session: AsyncSession, on: date) -> list[Decimal]:
    value = await parameter(session, VAT_RATES, on)
    return [Decimal(str(rate)) for rate in value["rates"]]


async def parameter_rows(session: AsyncSession, key: str) -> list[Parameter]:
    """Every dated row of a parameter (e.g. the half-yearly interest rates), oldest first."""
    return list(
        (
            await session.scalars(
                select(Parameter).where(Parameter.key == key).order_by(Parameter.valid_from)
            )
        ).all()
    )
