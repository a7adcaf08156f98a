"""Client payments (matched by structured communication, else suspense), dunning, write-off."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, timedelta
from decimal import Decimal
from typing import Any

from sqlalchemy import Select, String, cast, func, literal, select
from sqlalchemy.ext.asyncio import AsyncSession

from contracts.stages import Stage
from core.errors import DomainError, NotFound
from core.settings import get_settings
from domain.errors import FieldError
from domain.identifiers import clean_text
from domain.late_payment import (
    B2B_LAW,
    B2BParameters,
    B2CParameters,
    ConsumerTerms,
    DunningStepCharges,
    PrincipalMovement,
    RateMissing,
    RatePeriod,
    Regime,
    accrue_interest,
    allocate_payment,
    b2c_costs_allowed_from,
    charges_for_step,
    rate_period_start,
)
from domain.ogm import parse_ogm
from models import (
    Client,
    CreditNote,
    DunningStep,
    Invoice,
    LedgerEntry,
    LedgerTransaction,
    Mission,
    Payment,
    WriteOff,
)
from services import fund, ledger, parameters
from services.access import get_mission
from services.clock import business_today, current_clock
from services.invoicing import mission_invoice
from services.ledger import Line
from services.timeline import add_timeline

# Dated parameters seeded by migration 0021.
LEGAL_RATES = parameters.LEGAL_RATES  # law of 5 May 1865, one row per calendar year
CONSUMER_TERMS = "late_payment.consumer_terms"  # what the order form stipulated (ConsumerTerms)
ZERO = Decimal("0.00")
# Rows for interest charged outside the ladder (with a payment, at write-off) sit above the
# ladder's levels, so that the ladder's rungs keep theirs.
OFF_LADDER_LEVEL = 100


class DunningTooEarly(DomainError):
    """A rung (or the write-off ending the ladder) before the period the previous letter gave
    has run, counted from the day that letter really left (INV-8): nothing is written."""


def sent_on(step: DunningStep) -> date:
    """The day the rung's letter really left. A rung whose letter was never recorded sent (a
    row written before `sent_on` existed, or by the service alone) counts from its own date."""
    return step.sent_on if step.sent_on is not None else step.business_date


async def letter_sent(session: AsyncSession, mission_id: int, step: str, day: date) -> bool:
    """Record that the rung's letter left on `day` (its email sent, or sent by hand); the first
    sending counts. False if the mission has no such rung (not a dunning letter)."""
    row = await session.scalar(
        select(DunningStep)
        .where(
            DunningStep.mission_id == mission_id,
            DunningStep.step == step,
            DunningStep.level < OFF_LADDER_LEVEL,
        )
        .with_for_update()
    )
    if row is None:
        return False
    if row.sent_on is None:
        row.sent_on = day
    return True


async def check_period_ran(
    session: AsyncSession, invoice: Invoice, step: str, business_date: date
) -> None:
    """Defence in depth (INV-8): refuse a rung, or the write-off ending the ladder, dated before
    the period the previous rung's letter gave has run, counted from the day that letter
    really left (`sent_on`): the gap between the two rungs of the mission's ladder.

    Only a letter recorded sent decides: a rung written by the service alone (never sent) has
    no sending day to count from. Book XIX's own 14 days are applied by the charges
    (domain.late_payment, from the first reminder's sending day)."""
    ladder = _ladder(await _steps(session, invoice))
    if not ladder or ladder[-1].sent_on is None:
        return
    previous, left = ladder[-1], ladder[-1].sent_on
    mission = await session.get(Mission, invoice.mission_id)
    assert mission is not None
    rungs = {
        r.step: r.days_after_due
        for r in (await parameters.lifecycle_policy(session, mission.created_on)).dunning_ladder
    }
    if step not in rungs or previous.step not in rungs:
        return
    ends = left + timedelta(days=rungs[step] - rungs[previous.step])
    if business_date < ends:
        raise DunningTooEarly(
            f"{step} on {business_date.isoformat()} is too early: the {previous.step} letter "
            f"left on {left.isoformat()} and gives the client until "
            f"{(ends - timedelta(days=1)).isoformat()} (INV-8); retry from {ends.isoformat()}",
            409,
            "business_date",
        )


@dataclass(frozen=True)
class SuspensePosition:
    """What a bank line left in the payments suspense account: booked there on arrival (or
    before a match by hand), still open, why, and what of the line went to invoices."""

    amount: Decimal
    booked: Decimal
    open: Decimal
    reason: str
    refunded: Decimal = ZERO

    @property
    def applied(self) -> Decimal:
        return self.amount - self.open - self.refunded


# The suspense posting's description carries its reason after this mark (no column for it).
SUSPENSE_MARK = " to suspense: "
SUSPENSE_KINDS = ("payment_suspense", "client_payment", "recovery", "suspense_refund")


async def record_payment(
    session: AsyncSession,
    *,
    amount: Decimal,
    received_on: date,
    structured_communication: object,
    bank_transaction_id: object,
    today: date,
    recorded_by_user_id: int | None,
    bank_account: str = "main",
) -> tuple[Payment, Invoice | None]:
    """Record a client payment once per bank transaction; match it by structured communication.

    A bank line is never refused (INV-7): what its invoice can take (the balance, and the
    interest run on since the last rung) is applied; the rest, or all of a line that matches no
    open invoice (no communication, one not recognised, an invoice already paid), is booked to
    the payments suspense account with its reason, for ops to match or refund. The line's
    booked total is its amount. Only a malformed request (amount, date, transaction id, a
    communication that is no bank text) is refused; a second line with the same bank
    transaction id is refused (409): it is the same booking. `bank_account` is the account the
    line was seen on: "main" for a line typed in by hand, the IBAN for a camt.053 statement's
    (services/bank.py).
    """
    tx_id = clean_text(bank_transaction_id, field="bank_transaction_id", max_length=64)
    if not tx_id.isascii() or not tx_id.isprintable():
        raise FieldError("bank_transaction_id", "printable ASCII characters only")
    if received_on > today:
        raise FieldError("received_on", f"in the future (today is {today.isoformat()})")
    if received_on.year < today.year - 10:
        raise FieldError("received_on", "more than ten years ago")
    # A SEPA remittance text is at most 140 characters; control characters are no bank text.
    said = clean_text(
        structured_communication,
        field="structured_communication",
        max_length=140,
        required=False,
    )
    ogm = None
    reason = "no structured communication"
    if said:
        try:
            ogm = parse_ogm(said)
        except FieldError as err:
            reason = f"communication not recognised: {err.message}"
    already = await session.scalar(
        select(Payment).where(
            Payment.bank_account == bank_account, Payment.bank_transaction_id == tx_id
        )
    )
    if already is not None:
        raise DomainError(
            f"bank transaction {tx_id} is already recorded (payment {already.id})",
            409,
            "bank_transaction_id",
        )
    invoice = None
    if ogm is not None:
        reason = "no invoice with this structured communication"
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
        bank_account=bank_account,
        bank_transaction_id=tx_id,
        amount=amount,
        received_on=received_on,
        communication=said or None,
        structured_communication=ogm,
        invoice_id=invoice.id if invoice else None,
        matched=False,
        recorded_by_user_id=recorded_by_user_id,
    )
    applied = ZERO
    if invoice is not None:
        await _interest_with_payment(session, invoice, amount, received_on, tx_id)
        applied, reason = _payable(invoice, amount)
        payment.matched = applied > 0
    session.add(payment)
    await session.flush()
    if invoice is not None and applied > 0:
        await apply_to_invoice(session, payment, invoice, amount=applied)
    if amount > applied:
        await _to_suspense(session, payment, invoice, amount - applied, reason)
    return payment, invoice


