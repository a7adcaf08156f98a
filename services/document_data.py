"""What each document says, read from the database: the frozen data `documents.render` prints.

One function, `document_data`, per (mission, kind). Figures come from the rows the business
operations wrote (invoice, credit note, dunning steps, write-off, payout) and from the dated
parameters in force on the document's date; nothing legal or monetary is a literal here.
A document that cannot exist yet (an invoice before it is issued, a reminder before its rung)
is refused with a DomainError saying why.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from decimal import Decimal
from typing import Any, Literal
from zoneinfo import ZoneInfo

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from core.errors import DomainError, NotFound
from core.settings import get_settings
from documents.common import LOCALES
from documents.kinds import (
    DUNNING_KINDS,
    ContractAmendmentDocument,
    ContractDocument,
    CreditNoteDocument,
    DunningLetterDocument,
    LatePaymentTerms,
    OrderFormDocument,
    PayMonth,
    PayslipDocument,
    PayslipEstimateDocument,
    Person,
    WriteOffNoticeDocument,
)
from documents.payslip import (
    Amendment,
    PayslipLine,
    RuleRow,
    differences,
    payroll_lines,
    rules_from_estimate,
)
from documents.pdf import Buyer, InvoiceDocument, InvoiceLine, Seller
from domain import invoice as invoice_rules
from domain.late_payment import (
    B2B_LAW,
    LEGAL_RATE_LAW,
    B2BParameters,
    B2CParameters,
    RatePeriod,
    allocate_payment,
    b2c_costs_allowed_from,
    b2c_penalty_cap,
    b2c_waiting_period_start,
)
from models import (
    Client,
    ContractAmendment,
    CreditNote,
    DunningStep,
    Expense,
    Invoice,
    Member,
    Mission,
    Parameter,
    Payment,
    Payout,
    TimelineEvent,
    WriteOff,
)
from services import collection, estimates, parameters, vat_grounds
from services.access import get_mission

Audience = Literal["client", "member"]
AUDIENCES: dict[str, Audience] = {
    "order_form": "client",
    "contract": "member",
    "invoice": "client",
    "credit_note": "client",
    "reminder_1": "client",
    "reminder_2": "client",
    "formal_notice": "client",
    "payslip_estimate": "member",
    "write_off_notice": "member",
    "payslip": "member",
    "contract_amendment": "member",
}
# The payroll rows a payroll written before the engine kept its lines was computed with.
LEGACY_RULE_KEYS = (
    "payroll.fee_rate",
    "payroll.employer_contribution_rate",
    "payroll.employee_contribution_rate",
    "payroll.artistic_contribution_base",
    "payroll.withholding_scale",
)
FALLBACK_LANGUAGE = "en"
ZERO = Decimal("0.00")
# The invoice stores the regime's standard mention in one wording; the PDF prints it in the
# client's language (documents.pdf.DEFAULT_MENTIONS). A custom mention is printed as stored.
STANDARD_MENTIONS = (
    invoice_rules.REVERSE_CHARGE_MENTION,
    invoice_rules.OUT_OF_SCOPE_MENTION,
    invoice_rules.EXEMPT_MENTION,
)


@dataclass(frozen=True)
class DocumentData:
    """One document's data, with the language it is written in and who receives it."""

    kind: str
    language: str
    audience: Audience
    data: Any


