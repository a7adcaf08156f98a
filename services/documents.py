"""Documents: generated once, stored immutably, served with access rules.

A document is identified by (mission, key): "contract", "invoice", "reminder_1",
"credit_note:12", "ubl_invoice", … The first request renders it and stores the bytes with their
SHA-256 and the template version; every later request, a retried activity included, gets that same
row back. Two concurrent first requests race on the unique key: one insert wins, the other reads
the winner's row, so a document never exists in two versions.

PDFs come from `documents.render` with the data `services.document_data` reads from the database;
e-invoices (UBL, Peppol BIS Billing 3.0) are built here from the invoice rows, for business
clients only, and handed to the `PeppolSender` port when the client has a Peppol address.
"""

from __future__ import annotations

import asyncio
import hashlib
import multiprocessing
import re
import signal
from collections.abc import Sequence
from concurrent.futures import ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import undefer

from core.db import Database
from core.errors import DomainError, NotFound
from core.settings import Settings, get_settings
from documents import ubl
from documents.kinds import DUNNING_KINDS
from domain.errors import FieldError
from domain.identifiers import clean_text
from domain.money import parse_money
from models import (
    Client,
    ContractAmendment,
    CreditNote,
    Document,
    DunningStep,
    Invoice,
    Mission,
    Payout,
)
from services import peppol
from services.access import Viewer, get_mission, visible_mission
from services.timeline import add_timeline

PDF = "application/pdf"
XML = "application/xml"
UBL_TEMPLATE_VERSION = "peppol-bis-billing-3.0@2026-11-29.1"
UBL_KINDS = ("ubl_invoice", "ubl_credit_note")

# The documents that go with an email, by email template.
EMAIL_ATTACHMENTS: dict[str, tuple[str, ...]] = {
    "invoice": ("invoice",),
    "dunning_reminder_1": ("reminder_1",),
    "dunning_reminder_2": ("reminder_2",),
    "dunning_formal_notice": ("formal_notice",),
    "write_off_notice": ("write_off_notice",),
}
# Made when the workflow starts: what the member signs and what the client confirms.
START_KINDS = ("order_form", "contract", "payslip_estimate")


def document_key(
    kind: str,
    credit_note_id: int | None = None,
    *,
    payout_id: int | None = None,
    sequence: int | None = None,
) -> str:
    """The document's unique key in its mission: one payslip per payout, one PDF per
    amendment, one per credit note, else one per kind."""
    if kind in ("credit_note", "ubl_credit_note"):
        if credit_note_id is None:
            raise ValueError(f"{kind} needs a credit note id")
        return f"{kind}:{credit_note_id}"
    if kind == "payslip":
        if payout_id is None:
            raise ValueError("a payslip needs its payout id")
        return f"payslip:{payout_id}"
    if kind == "contract_amendment":
        if sequence is None:
            raise ValueError("a contract amendment needs its sequence number")
        return f"contract_amendment:{sequence}"
    return kind


def sha256(content: bytes) -> str:
    return hashlib.sha256(content).hexdigest()


async def find(session: AsyncSession, mission_id: int, key: str) -> Document | None:
    """The stored document with its bytes: the callers attach it to an email or send it."""
    found: Document | None = await session.scalar(
        select(Document)
        .where(Document.mission_id == mission_id, Document.key == key)
        .options(undefer(Document.content))
    )
    return found


@dataclass(frozen=True)
class Rendered:
    kind: str
    key: str
    audience: str
    language: str
    filename: str
    media_type: str
    template_version: str
    content: bytes


async def store(db: Database, mission_id: int, rendered: Rendered) -> Document:
    """Insert the document unless (mission, key) exists; either way return the stored row."""
    async with db.session() as session:
        existing = await find(session, mission_id, rendered.key)
        if existing is not None:
            return existing
        row = Document(
            mission_id=mission_id,
            kind=rendered.kind,
            key=rendered.key,
            audience=rendered.audience,
            language=rendered.language,
            filename=rendered.filename,
            media_type=rendered.media_type,
            template_version=rendered.template_version,
            sha256=sha256(rendered.content),
            size=len(rendered.content),
            content=rendered.content,
        )
        try:
            async with session.begin_nested():  # add inside: begin_nested() flushes first
                session.add(row)
                await session.flush()
        except IntegrityError:
            winner = await find(session, mission_id, rendered.key)
            if winner is None:
                raise
            return winner
        return row


