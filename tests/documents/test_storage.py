"""Stored documents: made once, immutable, e-invoices valid from the real invoice rows, Peppol once.

On the real PostgreSQL database, from invoices issued by `services.invoicing` (no workflow here:
`tests/workflows` runs the same activities end to end).
"""

from __future__ import annotations

import asyncio
import hashlib
from decimal import Decimal

import pytest
from lxml import etree
from sqlalchemy import func, inspect, select, text
from sqlalchemy.exc import DBAPIError, InvalidRequestError

from core.db import Database
from core.settings import Settings
from documents.validation import fatal_errors
from models import Document, PeppolMessage
from services import documents
from services.access import Viewer
from services.invoicing import issue_credit_note, issue_invoice
from services.peppol import OutboxPeppolSender, PeppolEnvelope, PeppolRejected
from tests.invoicing.conftest import new_party, reported_mission, today

NS = {
    "cac": "urn:oasis:names:specification:ubl:schema:xsd:CommonAggregateComponents-2",
    "cbc": "urn:oasis:names:specification:ubl:schema:xsd:CommonBasicComponents-2",
}


async def _invoiced(
    db: Database,
    settings: Settings,
    *,
    kind: str = "business",
    country: str = "BE",
    vat_number: str | None = "BE0403170701",
    rate: str = "21",
    ground: str | None = None,
) -> tuple[int, int]:
    async with db.session() as session:
        party = await new_party(session, kind=kind, country=country, vat_number=vat_number)
        mission = await reported_mission(
            session,
            settings,
            party,
            vat_rate=rate,
            expenses=[("Train", Decimal("42.10"))],
            vat_exemption=ground,
        )
        invoice = await issue_invoice(session, mission.id, await _today(db, settings), 30)
        return mission.id, invoice.id


async def _today(db: Database, settings: Settings):  # type: ignore[no-untyped-def]
    return await today(db, settings)


class CountingSender:
    provider = "test-ap"

    def __init__(self, fail: Exception | None = None) -> None:
        self.sent: list[PeppolEnvelope] = []
        self.fail = fail

    async def send(self, envelope: PeppolEnvelope) -> str | None:
        self.sent.append(envelope)
        if self.fail is not None:
            raise self.fail
        return f"ap-{len(self.sent)}"


@pytest.mark.parametrize(
    ("country", "vat_number", "rate", "ground", "category"),
    [
        ("BE", "BE0403170701", "21", None, "S"),
        # 0 % only under a legal ground chosen on the mission (migration 0022)
        ("BE", "BE0403170701", "0", "art44_performer", "E"),
        ("NL", "NL004495445B01", "0", "eu_reverse_charge", "AE"),
        ("CH", "CHE-123.456.788", "0", "outside_eu_business", "O"),
    ],
)
async def test_e_invoice_from_the_invoice_rows_is_valid(
    db: Database,
    settings: Settings,
    country: str,
    vat_number: str,
    rate: str,
    ground: str | None,
    category: str,
) -> None:
    mission_id, _ = await _invoiced(
        db, settings, country=country, vat_number=vat_number, rate=rate, ground=ground
    )
    doc = await documents.ensure_ubl(db, mission_id, settings=settings)
    assert doc is not None
    assert doc.media_type == "application/xml" and doc.kind == "ubl_invoice"
    assert fatal_errors(doc.content) == []
    root = etree.fromstring(doc.content)
    assert root.findtext("cbc:InvoiceTypeCode", namespaces=NS) == "380"
    assert {c.text for c in root.iterfind(".//cac:ClassifiedTaxCategory/cbc:ID", NS)} == {category}
    endpoint = root.find("cac:AccountingCustomerParty/cac:Party/cbc:EndpointID", NS)
    if country == "BE":
        assert endpoint is not None and endpoint.get("schemeID") == "0208"
        assert endpoint.text == "0403170701"
    async with db.session() as session:
        from models import Invoice

        invoice = await session.scalar(select(Invoice).where(Invoice.mission_id == mission_id))
        assert invoice is not None
    payable = root.findtext("cac:LegalMonetaryTotal/cbc:PayableAmount", namespaces=NS)
    assert Decimal(payable or "0") == invoice.total_incl_vat  # the PDF's and the XML's totals agree


async def test_consumers_get_no_e_invoice(db: Database, settings: Settings) -> None:
    mission_id, _ = await _invoiced(db, settings, kind="consumer", vat_number=None)
    assert await documents.ensure_ubl(db, mission_id, settings=settings) is None


async def test_credit_note_e_invoice_references_the_invoice(
    db: Database, settings: Settings
) -> None:
    mission_id, invoice_id = await _invoiced(db, settings)
    async with db.session() as session:
        note, invoice = await issue_credit_note(
            session,
            invoice_id,
            amount_incl_vat=Decimal("121.00"),
            full=False,
            reason="One day less than ordered <b>&",
            issue_date=await _today(db, settings),
            actor="ops:test",
            user_id=None,
        )
    doc = await documents.ensure_ubl(db, mission_id, credit_note_id=note.id, settings=settings)
    assert doc is not None and doc.key == f"ubl_credit_note:{note.id}"
    assert fatal_errors(doc.content) == []
    root = etree.fromstring(doc.content)
    assert root.findtext("cbc:CreditNoteTypeCode", namespaces=NS) == "381"
    ref = root.findtext("cac:BillingReference/cac:InvoiceDocumentReference/cbc:ID", namespaces=NS)
    assert ref == invoice.number
    assert "<b>&" in (root.findtext("cbc:Note", namespaces=NS) or "")  # escaped, kept literally


