"""The legal grounds for 0 % VAT (dated parameter `vat.exemption_grounds`, migration 0022), as
the mission form, the mission API and the invoice read them."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

from sqlalchemy.ext.asyncio import AsyncSession

from domain.invoice import VatGround, check_vat_exemption, parse_vat_grounds
from models import Client, Mission
from services import parameters

KEY = "vat.exemption_grounds"


async def grounds(session: AsyncSession, on: date) -> tuple[VatGround, ...]:
    """The grounds in force on `on`."""
    return parse_vat_grounds(await parameters.parameter(session, KEY, on))


async def mission_exemption(
    session: AsyncSession, value: object, rate: Decimal, client: Client, on: date
) -> str | None:
    """The ground code a new mission keeps: required at 0 % VAT, refused otherwise, fitting the
    client (FieldError on "vat_exemption", or on "vat_rate" for a charged rate abroad)."""
    ground = check_vat_exemption(
        value,
        rate=rate,
        grounds=await grounds(session, on),
        client_kind=client.kind,
        client_country=client.country,
        client_vat_number=client.vat_number,
    )
    return None if ground is None else ground.code


async def ground_of(session: AsyncSession, mission: Mission, on: date) -> VatGround | None:
    """The ground a mission is invoiced under on `on` (None when VAT is charged)."""
    if not mission.vat_exemption:
        return None
    by_code = {g.code: g for g in await grounds(session, on)}
    ground = by_code.get(mission.vat_exemption)
    if ground is None:
        raise LookupError(
            f"the VAT ground {mission.vat_exemption!r} of mission {mission.id} is not in force "
            f"on {on.isoformat()}"
        )
    return ground