async def ensure_pdf(
    db: Database,
    mission_id: int,
    kind: str,
    *,
    credit_note_id: int | None = None,
    business_date: date | None = None,
    payout_id: int | None = None,
    sequence: int | None = None,
    key: str | None = None,
) -> Document:
    """The mission's `kind` PDF: the stored one, or rendered now and stored once (under `key`
    if given: a dunning letter re-dated to the day it left)."""
    from documents import render  # WeasyPrint is heavy: loaded only where PDFs are made
    from services.document_data import document_data

    if kind not in render.KINDS:
        raise ValueError(f"unknown document kind {kind!r}")
    key = key or document_key(kind, credit_note_id, payout_id=payout_id, sequence=sequence)
    async with db.session() as session:
        existing = await find(session, mission_id, key)
        if existing is not None:
            return existing
        data = await document_data(
            session,
            mission_id,
            kind,
            credit_note_id=credit_note_id,
            business_date=business_date,
            payout_id=payout_id,
            sequence=sequence,
        )
    content = await _render(kind, data.data)
    return await store(
        db,
        mission_id,
        Rendered(
            kind=kind,
            key=key,
            audience=data.audience,
            language=data.language,
            filename=render.filename(kind, data.data),
            media_type=PDF,
            template_version=render.TEMPLATE_VERSIONS[kind],
            content=content,
        ),
    )


async def ensure_payslips(db: Database, mission_id: int) -> list[Document]:
    """The final payslip of every payout of the mission, each stored once ("payslip:<payout>")."""
    async with db.session() as session:
        payout_ids = list(
            await session.scalars(
                select(Payout.id).where(Payout.mission_id == mission_id).order_by(Payout.id)
            )
        )
    return [await ensure_pdf(db, mission_id, "payslip", payout_id=pid) for pid in payout_ids]


async def ensure_amendments(db: Database, mission_id: int) -> list[Document]:
    """The PDF of every written amendment of the mission's contract, each stored once."""
    async with db.session() as session:
        sequences = list(
            await session.scalars(
                select(ContractAmendment.sequence)
                .where(ContractAmendment.mission_id == mission_id)
                .order_by(ContractAmendment.sequence)
            )
        )
    return [
        await ensure_pdf(db, mission_id, "contract_amendment", sequence=seq) for seq in sequences
    ]


def _text(value: object) -> object:
    """Amounts as the API receives them (strings); a Decimal from the engine as its text."""
    return f"{value:.2f}" if isinstance(value, Decimal) else value


async def backfill_payslips(
    db: Database, limit: int = 500, mission_ids: Sequence[int] | None = None
) -> int:
    """Payslips for payouts made before payslips existed (oldest first, `limit` at a time, of
    `mission_ids` if given); returns how many were made. Each is stored once under its key,
    like the salary step's."""
    async with db.session() as session:
        made = select(Document.key).where(Document.kind == "payslip")
        query = select(Payout.mission_id, Payout.id).where(
            func.concat("payslip:", Payout.id).not_in(made)
        )
        if mission_ids is not None:
            query = query.where(Payout.mission_id.in_(mission_ids))
        rows = (await session.execute(query.order_by(Payout.id).limit(limit))).all()
    for mission_id, payout_id in rows:
        await ensure_pdf(db, mission_id, "payslip", payout_id=payout_id)
    return len(rows)