def _payable(invoice: Invoice, amount: Decimal) -> tuple[Decimal, str]:
    """What of `amount` the (locked) invoice can take, and why the rest cannot be applied."""
    if invoice.balance <= 0:
        if invoice.status == "paid":
            return ZERO, f"invoice {invoice.number} already paid"
        return ZERO, f"invoice {invoice.number} has no open balance ({invoice.status})"
    if amount > invoice.balance:
        return invoice.balance, (
            f"overpayment of invoice {invoice.number} (open balance {invoice.balance:.2f})"
        )
    return amount, ""


async def _to_suspense(
    session: AsyncSession,
    payment: Payment,
    invoice: Invoice | None,
    amount: Decimal,
    reason: str,
) -> None:
    client_id = invoice.client_id if invoice is not None else None
    await ledger.post(
        session,
        event_key=f"payment_suspense:{payment.id}",
        kind="payment_suspense",
        mission_id=invoice.mission_id if invoice is not None else None,
        business_date=payment.received_on,
        description=f"Payment {payment.bank_transaction_id}{SUSPENSE_MARK}{reason}"[:2000],
        lines=[Line("bank", amount), Line("payments_suspense", -amount, client_id)],
    )
    if invoice is not None:
        await add_timeline(
            session,
            invoice.mission_id,
            f"payment_suspense:{payment.id}",
            "payment_suspense",
            payment.received_on,
            f"user:{payment.recorded_by_user_id}",
            {
                "amount": str(amount),
                "reason": reason,
                "bank_transaction_id": payment.bank_transaction_id,
            },
        )


