"""Dated parameters: every rate, threshold and policy is read for the date it applies to."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from typing import Any

from sqlalchemy import or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from contracts.mission import LifecyclePolicy
from domain.payroll import (
    RULES,
    BonusPart,
    CsssTier,
    EmployerCharge,
    KeyFormula,
    PayrollParameters,
    TaxBracket,
    WorkBonus,
)
from models import Parameter

LIFECYCLE = "policy.lifecycle"
# 0002's flat rates and 0003's "simplified scale": superseded by migration 0018, kept for
# history, read by nothing.
PAYROLL = "payroll.simplified"
SUPERSEDED_WITHHOLDING_SCALE = "payroll.withholding_scale"
# PayrollParameters part -> dated parameter key (domain.payroll.RULES names the same keys).
PAYROLL_KEYS = dict(RULES)
VAT_RATES = "vat.rates"
B2B_RATES = "late_payment.b2b_rates"
LEGAL_RATES = "late_payment.legal_rates"  # law of 5 May 1865, one row per calendar year
B2B = "late_payment.b2b"
B2C = "late_payment.b2c"


def N_(message: str) -> str:  # noqa: N802 - the gettext convention
    """Mark a message for the catalogues (web/i18n.py translates it where it is shown)."""
    return message


# The message of a dated parameter missing on a date, with %(name)s placeholders: English here
# (the API's and the timeline's language), translated by the pages (web/messages.py).
PARAMETER_MISSING = N_(
    "No value of the parameter %(key)s is in force on %(on)s: it must be added to the dated "
    "parameter table, then the step retried."
)
# Per rate table: what ops enter on the console's Rates page (services/rates.py).
RATE_MISSING = {
    B2B_RATES: N_(
        "The B2B legal interest rate (law of 2 August 2002) for the half-year from "
        "%(valid_from)s is missing: enter it on the ops console's Rates page (or POST "
        "/api/ops/rates), then retry the step."
    ),
    LEGAL_RATES: N_(
        "The legal interest rate (law of 5 May 1865) for the year from %(valid_from)s is "
        "missing: enter it on the ops console's Rates page (or POST /api/ops/rates), then "
        "retry the step."
    ),
}


class MissingParameter(LookupError):
    """No row of the dated parameter `key` is in force on `on`: nothing is used silently.

    A step that needs it waits, flagged for ops with this message (activities/mission.py turns
    it into a non-retryable "ParameterMissing" failure); it runs again when ops retry it after
    the row was entered. `message_id` and `params` let the pages translate the message."""

    def __init__(
        self,
        key: str,
        on: date,
        *,
        period_start: date | None = None,
        message_id: str = PARAMETER_MISSING,
    ) -> None:
        self.key = key
        self.on = on
        self.period_start = period_start
        self.message_id = message_id
        self.params = {
            "key": key,
            "on": on.isoformat(),
            "valid_from": (period_start or on).isoformat(),
        }
        self.message = message_id % self.params
        super().__init__(self.message)

    def __str__(self) -> str:
        """The English message (timeline, API, logs)."""
        return self.message


def rate_missing(key: str, on: date, period_start: date) -> MissingParameter:
    """The rate table `key` has no rate on `on`, in the period that starts on `period_start`."""
    return MissingParameter(
        key,
        on,
        period_start=period_start,
        message_id=RATE_MISSING.get(key, PARAMETER_MISSING),
    )


@dataclass(frozen=True)
class DatedParameter:
    """One dated row as it was used: which key, in force since when, with what value."""

    key: str
    valid_from: date
    value: dict[str, Any]
    source: str | None = None

    @property
    def cited_source(self) -> str | None:
        """The row's source: the one inside its value (0018 on), else the `source` column."""
        inside = self.value.get("source")
        return str(inside) if inside else self.source


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
        raise MissingParameter(key, on)
    return DatedParameter(
        key=row.key, valid_from=row.valid_from, value=dict(row.value), source=row.source
    )


async def lifecycle_policy(session: AsyncSession, on: date) -> LifecyclePolicy:
    return LifecyclePolicy.model_validate(await parameter(session, LIFECYCLE, on))


async def payroll_rows(session: AsyncSession, on: date) -> dict[str, DatedParameter]:
    """The dated payroll rows in force on `on`, by part name (domain.payroll.RULES)."""
    return {name: await dated_parameter(session, key, on) for name, key in PAYROLL_KEYS.items()}


def _d(value: Any) -> Decimal:
    return Decimal(str(value))


def _scale(bands: list[dict[str, Any]]) -> tuple[TaxBracket, ...]:
    return tuple(
        TaxBracket(up_to=None if b["up_to"] is None else _d(b["up_to"]), rate=_d(b["rate"]))
        for b in bands
    )


def _bonus_part(part: dict[str, Any]) -> BonusPart:
    return BonusPart(
        amount=_d(part["amount"]), low=_d(part["low"]), high=_d(part["high"]), coef=_d(part["coef"])
    )


def payroll_parameters_from(rows: dict[str, DatedParameter]) -> PayrollParameters:
    """Build the payroll parameters from their dated rows (values are decimal strings)."""

    def value(name: str) -> Any:
        return rows[name].value["value"]

    formula = value("key_formula")
    bonus = value("work_bonus")
    holiday = rows["exit_holiday_pay"].value
    artistic_holiday = rows["artistic_holiday_contribution"].value
    artistic_withholding = rows["artistic_withholding"].value
    return PayrollParameters(
        fee_rate=_d(value("fee_rate")),
        fund_share_of_fee=_d(value("fund_share_of_fee")),
        employer_contribution_rate=_d(value("employer_contribution_rate")),
        employee_contribution_rate=_d(value("employee_contribution_rate")),
        artistic_contribution_base=_d(value("artistic_contribution_base")),
        exit_holiday_pay_rate=_d(holiday["value"]),
        exit_holiday_pay_simple_rate=_d(holiday["simple_part"]),
        artistic_holiday_annual_rate=_d(artistic_holiday["annual"]),
        artistic_holiday_quarterly_rate=_d(artistic_holiday["quarterly"]),
        other_employer_charges=tuple(
            EmployerCharge(code=str(c["code"]), rate=_d(c["rate"]))
            for c in value("other_employer_charges")
        ),
        key_formula=KeyFormula(
            annual_factor=int(formula["annual_factor"]),
            expenses_rate=_d(formula["expenses_rate"]),
            expenses_cap=_d(formula["expenses_cap"]),
            scale=_scale(formula["scale"]),
            tax_free_amount=_d(formula["tax_free_amount"]),
            fiscal_bonus_rate_a=_d(formula["fiscal_bonus_rate_a"]),
            fiscal_bonus_rate_b=_d(formula["fiscal_bonus_rate_b"]),
        ),
        work_bonus=WorkBonus(
            part_a=_bonus_part(bonus["part_a"]), part_b=_bonus_part(bonus["part_b"])
        ),
        special_contribution=tuple(
            CsssTier(
                up_to=None if t["up_to"] is None else _d(t["up_to"]),
                fixed=_d(t["fixed"]),
                rate=_d(t["rate"]),
                over=_d(t["over"]),
            )
            for t in value("special_contribution")
        ),
        artistic_withholding_rate=_d(artistic_withholding["value"]),
        artistic_withholding_choices=tuple(_d(c) for c in artistic_withholding.get("choices", [])),
    )


async def payroll_parameters(session: AsyncSession, on: date) -> PayrollParameters:
    """The payroll parameters in force on `on`."""
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