async def store_amendment(
    db: Database,
    mission_id: int,
    old_gross: object,
    new_gross: object,
    reason: object,
    business_date: date,
) -> Document:
    """A written amendment to the mission's contract (the gross changes from `old_gross` to
    `new_gross`), numbered and stored as its own PDF; never a silent recalculation.

    Idempotent: the same amendment asked again (a retried activity) returns its document.
    `old_gross` must be the contract's gross as it stands (the signed one, or the last
    amendment's): an amendment of a stale figure is refused."""
    from services.document_data import contract_gross

    old = parse_money(_text(old_gross), field="old_gross", allow_zero=True)
    new = parse_money(_text(new_gross), field="new_gross")
    text = clean_text(reason, field="reason", max_length=500)
    if old == new:
        raise FieldError("new_gross", "is the contract's gross already: nothing to amend")
    async with db.session() as session:
        await get_mission(session, mission_id, lock=True)  # one amendment at a time per mission
        rows = list(
            await session.scalars(
                select(ContractAmendment)
                .where(ContractAmendment.mission_id == mission_id)
                .order_by(ContractAmendment.sequence)
            )
        )
        same = next(
            (r for r in rows if (r.old_gross, r.new_gross, r.reason) == (old, new, text)), None
        )
        if same is None:
            current = await contract_gross(session, mission_id)
            if old != current:
                raise FieldError(
                    "old_gross", f"the contract's gross is {current:.2f}, not {old:.2f}"
                )
            same = ContractAmendment(
                mission_id=mission_id,
                sequence=len(rows) + 1,
                business_date=business_date,
                old_gross=old,
                new_gross=new,
                reason=text,
            )
            session.add(same)
            await session.flush()
            await add_timeline(
                session,
                mission_id,
                f"contract_amended:{same.sequence}",
                "contract_amended",
                same.business_date,
                None,
                {"old_gross": f"{old:.2f}", "new_gross": f"{new:.2f}", "reason": text},
            )
        sequence = same.sequence
    return await ensure_pdf(db, mission_id, "contract_amendment", sequence=sequence)


# ---------------------------------------------------------------- where PDFs are rendered

_pool: ProcessPoolExecutor | None = None
_pool_size = 0


def _ignore_interrupts() -> None:
    """Render processes leave Ctrl-C to their parent, which shuts the pool down."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    from documents import render  # noqa: F401 - WeasyPrint and the templates, loaded once


def use_render_processes(processes: int) -> None:
    """Render PDFs in `processes` separate processes (0: in a thread of this one).

    WeasyPrint holds the GIL: rendered in the worker's own process, a PDF stalls every other
    activity and update for its duration. The worker process sets this at start."""
    global _pool, _pool_size
    stop_render_processes()
    _pool_size = processes
    if processes > 0:
        _pool = ProcessPoolExecutor(
            max_workers=processes,
            mp_context=multiprocessing.get_context("spawn"),  # never fork a running worker
            initializer=_ignore_interrupts,
        )


def stop_render_processes() -> None:
    global _pool
    if _pool is not None:
        _pool.shutdown(wait=True, cancel_futures=True)
        _pool = None


async def _render(kind: str, data: Any) -> bytes:
    from documents import render

    if _pool is None:
        # Off the event loop at least, so the worker keeps heartbeating and polling.
        return await asyncio.to_thread(render.render_pdf, kind, data)
    try:
        return await asyncio.get_running_loop().run_in_executor(
            _pool, render.render_pdf, kind, data
        )
    except BrokenProcessPool:
        # A render process died (killed, out of memory): a fresh pool for the activity's retry.
        use_render_processes(_pool_size)
        raise


# ---------------------------------------------------------------- e-invoices (UBL)


def _buyer(client: Client) -> ubl.Buyer:
    return ubl.Buyer(
        name=client.name,
        address=ubl.PostalAddress.from_text(client.address, client.country),
        vat_number=client.vat_number,
    )


def peppol_receiver(client: Client) -> tuple[str, str] | None:
    """The client's Peppol address: Belgian companies by 0208 + enterprise number."""
    if client.kind != "business":
        return None
    try:
        return _buyer(client).peppol_endpoint()
    except ValueError:
        return None


def _lines(invoice: Invoice, category: str, rate: Decimal) -> list[ubl.Line]:
    return [
        ubl.Line(
            label=str(line["label"])[:200],
            quantity=Decimal(1),
            unit_price=Decimal(str(line["amount_excl_vat"])),
            vat_category=category,  # type: ignore[arg-type]
            vat_rate=rate,
        )
        for line in invoice.lines
    ]


def _exemptions(category: str, mention: str | None) -> tuple[tuple[str, str], ...]:
    if category == "S" or not mention:
        return ()
    return ((category, mention),)


def _exemption_codes(category: str, invoice: Invoice) -> tuple[tuple[str, str | None], ...]:
    """The VATEX code of the invoice's legal ground (0 % invoices issued under one)."""
    if category == "S" or not invoice.vat_exemption:
        return ()
    return ((category, invoice.vat_exemption_code),)