async def suspense_positions(
    session: AsyncSession, payments: list[Payment]
) -> dict[int, SuspensePosition]:
    """Each payment's suspense position, read from the ledger (its suspense postings are keyed
    by the payment's id: booked on arrival, cleared by a match by hand)."""
    wanted = {p.id: p for p in payments}
    booked: dict[int, Decimal] = {}
    moved: dict[int, Decimal] = {}
    refunded: dict[int, Decimal] = {}
    reasons: dict[int, str] = {}
    if wanted:
        rows = await session.execute(
            select(LedgerTransaction.event_key, LedgerTransaction.description, LedgerEntry.amount)
            .join(LedgerEntry, LedgerEntry.transaction_id == LedgerTransaction.id)
            .where(
                LedgerEntry.account == "payments_suspense",
                LedgerTransaction.kind.in_(SUSPENSE_KINDS),
            )
        )
        for key, description, line in rows.all():
            parts = key.split(":")
            if len(parts) < 2 or not parts[1].isdigit() or int(parts[1]) not in wanted:
                continue
            pid = int(parts[1])
            moved[pid] = moved.get(pid, ZERO) + line
            if parts[0] == "suspense_refund":
                refunded[pid] = refunded.get(pid, ZERO) + line
            if parts[0] == "payment_suspense" and len(parts) == 2:
                booked[pid] = booked.get(pid, ZERO) - line
                _, mark, why = description.partition(SUSPENSE_MARK)
                reasons[pid] = why if mark else "matched no invoice"
    return {
        pid: SuspensePosition(
            amount=p.amount,
            booked=booked.get(pid, ZERO),
            open=-moved.get(pid, ZERO),
            reason=reasons.get(pid, ""),
            refunded=refunded.get(pid, ZERO),
        )
        for pid, p in wanted.items()
    }


async def _interest_with_payment(
    session: AsyncSession, invoice: Invoice, amount: Decimal, received_on: date, tx_id: str
) -> None:
    """A payment larger than the balance may include the interest that kept running since the
    last rung (the `amount_due` the invoice JSON and a later letter show): that interest, up to
    the payment's date, is charged first, so the payment is accepted and imputed on it.

    A payment of the balance alone is not charged anything more (the ladder's next rung, or the
    write-off, claims what accrued since); of a payment above balance + interest, the rest goes
    to suspense (record_payment)."""
    if invoice.status != "open" or amount <= invoice.balance:
        return
    try:
        position = await interest_position(session, invoice, received_on)
    except parameters.MissingParameter:
        # No rate yet for the payment's date: a bank line is never refused (INV-7). Nothing is
        # charged now; the rest of the line goes to suspense with its reason, and the next rung
        # or the write-off claims the interest once ops entered the rate.
        return
    extra = position.not_yet_charged
    if extra <= 0:
        return
    await _charge_running_interest(
        session,
        invoice,
        position,
        step="payment_interest",
        on=received_on,
        what="the payment date",
        event_key=f"late_charges:{invoice.id}:payment:{tx_id}",
    )


