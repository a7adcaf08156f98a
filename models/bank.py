"""Bank statements imported from camt.053 files and each of their entries, booked once."""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import JSON, Date, ForeignKey, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from models.base import Base, Money, UTCDateTime, utcnow


class BankStatement(Base):
    """One imported camt.053 statement: once per (account, statement id); a re-import of the
    same statement answers this row."""

    __tablename__ = "bank_statements"
    __table_args__ = (UniqueConstraint("account", "statement_id"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    account: Mapped[str] = mapped_column(String(34))  # IBAN, compact
    statement_id: Mapped[str] = mapped_column(String(35))
    message_id: Mapped[str] = mapped_column(String(35))
    version: Mapped[str] = mapped_column(String(40))  # the camt namespace's version, 053.001.08
    sequence: Mapped[int | None] = mapped_column(Integer)  # ElctrncSeqNb
    from_date: Mapped[date | None] = mapped_column(Date)
    to_date: Mapped[date | None] = mapped_column(Date)
    opening_balance: Mapped[Decimal | None] = mapped_column(Money)
    closing_balance: Mapped[Decimal | None] = mapped_column(Money)
    sha256: Mapped[str] = mapped_column(String(64), index=True)
    filename: Mapped[str] = mapped_column(String(255))
    entries: Mapped[int] = mapped_column(Integer)  # lines in the file
    created: Mapped[int] = mapped_column(Integer)  # lines booked by this import
    ignored: Mapped[int] = mapped_column(Integer)  # lines another import had booked already
    applied: Mapped[int] = mapped_column(Integer)  # credits applied to an invoice
    suspense: Mapped[int] = mapped_column(Integer)  # credits (or parts) left in suspense
    debits: Mapped[int] = mapped_column(Integer)  # debit lines recorded, not applied
    imported_by_user_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class BankEntry(Base):
    """One line of a statement, booked once per (account, bank reference) whatever the file it
    came in (INV-7): a credit is a `payments` row (applied or in suspense), a debit is kept
    here, visible, and applied to nothing."""

    __tablename__ = "bank_entries"
    __table_args__ = (UniqueConstraint("account", "reference"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    account: Mapped[str] = mapped_column(String(34))
    reference: Mapped[str] = mapped_column(String(64))  # AcctSvcrRef, else NtryRef, else ...
    statement_id: Mapped[int] = mapped_column(ForeignKey("bank_statements.id"), index=True)
    direction: Mapped[str] = mapped_column(String(4))  # CRDT | DBIT
    amount: Mapped[Decimal] = mapped_column(Money)
    booked_on: Mapped[date] = mapped_column(Date)
    counterparty: Mapped[str | None] = mapped_column(String(140))
    counterparty_iban: Mapped[str | None] = mapped_column(String(34))
    communication: Mapped[str | None] = mapped_column(Text)  # Strd ref and/or Ustrd, as sent
    outcome: Mapped[str] = mapped_column(String(16))  # applied | suspense | debit
    reason: Mapped[str | None] = mapped_column(Text)
    payment_id: Mapped[int | None] = mapped_column(ForeignKey("payments.id"), index=True)
    suggestions: Mapped[list[Any]] = mapped_column(JSON, default=list)  # invoice numbers
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