async def document_data(
    session: AsyncSession,
    mission_id: int,
    kind: str,
    *,
    credit_note_id: int | None = None,
    business_date: date | None = None,
    payout_id: int | None = None,
    sequence: int | None = None,
) -> DocumentData:
    """Read what the mission's `kind` document must say, in its recipient's language.

    `business_date` is the document's date where it has one of its own: the order form, the
    contract and the payslip estimate when they are made, a dunning letter's date (default: the
    date its rung was recorded).
    """
    if kind not in AUDIENCES:
        raise DomainError(f"unknown document kind {kind!r}", 422, "kind")
    mission = await get_mission(session, mission_id)
    client = await session.get(Client, mission.client_id)
    member = await session.get(Member, mission.member_id)
    if client is None or member is None:
        raise NotFound("client" if client is None else "member")
    audience = AUDIENCES[kind]
    language = _language(client.language if audience == "client" else member.language)
    ctx = _Context(session, mission, client, member, language)
    data: Any
    if kind == "order_form":
        data = await ctx.order_form(business_date)
    elif kind == "contract":
        data = await ctx.contract(business_date)
    elif kind == "invoice":
        data = await ctx.invoice()
    elif kind == "credit_note":
        data = await ctx.credit_note(credit_note_id)
    elif kind in DUNNING_KINDS:
        data = await ctx.dunning_letter(kind, business_date)
    elif kind == "payslip_estimate":
        data = await ctx.payslip_estimate(business_date)
    elif kind == "payslip":
        data = await ctx.payslip(payout_id)
    elif kind == "contract_amendment":
        data = await ctx.amendment(sequence)
    else:
        data = await ctx.write_off_notice()
    return DocumentData(kind=kind, language=language, audience=audience, data=data)


async def _context_of(session: AsyncSession, mission_id: int) -> _Context:
    mission = await get_mission(session, mission_id)
    client = await session.get(Client, mission.client_id)
    member = await session.get(Member, mission.member_id)
    if client is None or member is None:
        raise NotFound("client" if client is None else "member")
    return _Context(session, mission, client, member, _language(member.language))


async def payslip_and_estimate(
    session: AsyncSession, mission_id: int, payout_id: int
) -> tuple[PayslipDocument, tuple[PayslipLine, ...]]:
    """A payout's payslip and the lines of the estimate it is compared with (for the portal)."""
    ctx = await _context_of(session, mission_id)
    data = await ctx.payslip(payout_id)
    payout = await session.get(Payout, payout_id)
    assert payout is not None
    _, estimated, _ = await ctx.payslip_figures(payout)
    return data, estimated


async def contract_gross(session: AsyncSession, mission_id: int) -> Decimal:
    """The gross of the mission's contract as it stands: the last amendment's, else the one
    signed for (services.documents.store_amendment checks an amendment against it)."""
    ctx = await _context_of(session, mission_id)
    amendments = await ctx.amendments()
    if amendments:
        return amendments[-1].new_gross
    return await ctx.gross_signed_for()


def _language(preferred: str | None) -> str:
    return preferred if preferred in LOCALES else FALLBACK_LANGUAGE


def _rate_on(periods: list[RatePeriod], on: date) -> RatePeriod:
    """The law-of-2002 rate period of `on`; past the table, the last one (an estimate)."""
    for period in periods:
        if period.valid_from <= on <= period.valid_to:
            return period
    if not periods:
        raise DomainError("no late_payment.b2b_rates parameter row exists", 409)
    earlier = [p for p in periods if p.valid_from <= on]
    if not earlier:
        return periods[0]
    last = earlier[-1]
    return RatePeriod(last.valid_from, last.valid_to, last.annual_rate, estimate=True)


