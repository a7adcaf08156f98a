"""Every side effect of MissionWorkflow. Each activity is one database transaction, idempotent
by a unique key, because Temporal will run it again after a crash or a timeout."""

from __future__ import annotations

import functools
from collections.abc import Awaitable, Callable
from datetime import date
from decimal import Decimal
from typing import Any, TypeVar

from sqlalchemy import select
from temporalio import activity
from temporalio.exceptions import ApplicationError

from contracts.mission import (
    AttentionFlag,
    CancelRecord,
    ClockSpec,
    CollectionResult,
    ConfirmationRecord,
    DeclarationRequest,
    DocumentsRequest,
    DunningRequest,
    EmailRequest,
    InvoiceInfo,
    InvoiceRequest,
    SalaryInfo,
    SalaryRequest,
    SignatureRecord,
    SkippedStep,
    StepRecord,
    WorkReportRecord,
)
from contracts.stages import Stage
from core.db import Database
from models import (
    Client,
    ClockAnchor,
    Declaration,
    EmailAttachment,
    Invoice,
    Member,
    OutboxEmail,
)
from services import access, collection, documents, invoicing, mail, missions, payroll, timeline
from services.gateways import (
    BANK,
    DECLARATION,
    EMAIL,
    BankGateway,
    DeclarationGateway,
    DeclarationPayload,
    GatewayUnavailable,
    PayoutOrder,
    SimulatedBankGateway,
    SimulatedDeclarationGateway,
    gateway_setting,
    simulate,
)
from services.mail import Attachment, Mailer, OutboxMailer
from services.parameters import MissingParameter
from services.peppol import OutboxPeppolSender, PeppolRejected, PeppolSender

GatewayFactory = Callable[[float, float], DeclarationGateway]
BankFactory = Callable[[float, float], BankGateway]


A = TypeVar("A", bound=Callable[..., Awaitable[Any]])


def needs_parameters(method: A) -> A:
    """A dated parameter missing on the step's date (a rate table that ran out) fails the step
    for good at once: retrying cannot make the row appear. The workflow flags the step with the
    message (which table, which period, where ops enter it) and runs it again when ops retry it
    after entering the row (workflows/mission.py `_step`). The failure's details carry the
    message's id and values for the pages' translation."""

    @functools.wraps(method)
    async def run(*args: Any, **kwargs: Any) -> Any:
        try:
            return await method(*args, **kwargs)
        except MissingParameter as err:
            raise ApplicationError(
                str(err),
                {
                    "key": err.key,
                    "on": err.on.isoformat(),
                    "message_id": err.message_id,
                    "params": err.params,
                },
                type="ParameterMissing",
                non_retryable=True,
            ) from err

    return run  # type: ignore[return-value]


def day_it_runs(business_date: date, clock: ClockSpec | None) -> date:
    """The business day this activity attempt really runs: a request is built when the workflow
    schedules the step, and Temporal's retries (a database outage) or a stopped worker may run
    it days later. Never before the date asked for."""
    if clock is None or not activity.in_activity():
        return business_date
    return max(business_date, clock.to_clock().date_at(activity.info().started_time))


