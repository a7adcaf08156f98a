"""A seeded book for the consoles: an advisor's members and missions in every stage, made with
the services (invoices, salary advances, write-off, recovery) and hand-written timelines.

Everything the advisor `A` sees is made here and nowhere else, so the advisor's figures are known
exactly; ops figures are checked against direct SQL over the whole (shared) database.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal

import pytest
from sqlalchemy.ext.asyncio import AsyncSession

from core.db import Database
from core.settings import Settings
from models import Client, Member, Mission, TimelineEvent, User
from services import collection, payroll, people
from services.access import Viewer, viewer_of
from services.clock import business_today, current_clock
from services.invoicing import issue_invoice, mission_invoice
from tests.conftest import BELGIAN_VAT, member_payload, unique
from tests.web.conftest import (  # noqa: F401  the browser tests' server and Chromium
    browser,
    chromium_path,
    server,
    uvicorn_url,
    web_db,
    web_db_url,
    web_settings,
)

PASSWORD = "staff password 123"
# Durations are seeded in a month of their own, far from the real business dates.
DURATION_PERIOD = (date(2027, 1, 1), date(2027, 12, 31))


@dataclass
class Book:
    today: date
    advisor: User
    other_advisor: User
    ops: User
    members: list[Member]
    other_member: Member
    clients: list[Client]
    missions: dict[str, Mission] = field(default_factory=dict)
    # The year its timed missions' stays fall in: a book of its own year keeps exact durations
    # even when another book shares the database.
    duration_year: int = 2027

    @property
    def duration_period(self) -> tuple[date, date]:
        return date(self.duration_year, 1, 1), date(self.duration_year, 12, 31)

    @property
    def advisor_viewer(self) -> Viewer:
        return viewer_of(self.advisor)

    @property
    def ops_viewer(self) -> Viewer:
        return viewer_of(self.ops)


async def _member(session: AsyncSession, advisor: User, name: str) -> Member:
    payload = member_payload(name=name)
    member = await people.create_member(
        session,
        name=name,
        email=payload["email"],
        password=payload["password"],
        iban=payload["iban"],
        national_number=payload["national_number"],
    )
    member.advisor_user_id = advisor.id
    await session.flush()
    return member


async def _client(session: AsyncSession, member: Member, name: str) -> Client:
    return await people.create_client(
        session,
        name=name,
        email=f"{unique('client')}@example.com",
        kind="business",
        country="BE",
        address="Rue Haute 1, 1000 Bruxelles",
        vat_number=BELGIAN_VAT,
        owner_member_id=member.id,
    )


async def _mission(
    session: AsyncSession,
    member: Member,
    client: Client,
    title: str,
    amount: str,
    stage: str,
    today: date,
    **over: object,
) -> Mission:
    mission = Mission(
        member_id=member.id,
        client_id=client.id,
        title=title,
        start_date=today - timedelta(days=20),
        end_date=today - timedelta(days=10),
        amount_excl_vat=Decimal(amount),
        vat_rate=Decimal("21.00"),
        stage=stage,
        created_on=today - timedelta(days=30),
        pay_date=today - timedelta(days=1),
        days_worked=3,
        client_confirmed_at=datetime.now(UTC),
        client_confirmation_method="signed order form",
    )
    for key, value in over.items():
        setattr(mission, key, value)
    session.add(mission)
    await session.flush()
    return mission


async def _invoice(session: AsyncSession, mission: Mission, issued: date) -> None:
    """Issue its invoice, then put the mission back where the test wants it (as the workflow
    would have moved it since: dunning, written off)."""
    stage = mission.stage
    await issue_invoice(session, mission.id, issued, 30)
    mission.stage = stage
    await session.flush()


# Days spent in contract, declaration, in_progress, work_report, invoiced per mission, then paid.
DURATIONS = [
    (1, 2, 5, 3, 20),
    (2, 1, 6, 4, 30),
    (3, 1, 7, 5, 10),
    (4, 3, 8, 6, 40),
    (10, 4, 9, 7, 50),
]


async def _timeline(
    session: AsyncSession, mission: Mission, start: date, spans: tuple[int, ...]
) -> None:
    day = start
    events: list[tuple[str, str, date]] = [("created", "created", day)]
    contract, declaration, in_progress, work_report, invoiced = spans
    day += timedelta(days=contract)
    events += [
        ("signed", "signed", day - timedelta(days=1)),
        ("client_confirmed", "client_confirmed", day),
    ]
    day += timedelta(days=declaration)
    events.append(("declaration:in", "declaration_accepted", day))
    day += timedelta(days=in_progress)
    events.append(("work_report_due", "work_report_due", day))
    day += timedelta(days=work_report)
    events += [("work_reported", "work_reported", day), ("invoiced", "invoiced", day)]
    day += timedelta(days=invoiced)
    events.append(("paid", "paid", day))
    for key, step, when in events:
        session.add(
            TimelineEvent(mission_id=mission.id, key=key, step=step, business_date=when, detail={})
        )
    await session.flush()


@pytest.fixture(scope="session")
async def book(db: Database, settings: Settings) -> Book:
    """One book per test process, read by several modules in whatever order they run: a test
    that needs more missions makes them for members of its own, never for the book's."""
    async with db.session() as session:
        today = business_today(
            await current_clock(session, settings.day_seconds, settings.timezone)
        )
        return await seed_book(session, today)


