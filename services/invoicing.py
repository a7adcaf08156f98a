"""Invoices and credit notes: gap-free numbering in the issuing transaction, VAT regime,
structured communication, ledger.

Each function changes the state and posts its ledger transaction in the caller's database
transaction, and is idempotent by a unique key, because the activity calling it will be retried.
An issued invoice never changes except its open balance: corrections are credit notes.
"""

from __future__ import annotations

from datetime import date, timedelta
from decimal import Decimal

from sqlalchemy import select, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.asyncio import AsyncSession

from contracts.stages import Stage
from core.errors import DomainError, NotFound
from core.settings import get_settings
from domain.errors import FieldError
from domain.identifiers import clean_text
from domain.invoice import (
    InvoiceLine,
    VatGround,
    budget_floor,
    credit_split,
    invoice_totals,
    vat_treatment,
)
from domain.ogm import ogm_for_invoice
from domain.payroll import estimate_payroll, gross_up_expenses, parse_contract_type
from models import (
    Client,
    CreditNote,
    Expense,
    Invoice,
    InvoiceCounter,
    Member,
    Mission,
    Payout,
)
from services import fund, ledger, parameters, vat_grounds
from services.access import Viewer, get_mission, sees_member
from services.ledger import Line
from services.timeline import add_timeline
from services.vat_check import VatCheck, VatNumberChecker, checker_from_settings

INVOICE_SERIES = "F"
CREDIT_NOTE_SERIES = "C"
MAX_REASON_CHARS = 500


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
    session: AsyncSession,
    mission_id: int,
    issue_date: date,
    due_days: int,
    vat_checker: VatNumberChecker | None = None,
) -> Invoice:
    """Issue the mission's invoice once: gap-free number, structured communication, ledger.

    A 0 % invoice is issued under the mission's legal ground, whose mention it prints in the
    client's language; a reverse charge (or intra-community supply) checks the client's VAT
    number through `vat_checker` (default: COOPFLOW_VAT_CHECKER) and keeps the outcome.
    """
    existing = await session.scalar(
        select(Invoice).where(Invoice.mission_id == mission_id, Invoice.kind == "invoice")
    )
    if existing is not None:
        return existing
    mission = await get_mission(session, mission_id, lock=True)
    expenses = await expense_lines(session, mission_id)
    params = await parameters.payroll_parameters(session, issue_date)
    # Expenses are reimbursed at face value outside the salary: the invoice carries each one
    # grossed up for the fee, so the employment budget (and the gross signed) stays the labour
    # price's (domain.payroll.gross_up_expenses).
    invoiced_expenses = gross_up_expenses(
        mission.amount_excl_vat, [e.amount for e in expenses], params.fee_rate
    )
    lines = [
        InvoiceLine(
            label=f"{mission.title} ({mission.start_date.isoformat()} – "
            f"{mission.end_date.isoformat()}, {mission.days_worked or 0} days)",
            amount_excl_vat=mission.amount_excl_vat,
        ),
        *(
            InvoiceLine(label=f"Expense: {e.label}", amount_excl_vat=amount)
            for e, amount in zip(expenses, invoiced_expenses, strict=True)
        ),
    ]
    client = await session.get(Client, mission.client_id)
    assert client is not None
    vat = vat_treatment(
        client_kind=client.kind,
        client_country=client.country,
        client_vat_number=client.vat_number,
        rate=mission.vat_rate,
        allowed_rates=await parameters.vat_rates(session, issue_date),
        exemption=await vat_grounds.ground_of(session, mission, issue_date),
        language=client.language,
    )
    totals = invoice_totals(lines, vat.rate)
    check = await _check_vat_number(vat_checker, vat.category, vat.ground, client)
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
        vat_rate=vat.rate,
        vat_category=vat.category,
        vat_mention=vat.mention,
        vat_exemption=None if vat.ground is None else vat.ground.code,
        vat_exemption_code=None if vat.ground is None else vat.ground.vatex,
        vat_check_status=None if check is None else check.status,
        vat_checked_at=None if check is None else check.checked_at,
        vat_check_reference=None if check is None else check.reference,
        vat_check_detail=None if check is None else check.as_detail(),
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
    payroll = estimate_payroll(
        totals.total_excl_vat,
        sum((e.amount for e in expenses), Decimal("0.00")),
        params,
        parse_contract_type(mission.contract_type),
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
    mission.stage = Stage.INVOICED
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
            "vat_category": invoice.vat_category,
        },
    )
    if check is not None:
        await _record_vat_check(session, mission, invoice, check, issue_date)
    return invoice


async def _check_vat_number(
    checker: VatNumberChecker | None, category: str, ground: VatGround | None, client: Client
) -> VatCheck | None:
    """Check the client's VAT number when the invoice relies on it: a ground that asks for it,
    or a reverse charge of the automatic regime (missions from before the grounds).

    Called inside the issuing transaction, once per invoice (a retried activity finds the
    invoice and checks nothing); the VIES adapter's timeout bounds the wait and its failures
    come back as "not_checked", so a slow VIES never blocks an invoice the law requires."""
    needed = ground.vies_check if ground is not None else category == "AE"
    if not needed or not client.vat_number:
        return None
    checker = checker or checker_from_settings(get_settings())
    return await checker.check(client.country, client.vat_number)