async def _charge_running_interest(
    session: AsyncSession,
    invoice: Invoice,
    position: InterestPosition,
    *,
    step: str,
    on: date,
    what: str,
    event_key: str,
) -> None:
    """Charge the interest that kept running since the last rung, up to `on` (`what` names the
    date: a payment's, a write-off's): an off-ladder row of the invoice's steps, its balance,
    and a balanced ledger transaction."""
    extra = position.not_yet_charged
    steps = await _steps(session, invoice)
    session.add(
        DunningStep(
            invoice_id=invoice.id,
            mission_id=invoice.mission_id,
            level=max([OFF_LADDER_LEVEL, *(s.level for s in steps)]) + 1,
            step=step,
            regime=position.regime,
            business_date=on,
            fixed_compensation=ZERO,
            interest=extra,
            penalty=ZERO,
            reminder_fee=ZERO,
            rule=f"interest to {what} {on.isoformat()} "
            f"({position.accrued} accrued, {position.charged} charged before): {position.rule}",
        )
    )
    invoice.interest_open += extra
    invoice.balance += extra
    await ledger.post(
        session,
        event_key=event_key,
        kind="late_charges",
        mission_id=invoice.mission_id,
        business_date=on,
        description=f"Interest to {what} on invoice {invoice.number}: {position.rule}"[:2000],
        lines=[
            Line("client_receivables", extra, invoice.client_id),
            Line("late_fee_income", -extra),
        ],
    )


def _check_payable(invoice: Invoice, field: str) -> None:
    """A match by hand (not a bank line) is refused on an invoice with nothing left to pay."""
    if invoice.status == "paid" or invoice.balance <= 0:
        raise DomainError(f"invoice {invoice.number} is already paid", 409, field)


async def apply_to_invoice(
    session: AsyncSession,
    payment: Payment,
    invoice: Invoice,
    from_account: str = "bank",
    actor_user_id: int | None = None,
    *,
    amount: Decimal | None = None,
    suffix: str = "",
) -> None:
    """Pay the (locked) invoice with this payment (or `amount` of it, at most the balance):
    imputation, ledger, timeline, paid state.

    `from_account` is where the money sits: the bank for a payment matched on arrival, the
    suspense account for one matched by hand later. `suffix` tells apart the event keys of a
    payment applied more than once (its suspense matched by hand after a part on arrival).
    """
    amount = payment.amount if amount is None else amount
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
        event_key=f"{kind}:{payment.id}{suffix}",
        kind=kind,
        mission_id=invoice.mission_id,
        business_date=received_on,
        description=f"Payment {tx_id} for invoice {invoice.number}",
        lines=lines,
    )
    await add_timeline(
        session,
        invoice.mission_id,
        f"payment:{payment.id}{suffix}",
        kind,
        received_on,
        f"user:{recorded_by_user_id}",
        {"amount": str(amount), "balance": str(invoice.balance), "bank_transaction_id": tx_id},
    )
    if invoice.balance == 0 and not written_off:
        invoice.status = "paid"
        invoice.paid_on = received_on
        mission = await get_mission(session, invoice.mission_id, lock=True)
        mission.stage = Stage.PAID
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
    """Match what a payment left in suspense to an invoice by hand: the suspense account is
    cleared and the invoice paid with it, exactly as if it had matched on arrival. What the
    invoice cannot take stays in suspense."""
    payment = await session.get(Payment, payment_id, with_for_update=True)
    if payment is None:
        raise NotFound("payment")
    position = (await suspense_positions(session, [payment]))[payment.id]
    if position.open <= 0:
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
    await _interest_with_payment(
        session, invoice, position.open, payment.received_on, payment.bank_transaction_id
    )
    _check_payable(invoice, "invoice_id")
    applied_before = await session.scalar(
        select(func.count(LedgerTransaction.id)).where(
            LedgerTransaction.event_key.in_(
                [f"client_payment:{payment.id}", f"recovery:{payment.id}"]
            )
            | LedgerTransaction.event_key.like(f"%:{payment.id}:match:%")
        )
    )
    suffix = f":match:{applied_before}" if applied_before else ""
    if not payment.matched:
        payment.invoice_id = invoice.id
    payment.matched = True
    await session.flush()
    await apply_to_invoice(
        session,
        payment,
        invoice,
        from_account="payments_suspense",
        actor_user_id=matched_by_user_id,
        amount=min(position.open, invoice.balance),
        suffix=suffix,
    )
    return payment, invoice