def _safe_name(number: str) -> str:
    return re.sub(r"[^A-Za-z0-9._-]", "-", number)


def ubl_invoice(
    invoice: Invoice, mission: Mission, client: Client, settings: Settings
) -> ubl.Document:
    rate = Decimal(invoice.vat_rate)
    return ubl.Document(
        number=invoice.number,
        issue_date=invoice.issue_date,
        due_date=invoice.due_date,
        seller=ubl.seller_from_settings(settings),
        buyer=_buyer(client),
        lines=_lines(invoice, invoice.vat_category, rate),
        buyer_reference=mission.workflow_id or f"mission-{mission.id}",
        structured_communication=invoice.structured_communication,
        delivery_date=mission.end_date,
        delivery_country=client.country,
        exemption_reasons=_exemptions(invoice.vat_category, invoice.vat_mention),
        exemption_codes=_exemption_codes(invoice.vat_category, invoice),
    )


def ubl_credit_note(
    note: CreditNote, invoice: Invoice, mission: Mission, client: Client, settings: Settings
) -> ubl.Document:
    rate = Decimal(note.vat_rate)
    return ubl.Document(
        number=note.number,
        issue_date=note.issue_date,
        seller=ubl.seller_from_settings(settings),
        buyer=_buyer(client),
        lines=[
            ubl.Line(
                label=f"{invoice.number}: {note.reason}"[:200],
                quantity=Decimal(1),
                unit_price=Decimal(note.amount_excl_vat),
                vat_category=note.vat_category,  # type: ignore[arg-type]
                vat_rate=rate,
            )
        ],
        buyer_reference=mission.workflow_id or f"mission-{mission.id}",
        note=note.reason[:500],
        credited_invoice=ubl.CreditedInvoice(invoice.number, invoice.issue_date),
        delivery_date=mission.end_date,
        delivery_country=client.country,
        exemption_reasons=_exemptions(note.vat_category, invoice.vat_mention),
        exemption_codes=_exemption_codes(note.vat_category, invoice),
    )


async def ensure_ubl(
    db: Database,
    mission_id: int,
    *,
    credit_note_id: int | None = None,
    settings: Settings | None = None,
) -> Document | None:
    """The e-invoice (or e-credit note) of a business client's invoice; None for consumers."""
    settings = settings or get_settings()
    kind = "ubl_invoice" if credit_note_id is None else "ubl_credit_note"
    key = document_key(kind, credit_note_id)
    async with db.session() as session:
        existing = await find(session, mission_id, key)
        if existing is not None:
            return existing
        mission = await get_mission(session, mission_id)
        client = await session.get(Client, mission.client_id)
        assert client is not None
        if client.kind != "business":
            return None
        invoice = await session.scalar(
            select(Invoice).where(Invoice.mission_id == mission_id, Invoice.kind == "invoice")
        )
        if invoice is None:
            raise NotFound("invoice")
        if credit_note_id is None:
            content = ubl.build_invoice(ubl_invoice(invoice, mission, client, settings))
            filename = f"invoice-{_safe_name(invoice.number)}.xml"
        else:
            note = await session.get(CreditNote, credit_note_id)
            if note is None or note.mission_id != mission_id:
                raise NotFound("credit note")
            content = ubl.build_credit_note(
                ubl_credit_note(note, invoice, mission, client, settings)
            )
            filename = f"credit-note-{_safe_name(note.number)}.xml"
        language = client.language
    return await store(
        db,
        mission_id,
        Rendered(
            kind=kind,
            key=key,
            audience="client",
            language=language,
            filename=filename,
            media_type=XML,
            template_version=UBL_TEMPLATE_VERSION,
            content=content,
        ),
    )


async def send_e_invoice(
    db: Database, sender: peppol.PeppolSender, document: Document, settings: Settings | None = None
) -> Any:
    """Hand a stored UBL document to Peppol once, if the client has a Peppol address."""
    settings = settings or get_settings()
    async with db.session() as session:
        mission = await get_mission(session, document.mission_id)
        client = await session.get(Client, mission.client_id)
        assert client is not None
        receiver = peppol_receiver(client)
    if receiver is None:
        return None
    seller = (ubl.BE_ENTERPRISE_SCHEME, ubl.enterprise_number_of(settings.coop_vat_number))
    return await peppol.dispatch(db, sender, document, seller, receiver)