async def _record_vat_check(
    session: AsyncSession, mission: Mission, invoice: Invoice, check: VatCheck, on: date
) -> None:
    """The check goes on the timeline; an invalid number is flagged for ops on the mission.

    The invoice is issued all the same: the law requires it (domain.md §2.1, by the 15th of the
    next month) and its number is already taken. A reverse charge on a number VIES says is
    invalid may make the coop liable for the Belgian VAT, so ops must look before the client
    relies on it: check the number with the client, then either keep the invoice (the number
    was right: re-check it) or credit it and invoice again with VAT.
    """
    await add_timeline(
        session,
        mission.id,
        "vat_number_checked",
        "vat_number_checked",
        on,
        None,
        {
            "invoice": invoice.number,
            "status": check.status,
            "checker": check.checker,
            "reference": check.reference,
        },
    )
    if check.status == "invalid":
        mission.needs_attention = True
        mission.attention_step = "vat_number"
        mission.attention_reason = (
            f"invoice {invoice.number} is a reverse charge ({invoice.vat_exemption or 'AE'}) "
            f"but VIES says the client's VAT number is invalid on "
            f"{check.checked_at.date().isoformat()}: check the number with the client; if it is "
            "wrong, credit the invoice and invoice again with Belgian VAT"
        )[:2000]


# ---------------------------------------------------------------- credit notes


async def credit_notes_of(session: AsyncSession, invoice_id: int) -> list[CreditNote]:
    return list(
        (
            await session.scalars(
                select(CreditNote)
                .where(CreditNote.invoice_id == invoice_id)
                .order_by(CreditNote.id)
            )
        ).all()
    )


async def salary_base(session: AsyncSession, invoice: Invoice) -> Decimal:
    """The price excl. VAT the member's salary is computed on: the invoice less what credit
    notes took back from the member's budget before the salary was paid."""
    last = await session.scalar(
        select(CreditNote.salary_base_after)
        .where(CreditNote.invoice_id == invoice.id)
        .order_by(CreditNote.id.desc())
        .limit(1)
    )
    return invoice.total_excl_vat if last is None else last


def open_principal(invoice: Invoice) -> Decimal:
    """What a credit note may still cancel: the unpaid principal (never interest or costs)."""
    return max(min(invoice.principal_open, invoice.balance), Decimal("0.00"))


