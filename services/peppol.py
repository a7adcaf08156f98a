"""Peppol: the port an e-invoice leaves through, and its embedded default.

No Peppol access point can be reached from the embedded default, so `OutboxPeppolSender` keeps the
UBL in the documents table and marks the message "stored"; an access-point client (Storecove,
Billit, an AS4 gateway…) implements the same `PeppolSender` protocol and returns its message id.

One `peppol_messages` row per document, written before the call: a retried activity finds it and
never hands the same invoice to the network twice once it was accepted.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

from core.db import Database
from core.settings import Settings
from models import Document, PeppolMessage

# Peppol document type identifiers (BIS Billing 3.0), for an access point's envelope.
DOCUMENT_TYPES = {
    "ubl_invoice": "urn:oasis:names:specification:ubl:schema:xsd:Invoice-2::Invoice"
    "##urn:cen.eu:en16931:2017#compliant#urn:fdc:peppol.eu:2017:poacc:billing:3.0::2.1",
    "ubl_credit_note": "urn:oasis:names:specification:ubl:schema:xsd:CreditNote-2::CreditNote"
    "##urn:cen.eu:en16931:2017#compliant#urn:fdc:peppol.eu:2017:poacc:billing:3.0::2.1",
}
PROCESS_ID = "urn:fdc:peppol.eu:2017:poacc:billing:01:1.0"
DONE = ("stored", "sent")


@dataclass(frozen=True)
class PeppolEnvelope:
    """What an access point needs: who sends, who receives, what, and the XML itself."""

    message_key: str  # idempotency key for the access point: one per document
    sender: tuple[str, str]
    receiver: tuple[str, str]
    document_type: str
    process: str
    xml: bytes


class PeppolRejected(Exception):
    """The access point refused the document for good (unknown receiver, invalid document)."""


class PeppolSender(Protocol):
    provider: str

    async def send(self, envelope: PeppolEnvelope) -> str | None:
        """Hand the document over; the access point's message id, or None when only stored.

        Raise PeppolRejected for a refusal that a retry cannot fix; anything else is retried."""
        ...


class OutboxPeppolSender:
    """Embedded default: the stored UBL document is the delivery (GET /api/documents/{id})."""

    provider = "outbox"

    async def send(self, envelope: PeppolEnvelope) -> str | None:
        return None


async def dispatch(
    db: Database,
    sender: PeppolSender,
    document: Document,
    seller: tuple[str, str],
    receiver: tuple[str, str],
) -> PeppolMessage:
    """Send `document` over Peppol at most once; returns its message row."""
    async with db.session() as session:
        row = await session.scalar(
            select(PeppolMessage).where(PeppolMessage.document_id == document.id)
        )
        if row is None:
            row = PeppolMessage(
                document_id=document.id,
                mission_id=document.mission_id,
                receiver_scheme=receiver[0],
                receiver_id=receiver[1],
                status="queued",
                provider=sender.provider,
            )
            try:
                async with session.begin_nested():  # add inside: begin_nested() flushes first
                    session.add(row)
                    await session.flush()
            except IntegrityError:
                row = await session.scalar(
                    select(PeppolMessage).where(PeppolMessage.document_id == document.id)
                )
                assert row is not None
    if row.status in DONE:
        return row
    envelope = PeppolEnvelope(
        message_key=f"coopflow-{document.mission_id}-{document.key}-{document.sha256[:16]}",
        sender=seller,
        receiver=receiver,
        document_type=DOCUMENT_TYPES[document.kind],
        process=PROCESS_ID,
        xml=document.content,
    )
    try:
        message_id = await sender.send(envelope)
    except PeppolRejected as err:
        async with db.session() as session:
            failed = await session.get(PeppolMessage, row.id, with_for_update=True)
            assert failed is not None
            failed.status = "failed"
            failed.error = str(err)[:500]
        raise
    async with db.session() as session:
        done = await session.get(PeppolMessage, row.id, with_for_update=True)
        assert done is not None
        if done.status not in DONE:
            done.status = "sent" if message_id else "stored"
            done.provider_message_id = message_id
            done.provider = sender.provider
            done.error = None
        return done


def sender_for(settings: Settings) -> PeppolSender:
    """The configured Peppol sender. Only the outbox exists until an access point is chosen."""
    return OutboxPeppolSender()
