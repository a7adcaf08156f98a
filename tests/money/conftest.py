"""Helpers for the money tests: missions made directly through the services (no workflow), and
business days of their own, on which a test sets the guarantee fund's rules.

The suite shares one database and one guarantee fund. A test that needs a small fund does not
drain the shared one: it gives itself a business day on which `fund.rules` (a dated parameter
like any other) puts the floor just below what the fund has available, and does everything on
that day. Nothing else runs meanwhile (the tests run one at a time), so the fund moves only by
what the test does.
"""

from __future__ import annotations

import itertools
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from models import Client, Expense, LedgerEntry, LedgerTransaction, Member, Mission, Parameter
from services import fund, people
from tests.conftest import BELGIAN_VAT, member_payload, unique

# Far from the real today (the workflows' business dates), one day per use.
_days = itertools.count()
FIRST_DAY = date(2028, 3, 1)


def own_day() -> date:
    return FIRST_DAY + timedelta(days=next(_days))


async def set_fund_rules(
    session: AsyncSession,
    on: date,
    *,
    floor: Decimal,
    cap: Decimal = Decimal("1000000000.00"),
    margin: Decimal = Decimal("0.00"),
    deposit_share: Decimal = Decimal("1.00"),
) -> None:
    """The fund's rules in force on day `on` only (a dated row valid from `on` to `on`)."""
    session.add(
        Parameter(
            key=fund.FUND_RULES,
            valid_from=on,
            valid_to=on,
            value={
                "floor": f"{floor:.2f}",
                "client_exposure_cap": f"{cap:.2f}",
                "near_floor_margin": f"{margin:.2f}",
                "deposit_share": f"{deposit_share}",
            },
            source="test: rules of one test day",
        )
    )
    await session.flush()


async def new_member(session: AsyncSession) -> Member:
    payload = member_payload()
    return await people.create_member(
        session,
        name=payload["name"],
        email=payload["email"],
        password=payload["password"],
        iban=payload["iban"],
        national_number=payload["national_number"],
    )


async def new_client(session: AsyncSession, country: str = "BE", kind: str = "business") -> Client:
    return await people.create_client(
        session,
        name=f"Client {unique('money')}",
        email=f"{unique('money')}@example.com",
        kind=kind,
        country=country,
        address="1 Main Street",
        vat_number=BELGIAN_VAT if (country == "BE" and kind == "business") else None,
    )


async def new_mission(
    session: AsyncSession,
    member: Member,
    client: Client,
    *,
    amount: Decimal = Decimal("1000.00"),
    vat_rate: Decimal = Decimal("21.00"),
    confirmed: bool = True,
    expenses: Decimal = Decimal("0.00"),
    on: date = FIRST_DAY,
) -> Mission:
    """A mission row in the contract stage, its work done, ready to invoice (no workflow)."""
    mission = Mission(
        member_id=member.id,
        client_id=client.id,
        title="Sound engineering",
        start_date=on - timedelta(days=3),
        end_date=on - timedelta(days=1),
        amount_excl_vat=amount,
        vat_rate=vat_rate,
        stage="contract",
        created_on=on - timedelta(days=10),
        pay_date=on,
        days_worked=3,
        client_confirmed_at=datetime.now(UTC) if confirmed else None,
        client_confirmation_method="signed order form" if confirmed else None,
    )
    session.add(mission)
    await session.flush()
    if expenses:
        session.add(Expense(mission_id=mission.id, position=0, label="train", amount=expenses))
        await session.flush()
    return mission


async def unbalanced_transactions(session: AsyncSession) -> list[tuple[int, Decimal]]:
    rows = await session.execute(
        select(LedgerEntry.transaction_id, func.sum(LedgerEntry.amount))
        .group_by(LedgerEntry.transaction_id)
        .having(func.sum(LedgerEntry.amount) != 0)
    )
    return [(int(t), Decimal(a)) for t, a in rows]


async def ledger_kinds(session: AsyncSession, mission_id: int) -> list[str]:
    rows = await session.scalars(
        select(LedgerTransaction.kind)
        .where(LedgerTransaction.mission_id == mission_id)
        .order_by(LedgerTransaction.id)
    )
    return list(rows.all())