async def seed_book(session: AsyncSession, today: date, duration_year: int = 2027) -> Book:
    """Two advisors, three members, their clients and missions (see the module's docstring)."""
    advisor = await people.create_staff_user(
        session, f"{unique('advisor')}@coop.example", PASSWORD, "advisor"
    )
    other = await people.create_staff_user(
        session, f"{unique('advisor')}@coop.example", PASSWORD, "advisor"
    )
    ops = await people.create_staff_user(session, f"{unique('ops')}@coop.example", PASSWORD, "ops")
    m1 = await _member(session, advisor, "Alice Aerts")
    m2 = await _member(session, advisor, "Bram Peeters")
    m3 = await _member(session, other, "Chloé Dubois")
    c1 = await _client(session, m1, "Atelier Lumière")
    c2 = await _client(session, m2, '=HYPERLINK("http://evil.example","x")')
    c3 = await _client(session, m3, "Somebody Else SA")
    b = Book(today, advisor, other, ops, [m1, m2], m3, [c1, c2, c3], duration_year=duration_year)
    ms = b.missions
    ms["contract1"] = await _mission(session, m1, c1, "Poster design", "100.00", "contract", today)
    ms["contract2"] = await _mission(session, m2, c2, "-2+3 logo", "250.00", "contract", today)
    ms["declaration"] = await _mission(
        session, m1, c1, "Festival lights", "300.00", "declaration", today,
        needs_attention=True, attention_step="declaration",
        attention_reason="declaration gateway unavailable",
    )  # fmt: skip
    # Invoices: 21 % VAT, so a mission of X excl. VAT owes 1.21 X.
    ms["not_due"] = await _mission(session, m1, c1, "Catalogue", "1000.00", "invoiced", today)
    await _invoice(session, ms["not_due"], today)
    ms["late15"] = await _mission(session, m2, c2, "Website", "2000.00", "invoiced", today)
    await _invoice(session, ms["late15"], today - timedelta(days=45))
    ms["late45"] = await _mission(
        session, m1, c1, "Sound design", "500.00", "dunning", today, dunning_level=1
    )
    await _invoice(session, ms["late45"], today - timedelta(days=75))
    ms["late100"] = await _mission(
        session, m2, c2, "Photos", "400.00", "dunning", today, dunning_level=2
    )
    await _invoice(session, ms["late100"], today - timedelta(days=130))
    # The fund advances the salary of late45 (outstanding), and of written (then written off).
    await payroll.pay_salary(session, ms["late45"].id, today - timedelta(days=40))
    ms["written"] = await _mission(session, m1, c1, "Mural", "800.00", "written_off", today)
    await _invoice(session, ms["written"], today - timedelta(days=200))
    await payroll.pay_salary(session, ms["written"].id, today - timedelta(days=160))
    await collection.write_off_invoice(session, ms["written"].id, today - timedelta(days=40))
    inv = await mission_invoice(session, ms["written"].id)
    await collection.record_payment(
        session,
        amount=Decimal("100.00"),
        received_on=today,
        structured_communication=inv.structured_communication,
        bank_transaction_id=unique("RECOVERY-"),
        today=today,
        recorded_by_user_id=ops.id,
    )
    ms["paid"] = await _mission(session, m2, c2, "Paid job", "600.00", "paid", today)
    # Another advisor's mission: never in advisor A's figures.
    ms["foreign"] = await _mission(session, m3, c3, "Not yours", "9999.00", "invoiced", today)
    await _invoice(session, ms["foreign"], today - timedelta(days=45))
    for i, spans in enumerate(DURATIONS):
        mission = await _mission(session, m1, c1, f"Timed {i}", "10.00", "paid", today)
        ms[f"timed{i}"] = mission
        await _timeline(session, mission, date(duration_year, 3, 1) + timedelta(days=i), spans)
    return b