class MissionActivities:
    def __init__(
        self,
        db: Database,
        mailer: Mailer | None = None,
        declaration_gateway: GatewayFactory = SimulatedDeclarationGateway,
        peppol_sender: PeppolSender | None = None,
        bank_gateway: BankFactory = SimulatedBankGateway,
    ) -> None:
        self.db = db
        self.bank_gateway = bank_gateway
        self.mailer = mailer or OutboxMailer()
        self.declaration_gateway = declaration_gateway
        self.peppol_sender = peppol_sender or OutboxPeppolSender()

    async def _dunning_day(self, business_date: date, clock: ClockSpec | None) -> date:
        """The day a dunning step or letter really runs. A workflow on the code from before
        "dunning-dated-when-sent" sends no clock: the database's (read, never re-anchored)
        dates it, so that the period guard sees when its letters really left (INV-8)."""
        if clock is None and activity.in_activity():
            async with self.db.session() as session:
                anchor = await session.scalar(
                    select(ClockAnchor).order_by(ClockAnchor.id.desc()).limit(1)
                )
            if anchor is not None:
                clock = ClockSpec(
                    anchor_real=anchor.anchor_real,
                    anchor_date=anchor.anchor_date,
                    day_seconds=anchor.day_seconds,
                )
        return day_it_runs(business_date, clock)

    @activity.defn
    @needs_parameters
    async def prepare_documents(self, req: DocumentsRequest) -> list[int]:
        """Render and store the mission's documents (order form, contract, payslip estimate;
        after a payout, "payslip": the final payslip of every payout).

        Stored once per (mission, key): a retry returns the same files, byte for byte."""
        made = []
        for kind in req.kinds:
            if kind == "payslip":
                made += await documents.ensure_payslips(self.db, req.mission_id)
            else:
                made.append(
                    await documents.ensure_pdf(
                        self.db, req.mission_id, kind, business_date=req.business_date
                    )
                )
        return [doc.id for doc in made]

    @activity.defn
    async def record_step(self, rec: StepRecord) -> None:
        """Write a lifecycle step on the mission's timeline and move its stage."""
        async with self.db.session() as session:
            await missions.record_step(
                session,
                rec.mission_id,
                rec.key,
                rec.step,
                rec.business_date,
                stage=rec.stage,
                actor=rec.actor,
                detail=rec.detail,
                clear_attention=rec.clear_attention,
            )

    @activity.defn
    async def flag_attention(self, flag: AttentionFlag) -> None:
        """Show the failing step and its last error on the mission for ops."""
        async with self.db.session() as session:
            await missions.flag_attention(
                session,
                flag.mission_id,
                flag.step,
                flag.reason,
                flag.attempts,
                flag.occurrence,
                flag.business_date,
            )

    @activity.defn
    async def record_signature(self, rec: SignatureRecord) -> None:
        """Keep the member's signature and the salary estimate they signed for."""
        async with self.db.session() as session:
            await missions.record_signature(session, rec.mission_id, rec.business_date, rec.actor)

    @activity.defn
    async def record_client_confirmation(self, rec: ConfirmationRecord) -> None:
        """Keep how and when the client confirmed the order."""
        async with self.db.session() as session:
            await missions.record_confirmation(
                session, rec.mission_id, rec.business_date, rec.method, rec.actor
            )

    @activity.defn
    async def record_work_report(self, rec: WorkReportRecord) -> None:
        """Keep the member's work report (days and expenses)."""
        async with self.db.session() as session:
            await missions.record_work_report(
                session,
                rec.mission_id,
                rec.business_date,
                rec.report.days_worked,
                [(line.label, line.amount) for line in rec.report.expenses],
                rec.report.actor,
            )

    @activity.defn
    async def file_declaration(self, req: DeclarationRequest) -> str:
        """File (or cancel) the employment declaration once; returns the gateway's reference."""
        async with self.db.session() as session:
            done = await session.scalar(
                select(Declaration).where(
                    Declaration.mission_id == req.mission_id, Declaration.kind == req.kind
                )
            )
            if done is not None:
                return done.reference
            mission = await access.get_mission(session, req.mission_id)
            member = await session.get(Member, mission.member_id)
            assert member is not None
            setting = await gateway_setting(session, DECLARATION)
            failure_rate, latency = setting.failure_rate, setting.latency_seconds
        gateway = self.declaration_gateway(failure_rate, latency)
        payload = DeclarationPayload(
            idempotency_key=f"{mission.workflow_id}-{req.kind}",
            kind=req.kind,
            national_number=member.national_number,
            start_date=mission.start_date.isoformat(),
            end_date=mission.end_date.isoformat(),
            contract_type=mission.contract_type,
        )
        try:
            reference = await gateway.submit(payload)
        except GatewayUnavailable as err:
            raise ApplicationError(str(err), type="GatewayUnavailable") from err
        async with self.db.session() as session:
            done = await session.scalar(
                select(Declaration).where(
                    Declaration.mission_id == req.mission_id, Declaration.kind == req.kind
                )
            )
            if done is not None:
                return done.reference
            session.add(
                Declaration(
                    mission_id=req.mission_id,
                    kind=req.kind,
                    reference=reference,
                    business_date=req.business_date,
                )
            )
            if req.kind == "in":
                row = await access.get_mission(session, req.mission_id, lock=True)
                if row.stage == Stage.DECLARATION:
                    row.stage = Stage.IN_PROGRESS
            late = req.kind == "in" and req.business_date >= mission.start_date
            await timeline.add_timeline(
                session,
                req.mission_id,
                f"declaration:{req.kind}",
                "declaration_cancelled" if req.kind == "cancel" else "declaration_accepted",
                req.business_date,
                "gateway",
                {"reference": reference, "late": late, "contract_type": mission.contract_type},
            )
        return reference

    @activity.defn
    async def record_skipped_step(self, rec: SkippedStep) -> str:
        """Record a step ops did by hand (e.g. the declaration filed on the portal) as done, with
        its manual reference; returns the reference the workflow goes on with."""
        async with self.db.session() as session:
            reference = await missions.record_skipped_step(
                session,
                rec.mission_id,
                rec.step,
                rec.reference,
                rec.reason,
                rec.actor,
                rec.occurrence,
                rec.business_date,
            )
            if rec.step.startswith("email:"):
                # A dunning letter sent by hand: its waiting period counts from today.
                await collection.letter_sent(
                    session, rec.mission_id, rec.step.removeprefix("email:"), rec.business_date
                )
            return reference

    @activity.defn
    @needs_parameters
    async def issue_invoice(self, req: InvoiceRequest) -> InvoiceInfo:
        """Issue the client's invoice (gap-free number, structured communication, ledger)."""
        async with self.db.session() as session:
            invoice = await invoicing.issue_invoice(
                session, req.mission_id, req.issue_date, req.due_days
            )
        # Committed first: a failure below retries this activity, which finds the invoice above
        # and only makes what is missing (the PDF, the e-invoice, its Peppol hand-over).
        try:
            await documents.invoice_documents(self.db, req.mission_id, self.peppol_sender)
        except PeppolRejected as err:
            raise ApplicationError(
                f"Peppol refused the e-invoice: {err}", type="PeppolRejected", non_retryable=True
            ) from err
        return InvoiceInfo(
            invoice_id=invoice.id,
            number=invoice.number,
            issue_date=invoice.issue_date,
            due_date=invoice.due_date,
            total_incl_vat=invoice.total_incl_vat,
            balance=invoice.balance,
            structured_communication=invoice.structured_communication,
        )

    @activity.defn
    @needs_parameters
    async def pay_salary(self, req: SalaryRequest) -> SalaryInfo:
        """Pay the member's salary on payday (fund or client money): always, never withheld."""
        async with self.db.session() as session:
            result = await payroll.pay_salary(session, req.mission_id, req.paid_on, req.attempt)
            setting = await gateway_setting(session, BANK)
            order = PayoutOrder(
                end_to_end_id=result.end_to_end_id,
                iban=result.iban,
                amount=f"{result.net_amount + result.expenses:.2f}",
            )
            info = SalaryInfo(
                source=result.source, net_amount=result.net_amount, paid_on=result.paid_on
            )
        # The payout is committed first; the bank executes one transfer per end-to-end id, so a
        # retried activity sends the same order again and nothing is paid twice.
        bank = self.bank_gateway(setting.failure_rate, setting.latency_seconds)
        try:
            await bank.transfer(order)
        except GatewayUnavailable as err:
            raise ApplicationError(str(err), type="GatewayUnavailable") from err
        # The payout's final payslip, stored once ("payslip:<payout id>"). Made in the step that
        # paid: no payout goes without one, and the workflow gains no step (no new action, no
        # patch). If it fails, the retry finds the payout, re-sends the same bank order (one
        # transfer per end-to-end id) and makes only what is missing.
        # An amendment the payout made (a credit note lowered the budget) gets its written
        # document the same way, before the payslip that cites it.
        await documents.ensure_amendments(self.db, req.mission_id)
        await documents.ensure_payslips(self.db, req.mission_id)
        return info

    @activity.defn
    @needs_parameters
    async def record_dunning_step(self, req: DunningRequest) -> CollectionResult:
        """Climb one rung of the dunning ladder unless the invoice got paid meanwhile; dated
        by the day it really runs. Refused for good (ops see why) before the period the previous
        letter gave has run (INV-8)."""
        day = await self._dunning_day(req.business_date, req.clock)
        try:
            async with self.db.session() as session:
                balance, acted = await collection.record_dunning_step(
                    session, req.mission_id, req.level, req.step, day
                )
        except collection.DunningTooEarly as err:
            raise ApplicationError(err.message, type="DunningTooEarly", non_retryable=True) from err
        return CollectionResult(balance=balance, acted=acted)

    @activity.defn
    @needs_parameters
    async def write_off_invoice(self, req: DunningRequest) -> CollectionResult:
        """Write the debt off: the guarantee fund absorbs it, the member keeps the salary.
        Dated by the day it really runs; refused for good before the formal notice's period,
        counted from the day that letter left, has run (INV-8)."""
        day = await self._dunning_day(req.business_date, req.clock)
        try:
            async with self.db.session() as session:
                balance, acted = await collection.write_off_invoice(session, req.mission_id, day)
        except collection.DunningTooEarly as err:
            raise ApplicationError(err.message, type="DunningTooEarly", non_retryable=True) from err
        return CollectionResult(balance=balance if not acted else Decimal("0.00"), acted=acted)

    @activity.defn
    async def cancel_mission(self, rec: CancelRecord) -> None:
        """Close the mission as cancelled, with the reason on its timeline."""
        async with self.db.session() as session:
            await missions.cancel_mission(
                session, rec.mission_id, rec.reason, rec.actor, rec.business_date
            )

    @activity.defn
    @needs_parameters
    async def send_email(self, req: EmailRequest) -> str:
        """Write the step's email once and hand it to the mailer; returns the outbox id.

        The row is committed before the provider is called and the answer recorded after, so a
        retried attempt finds it: a row already sent is never sent again, and a refusal for good
        leaves it "failed" (an ops retry sends that same email again). The step's documents
        (the invoice, the letter) are stored first and go with it as PDF attachments."""
        # Dated by the day this attempt runs: after an outage the email leaves days later than
        # the workflow asked, and a dunning letter's waiting period counts from then (INV-8).
        letter = req.template.startswith("dunning_")
        day = (
            await self._dunning_day(req.business_date, req.clock)
            if letter
            else day_it_runs(req.business_date, req.clock)
        )
        attached = await documents.attachments_for(self.db, req.mission_id, req.template, day)
        async with self.db.session() as session:
            mission = await access.get_mission(session, req.mission_id)
            client = await session.get(Client, mission.client_id)
            member = await session.get(Member, mission.member_id)
            assert client is not None and member is not None
            invoice = await session.scalar(
                select(Invoice).where(Invoice.mission_id == mission.id, Invoice.kind == "invoice")
            )
            recipient, language = (
                (client.email, client.language)
                if req.to == "client"
                else (member.email, member.language)
            )
            context: dict[str, Any] = {
                "mission": mission,
                "client": client,
                "member": member,
                "invoice": invoice,
                "business_date": day,
            }
            email, _ = await mail.queue_email(
                session,
                mission_id=mission.id,
                template=req.template,
                step=req.step,
                recipient=recipient,
                language=language,
                context=context,
            )
            if email.status == "failed":
                email.recipient = recipient  # never sent: to the address as corrected since
            email_gateway = await gateway_setting(session, EMAIL)
            links = list(
                await session.scalars(
                    select(EmailAttachment).where(EmailAttachment.email_id == email.id)
                )
            )
            if email.status in mail.RESENDABLE:
                # Not sent yet: it goes with what this attempt sends (a letter re-dated to the
                # day it leaves replaces the one made for an attempt that failed).
                wanted = {doc.id for doc in attached}
                for link in links:
                    if link.document_id not in wanted:
                        await session.delete(link)
                links = [link for link in links if link.document_id in wanted]
            linked = {link.document_id for link in links}
            for doc in attached:
                if doc.id not in linked:
                    session.add(EmailAttachment(email_id=email.id, document_id=doc.id))
        if email.status in mail.RESENDABLE:
            if isinstance(self.mailer, OutboxMailer):
                # The embedded default's simulated email service: ops may make it fail or lag.
                try:
                    await simulate(email_gateway, "email gateway")
                except GatewayUnavailable as err:
                    raise ApplicationError(str(err), type="GatewayUnavailable") from err
            try:
                message_id = await self.mailer.deliver(
                    email,
                    [Attachment(doc.filename, doc.content, doc.media_type) for doc in attached],
                )
            except ApplicationError as err:
                if err.non_retryable:
                    async with self.db.session() as session:
                        row = await session.get(OutboxEmail, email.id, with_for_update=True)
                        assert row is not None
                        row.status = "failed"
                        row.provider = getattr(self.mailer, "provider", "outbox")
                raise
            async with self.db.session() as session:
                row = await session.get(OutboxEmail, email.id, with_for_update=True)
                assert row is not None
                if row.status in mail.RESENDABLE:
                    row.provider_message_id = message_id
                    row.provider = getattr(self.mailer, "provider", "outbox")
                    row.status = "sent" if message_id else "stored"
                    if letter:
                        # The rung's letter left today: its waiting period counts from here.
                        await collection.letter_sent(session, req.mission_id, req.step, day)
        async with self.db.session() as session:
            await timeline.add_timeline(
                session,
                req.mission_id,
                # Keyed like the outbox row (template, step): the member's work-report reminder_1
                # and the client's dunning reminder_1 are two emails, both on the timeline.
                f"email:{req.template}:{req.step}",
                "email_sent",
                day,
                None,
                {"template": req.template, "to": email.recipient, "outbox_id": email.id},
            )
        return str(email.id)