async def refund_suspense_payment(
    session: AsyncSession, payment_id: int, reason: str
) -> tuple[Payment, Decimal]:
    """Queue what a payment left in suspense to be paid back to whoever sent it (INV-7's refund
    queue): the suspense account is cleared into `refunds_payable`. Returns the amount."""
    payment = await session.get(Payment, payment_id, with_for_update=True)
    if payment is None:
        raise NotFound("payment")
    position = (await suspense_positions(session, [payment]))[payment.id]
    if position.open <= 0:
        raise DomainError(f"payment {payment.id} has nothing left in suspense", 409, "payment")
    done = await session.scalar(
        select(func.count(LedgerTransaction.id)).where(
            LedgerTransaction.event_key.like(f"suspense_refund:{payment.id}:%")
        )
    )
    client_id = None
    if payment.invoice_id is not None:
        invoice = await session.get(Invoice, payment.invoice_id)
        client_id = invoice.client_id if invoice is not None else None
    await ledger.post(
        session,
        event_key=f"suspense_refund:{payment.id}:{(done or 0) + 1}",
        kind="suspense_refund",
        business_date=payment.received_on,
        description=f"Refund of payment {payment.bank_transaction_id} queued: {reason}"[:2000],
        lines=[
            Line("payments_suspense", position.open, client_id),
            Line("refunds_payable", -position.open, client_id),
        ],
    )
    return payment, position.open


# ---------------------------------------------------------------- late-payment interest


async def consumer_terms(session: AsyncSession, mission: Mission) -> ConsumerTerms:
    """What the mission's order form stipulated against a consumer about paying late.

    The order form is made for the mission's creation date and prints the clause of the
    `late_payment.consumer_terms` row in force that day (services.document_data): the same
    row decides here, so the interest charged always matches the order form the client got.
    No row (a mission from before Book XIX): no clause."""
    try:
        row = await parameters.dated_parameter(session, CONSUMER_TERMS, mission.created_on)
    except parameters.MissingParameter:
        return ConsumerTerms()
    return ConsumerTerms.from_value(row.value)


def rate_key(law: str) -> str:
    """The dated parameter holding the rates of `law` (B2B_LAW or LEGAL_RATE_LAW)."""
    return parameters.B2B_RATES if law == B2B_LAW else LEGAL_RATES


def missing_rate(err: RateMissing) -> parameters.MissingParameter:
    """A day without a rate, said as the dated row ops must enter: its table and period."""
    return parameters.rate_missing(rate_key(err.law), err.day, rate_period_start(err.law, err.day))


async def rate_table(session: AsyncSession, law: str) -> list[RatePeriod]:
    """Every dated rate of the 2002 law (half-years) or of the 1865 law (years), oldest first."""
    key = rate_key(law)
    return [
        RatePeriod.from_row(row.valid_from, row.valid_to, row.value)
        for row in await parameters.parameter_rows(session, key)
    ]


