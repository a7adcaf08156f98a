"""Helpers for invoicing tests on the real PostgreSQL database, without a workflow.

Members, clients and missions are made with the services; the mission is then put in the
work-reported state directly, which is where the workflow would call `issue_invoice`.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta
from decimal import Decimal
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from core.db import Database
from core.settings import Settings
from models import Invoice, LedgerEntry, LedgerTransaction, Mission, User
from services import people
from services.access import viewer_of
from services.clock import business_today, current_clock
from services.missions import create_mission, record_work_report
from tests.conftest import BELGIAN_VAT, member_payload, unique


@dataclass
class Party:
    """A staff login, a member and one client of theirs."""

    staff_user_id: int
    member_id: int
    client_id: int


async def new_party(
    session: AsyncSession,
    *,
    kind: str = "business",
    country: str = "BE",
    vat_number: str | None = BELGIAN_VAT,
) -> Party:
    staff = await people.create_staff_user(
        session, f"{unique('ops')}@coop.example", "staff password 123", "ops"
    )
    payload = member_payload()
    member = await people.create_member(
        session,
        name=payload["name"],
        email=payload["email"],
        password=payload["password"],
        iban=payload["iban"],
        national_number=payload["national_number"],
    )
    client = await people.create_client(
        session,
        name=f"Client {unique('c')}",
        email=f"{unique('client')}@example.com",
        kind=kind,
        country=country,
        address="1 Example Street",
        vat_number=vat_number,
        owner_member_id=member.id,
    )
    return Party(staff.id, member.id, client.id)


async def reported_mission(
    session: AsyncSession,
    settings: Settings,
    party: Party,
    *,
    amount: str = "1000.00",
    vat_rate: str = "21",
    expenses: list[tuple[str, Decimal]] | None = None,
    vat_exemption: str | None = None,
) -> Mission:
    """A mission whose work is done and reported: the next step is its invoice."""
    staff = await session.get(User, party.staff_user_id)
    assert staff is not None
    clock = await current_clock(session, settings.day_seconds, settings.timezone)
    today = business_today(clock)
    mission, _ = await create_mission(
        session,
        viewer_of(staff),
        {
            "member_id": party.member_id,
            "client_id": party.client_id,
            "title": "Illustrations for a catalogue",
            "start_date": (today + timedelta(days=1)).isoformat(),
            "end_date": (today + timedelta(days=3)).isoformat(),
            "amount_excl_vat": amount,
            "vat_rate": vat_rate,
            "vat_exemption": vat_exemption,
            "contract_type": "ordinary",
        },
        clock,
    )
    await record_work_report(session, mission.id, today, 3, expenses or [], "member:test")
    mission.stage = "work_report"
    await session.flush()
    return mission


async def today(db: Database, settings: Settings) -> date:
    async with db.session() as session:
        return business_today(await current_clock(session, settings.day_seconds, settings.timezone))


async def mission_postings(
    session: AsyncSession, mission_id: int, kind: str | None = None
) -> dict[str, Decimal]:
    """The mission's ledger movements summed per account (optionally of one kind)."""
    query = (
        select(LedgerEntry.account, func.sum(LedgerEntry.amount))
        .join(LedgerTransaction, LedgerTransaction.id == LedgerEntry.transaction_id)
        .where(LedgerTransaction.mission_id == mission_id)
        .group_by(LedgerEntry.account)
    )
    if kind is not None:
        query = query.where(LedgerTransaction.kind == kind)
    return {
        account: Decimal(total).quantize(Decimal("0.01"))
        for account, total in (await session.execute(query)).all()
    }


async def transaction_lines(session: AsyncSession, event_key: str) -> dict[str, Decimal]:
    """One ledger transaction's lines, per account."""
    rows = (
        await session.execute(
            select(LedgerEntry.account, LedgerEntry.amount)
            .join(LedgerTransaction, LedgerTransaction.id == LedgerEntry.transaction_id)
            .where(LedgerTransaction.event_key == event_key)
        )
    ).all()
    out: dict[str, Decimal] = {}
    for account, amount in rows:
        out[account] = out.get(account, Decimal("0.00")) + Decimal(amount)
    return out


IMMUTABLE = (
    "number",
    "series",
    "year",
    "sequence",
    "issue_date",
    "due_date",
    "structured_communication",
    "vat_rate",
    "vat_category",
    "vat_mention",
    "total_excl_vat",
    "vat_amount",
    "total_incl_vat",
    "lines",
    "client_id",
    "mission_id",
)


def invoice_snapshot(invoice: Invoice) -> dict[str, Any]:
    """What an issued invoice may never change (only its open balance and status move)."""
    return {name: getattr(invoice, name) for name in IMMUTABLE}
