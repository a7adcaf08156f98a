"""The guarantee fund: its state for staff, top-ups by ops, and clearing a mission's guarantee
gate before signature (an approval by the member's advisor or ops, a client deposit recorded by
ops). services/fund.py says what the figures mean, services/guarantee.py what clearing does."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request
from pydantic import Field, StrictStr

from api.deps import IdempotencyKeyDep, OpsDep, SessionDep, SettingsDep, StaffDep
from api.schemas import Body
from core.errors import NotFound
from domain.money import parse_money
from services import fund, guarantee, idempotency, views
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
    advances outstanding, exposure per client and per member, write-offs, recoveries, top-ups.
    An advisor sees the exposure and alerts of their own members only."""
    clock = await current_clock(session, settings.day_seconds, settings.timezone)
    advisor = viewer.user_id if viewer.role == "advisor" else None
    return await fund.guarantee_fund(session, business_today(clock), advisor_user_id=advisor)


@router.post("/guarantee-fund/top-ups", status_code=201, tags=["money"])
async def top_up(
    body: TopUpIn,
    session: SessionDep,
    settings: SettingsDep,
    viewer: OpsDep,
    request: Request,
    key: IdempotencyKeyDep,
) -> dict[str, Any]:
    """Ops put money into the fund (Dr bank / Cr guarantee fund), once per `reference`.

    The same reference and amount again answers the first top-up; another amount is a 409.
    With an `Idempotency-Key`, the same request again answers the first reply.
    """
    guard = await idempotency.begin(session, viewer.user_id, key, request, body)
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
    out = fund.top_up_out(row)
    await guard.store(session, 201, out)
    await session.commit()
    return out


class ApprovalIn(Body):
    reason: StrictStr = Field(description="why the mission may go ahead without the fund's rules")


class DepositIn(Body):
    amount: StrictStr = Field(description='EUR the client paid in advance, e.g. "935.00"')
    reference: StrictStr = Field(
        description="the bank transfer's reference: a deposit is recorded once per reference"
    )
    reason: StrictStr = Field(description="what the deposit is (kept with it and audited)")


@router.post("/missions/{mission_id}/guarantee/approval", tags=["money"])
async def approve_guarantee(
    mission_id: int,
    body: ApprovalIn,
    session: SessionDep,
    settings: SettingsDep,
    viewer: StaffDep,
) -> dict[str, Any]:
    """The member's advisor (or ops) lets a mission that needs approval go ahead: the member may
    sign. 409 if the mission does not need it (or is signed); audited."""
    if not 1 <= mission_id <= 2**31 - 1:
        raise NotFound("mission")
    clock = await current_clock(session, settings.day_seconds, settings.timezone)
    mission = await guarantee.approve(
        session, viewer, mission_id, body.reason, business_today(clock)
    )
    await session.commit()
    return await views.mission_detail(session, mission)


@router.post("/missions/{mission_id}/guarantee/deposits", status_code=201, tags=["money"])
async def record_deposit(
    mission_id: int,
    body: DepositIn,
    session: SessionDep,
    settings: SettingsDep,
    viewer: OpsDep,
    request: Request,
    key: IdempotencyKeyDep,
) -> dict[str, Any]:
    """Ops record the client's deposit for a mission that needs approval (at least what the
    fund's rules require: 422 on `amount` otherwise), once per `reference`; the member may sign.
    With an `Idempotency-Key`, the same request again answers the first reply."""
    if not 1 <= mission_id <= 2**31 - 1:
        raise NotFound("mission")
    guard = await idempotency.begin(session, viewer.user_id, key, request, body)
    amount = parse_money(body.amount, field="amount")
    clock = await current_clock(session, settings.day_seconds, settings.timezone)
    row = await guarantee.record_deposit(
        session,
        viewer,
        mission_id,
        amount=amount,
        reference=body.reference,
        reason=body.reason,
        business_date=business_today(clock),
    )
    out = guarantee.deposit_out(row)
    await guard.store(session, 201, out)
    await session.commit()
    return out