async def _steps(session: AsyncSession, invoice: Invoice) -> list[DunningStep]:
    return list(
        (
            await session.scalars(
                select(DunningStep)
                .where(DunningStep.invoice_id == invoice.id)
                .order_by(DunningStep.level)
            )
        ).all()
    )


def _ladder(steps: list[DunningStep]) -> list[DunningStep]:
    """The dunning ladder's own rungs (reminders, formal notice), not the off-ladder rows."""
    return [s for s in steps if s.level < OFF_LADDER_LEVEL]


async def principal_movements(session: AsyncSession, invoice: Invoice) -> list[PrincipalMovement]:
    """The invoice's principal over time: due in full on its due date, less each credit note on
    its issue date and the principal part of each payment on the day it was received.

    A payment pays the costs and interest charged before it first (services.collection
    apply_to_invoice): replaying the credit notes, payments and rungs in the order they were
    recorded gives each payment's principal part exactly as it was allocated."""
    notes = (
        await session.scalars(select(CreditNote).where(CreditNote.invoice_id == invoice.id))
    ).all()
    payments = (
        await session.scalars(select(Payment).where(Payment.invoice_id == invoice.id))
    ).all()
    events: list[tuple[datetime, int, Any]] = [
        *((n.created_at, 0, n) for n in notes),
        *((p.created_at, 1, p) for p in payments),
        *((s.created_at, 2, s) for s in await _steps(session, invoice)),
    ]
    events.sort(key=lambda e: (e[0], e[1]))
    moves = [PrincipalMovement(invoice.due_date, invoice.total_incl_vat, "invoice due")]
    principal, interest, costs = invoice.total_incl_vat, ZERO, ZERO
    for _, _, row in events:
        if isinstance(row, CreditNote):
            principal -= row.amount_incl_vat
            moves.append(PrincipalMovement(row.issue_date, -row.amount_incl_vat, "credit note"))
        elif isinstance(row, DunningStep):
            interest += row.interest
            costs += row.fixed_compensation + row.penalty + row.reminder_fee
        else:
            split = allocate_payment(row.amount, costs, interest, max(principal, ZERO))
            costs -= split.costs
            interest -= split.interest
            principal -= split.principal
            if split.principal:
                moves.append(PrincipalMovement(row.received_on, -split.principal, "payment"))
    return moves


@dataclass(frozen=True)
class InterestPosition:
    """Late-payment interest on one invoice accrued up to `until`, and what rungs charged."""

    regime: Regime
    until: date
    law: str  # the rate table: law of 2 Aug 2002 or law of 5 May 1865
    terms: ConsumerTerms
    first_day: date | None  # the first day bearing interest (None: not running yet)
    accrued: Decimal  # everything accrued from first_day to `until`
    charged: Decimal  # what the dunning rungs (and the write-off) put on the invoice
    rule: str
    rates: tuple[RatePeriod, ...]

    @property
    def not_yet_charged(self) -> Decimal:
        """Accrued since the last rung (interest keeps running until payment or write-off)."""
        return max(self.accrued - self.charged, ZERO)

    def rate_on(self, day: date) -> RatePeriod | None:
        """The rate in force on `day` in this position's table, if any."""
        return next((r for r in self.rates if r.valid_from <= day <= r.valid_to), None)


