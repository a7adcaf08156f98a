"""Money events of a mission: invoice, salary advance, client payments, dunning and write-off.

Each function changes the state and posts its ledger transaction in the caller's database
transaction, and is idempotent by a unique key, because the activity calling it will be retried.
"""

from __future__ import annotations

from datetime import date, timedelta
from decimal import Decimal

from sqlalchemy import select, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.asyncio import AsyncSession

from core.errors import DomainError
from domain.errors import FieldError
from domain.identifiers import clean_text
from domain.invoice import InvoiceLine, invoice_totals
from domain.money import to_cents
from domain.ogm import ogm_for_invoice, parse_ogm
from domain.payroll import estimate_payroll
from models import (
    Client,
    Expense,
    Invoice,
    InvoiceCounter,
    Member,
    Payment,
    Payout,
    WriteOff,
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


async def _expense_lines(session: AsyncSession, mission_id: int) -> list[Expense]:
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
    expenses = await _expense_lines(session, mission_id)
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


async def pay_salary(session: AsyncSession, mission_id: int, paid_on: date) -> Payout:
    """Pay the member on day 7: from the client's money if it came in full, else from the fund."""
    existing = await session.scalar(
        select(Payout).where(Payout.mission_id == mission_id, Payout.period == "salary")
    )
    if existing is not None:
        return existing
    mission = await get_mission(session, mission_id, lock=True)
    invoice = await mission_invoice(session, mission_id, lock=True)
    member = await session.get(Member, mission.member_id)
    assert member is not None
    expenses = sum((e.amount for e in await _expense_lines(session, mission_id)), Decimal("0.00"))
    params = await parameters.payroll_parameters(session, paid_on)
    payroll = estimate_payroll(invoice.total_excl_vat, expenses, params)
    source = "client" if invoice.balance <= 0 else "fund"
    payout = Payout(
        mission_id=mission_id,
        period="salary",
        source=source,
        paid_on=paid_on,
        iban=member.iban,
        end_to_end_id=f"SAL-{mission_id}-salary",
        gross_salary=payroll.gross_salary,
        net_amount=payroll.net_salary,
        expenses=payroll.expenses,
        payroll={
            "basis": "simplified estimate",
            **{k: str(v) for k, v in payroll.__dict__.items()},
        },
    )
    session.add(payout)
    await session.flush()
    await ledger.post(
        session,
        event_key=f"salary_paid:{payout.id}",
        kind="salary_paid",
        mission_id=mission_id,
        business_date=paid_on,
        description=f"Salary of mission {mission_id} ({source} money)",
        lines=[
            Line("member_salary_payable", invoice.total_excl_vat - payroll.fee),
            Line("bank", -(payroll.net_salary + payroll.expenses)),
            Line(
                "social_contributions_payable",
                -(payroll.employer_contributions + payroll.employee_contributions),
            ),
            Line("withholding_tax_payable", -payroll.withholding_tax),
        ],
    )
    await add_timeline(
        session,
        mission_id,
        "salary_paid",
        "salary_paid",
        paid_on,
        None,
        {
            "net_amount": str(payroll.net_salary),
            "expenses": str(payroll.expenses),
            "source": source,
            "note": "paid by the guarantee fund; the client has not paid in full yet"
            if source == "fund"
            else "paid from the client's payment",
        },
    )
    return payout


async def record_payment(
    session: AsyncSession,
    *,
    amount: Decimal,
    received_on: date,
    structured_communication: object,
    bank_transaction_id: object,
    today: date,
    recorded_by_user_id: int | None,
) -> tuple[Payment, Invoice | None]:
    """Record a client payment once per bank transaction; match it by structured communication.

    An unmatched payment goes to suspense (never refused, never lost); a matched one reduces the
    invoice's open balance and cannot exceed it.
    """
    tx_id = clean_text(bank_transaction_id, field="bank_transaction_id", max_length=64)
    if not tx_id.isascii() or not tx_id.isprintable():
        raise FieldError("bank_transaction_id", "printable ASCII characters only")
    if received_on > today:
        raise FieldError("received_on", f"in the future (today is {today.isoformat()})")
    if received_on.year < today.year - 10:
        raise FieldError("received_on", "more than ten years ago")
    ogm = None
    if structured_communication not in (None, ""):
        ogm = parse_ogm(structured_communication)
    already = await session.scalar(
        select(Payment).where(Payment.bank_account == "main", Payment.bank_transaction_id == tx_id)
    )
    if already is not None:
        raise DomainError(
            f"bank transaction {tx_id} is already recorded (payment {already.id})",
            409,
            "bank_transaction_id",
        )
    invoice = None
    if ogm is not None:
        invoice = await session.scalar(
            select(Invoice).where(Invoice.structured_communication == ogm).with_for_update()
        )
    payment = Payment(
        bank_account="main",
        bank_transaction_id=tx_id,
        amount=amount,
        received_on=received_on,
        structured_communication=ogm,
        invoice_id=invoice.id if invoice else None,
        matched=invoice is not None,
        recorded_by_user_id=recorded_by_user_id,
    )
    if invoice is None:
        session.add(payment)
        await session.flush()
        await ledger.post(
            session,
            event_key=f"payment_suspense:{payment.id}",
            kind="payment_suspense",
            business_date=received_on,
            description=f"Unmatched payment {tx_id}",
            lines=[Line("bank", amount), Line("payments_suspense", -amount)],
        )
        return payment, None
    if invoice.status == "paid" or invoice.balance <= 0:
        raise DomainError(
            f"invoice {invoice.number} is already paid", 409, "structured_communication"
        )
    if amount > invoice.balance:
        raise FieldError(
            "amount",
            f"exceeds the open balance of invoice {invoice.number} ({invoice.balance:.2f})",
        )
    session.add(payment)
    await session.flush()
    written_off = invoice.status == "written_off"
    invoice.balance = invoice.balance - amount
    if written_off:
        # Recovery after write-off: the fund gets back what it absorbed, VAT is due again.
        vat_share = to_cents(amount * invoice.vat_amount / invoice.total_incl_vat)
        lines = [
            Line("bank", amount),
            Line("vat_payable", -vat_share),
            Line("guarantee_fund", -(amount - vat_share)),
        ]
        kind = "recovery"
    else:
        lines = [Line("bank", amount), Line("client_receivables", -amount, invoice.client_id)]
        kind = "client_payment"
    await ledger.post(
        session,
        event_key=f"{kind}:{payment.id}",
        kind=kind,
        mission_id=invoice.mission_id,
        business_date=received_on,
        description=f"Payment {tx_id} for invoice {invoice.number}",
        lines=lines,
    )
    await add_timeline(
        session,
        invoice.mission_id,
        f"payment:{payment.id}",
        kind,
        received_on,
        f"user:{recorded_by_user_id}",
        {"amount": str(amount), "balance": str(invoice.balance), "bank_transaction_id": tx_id},
    )
    if invoice.balance == 0 and not written_off:
        invoice.status = "paid"
        invoice.paid_on = received_on
        mission = await get_mission(session, invoice.mission_id, lock=True)
        mission.stage = "paid"
        await add_timeline(
            session,
            invoice.mission_id,
            "paid",
            "paid",
            received_on,
            None,
            {"invoice": invoice.number},
        )
    return payment, invoice


async def record_dunning_step(
    session: AsyncSession, mission_id: int, level: int, step: str, business_date: date
) -> tuple[Decimal, bool]:
    """Climb one rung of the dunning ladder if the invoice is still open; returns the balance."""
    invoice = await mission_invoice(session, mission_id, lock=True)
    if invoice.balance <= 0:
        return invoice.balance, False
    mission = await get_mission(session, mission_id, lock=True)
    mission.dunning_level = max(mission.dunning_level, level)
    mission.stage = "dunning"
    await add_timeline(
        session,
        mission_id,
        f"dunning:{level}",
        step,
        business_date,
        None,
        {"level": level, "balance": str(invoice.balance), "invoice": invoice.number},
    )
    return invoice.balance, True


async def write_off_invoice(
    session: AsyncSession, mission_id: int, business_date: date
) -> tuple[Decimal, bool]:
    """End of the ladder: the fund absorbs the unpaid balance, the member keeps the salary."""
    invoice = await mission_invoice(session, mission_id, lock=True)
    done = await session.scalar(select(WriteOff).where(WriteOff.invoice_id == invoice.id))
    if done is not None:
        return done.amount, True
    if invoice.balance <= 0:
        return invoice.balance, False
    balance = invoice.balance
    vat_share = to_cents(balance * invoice.vat_amount / invoice.total_incl_vat)
    client = await session.get(Client, invoice.client_id)
    session.add(
        WriteOff(
            invoice_id=invoice.id,
            amount=balance,
            business_date=business_date,
            reason="dunning ladder exhausted without payment",
        )
    )
    invoice.status = "written_off"
    await ledger.post(
        session,
        event_key=f"write_off:{invoice.id}",
        kind="write_off",
        mission_id=mission_id,
        business_date=business_date,
        description=f"Write-off of invoice {invoice.number} ({client.name if client else ''})",
        lines=[
            Line("vat_payable", vat_share),
            Line("guarantee_fund", balance - vat_share),
            Line("client_receivables", -balance, invoice.client_id),
        ],
    )
    mission = await get_mission(session, mission_id, lock=True)
    mission.stage = "written_off"
    await add_timeline(
        session,
        mission_id,
        "written_off",
        "written_off",
        business_date,
        None,
        {"amount": str(balance), "absorbed_by": "guarantee fund"},
    )
    return balance, True


async def guarantee_fund(session: AsyncSession) -> dict[str, object]:
    """The fund's balance (what it holds) and the salaries it advanced that clients still owe."""
    fund = -await ledger.account_balance(session, "guarantee_fund")
    rows = (
        await session.execute(
            select(Payout, Invoice)
            .join(Invoice, (Invoice.mission_id == Payout.mission_id) & (Invoice.kind == "invoice"))
            .where(Payout.source == "fund", Invoice.status == "open")
        )
    ).all()
    outstanding = sum(
        (min(p.net_amount + p.expenses + _withheld(p), inv.balance) for p, inv in rows),
        Decimal("0.00"),
    )
    return {
        "balance": f"{fund:.2f}",
        "outstanding_advances": {"count": len(rows), "amount": f"{outstanding:.2f}"},
    }


def _withheld(payout: Payout) -> Decimal:
    """What the coop paid on the member's behalf besides the net: contributions and tax."""
    p = payout.payroll
    return sum(
        (
            Decimal(p.get(k, "0"))
            for k in ("employer_contributions", "employee_contributions", "withholding_tax")
        ),
        Decimal("0.00"),
    )


async def unmatched_payments(session: AsyncSession, matched: bool | None) -> list[Payment]:
    query = select(Payment).order_by(Payment.id.desc()).limit(500)
    if matched is not None:
        query = query.where(Payment.matched.is_(matched))
    return list((await session.scalars(query)).all())
