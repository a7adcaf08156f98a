"""Generated documents (PDFs, UBL e-invoices) and the Peppol outbox.

A document is written once and never changed: bytes, SHA-256 and the template version that made
them. Asking for the same (mission, key) again returns that same row; the table refuses UPDATE and
DELETE (triggers in migration 0010).
"""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal

from sqlalchemy import (
    Date,
    ForeignKey,
    Integer,
    LargeBinary,
    PrimaryKeyConstraint,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, mapped_column

from models.base import Base, Money, UTCDateTime, utcnow


class Document(Base):
    __tablename__ = "documents"
    __table_args__ = (UniqueConstraint("mission_id", "key"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    mission_id: Mapped[int] = mapped_column(ForeignKey("missions.id"), index=True)
    # What it is (invoice, contract, reminder_1, ubl_invoice, …) and which one: the key is unique
    # per mission ("invoice", "credit_note:12", "ubl_credit_note:12").
    kind: Mapped[str] = mapped_column(String(32))
    key: Mapped[str] = mapped_column(String(64))
    audience: Mapped[str] = mapped_column(String(8))  # client | member
    language: Mapped[str] = mapped_column(String(2))
    filename: Mapped[str] = mapped_column(String(128))
    media_type: Mapped[str] = mapped_column(String(64))
    template_version: Mapped[str] = mapped_column(String(64))
    sha256: Mapped[str] = mapped_column(String(64))
    size: Mapped[int] = mapped_column(Integer)
    # The bytes are read only where they are sent or downloaded (`undefer(Document.content)`):
    # a page listing documents must not load megabytes of PDF; touching them unloaded raises.
    content: Mapped[bytes] = mapped_column(LargeBinary, deferred=True, deferred_raiseload=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class PeppolMessage(Base):
    """One e-invoice handed to the Peppol port, at most once per document."""

    __tablename__ = "peppol_messages"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    document_id: Mapped[int] = mapped_column(ForeignKey("documents.id"), unique=True)
    mission_id: Mapped[int] = mapped_column(ForeignKey("missions.id"), index=True)
    receiver_scheme: Mapped[str] = mapped_column(String(8))
    receiver_id: Mapped[str] = mapped_column(String(64))
    status: Mapped[str] = mapped_column(String(16), default="queued")  # queued|stored|sent|failed
    provider: Mapped[str] = mapped_column(String(32), default="outbox")
    provider_message_id: Mapped[str | None] = mapped_column(String(128))
    error: Mapped[str | None] = mapped_column(String(500))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class EmailAttachment(Base):
    """Which documents went with which email (the PDFs, attached by reference)."""

    __tablename__ = "email_attachments"
    __table_args__ = (PrimaryKeyConstraint("email_id", "document_id"),)

    email_id: Mapped[int] = mapped_column(ForeignKey("outbox_emails.id"))
    document_id: Mapped[int] = mapped_column(ForeignKey("documents.id"))


class ContractAmendment(Base):
    """A written amendment to a mission's employment contract: the gross changes only this way,
    never by a silent recalculation. Numbered per mission; its PDF is the document
    "contract_amendment:<sequence>"."""

    __tablename__ = "contract_amendments"
    __table_args__ = (UniqueConstraint("mission_id", "sequence"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    mission_id: Mapped[int] = mapped_column(ForeignKey("missions.id"), index=True)
    sequence: Mapped[int] = mapped_column(Integer)
    business_date: Mapped[date] = mapped_column(Date)
    old_gross: Mapped[Decimal] = mapped_column(Money)
    new_gross: Mapped[Decimal] = mapped_column(Money)
    reason: Mapped[str] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