async def e_invoice(
    db: Database, mission_id: int, sender: peppol.PeppolSender, settings: Settings | None = None
) -> Document | None:
    """A business client's e-invoice, stored once and handed to Peppol once."""
    document = await ensure_ubl(db, mission_id, settings=settings)
    if document is not None:
        await send_e_invoice(db, sender, document, settings)
    return document


async def invoice_documents(
    db: Database, mission_id: int, sender: peppol.PeppolSender, settings: Settings | None = None
) -> list[Document]:
    """The invoice PDF, and for a business client the e-invoice, sent over Peppol."""
    made = [await ensure_pdf(db, mission_id, "invoice")]
    xml = await e_invoice(db, mission_id, sender, settings)
    return made if xml is None else [*made, xml]


async def credit_note_documents(
    db: Database,
    mission_id: int,
    credit_note_id: int,
    sender: peppol.PeppolSender,
    settings: Settings | None = None,
) -> list[Document]:
    made = [await ensure_pdf(db, mission_id, "credit_note", credit_note_id=credit_note_id)]
    e_note = await ensure_ubl(db, mission_id, credit_note_id=credit_note_id, settings=settings)
    if e_note is not None:
        made.append(e_note)
        await send_e_invoice(db, sender, e_note, settings)
    return made


# ---------------------------------------------------------------- reading, with access rules


async def list_documents(session: AsyncSession, viewer: Viewer, mission_id: int) -> list[Document]:
    """The mission's documents, oldest first: a member sees only their own missions'."""
    await visible_mission(session, viewer, mission_id)
    rows = await session.scalars(
        select(Document).where(Document.mission_id == mission_id).order_by(Document.id)
    )
    return list(rows)


async def get_document(session: AsyncSession, viewer: Viewer, document_id: int) -> Document:
    """One document; another member's answers 404 exactly like a missing one."""
    if not 1 <= document_id <= 2**31 - 1:
        raise NotFound("document")
    document = await session.get(Document, document_id, options=[undefer(Document.content)])
    if document is None:
        raise NotFound("document")
    try:
        await visible_mission(session, viewer, document.mission_id)
    except DomainError as err:
        raise NotFound("document") from err
    return document


def document_out(document: Document) -> dict[str, Any]:
    return {
        "id": document.id,
        "mission_id": document.mission_id,
        "kind": document.kind,
        "key": document.key,
        "audience": document.audience,
        "language": document.language,
        "filename": document.filename,
        "media_type": document.media_type,
        "size": document.size,
        "sha256": document.sha256,
        "template_version": document.template_version,
        "created_at": document.created_at.isoformat(),
        "url": f"/api/documents/{document.id}",
    }


async def attachments_for(
    db: Database, mission_id: int, template: str, business_date: date | None = None
) -> Sequence[Document]:
    """The PDFs that go with this email template (made now if they don't exist yet).

    A dunning letter goes out dated `business_date`, the day its email leaves (`letter_for`)."""
    return [
        await letter_for(db, mission_id, kind, business_date)
        if kind in DUNNING_KINDS and business_date is not None
        else await ensure_pdf(db, mission_id, kind)
        for kind in EMAIL_ATTACHMENTS.get(template, ())
    ]


async def letter_for(db: Database, mission_id: int, kind: str, day: date) -> Document:
    """The rung's letter as it leaves on `day`, and its waiting period with it (INV-8).

    Leaving on its rung's date, it is the rung's letter ("reminder_1"). Leaving later (an email
    outage, a late worker) it is made for that day, stored under its own key
    ("reminder_1@2027-02-17"): a letter once made never changes, and the one made for an
    attempt that never left stays for the record."""
    async with db.session() as session:
        rung_date = await session.scalar(
            select(DunningStep.business_date).where(
                DunningStep.mission_id == mission_id,
                DunningStep.step == kind,
                DunningStep.level < 100,  # the ladder's rungs (collection.OFF_LADDER_LEVEL)
            )
        )
    if rung_date is None or day <= rung_date:
        return await ensure_pdf(db, mission_id, kind)
    return await ensure_pdf(
        db, mission_id, kind, business_date=day, key=f"{kind}@{day.isoformat()}"
    )
