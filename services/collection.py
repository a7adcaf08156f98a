"""Client payments (matched by structured communication, else suspense), dunning, write-off."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from core.errors import DomainError, NotFound
from domain.errors import FieldError
from domain.identifiers import clean_text
from domain.late_payment import (
    B2BParameters,
    B2CParameters,
    DunningStepCharges,
    RatePeriod,
    Regime,
    allocate_payment,
    charges_for_step,
)
from domain.ogm import parse_ogm
from models import (
    Client,
    DunningStep,
    Invoice,
    Payment,
    WriteOff,
)
from services import fund, ledger, parameters
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
        found = await session.scalar(
            select(Invoice.mission_id).where(Invoice.structured_communication == ogm)
        )
        if found is not None:
            # Lock order everywhere: the mission, then its invoice, then the fund.
            await get_mission(session, found, lock=True)
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
    _check_payable(payment, invoice, "structured_communication")
    session.add(payment)
    await session.flush()
    await apply_to_invoice(session, payment, invoice)
    return payment, invoice


def _check_payable(payment: Payment, invoice: Invoice, field: str) -> None:
    if invoice.status == "paid" or invoice.balance <= 0:
        raise DomainError(f"invoice {invoice.number} is already paid", 409, field)
    if payment.amount > invoice.balance:
        raise FieldError(
            "amount" if field == "structured_communication" else field,
            f"exceeds the open balance of invoice {invoice.number} ({invoice.balance:.2f})",
        )


async def apply_to_invoice(
    session: AsyncSession,
    payment: Payment,
    invoice: Invoice,
    from_account: str = "bank",
    actor_user_id: int | None = None,
) -> None:
    """Pay the (locked) invoice with this payment: imputation, ledger, timeline, paid state.

    `from_account` is where the money sits: the bank for a payment matched on arrival, the
    suspense account for one matched by hand later.
    """
    amount = payment.amount
    tx_id = payment.bank_transaction_id
    received_on = payment.received_on
    recorded_by_user_id = actor_user_id or payment.recorded_by_user_id
    written_off = invoice.status == "written_off"
    # Civil-code imputation: costs first, then interest, then principal.
    split = allocate_payment(
        amount, invoice.costs_open, invoice.interest_open, invoice.principal_open
    )
    invoice.costs_open -= split.costs
    invoice.interest_open -= split.interest
    invoice.principal_open -= split.principal
    invoice.balance = invoice.balance - amount
    if written_off:
        # Recovery after write-off: the fund gets back what it absorbed (services/fund.py).
        lines = await fund.recovery_lines(
            session, invoice, amount, split.costs + split.interest, split.principal
        )
        kind = "recovery"
    else:
        lines = [
            Line("bank", amount),
            Line("client_receivables", -amount, invoice.client_id),
            *await fund.reimbursement_lines(session, invoice, amount),  # the fund first
        ]
        kind = "client_payment"
    if from_account != "bank":
        lines = [
            Line(from_account, line.amount, line.client_id) if line.account == "bank" else line
            for line in lines
        ]
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


async def match_suspense_payment(
    session: AsyncSession, payment_id: int, invoice_id: int, matched_by_user_id: int
) -> tuple[Payment, Invoice]:
    """Match a payment left in suspense to an invoice by hand: the suspense account is cleared
    and the invoice paid with it, exactly as if it had matched on arrival."""
    payment = await session.get(Payment, payment_id, with_for_update=True)
    if payment is None:
        raise NotFound("payment")
    if payment.matched or payment.invoice_id is not None:
        raise DomainError(
            f"payment {payment.id} is already matched to invoice {payment.invoice_id}",
            409,
            "payment",
        )
    found = await session.get(Invoice, invoice_id)
    if found is None or found.kind != "invoice":
        raise NotFound("invoice", "invoice_id")
    # Lock order everywhere: the mission, then its invoice, then the fund.
    await get_mission(session, found.mission_id, lock=True)
    invoice = await session.get(Invoice, invoice_id, with_for_update=True, populate_existing=True)
    assert invoice is not None
    _check_payable(payment, invoice, "invoice_id")
    payment.invoice_id = invoice.id
    payment.matched = True
    await session.flush()
    await apply_to_invoice(
        session,
        payment,
        invoice,
        from_account="payments_suspense",
        actor_user_id=matched_by_user_id,
    )
    return payment, invoice


async def _step_charges(
    session: AsyncSession, invoice: Invoice, level: int, business_date: date
) -> tuple[DunningStepCharges, Regime, Decimal]:
    """What the law lets us claim at this rung (domain/late_payment.py), from dated parameters."""
    client = await session.get(Client, invoice.client_id)
    assert client is not None
    regime: Regime = "b2c" if client.kind == "consumer" else "b2b"
    earlier = (
        await session.scalars(
            select(DunningStep)
            .where(DunningStep.invoice_id == invoice.id)
            .order_by(DunningStep.level)
        )
    ).all()
    rates = [
        RatePeriod.from_row(row.valid_from, row.valid_to, row.value)
        for row in await parameters.parameter_rows(session, parameters.B2B_RATES)
    ]
    b2b = B2BParameters.from_value(
        await parameters.parameter(session, parameters.B2B, business_date)
    )
    b2c = B2CParameters.from_value(
        await parameters.parameter(session, parameters.B2C, business_date)
    )
    charges = charges_for_step(
        regime,
        level,
        business_date,
        invoice.due_date,
        invoice.principal_open,
        earlier[0].business_date if earlier else None,
        "email",  # reminders leave by email (the outbox / SendGrid)
        previous_step_date=earlier[-1].business_date if earlier else None,
        rate_periods=rates,
        b2b=b2b,
        b2c=b2c,
    )
    return charges, regime, sum((row.interest for row in earlier), Decimal("0.00"))


async def record_dunning_step(
    session: AsyncSession, mission_id: int, level: int, step: str, business_date: date
) -> tuple[Decimal, bool]:
    """Climb one rung of the dunning ladder if the invoice is still open; returns the balance.

    The rung charges what the law allows on that day (interest, fixed compensation, Book XIX
    penalty and reminder fee), posted as late-fee income and added to the client's balance.
    """
    await get_mission(session, mission_id, lock=True)  # mission, then invoice: the lock order
    invoice = await mission_invoice(session, mission_id, lock=True)
    if invoice.balance <= 0:
        return invoice.balance, False
    done = await session.scalar(
        select(DunningStep).where(DunningStep.invoice_id == invoice.id, DunningStep.level == level)
    )
    if done is not None:
        return invoice.balance, True
    charges, regime, interest_charged = await _step_charges(session, invoice, level, business_date)
    # The law gives the interest accrued to this day; what earlier rungs charged is not owed twice.
    interest = max(charges.interest - interest_charged, Decimal("0.00"))
    costs = charges.fixed_compensation + charges.penalty + charges.reminder_fee
    session.add(
        DunningStep(
            invoice_id=invoice.id,
            mission_id=mission_id,
            level=level,
            step=step,
            regime=regime,
            business_date=business_date,
            fixed_compensation=charges.fixed_compensation,
            interest=interest,
            penalty=charges.penalty,
            reminder_fee=charges.reminder_fee,
            rule=charges.rule,
        )
    )
    if interest + costs > 0:
        invoice.interest_open += interest
        invoice.costs_open += costs
        invoice.balance += interest + costs
        await ledger.post(
            session,
            event_key=f"late_charges:{invoice.id}:{level}",
            kind="late_charges",
            mission_id=mission_id,
            business_date=business_date,
            description=f"{step} on invoice {invoice.number}: {charges.rule}"[:2000],
            lines=[
                Line("client_receivables", interest + costs, invoice.client_id),
                Line("late_fee_income", -(interest + costs)),
            ],
        )
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
        {
            "level": level,
            "balance": str(invoice.balance),
            "invoice": invoice.number,
            "interest": str(interest),
            "costs": str(costs),
        },
    )
    return invoice.balance, True


async def write_off_invoice(
    session: AsyncSession,
    mission_id: int,
    business_date: date,
    cause: str = "dunning_exhausted",
    note: str = "",
) -> tuple[Decimal, bool]:
    """End of the ladder: the fund absorbs the unpaid balance, the member keeps the salary.

    `cause` (services/fund.py WRITE_OFF_CAUSES) says whether the loss is certain: only then is
    the VAT recovered; the end of the ladder is not, and the fund absorbs the VAT too.
    """
    await get_mission(session, mission_id, lock=True)  # mission, then invoice: the lock order
    invoice = await mission_invoice(session, mission_id, lock=True)
    done = await session.scalar(select(WriteOff).where(WriteOff.invoice_id == invoice.id))
    if done is not None:
        return done.amount, True
    if invoice.balance <= 0:
        return invoice.balance, False
    balance = invoice.balance
    # Interest and costs never collected were never income: they are reversed, not absorbed.
    charges = invoice.interest_open + invoice.costs_open
    principal = balance - charges
    certain, why = fund.write_off_cause(cause)
    fund_lines, vat_share = await fund.write_off_lines(session, invoice, principal, certain)
    client = await session.get(Client, invoice.client_id)
    session.add(
        WriteOff(
            invoice_id=invoice.id,
            amount=principal,
            business_date=business_date,
            reason=f"{why}: {note}" if note else why,
            cause=cause,
            vat_recoverable=certain,
            vat_recovered=vat_share,
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
            Line("late_fee_income", charges),
            *fund_lines,
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
        {
            "amount": str(principal),
            "charges_reversed": str(charges),
            "absorbed_by": "guarantee fund",
            "cause": cause,
            "vat_recovered": str(vat_share),
        },
    )
    return principal, True


async def unmatched_payments(session: AsyncSession, matched: bool | None) -> list[Payment]:
    query = select(Payment).order_by(Payment.id.desc()).limit(500)
    if matched is not None:
        query = query.where(Payment.matched.is_(matched))
    return list((await session.scalars(query)).all())
