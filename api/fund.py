"""The guarantee fund: its state for staff and top-ups by ops (services/fund.py: what it means)."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter
from pydantic import Field, StrictStr

from api.deps import OpsDep, SessionDep, SettingsDep, StaffDep
from api.schemas import Body
from domain.money import parse_money
from services import fund
from services.clock import business_today, current_clock

router = APIRouter(prefix="/api")


class TopUpIn(Body):
    amount: StrictStr = Field(description='EUR put into the fund, e.g. "5000.00"')
    reference: StrictStr = Field(
        description="the transfer's or decision's reference: a top-up happens once per reference"
    )
    reason: StrictStr = Field(description="why the fund is topped up (kept with the top-up)")


@router.get("/guarantee-fund", tags=["money"])
async def guarantee_fund(
    session: SessionDep, settings: SettingsDep, viewer: StaffDep
) -> dict[str, Any]:
    """The fund: `balance` (what it holds), `available` (what it may still advance), `floor`,
    advances outstanding, exposure per client and per member, write-offs, recoveries, top-ups."""
    clock = await current_clock(session, settings.day_seconds, settings.timezone)
    return await fund.guarantee_fund(session, business_today(clock))


@router.post("/guarantee-fund/top-ups", status_code=201, tags=["money"])
async def top_up(
    body: TopUpIn, session: SessionDep, settings: SettingsDep, viewer: OpsDep
) -> dict[str, Any]:
    """Ops put money into the fund (Dr bank / Cr guarantee fund), once per `reference`.

    The same reference and amount again answers the first top-up; another amount is a 409.
    """
    amount = parse_money(body.amount, field="amount")
    clock = await current_clock(session, settings.day_seconds, settings.timezone)
    row = await fund.top_up(
        session,
        amount=amount,
        reference=body.reference,
        reason=body.reason,
        business_date=business_today(clock),
        recorded_by_user_id=viewer.user_id,
    )
    await session.commit()
    return fund.top_up_out(row)
