"""The members' salary simulator: POST /api/estimates (any logged-in user, nothing stored)."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter
from pydantic import Field, StrictInt, StrictStr

from api.deps import SessionDep, SettingsDep, ViewerDep
from api.schemas import Body
from domain.calendar import parse_date
from domain.money import parse_money, parse_positive_int
from services import estimates
from services.clock import business_today, current_clock

router = APIRouter(prefix="/api")


class EstimateCreate(Body):
    amount_excl_vat: StrictStr | None = Field(
        None, description='price agreed with the client excl. VAT, expenses included, "1500.00"'
    )
    gross_salary: StrictStr | None = Field(
        None, description="the gross salary wanted (instead of amount_excl_vat)"
    )
    expenses: StrictStr = Field("0.00", description="expenses reimbursed outside the salary")
    contract_type: StrictStr = Field(description="ordinary | artistic")
    vat_rate: StrictStr | StrictInt | None = Field(None, description='percent, default "21"')
    end_date: StrictStr | None = Field(None, description="YYYY-MM-DD, default today")
    days_worked: StrictInt | None = Field(
        None,
        description="days the contract pays (1-31): a short contract's work bonus is prorated; "
        "default a full month",
    )


@router.post("/estimates", tags=["money"])
async def create_estimate(
    body: EstimateCreate, session: SessionDep, settings: SettingsDep, viewer: ViewerDep
) -> dict[str, Any]:
    """Full salary breakdown for a price excl. VAT, or the price needed for a gross salary."""
    clock = await current_clock(session, settings.day_seconds, settings.timezone)
    today = business_today(clock)
    end_date = None if body.end_date is None else parse_date(body.end_date, "end_date")
    return await estimates.estimate(
        session,
        amount_excl_vat=None
        if body.amount_excl_vat is None
        else parse_money(body.amount_excl_vat, field="amount_excl_vat"),
        gross_salary=None
        if body.gross_salary is None
        else parse_money(body.gross_salary, field="gross_salary"),
        expenses=parse_money(body.expenses, field="expenses", allow_zero=True),
        contract_type=body.contract_type,
        vat_rate=body.vat_rate,
        end_date=estimates.check_end_date(end_date, today),
        paid_days=None
        if body.days_worked is None
        else parse_positive_int(body.days_worked, field="days_worked", maximum=31),
        # A member asking sees their own withholding on an artistic contract.
        withholding_rate=await estimates.chosen_withholding_rate(
            session, viewer.member_id, body.contract_type, today
        ),
        today=today,
    )
