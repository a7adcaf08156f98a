"""Clearing a mission's guarantee gate before signature (issue 12, services/missions.py decides
it): an advisor of the member or ops approve it with a reason, or ops record the client's
deposit. Each is one audit row (services/audit.py) and one timeline step; a deposit is also money
in the bank, booked Dr bank / Cr client_deposits once per reference.

Neither changes whether the salary is paid: wages are always paid (services/fund.py).
"""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from typing import Any

from sqlalchemy import exc, select
from sqlalchemy.ext.asyncio import AsyncSession

from contracts.stages import Stage
from core.errors import DomainError
from domain.errors import FieldError
from domain.identifiers import clean_text
from domain.money import to_cents
from models import GuaranteeDeposit, Mission, utcnow
from services import audit, fund, ledger
from services.access import Viewer, get_mission, visible_mission
from services.ledger import Line
from services.missions import APPROVED, DEPOSIT, NEEDS_APPROVAL
from services.timeline import add_timeline


def _state(mission: Mission) -> dict[str, Any]:
    return {
        "guarantee_status": mission.guarantee_status,
        "guarantee_cleared_by": mission.guarantee_cleared_by,
        "guarantee_note": mission.guarantee_note,
    }


def _require_open_gate(mission: Mission) -> None:
    if mission.guarantee_status != NEEDS_APPROVAL:
        raise DomainError(
            f"nothing to clear: the mission's guarantee is {mission.guarantee_status}",
            409,
            "guarantee",
        )
    if mission.signed_at is not None or mission.stage != Stage.CONTRACT:
        raise DomainError(
            f"the mission is past the contract stage ({mission.stage})", 409, "guarantee"
        )


async def _clear(
    session: AsyncSession,
    viewer: Viewer,
    mission: Mission,
    *,
    status: str,
    note: str,
    business_date: date,
    detail: dict[str, Any],
) -> None:
    before = _state(mission)
    mission.guarantee_status = status
    mission.guarantee_cleared_by = viewer.label
    mission.guarantee_cleared_at = utcnow()
    mission.guarantee_note = note
    await audit.record(
        session,
        viewer,
        action=f"guarantee_{status}",
        target_type="mission",
        target_id=mission.id,
        reason=note,
        before=before,
        after=_state(mission),
        mission_id=mission.id,
    )
    await add_timeline(
        session,
        mission.id,
        "guarantee_cleared",
        "guarantee_cleared",
        business_date,
        viewer.label,
        {"how": status, "reason": note, **detail},
    )


async def approve(
    session: AsyncSession, viewer: Viewer, mission_id: int, reason: object, business_date: date
) -> Mission:
    """An advisor of the member (visible_mission confines them) or ops lets the mission go ahead
    without the fund's guarantee by its rules: the member may sign."""
    if not viewer.is_staff:
        raise DomainError("only the member's advisor or ops may approve", 403, "guarantee")
    await visible_mission(session, viewer, mission_id)  # someone else's: 404 before anything
    note = audit.require_reason(reason)
    mission = await get_mission(session, mission_id, lock=True)
    _require_open_gate(mission)
    await _clear(
        session,
        viewer,
        mission,
        status=APPROVED,
        note=note,
        business_date=business_date,
        detail={"rules": [r.get("rule") for r in mission.guarantee_reasons or []]},
    )
    return mission


async def record_deposit(
    session: AsyncSession,
    viewer: Viewer,
    mission_id: int,
    *,
    amount: Decimal,
    reference: object,
    reason: object,
    business_date: date,
) -> GuaranteeDeposit:
    """Ops record the client's deposit for a mission waiting for the gate: at least what the
    rules in force require (`deposit_share` of the expected salary cost), once per reference.
    The same reference and amount again answers the first deposit; anything else is a 409."""
    if viewer.role != "ops":
        raise DomainError("only ops record a client deposit", 403, "guarantee")
    ref = clean_text(reference, field="reference", max_length=64)
    if not ref.isascii() or not ref.isprintable():
        raise FieldError("reference", "printable ASCII characters only")
    await visible_mission(session, viewer, mission_id)
    note = audit.require_reason(reason)
    if amount <= 0 or to_cents(amount) != amount:
        raise FieldError("amount", "a positive amount in cents")
    mission = await get_mission(session, mission_id, lock=True)
    existing = await _deposit_of(session, ref)
    if existing is not None:
        if existing.mission_id != mission.id or existing.amount != amount:
            raise DomainError(
                f"reference {ref} already recorded a deposit of {existing.amount:.2f} for "
                f"mission {existing.mission_id}",
                409,
                "reference",
            )
        return existing
    _require_open_gate(mission)
    cost = await fund.expected_salary_cost(session, mission.amount_excl_vat, business_date)
    required = await fund.required_deposit(session, cost, business_date)
    if amount < required:
        raise FieldError(
            "amount",
            f"at least {required:.2f} EUR: the fund's rules ask a deposit of that much for this "
            f"mission (expected salary cost {cost:.2f} EUR)",
        )
    row = GuaranteeDeposit(
        mission_id=mission.id,
        reference=ref,
        amount=amount,
        required=required,
        reason=note,
        business_date=business_date,
        recorded_by_user_id=viewer.user_id,
    )
    try:
        async with session.begin_nested():
            session.add(row)
    except exc.IntegrityError:
        raise DomainError(
            f"reference {ref} was recorded meanwhile; send it again", 409, "reference"
        ) from None
    await ledger.post(
        session,
        event_key=f"client_deposit:{ref}",
        kind="client_deposit",
        mission_id=mission.id,
        business_date=business_date,
        description=f"Client deposit {ref} for mission {mission.id}: {note}"[:2000],
        lines=[Line("bank", amount), Line(fund.DEPOSITS, -amount)],
    )
    await _clear(
        session,
        viewer,
        mission,
        status=DEPOSIT,
        note=note,
        business_date=business_date,
        detail={"deposit": f"{amount:.2f}", "required": f"{required:.2f}", "reference": ref},
    )
    return row


async def _deposit_of(session: AsyncSession, reference: str) -> GuaranteeDeposit | None:
    return await session.scalar(
        select(GuaranteeDeposit).where(GuaranteeDeposit.reference == reference)
    )


def deposit_out(row: GuaranteeDeposit) -> dict[str, Any]:
    return {
        "id": row.id,
        "mission_id": row.mission_id,
        "reference": row.reference,
        "amount": f"{row.amount:.2f}",
        "required": f"{row.required:.2f}",
        "reason": row.reason,
        "business_date": row.business_date.isoformat(),
    }
