"""Invoices: gap-free numbering in the issuing transaction, structured communication, ledger.

Each function changes the state and posts its ledger transaction in the caller's database
transaction, and is idempotent by a unique key, because the activity calling it will be retried.
"""

from __future__ import annotations

from datetime import date, timedelta
from decimal import Decimal

from sqlalchemy import select, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.asyncio import AsyncSession

from domain.invoice import InvoiceLine, invoice_totals
from domain.ogm import ogm_for_invoice
from domain.payroll import estimate_payroll
from models import (
    Expense,
    Invoice,
    InvoiceCounter,
)
from services import ledger, parameters
from services.ledger import Line
from services.missions import add_timeline, get_mission

INVOICE_SERIES = "F"


async def next_invoice_number(session: AsyncSession, series: str, year: int) -> int:
    """Allocate the next number of a series and year inside the caller's transaction (no gaps)."""
    values = {"series": series, "year": year, "last_number": 0}
    dialect = session.get_bind().dialect.name
    insert = postgresql.insert if dialect == "postgresql" else sqlite.insert
    await session.execute(
        insert(InvoiceCounter)
        .values(**values)
        .on_conflict_do_nothing(index_elements=["series", "year"])
    )
    number = await session.scalar(
        update(InvoiceCounter)
        .where(InvoiceCounter.series == series, InvoiceCounter.year == year)
        .values(last_number=InvoiceCounter.last_number + 1)
        .returning(InvoiceCounter.last_number)
    )
    assert number is not None
    return int(number)


async def expense_lines(session: AsyncSession, mission_id: int) -> list[Expense]:
    return list(
        (
            await session.scalars(
                select(Expense).where(Expense.mission_id == mission_id).order_by(Expense.position)
            )
        ).all()
    )


async def mission_invoice(session: AsyncSession, mission_id: int, lock: bool = False) -> Invoice:
    query = select(Invoice).where(Invoice.mission_id == mission_id, Invoice.kind == "invoice")
    if lock:
        query = query.with_for_update()
    invoice = await session.scalar(query)
    if invoice is None:
        raise LookupError(f"mission {mission_id} has no invoice yet")
    return invoice


async def issue_invoice(
    session: AsyncSession, mission_id: int, issue_date: date, due_days: int
) -> Invoice:
    """Issue the mission's invoice once: gap-free number, structured communication, ledger."""
    existing = await session.scalar(
        select(Invoice).where(Invoice.mission_id == mission_id, Invoice.kind == "invoice")
    )
    if existing is not None:
        return existing
    mission = await get_mission(session, mission_id, lock=True)
    expenses = await expense_lines(session, mission_id)
    lines = [
        InvoiceLine(
            label=f"{mission.title} ({mission.start_date.isoformat()} – "
            f"{mission.end_date.isoformat()}, {mission.days_worked or 0} days)",
            amount_excl_vat=mission.amount_excl_vat,
        ),
        *(InvoiceLine(label=f"Expense: {e.label}", amount_excl_vat=e.amount) for e in expenses),
    ]
    totals = invoice_totals(lines, mission.vat_rate)
    year = issue_date.year
    sequence = await next_invoice_number(session, INVOICE_SERIES, year)
    invoice = Invoice(
        mission_id=mission_id,
        client_id=mission.client_id,
        kind="invoice",
        series=INVOICE_SERIES,
        year=year,
        sequence=sequence,
        number=f"{INVOICE_SERIES}{year}-{sequence:06d}",
        issue_date=issue_date,
        due_date=issue_date + timedelta(days=due_days),
        structured_communication=ogm_for_invoice(year, sequence),
        vat_rate=mission.vat_rate,
        total_excl_vat=totals.total_excl_vat,
        vat_amount=totals.vat_amount,
        total_incl_vat=totals.total_incl_vat,
        balance=totals.total_incl_vat,
        principal_open=totals.total_incl_vat,
        status="open",
        lines=[{"label": ln.label, "amount_excl_vat": str(ln.amount_excl_vat)} for ln in lines],
    )
    session.add(invoice)
    await session.flush()
    params = await parameters.payroll_parameters(session, issue_date)
    payroll = estimate_payroll(
        totals.total_excl_vat, sum((e.amount for e in expenses), Decimal("0.00")), params
    )
    await ledger.post(
        session,
        event_key=f"invoice_issued:{invoice.id}",
        kind="invoice_issued",
        mission_id=mission_id,
        business_date=issue_date,
        description=f"Invoice {invoice.number}",
        lines=[
            Line("client_receivables", totals.total_incl_vat, mission.client_id),
            Line("vat_payable", -totals.vat_amount),
            Line("fee_income", -(payroll.fee - payroll.fund_contribution)),
            Line("guarantee_fund", -payroll.fund_contribution),
            Line("member_salary_payable", -(totals.total_excl_vat - payroll.fee)),
        ],
    )
    mission.stage = "invoiced"
    await add_timeline(
        session,
        mission_id,
        "invoiced",
        "invoiced",
        issue_date,
        None,
        {
            "number": invoice.number,
            "total_incl_vat": str(invoice.total_incl_vat),
            "due_date": invoice.due_date.isoformat(),
            "structured_communication": invoice.structured_communication,
        },
    )
    return invoice
