"""Dated parameters: every rate, threshold and policy is read for the date it applies to."""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from typing import Any

from sqlalchemy import or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from contracts.mission import LifecyclePolicy
from domain.payroll import PayrollParameters
from models import Parameter

LIFECYCLE = "policy.lifecycle"
PAYROLL = "payroll.simplified"
VAT_RATES = "vat.rates"


class MissingParameter(LookupError):
    pass


async def parameter(session: AsyncSession, key: str, on: date) -> dict[str, Any]:
    """The value of parameter `key` in force on `on` (the latest row that started by then)."""
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
    return dict(row.value)


async def lifecycle_policy(session: AsyncSession, on: date) -> LifecyclePolicy:
    return LifecyclePolicy.model_validate(await parameter(session, LIFECYCLE, on))


async def payroll_parameters(session: AsyncSession, on: date) -> PayrollParameters:
    value = await parameter(session, PAYROLL, on)
    return PayrollParameters(**{k: Decimal(str(v)) for k, v in value.items()})


async def vat_rates(session: AsyncSession, on: date) -> list[Decimal]:
    value = await parameter(session, VAT_RATES, on)
    return [Decimal(str(rate)) for rate in value["rates"]]