async def interest_position(
    session: AsyncSession, invoice: Invoice, until: date
) -> InterestPosition:
    """Interest accrued on the invoice's open principal, day by day, up to `until`.

    B2B: from the day after the due date at the 2002-law rates (art. 5). Consumers: from the
    day after the Book XIX period that the first (free) reminder opened, at the legal rate, or
    at the 2002-law rate only if the order form stipulated it with a reciprocal penalty. It
    never stops at the last rung; it stops with payment (the base falls to 0 on the day the
    principal is paid) or at the write-off date."""
    client = await session.get(Client, invoice.client_id)
    mission = await session.get(Mission, invoice.mission_id)
    assert client is not None and mission is not None
    regime: Regime = "b2c" if client.kind == "consumer" else "b2b"
    written_off = await session.scalar(select(WriteOff).where(WriteOff.invoice_id == invoice.id))
    if written_off is not None:
        until = min(until, written_off.business_date)
    steps = await _steps(session, invoice)
    charged = sum((s.interest for s in steps), ZERO)
    terms = ConsumerTerms() if regime == "b2b" else await consumer_terms(session, mission)
    law = B2B_LAW if regime == "b2b" else terms.rate_law
    rates = await rate_table(session, law)
    first: date | None = invoice.due_date + timedelta(days=1)
    if regime == "b2c":
        first = None
        if _ladder(steps):
            reminder = sent_on(_ladder(steps)[0])
            b2c = B2CParameters.from_value(
                await parameters.parameter(session, parameters.B2C, reminder)
            )
            first = b2c_costs_allowed_from(reminder, "email", b2c)
    accrued, rule = ZERO, "no interest yet: the free first reminder has not been sent (Book XIX)"
    if first is not None:
        try:
            result = accrue_interest(
                await principal_movements(session, invoice),
                first,
                until,
                rates,
                law=law,
                since=f"from {first.isoformat()}",
            )
        except RateMissing as err:
            raise missing_rate(err) from err
        accrued, rule = result.amount, result.rule
    return InterestPosition(
        regime=regime,
        until=until,
        law=law,
        terms=terms,
        first_day=first,
        accrued=accrued,
        charged=charged,
        rule=rule,
        rates=tuple(rates),
    )


async def interest_json(
    session: AsyncSession, invoice: Invoice, today: date | None = None
) -> dict[str, Any]:
    """The invoice's interest to date, as the mission and invoice JSON show it.

    `today` is the business date (default: the business clock's); an invoice's figures are
    never shown as of a day before its last rung. A missing rate (past the dated table) is
    said, not guessed."""
    if today is None:
        settings = get_settings()
        today = business_today(
            await current_clock(session, settings.day_seconds, settings.timezone)
        )
    steps = await _steps(session, invoice)
    on = max([today, *(s.business_date for s in steps)])
    try:
        position = await interest_position(session, invoice, on)
    except parameters.MissingParameter as missing:
        return {"as_of": on.isoformat(), "error": str(missing)}
    out: dict[str, Any] = {
        "as_of": position.until.isoformat(),
        "regime": position.regime,
        "law": position.law,
        "first_day": None if position.first_day is None else position.first_day.isoformat(),
        "accrued": f"{position.accrued:.2f}",
        "charged": f"{position.charged:.2f}",
        "not_yet_charged": f"{position.not_yet_charged:.2f}",
        "amount_due": f"{invoice.balance + position.not_yet_charged:.2f}",
        "rule": position.rule,
    }
    if position.regime == "b2c":
        out["consumer_terms"] = {
            "version": position.terms.version,
            "law_2002_rate": position.terms.law_2002_rate,
            "reciprocal_penalty": position.terms.reciprocal_penalty,
        }
    return out


