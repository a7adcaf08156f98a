"""Client corrections: PUT /api/clients/{id}/email, after a bounce."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter
from pydantic import Field, StrictStr

from api.deps import SessionDep, SettingsDep, ViewerDep
from api.schemas import Body
from core.errors import NotFound
from services import mail, queries
from services.access import visible_client
from services.clock import business_today, current_clock

router = APIRouter(prefix="/api", tags=["accounts"])


class EmailCorrection(Body):
    email: StrictStr = Field(description="the client's corrected email address")


@router.put("/clients/{client_id}/email")
async def correct_email(
    client_id: int,
    body: EmailCorrection,
    session: SessionDep,
    settings: SettingsDep,
    viewer: ViewerDep,
) -> dict[str, Any]:
    """Correct a client's address (staff, or the member who owns the client).

    The address is valid again and the missions flagged for a bounce to this client lose the
    flag; the next email goes to the new address."""
    if not 1 <= client_id <= 2**31 - 1:
        raise NotFound("client")
    client = await visible_client(session, viewer, client_id)
    clock = await current_clock(session, settings.day_seconds, settings.timezone)
    cleared = await mail.correct_client_email(
        session, client, body.email, business_today(clock), viewer.label
    )
    return {**queries.client_out(client), "missions_cleared": cleared}