async def test_asking_twice_returns_the_same_file(db: Database, settings: Settings) -> None:
    mission_id, _ = await _invoiced(db, settings)
    # Two first requests at once: one insert wins, both get its row.
    first, second = await asyncio.gather(
        documents.ensure_ubl(db, mission_id, settings=settings),
        documents.ensure_ubl(db, mission_id, settings=settings),
    )
    again = await documents.ensure_ubl(db, mission_id, settings=settings)
    assert first is not None and second is not None and again is not None
    assert first.id == second.id == again.id
    assert again.content == first.content
    assert again.sha256 == hashlib.sha256(first.content).hexdigest()
    assert again.size == len(first.content)
    async with db.session() as session:
        count = await session.scalar(
            select(func.count()).select_from(Document).where(Document.mission_id == mission_id)
        )
    assert count == 1


async def test_listing_documents_leaves_their_bytes_in_the_database(
    db: Database, settings: Settings
) -> None:
    """A mission page (polled every 2 s) lists the documents: names, sizes, hashes, never the
    PDF bytes. Only a download (or an email, or Peppol) reads them (issue 14)."""
    mission_id, _ = await _invoiced(db, settings)
    made = await documents.ensure_pdf(db, mission_id, "invoice")
    ops = Viewer(user_id=0, role="ops", member_id=None)
    async with db.session() as session:
        listed = await documents.list_documents(session, ops, mission_id)
        assert [d.id for d in listed] == [made.id]
        assert "content" in inspect(listed[0]).unloaded
        with pytest.raises(InvalidRequestError):
            listed[0].content  # noqa: B018 (the read itself is what must fail)
    async with db.session() as session:
        got = await documents.get_document(session, ops, made.id)
        assert got.content == made.content and got.content.startswith(b"%PDF")


async def test_stored_documents_refuse_change_and_deletion(
    db: Database, settings: Settings
) -> None:
    mission_id, _ = await _invoiced(db, settings)
    doc = await documents.ensure_ubl(db, mission_id, settings=settings)
    assert doc is not None
    for statement in (
        "UPDATE documents SET content = 'x' WHERE id = :id",
        "DELETE FROM documents WHERE id = :id",
    ):
        with pytest.raises(DBAPIError, match="documents are immutable"):
            async with db.session() as session:
                await session.execute(text(statement), {"id": doc.id})


async def test_peppol_hands_each_e_invoice_over_once(db: Database, settings: Settings) -> None:
    mission_id, _ = await _invoiced(db, settings)
    sender = CountingSender()
    await documents.e_invoice(db, mission_id, sender, settings)
    await documents.e_invoice(db, mission_id, sender, settings)
    assert len(sender.sent) == 1
    envelope = sender.sent[0]
    assert envelope.receiver == ("0208", "0403170701")
    assert envelope.sender[0] == "0208"
    assert "Invoice-2::Invoice" in envelope.document_type
    async with db.session() as session:
        rows = list(
            await session.scalars(
                select(PeppolMessage).where(PeppolMessage.mission_id == mission_id)
            )
        )
    assert [(r.status, r.provider_message_id) for r in rows] == [("sent", "ap-1")]


async def test_outbox_is_the_embedded_peppol_default(db: Database, settings: Settings) -> None:
    mission_id, _ = await _invoiced(db, settings)
    await documents.e_invoice(db, mission_id, OutboxPeppolSender(), settings)
    async with db.session() as session:
        row = await session.scalar(
            select(PeppolMessage).where(PeppolMessage.mission_id == mission_id)
        )
    assert row is not None and row.status == "stored" and row.provider == "outbox"


async def test_a_refused_e_invoice_is_recorded_as_failed(db: Database, settings: Settings) -> None:
    mission_id, _ = await _invoiced(db, settings)
    sender = CountingSender(fail=PeppolRejected("receiver 0208:0403170701 not registered"))
    with pytest.raises(PeppolRejected):
        await documents.e_invoice(db, mission_id, sender, settings)
    async with db.session() as session:
        row = await session.scalar(
            select(PeppolMessage).where(PeppolMessage.mission_id == mission_id)
        )
    assert row is not None and row.status == "failed" and "not registered" in (row.error or "")


async def test_pdfs_render_in_a_separate_process_and_survive_its_death(
    db: Database, settings: Settings
) -> None:
    """The worker renders in a process pool (WeasyPrint holds the GIL); a dead render process
    fails that attempt only, and the retry gets a fresh pool."""
    import multiprocessing
    import os
    import signal as signals
    from concurrent.futures.process import BrokenProcessPool

    mission_id, _ = await _invoiced(db, settings)
    other_id, _ = await _invoiced(db, settings)
    documents.use_render_processes(1)
    try:
        made = await documents.ensure_pdf(db, mission_id, "invoice")
        assert made.content.startswith(b"%PDF") and made.media_type == "application/pdf"
        children = multiprocessing.active_children()
        assert children, "rendered in a child process"
        for child in children:
            assert child.pid is not None
            os.kill(child.pid, signals.SIGKILL)
        with pytest.raises(BrokenProcessPool):
            await documents.ensure_pdf(db, other_id, "invoice")
        retried = await documents.ensure_pdf(db, other_id, "invoice")  # the activity's retry
        assert retried.content.startswith(b"%PDF")
    finally:
        documents.stop_render_processes()