class _Context:
    """The rows one document is read from, loaded once."""

    def __init__(
        self,
        session: AsyncSession,
        mission: Mission,
        client: Client,
        member: Member,
        language: str,
    ) -> None:
        self.session = session
        self.mission = mission
        self.client = client
        self.member = member
        self.language = language
        self.seller = Seller.from_settings()

    # ------------------------------------------------------------ shared reads

    def address_lines(self) -> str:
        """The client's one-line address ("Rue de la Loi 16, 1000 Bruxelles") as printed lines."""
        parts = re.split(r"\s*[,\n]\s*", self.client.address.strip())
        return "\n".join(part for part in parts if part)

    def buyer(self) -> Buyer:
        return Buyer(
            name=self.client.name,
            address=self.address_lines(),
            country=self.client.country,
            vat_number=self.client.vat_number,
        )

    def person(self) -> Person:
        return Person(
            name=self.member.name,
            email=self.member.email,
            national_number=self.member.national_number,
            iban=self.member.iban,
        )

    def regime(self) -> str:
        return "b2c" if self.client.kind == "consumer" else "b2b"

    async def the_invoice(self, why: str) -> Invoice:
        invoice = await self.session.scalar(
            select(Invoice).where(Invoice.mission_id == self.mission.id, Invoice.kind == "invoice")
        )
        if invoice is None:
            raise DomainError(
                f"mission {self.mission.id} has no invoice yet: {why}", 409, "mission_id"
            )
        return invoice

    async def expenses(self) -> Decimal:
        rows = await self.session.scalars(
            select(Expense.amount).where(Expense.mission_id == self.mission.id)
        )
        return sum(rows.all(), ZERO)

    async def timeline_date(self, key: str, moment: datetime | None) -> date | None:
        """The business date a step was recorded on (its real timestamp's local date if none)."""
        found = await self.session.scalar(
            select(TimelineEvent.business_date).where(
                TimelineEvent.mission_id == self.mission.id, TimelineEvent.key == key
            )
        )
        if found is not None:
            return found
        if moment is None:
            return None
        return moment.astimezone(ZoneInfo(get_settings().timezone)).date()

    async def rate_periods(self) -> list[RatePeriod]:
        rows = await parameters.parameter_rows(self.session, parameters.B2B_RATES)
        return [RatePeriod.from_row(r.valid_from, r.valid_to, r.value) for r in rows]

    async def b2b(self, on: date) -> B2BParameters:
        return B2BParameters.from_value(
            await parameters.parameter(self.session, parameters.B2B, on)
        )

    async def b2c(self, on: date) -> B2CParameters:
        return B2CParameters.from_value(
            await parameters.parameter(self.session, parameters.B2C, on)
        )

    async def payout(self) -> Payout | None:
        return await self.session.scalar(
            select(Payout).where(Payout.mission_id == self.mission.id, Payout.period == "salary")
        )

    # ------------------------------------------------------------ client documents

    async def order_form(self, business_date: date | None) -> OrderFormDocument:
        mission = self.mission
        issued = business_date or mission.created_on
        vat = invoice_rules.vat_treatment(
            client_kind=self.client.kind,
            client_country=self.client.country,
            client_vat_number=self.client.vat_number,
            rate=mission.vat_rate,
            allowed_rates=await parameters.vat_rates(self.session, issued),
            exemption=await vat_grounds.ground_of(self.session, mission, issued),
            language=self.language,
        )
        totals = invoice_rules.invoice_totals(
            [invoice_rules.InvoiceLine(mission.title, mission.amount_excl_vat)], vat.rate
        )
        policy = await parameters.lifecycle_policy(self.session, mission.created_on)
        b2c = await self.b2c(issued)
        rate = _rate_on(await self.rate_periods(), issued)
        # The consumer clause of the terms in force on the mission's date (collection decides
        # the interest with the same row): the reciprocal clause, or the legal rate only.
        terms = await collection.consumer_terms(self.session, mission)
        legal = _rate_on(await collection.rate_table(self.session, LEGAL_RATE_LAW), issued)
        confirmed = await self.timeline_date("client_confirmed", mission.client_confirmed_at)
        return OrderFormDocument(
            seller=self.seller,
            buyer=self.buyer(),
            reference=f"OF-{mission.id:06d}",
            issue_date=issued,
            member_name=self.member.name,
            title=mission.title,
            start_date=mission.start_date,
            end_date=mission.end_date,
            vat_category=vat.category,
            vat_rate=vat.rate,
            amount_excl_vat=totals.total_excl_vat,
            vat_amount=totals.vat_amount,
            total_incl_vat=totals.total_incl_vat,
            payment_days=policy.invoice_due_days,
            late_payment=LatePaymentTerms(
                regime=self.regime(),
                annual_rate=rate.annual_rate,
                fixed_compensation=(await self.b2b(issued)).fixed_compensation,
                reminder_fee_max=b2c.reminder_fee_max,
                waiting_days=b2c.waiting_days,
                penalty_cap=b2c_penalty_cap(totals.total_incl_vat, b2c),
                legal_rate=legal.annual_rate,
                reciprocal_clause=terms.version if terms.rate_law == B2B_LAW else None,
            ),
            contract_type=mission.contract_type,
            vat_mention=None if vat.mention in STANDARD_MENTIONS else vat.mention,
            confirmed_on=confirmed,
            confirmation_method=mission.client_confirmation_method,
            language=self.language,
        )

    async def invoice(self) -> InvoiceDocument:
        invoice = await self.the_invoice("the invoice is issued once the work is reported")
        lines = tuple(
            InvoiceLine(str(line["label"]), Decimal(str(line["amount_excl_vat"])))
            for line in invoice.lines
        )
        mention = invoice.vat_mention
        return InvoiceDocument(
            seller=self.seller,
            buyer=self.buyer(),
            number=invoice.number,
            issue_date=invoice.issue_date,
            due_date=invoice.due_date,
            supply_start=self.mission.start_date,
            supply_end=self.mission.end_date,
            lines=lines,
            vat_category=invoice.vat_category,
            vat_rate=invoice.vat_rate,
            total_excl_vat=invoice.total_excl_vat,
            vat_amount=invoice.vat_amount,
            total_incl_vat=invoice.total_incl_vat,
            structured_communication=invoice.structured_communication,
            language=self.language,
            vat_mention=None if mention in STANDARD_MENTIONS else mention,
        )

    async def credit_note(self, credit_note_id: int | None) -> CreditNoteDocument:
        if credit_note_id is None:
            raise DomainError("a credit note document needs its credit_note_id", 422, "kind")
        note = await self.session.get(CreditNote, credit_note_id)
        if note is None or note.mission_id != self.mission.id:
            raise NotFound("credit note", "credit_note_id")
        invoice = await self.session.get(Invoice, note.invoice_id)
        assert invoice is not None
        return CreditNoteDocument(
            seller=self.seller,
            buyer=self.buyer(),
            number=note.number,
            issue_date=note.issue_date,
            invoice_number=invoice.number,
            invoice_issue_date=invoice.issue_date,
            reason=note.reason,
            full=note.full,
            vat_category=note.vat_category,
            vat_rate=note.vat_rate,
            amount_excl_vat=note.amount_excl_vat,
            vat_amount=note.vat_amount,
            amount_incl_vat=note.amount_incl_vat,
            vat_mention=None if invoice.vat_mention in STANDARD_MENTIONS else invoice.vat_mention,
            language=self.language,
        )

    async def dunning_letter(self, kind: str, business_date: date | None) -> DunningLetterDocument:
        invoice = await self.the_invoice(f"no {kind} before the invoice")
        steps = list(
            (
                await self.session.scalars(
                    select(DunningStep)
                    .where(DunningStep.invoice_id == invoice.id)
                    .order_by(DunningStep.level)
                )
            ).all()
        )
        this = next((s for s in steps if s.step == kind), None)
        if this is None:
            raise DomainError(
                f"invoice {invoice.number} has no {kind} recorded: the letter goes with its rung",
                409,
                "kind",
            )
        letter_date = business_date or this.business_date
        charged = [s for s in steps if s.level <= this.level]
        figures = await self._statement(invoice, charged, letter_date)
        # Interest keeps running after each rung: the letter states it to its own date.
        position = await collection.interest_position(self.session, invoice, letter_date)
        interest = max(position.accrued, sum((s.interest for s in charged), ZERO))
        fixed = sum((s.fixed_compensation for s in charged), ZERO)
        penalty = sum((s.penalty for s in charged), ZERO)
        fee = sum((s.reminder_fee for s in charged), ZERO)

        regime = self.regime()
        rate = _rate_on(list(position.rates), letter_date)  # legal rate or 2002-law rate
        b2c = await self.b2c(letter_date)
        waiting_start = costs_from = None
        if regime == "b2c":
            # The period counts from the day the first reminder really left: this letter's own
            # date while it is being made to go out.
            first = charged[0].sent_on or (
                letter_date if charged[0] is this else charged[0].business_date
            )
            waiting_start = b2c_waiting_period_start(first, "email", b2c)
            costs_from = b2c_costs_allowed_from(first, "email", b2c)
        b2c_penalty = penalty or (
            b2c_penalty_cap(figures.principal, b2c) if position.terms.penalty_allowed else ZERO
        )

        policy = await parameters.lifecycle_policy(self.session, self.mission.created_on)
        pay_by = letter_date + timedelta(days=15)
        rungs = [r.step for r in policy.dunning_ladder]
        if kind in rungs and rungs.index(kind) + 1 < len(rungs):
            # The next rung comes the ladder's gap after this letter leaves (INV-8): a letter
            # re-dated to the day it left moves its pay-by date with it.
            at = rungs.index(kind)
            gap = (
                policy.dunning_ladder[at + 1].days_after_due
                - policy.dunning_ladder[at].days_after_due
            )
            ladder_day = invoice.due_date + timedelta(days=policy.dunning_ladder[at].days_after_due)
            pay_by = max(max(letter_date, ladder_day) + timedelta(days=gap - 1), pay_by)
        if regime == "b2c" and kind == "reminder_1" and costs_from is not None:
            pay_by = costs_from - timedelta(
                days=1
            )  # the end of the Book XIX period, nothing earlier

        return DunningLetterDocument(
            kind=kind,
            seller=self.seller,
            buyer=self.buyer(),
            letter_date=letter_date,
            regime=regime,
            invoice_number=invoice.number,
            invoice_issue_date=invoice.issue_date,
            due_date=invoice.due_date,
            title=self.mission.title,
            invoice_total=invoice.total_incl_vat,
            credited=figures.credited,
            paid=figures.paid,
            principal_open=figures.principal,
            interest=interest,
            fixed_compensation=fixed,
            penalty=penalty,
            reminder_fee=fee,
            amount_due=invoice.total_incl_vat
            - figures.credited
            - figures.paid
            + interest
            + fixed
            + penalty
            + fee,
            pay_by=pay_by,
            structured_communication=invoice.structured_communication,
            annual_rate=rate.annual_rate,
            rate_is_estimate=rate.estimate,
            b2b_fixed_compensation=(await self.b2b(letter_date)).fixed_compensation,
            b2c_penalty=b2c_penalty,
            b2c_reminder_fee_max=b2c.reminder_fee_max,
            waiting_days=b2c.waiting_days,
            waiting_start=waiting_start,
            costs_from=costs_from,
            language=self.language,
        )

    async def _statement(
        self, invoice: Invoice, charged: list[DunningStep], letter_date: date
    ) -> _Statement:
        """Replay the invoice up to the letter: credit notes and payments (costs, then interest,
        then principal), and the charges of the rungs up to this one, in the order they came."""
        notes = (
            await self.session.scalars(
                select(CreditNote).where(
                    CreditNote.invoice_id == invoice.id, CreditNote.issue_date <= letter_date
                )
            )
        ).all()
        payments = (
            await self.session.scalars(
                select(Payment).where(
                    Payment.invoice_id == invoice.id, Payment.received_on <= letter_date
                )
            )
        ).all()
        events: list[tuple[datetime, str, Any]] = [
            *((n.created_at, "credit", n) for n in notes),
            *((p.created_at, "payment", p) for p in payments),
            *((s.created_at, "step", s) for s in charged),
        ]
        events.sort(key=lambda e: e[0])
        principal, interest, costs = invoice.total_incl_vat, ZERO, ZERO
        for _, what, row in events:
            if what == "credit":
                principal -= row.amount_incl_vat
            elif what == "step":
                interest += row.interest
                costs += row.fixed_compensation + row.penalty + row.reminder_fee
            else:
                split = allocate_payment(row.amount, costs, interest, max(principal, ZERO))
                costs -= split.costs
                interest -= split.interest
                principal -= split.principal
        return _Statement(
            credited=sum((n.amount_incl_vat for n in notes), ZERO),
            paid=sum((p.amount for p in payments), ZERO),
            principal=max(principal, ZERO),
        )

    # ------------------------------------------------------------ member documents

    async def estimate_figures(self, on: date | None = None) -> dict[str, Any]:
        """The estimate the member signed for (kept at signature); before signing, the same
        computation on the mission's figures and contract type, as of `on`."""
        if self.mission.estimate:
            return dict(self.mission.estimate)
        mission = self.mission
        return await estimates.for_mission(self.session, mission, on or mission.created_on)

    async def amendments(self) -> list[ContractAmendment]:
        rows = await self.session.scalars(
            select(ContractAmendment)
            .where(ContractAmendment.mission_id == self.mission.id)
            .order_by(ContractAmendment.sequence)
        )
        return list(rows.all())

    async def gross_signed_for(self) -> Decimal:
        """The gross of the contract: the estimate's (the one signed for, once signed)."""
        estimate = await self.estimate_figures()
        return Decimal(str(estimate["gross_salary"]))

    async def legacy_rules(self, on: date) -> dict[str, RuleRow]:
        """The payroll rows in force on `on`, for a payroll written without its lines."""
        out: dict[str, RuleRow] = {}
        for key in LEGACY_RULE_KEYS:
            row = await self.session.scalar(
                select(Parameter)
                .where(Parameter.key == key, Parameter.valid_from <= on)
                .order_by(Parameter.valid_from.desc())
                .limit(1)
            )
            if row is None:
                continue
            value = row.value.get("value") if isinstance(row.value, dict) else None
            try:
                number = None if isinstance(value, list) else Decimal(str(value))
            except ArithmeticError:
                number = None
            out[key] = RuleRow(key, number, row.valid_from, row.source)
        return out

    def withholding_rate(
        self, lines: tuple[PayslipLine, ...], contract_type: str
    ) -> Decimal | None:
        """Artistic contracts: the flat rate this payroll withheld at (percent)."""
        if contract_type != "artistic":
            return None
        for line in lines:
            if line.code == "withholding_tax" and line.rate is not None:
                return line.rate_percent
        return Decimal(self.member.artistic_withholding_rate).normalize()

    async def contract(self, business_date: date | None) -> ContractDocument:
        mission = self.mission
        signed = await self.timeline_date("signed", mission.signed_at)
        return ContractDocument(
            employer=self.seller,
            worker=self.person(),
            reference=f"CT-{mission.id:06d}",
            issue_date=business_date or mission.created_on,
            job_title=mission.title,
            client_name=self.client.name,
            place_of_work=f"{self.client.name}\n{self.address_lines()}",
            start_date=mission.start_date,
            end_date=mission.end_date,
            contract_type=mission.contract_type,
            gross_salary=await self.gross_signed_for(),
            pay_date=mission.pay_date,
            signed_on=signed,
            language=self.language,
        )

    async def amendment(self, sequence: int | None) -> ContractAmendmentDocument:
        row = None
        if sequence is not None:
            row = await self.session.scalar(
                select(ContractAmendment).where(
                    ContractAmendment.mission_id == self.mission.id,
                    ContractAmendment.sequence == sequence,
                )
            )
        if row is None:
            raise NotFound("contract amendment", "sequence")
        mission = self.mission
        return ContractAmendmentDocument(
            employer=self.seller,
            worker=self.person(),
            reference=f"CT-{mission.id:06d}-A{row.sequence}",
            contract_reference=f"CT-{mission.id:06d}",
            sequence=row.sequence,
            issue_date=row.business_date,
            title=mission.title,
            client_name=self.client.name,
            start_date=mission.start_date,
            end_date=mission.end_date,
            contract_type=mission.contract_type,
            old_gross=row.old_gross,
            new_gross=row.new_gross,
            reason=row.reason,
            language=self.language,
        )

    async def payslip_estimate(self, business_date: date | None) -> PayslipEstimateDocument:
        mission = self.mission
        payout = await self.payout()
        figures = await self.estimate_figures(business_date)
        contract_type = str(figures.get("contract_type") or mission.contract_type)
        lines = payroll_lines(figures)
        policy = await parameters.lifecycle_policy(self.session, mission.created_on)
        return PayslipEstimateDocument(
            employer=self.seller,
            member=self.person(),
            reference=f"PS-{mission.id:06d}",
            issue_date=business_date or (payout.paid_on if payout else mission.created_on),
            title=mission.title,
            start_date=mission.start_date,
            end_date=mission.end_date,
            contract_type=contract_type,
            lines=lines,
            pay_date=payout.paid_on if payout is not None else mission.pay_date,
            advance_working_days=policy.advance_working_days,
            paid=payout is not None,
            source=payout.source if payout is not None else None,
            withholding_rate=self.withholding_rate(lines, contract_type),
            language=self.language,
        )

    async def payslip_figures(
        self, payout: Payout
    ) -> tuple[tuple[PayslipLine, ...], tuple[PayslipLine, ...], date | None]:
        """The payout's lines, the signed estimate's lines and the day it was signed."""
        final = payroll_lines(payout.payroll, await self.legacy_rules(payout.paid_on))
        estimate = self.mission.estimate
        if not estimate:
            return final, (), None
        rules = {
            **await self.legacy_rules(self.mission.created_on),
            **rules_from_estimate(estimate),
        }
        signed = await self.timeline_date("signed", self.mission.signed_at)
        return final, payroll_lines(estimate, rules), signed or self.mission.created_on

    async def payslip(self, payout_id: int | None) -> PayslipDocument:
        mission = self.mission
        payout = None if payout_id is None else await self.session.get(Payout, payout_id)
        if payout is None or payout.mission_id != mission.id:
            raise NotFound("payout", "payout_id")
        final, estimated, signed_on = await self.payslip_figures(payout)
        amendments = [
            Amendment(a.sequence, a.business_date, a.old_gross, a.new_gross, a.reason)
            for a in await self.amendments()
        ]
        raw_month = payout.payroll.get("month")
        month = None
        if isinstance(raw_month, dict) and raw_month.get("month"):
            month = PayMonth(
                month=str(raw_month["month"]),
                taxable_before=Decimal(str(raw_month.get("taxable_before") or "0.00")),
                withheld_before=Decimal(str(raw_month.get("withheld_before") or "0.00")),
            )
        contract_type = str(payout.payroll.get("contract_type") or mission.contract_type)
        return PayslipDocument(
            employer=self.seller,
            member=self.person(),
            reference=f"PS-{mission.id:06d}-{payout.id}",
            issue_date=payout.paid_on,
            title=mission.title,
            start_date=mission.start_date,
            end_date=mission.end_date,
            contract_type=contract_type,
            lines=final,
            paid_on=payout.paid_on,
            source=payout.source,
            differences=differences(
                estimated, final, amendments, raw_month if isinstance(raw_month, dict) else None
            )
            if signed_on is not None
            else (),
            estimate_date=signed_on,
            month=month,
            withholding_rate=self.withholding_rate(final, contract_type),
            language=self.language,
        )

    async def write_off_notice(self) -> WriteOffNoticeDocument:
        invoice = await self.the_invoice("nothing was written off")
        write_off = await self.session.scalar(
            select(WriteOff).where(WriteOff.invoice_id == invoice.id)
        )
        if write_off is None:
            raise DomainError(f"invoice {invoice.number} is not written off", 409, "kind")
        payout = await self.payout()
        return WriteOffNoticeDocument(
            employer=self.seller,
            member=self.person(),
            reference=invoice.number,
            title=self.mission.title,
            client_name=self.client.name,
            invoice_number=invoice.number,
            invoice_issue_date=invoice.issue_date,
            amount_written_off=write_off.amount,
            write_off_date=write_off.business_date,
            cause=write_off.cause,
            net_salary=payout.net_amount if payout is not None else None,
            salary_paid_on=payout.paid_on if payout is not None else None,
            language=self.language,
        )


@dataclass(frozen=True)
class _Statement:
    credited: Decimal
    paid: Decimal
    principal: Decimal
