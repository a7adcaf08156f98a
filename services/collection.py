"""Client payments (matched by structured communication, else suspense), dunning, write-off."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from core.errors import DomainError
from domain.errors import FieldError
from domain.identifiers import clean_text
from domain.money import to_cents
from domain.ogm import parse_ogm
from models import (
    Client,
    Invoice,
    Payment,
    WriteOff,
)
from services import ledger
from services.invoicing import mission_invoice
from services.ledger import Line
from services.missions import add_timeline, get_mission


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


async def unmatched_payments(session: AsyncSession, matched: bool | None) -> list[Payment]:
    query = select(Payment).order_by(Payment.id.desc()).limit(500)
    if matched is not None:
        query = query.where(Payment.matched.is_(matched))
    return list((await session.scalars(query)).all())