async def issue_credit_note(
    session: AsyncSession,
    invoice_id: int,
    *,
    amount_incl_vat: Decimal | None,
    full: bool,
    reason: object,
    issue_date: date,
    actor: str,
    user_id: int | None = None,
) -> tuple[CreditNote, Invoice]:
    """Cancel all or part of an invoice's open principal with a numbered credit note.

    The note is numbered in series "C" in this transaction (no gaps), lowers the invoice's open
    balance and posts one balanced reverse transaction: receivable and VAT down, fee and fund
    contribution given back, the member's part taken from the unpaid salary budget, or borne by
    the guarantee fund once the salary is paid (the member never pays anything back).
    """
    text = clean_text(reason, field="reason", max_length=MAX_REASON_CHARS)
    # Lock order everywhere: the mission, then its invoice, then the fund.
    mission_id = await session.scalar(select(Invoice.mission_id).where(Invoice.id == invoice_id))
    if mission_id is None:
        raise NotFound("invoice")
    mission = await get_mission(session, mission_id, lock=True)
    invoice = await session.scalar(
        select(Invoice).where(Invoice.id == invoice_id).with_for_update()
    )
    assert invoice is not None
    if invoice.status == "written_off":
        raise DomainError(
            f"invoice {invoice.number} is written off: the guarantee fund already bore its "
            "balance; a later payment is a recovery, not a credit note",
            409,
            "invoice_id",
        )
    allowed = open_principal(invoice)
    if allowed <= 0:
        raise DomainError(
            f"invoice {invoice.number} has no open principal left to credit ({invoice.status})",
            409,
            "invoice_id",
        )
    if full:
        amount = allowed
    elif amount_incl_vat is None:
        raise FieldError("amount_incl_vat", 'is required unless "full" is true')
    elif amount_incl_vat > allowed:
        raise FieldError(
            "amount_incl_vat",
            f"exceeds the open principal of invoice {invoice.number}: "
            f"at most {allowed:.2f} can be credited",
        )
    else:
        amount = amount_incl_vat
    earlier = await credit_notes_of(session, invoice.id)
    credited_before = sum((n.amount_incl_vat for n in earlier), Decimal("0.00"))
    base_before = earlier[-1].salary_base_after if earlier else invoice.total_excl_vat
    # The fee split of the invoice's own issue posting (same dated parameters).
    params = await parameters.payroll_parameters(session, invoice.issue_date)
    salary_paid = await session.scalar(
        select(Payout.id).where(Payout.mission_id == mission.id, Payout.period == "salary")
    )
    if salary_paid is not None:
        floor = base_before
    else:
        # The member's budget must still reimburse the expenses they advanced.
        expenses = sum((e.amount for e in await expense_lines(session, mission.id)), Decimal(0))
        floor = budget_floor(expenses, params.fee_rate)
    split = credit_split(
        invoice_excl_vat=invoice.total_excl_vat,
        invoice_vat=invoice.vat_amount,
        invoice_incl_vat=invoice.total_incl_vat,
        credited_before=credited_before,
        amount_incl_vat=amount,
        fee_rate=params.fee_rate,
        fund_share_of_fee=params.fund_share_of_fee,
        salary_base_before=base_before,
        salary_floor=floor,
    )
    year = issue_date.year
    sequence = await next_invoice_number(session, CREDIT_NOTE_SERIES, year)
    note = CreditNote(
        invoice_id=invoice.id,
        mission_id=mission.id,
        client_id=invoice.client_id,
        series=CREDIT_NOTE_SERIES,
        year=year,
        sequence=sequence,
        number=f"{CREDIT_NOTE_SERIES}{year}-{sequence:06d}",
        issue_date=issue_date,
        full=full or amount == invoice.total_incl_vat - credited_before,
        reason=text,
        vat_rate=invoice.vat_rate,
        vat_category=invoice.vat_category,
        amount_excl_vat=split.amount_excl_vat,
        vat_amount=split.vat_amount,
        amount_incl_vat=split.amount_incl_vat,
        fee_income=split.fee_income,
        fund_contribution=split.fund_contribution,
        member_share=split.member_share,
        fund_share=split.fund_share,
        salary_base_after=split.salary_base_after,
        created_by_user_id=user_id,
    )
    session.add(note)
    await session.flush()
    # Decided under the fund's lock, like an advance or a write-off (services/fund.py).
    await fund.lock(session)
    await ledger.post(
        session,
        event_key=f"credit_note:{note.id}",
        kind="credit_note",
        mission_id=mission.id,
        business_date=issue_date,
        description=f"Credit note {note.number} on invoice {invoice.number}: {text}"[:2000],
        lines=[
            Line("client_receivables", -split.amount_incl_vat, invoice.client_id),
            Line("vat_payable", split.vat_amount),
            Line("fee_income", split.fee_income),
            # The fund gives back its fee share and bears the member's part once paid, out of
            # the mission's advance outstanding first (services/fund.py).
            *await fund.credit_note_lines(
                session, invoice, split.fund_contribution, split.fund_share
            ),
            Line("member_salary_payable", split.member_share),
        ],
    )
    invoice.balance -= split.amount_incl_vat
    invoice.principal_open -= split.amount_incl_vat
    await add_timeline(
        session,
        mission.id,
        f"credit_note:{note.id}",
        "credit_note",
        issue_date,
        actor,
        {
            "number": note.number,
            "invoice": invoice.number,
            "amount_incl_vat": str(note.amount_incl_vat),
            "balance": str(invoice.balance),
            "reason": text,
        },
    )
    if salary_paid is None and split.salary_base_after == 0:
        await _no_salary_left(session, mission, note)
    if invoice.balance == 0:
        invoice.status = "credited"
        # Nothing is left to collect: the mission is settled, as after a payment in full.
        mission.stage = Stage.PAID
        await add_timeline(
            session,
            mission.id,
            "credited",
            "credited",
            issue_date,
            actor,
            {"invoice": invoice.number, "credit_note": note.number},
        )
    return note, invoice


async def _no_salary_left(session: AsyncSession, mission: Mission, note: CreditNote) -> None:
    """The whole member budget was credited before payday: record that no salary is due, so the
    day-7 step finds the mission's salary settled instead of paying one."""
    member = await session.get(Member, mission.member_id)
    assert member is not None
    session.add(
        Payout(
            mission_id=mission.id,
            period="salary",
            source="credited",
            paid_on=note.issue_date,
            iban=member.iban,
            end_to_end_id=f"SAL-{mission.id}-salary",
            gross_salary=Decimal("0.00"),
            net_amount=Decimal("0.00"),
            expenses=Decimal("0.00"),
            payroll={"basis": f"no salary due: the invoice was fully credited ({note.number})"},
        )
    )
    await session.flush()
    await add_timeline(
        session,
        mission.id,
        "salary_not_due",
        "salary_not_due",
        note.issue_date,
        None,
        {"reason": f"credit note {note.number} cancelled the whole salary budget"},
    )


# ---------------------------------------------------------------- reads


async def visible_invoice(session: AsyncSession, viewer: Viewer, invoice_id: int) -> Invoice:
    """The invoice if the viewer may see it; 404 for a missing or someone else's alike."""
    if not 1 <= invoice_id <= 2**31 - 1:
        raise NotFound("invoice")
    invoice = await session.get(Invoice, invoice_id)
    if invoice is None:
        raise NotFound("invoice")
    if not viewer.sees_everyone:
        mission = await session.get(Mission, invoice.mission_id)
        if mission is None or not await sees_member(session, viewer, mission.member_id):
            raise NotFound("invoice")
    return invoice