async def _step_charges(
    session: AsyncSession, invoice: Invoice, level: int, business_date: date
) -> tuple[DunningStepCharges, Regime, Decimal]:
    """What the law lets us claim at this rung (domain/late_payment.py), from dated parameters."""
    client = await session.get(Client, invoice.client_id)
    mission = await session.get(Mission, invoice.mission_id)
    assert client is not None and mission is not None
    regime: Regime = "b2c" if client.kind == "consumer" else "b2b"
    earlier = await _steps(session, invoice)
    # The ladder's own rungs decide the first reminder and the one-off amounts; the interest
    # charged off the ladder (with a payment) only counts in what was already charged.
    ladder = _ladder(earlier)
    terms = await consumer_terms(session, mission) if regime == "b2c" else ConsumerTerms()
    rates = await rate_table(session, B2B_LAW if regime == "b2b" else terms.rate_law)
    b2b = B2BParameters.from_value(
        await parameters.parameter(session, parameters.B2B, business_date)
    )
    b2c = B2CParameters.from_value(
        await parameters.parameter(session, parameters.B2C, business_date)
    )
    movements = await principal_movements(session, invoice)
    try:
        charges = charges_for_step(
            regime,
            level,
            business_date,
            invoice.due_date,
            invoice.principal_open,
            # Waiting periods count from the day each letter really left (INV-8).
            sent_on(ladder[0]) if ladder else None,
            "email",  # reminders leave by email (the outbox / SendGrid)
            previous_step_date=sent_on(ladder[-1]) if ladder else None,
            rate_periods=rates,
            b2b=b2b,
            b2c=b2c,
            movements=movements,
            consumer_terms=terms,
        )
    except RateMissing as err:
        # Never a guess, never 0 %: the rung waits, flagged, until ops enter the rate.
        raise missing_rate(err) from err
    return charges, regime, sum((row.interest for row in earlier), ZERO)


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
    await check_period_ran(session, invoice, step, business_date)
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
    mission.stage = Stage.DUNNING
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
    if cause == "dunning_exhausted":
        await check_period_ran(session, invoice, "write_off", business_date)
    # Interest kept running after the last rung: it is claimed up to the write-off date (a
    # recovery later pays it first), then reversed with the other charges below.
    position = await interest_position(session, invoice, business_date)
    extra = position.not_yet_charged
    if extra > 0:
        await _charge_running_interest(
            session,
            invoice,
            position,
            step="write_off",
            on=business_date,
            what="the write-off date",
            event_key=f"late_charges:{invoice.id}:write_off",
        )
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
    mission.stage = Stage.WRITTEN_OFF
    await add_timeline(
        session,
        mission_id,
        "written_off",
        "written_off",
        business_date,
        None,
        {
            "amount": str(principal),
            "interest_to_write_off": str(position.accrued),
            "charges_reversed": str(charges),
            "absorbed_by": "guarantee fund",
            "cause": cause,
            "vat_recovered": str(vat_share),
        },
    )
    return principal, True


def _key(prefix: str, payment_id: Any, suffix: str = "") -> Any:
    """An event key built in SQL (`||`, on PostgreSQL and SQLite alike)."""
    key = literal(prefix, String) + cast(payment_id, String)
    return key + literal(suffix, String) if suffix else key


async def unmatched_payments(
    session: AsyncSession, matched: bool | None, suspense: bool | None = None
) -> list[Payment]:
    query = select(Payment).order_by(Payment.id.desc()).limit(500)
    if matched is not None:
        query = query.where(Payment.matched.is_(matched))
    return list((await session.scalars(suspense_filter(query, suspense))).all())


def suspense_filter(query: Select[Any], suspense: bool | None) -> Select[Any]:
    """Keep the payments with money still in suspense (`True`) or none (`False`)."""
    if suspense is None:
        return query
    # A payment's suspense postings are keyed by its id (record_payment, match, refund).
    held = (
        select(func.sum(LedgerEntry.amount))
        .join(LedgerTransaction, LedgerTransaction.id == LedgerEntry.transaction_id)
        .where(
            LedgerEntry.account == "payments_suspense",
            LedgerTransaction.kind.in_(SUSPENSE_KINDS),
            (LedgerTransaction.event_key == _key("payment_suspense:", Payment.id))
            | (LedgerTransaction.event_key == _key("client_payment:", Payment.id))
            | (LedgerTransaction.event_key == _key("recovery:", Payment.id))
            | LedgerTransaction.event_key.like(_key("%:", Payment.id, ":match:%"))
            | LedgerTransaction.event_key.like(_key("suspense_refund:", Payment.id, ":%")),
        )
        .correlate(Payment)
        .scalar_subquery()
    )
    has = func.coalesce(held, 0) != 0
    return query.where(has if suspense else ~has)
