"""Invoices, client payments, salary payouts, write-offs and the double-entry ledger."""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import (
    JSON,
    Date,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
    UniqueConstraint,
    text,
)
from sqlalchemy.orm import Mapped, mapped_column

from models.base import Base, Money, UTCDateTime, utcnow


class InvoiceCounter(Base):
    """Last number issued per series and year, bumped in the invoice's own transaction (no gaps)."""

    __tablename__ = "invoice_counters"

    series: Mapped[str] = mapped_column(String(8), primary_key=True)
    year: Mapped[int] = mapped_column(Integer, primary_key=True)
    last_number: Mapped[int] = mapped_column(Integer, default=0)


class Invoice(Base):
    __tablename__ = "invoices"
    __table_args__ = (
        UniqueConstraint("series", "year", "sequence"),
        UniqueConstraint("mission_id", "kind"),
        # The dashboard's receivables ageing: the open invoices only, index-only (migration 0016).
        Index(
            "ix_invoices_open",
            "mission_id",
            postgresql_include=["due_date", "balance"],
            postgresql_where=text("kind = 'invoice' AND status = 'open' AND balance > 0"),
            sqlite_where=text("kind = 'invoice' AND status = 'open' AND balance > 0"),
        ),
        # The dunning ladder's balance per mission (invoices, not credit notes), index-only.
        Index(
            "ix_invoices_invoice_balance",
            "mission_id",
            postgresql_include=["balance"],
            postgresql_where=text("kind = 'invoice'"),
            sqlite_where=text("kind = 'invoice'"),
        ),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    mission_id: Mapped[int] = mapped_column(ForeignKey("missions.id"), index=True)
    client_id: Mapped[int] = mapped_column(ForeignKey("clients.id"), index=True)
    kind: Mapped[str] = mapped_column(String(16), default="invoice")
    series: Mapped[str] = mapped_column(String(8))
    year: Mapped[int] = mapped_column(Integer)
    sequence: Mapped[int] = mapped_column(Integer)
    number: Mapped[str] = mapped_column(String(32), unique=True)
    issue_date: Mapped[date] = mapped_column(Date)
    due_date: Mapped[date] = mapped_column(Date, index=True)
    structured_communication: Mapped[str] = mapped_column(String(20), unique=True)
    vat_rate: Mapped[Decimal] = mapped_column(Money)
    # EN 16931 VAT category (S, E, AE, O, K, G) and the legal mention printed with it.
    vat_category: Mapped[str] = mapped_column(String(2), default="S")
    vat_mention: Mapped[str | None] = mapped_column(Text)
    # The 0 % ground as issued (its code and VATEX code), and the check of the client's VAT
    # number made at issue time: "valid" | "invalid" | "not_checked" (migration 0022).
    vat_exemption: Mapped[str | None] = mapped_column(String(32))
    vat_exemption_code: Mapped[str | None] = mapped_column(String(32))
    vat_check_status: Mapped[str | None] = mapped_column(String(16))
    vat_checked_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    vat_check_reference: Mapped[str | None] = mapped_column(String(64))
    vat_check_detail: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    total_excl_vat: Mapped[Decimal] = mapped_column(Money)
    vat_amount: Mapped[Decimal] = mapped_column(Money)
    total_incl_vat: Mapped[Decimal] = mapped_column(Money)
    # What the client still owes, and its split: costs and interest are paid before principal.
    balance: Mapped[Decimal] = mapped_column(Money)
    principal_open: Mapped[Decimal] = mapped_column(Money, default=Decimal("0.00"))
    interest_open: Mapped[Decimal] = mapped_column(Money, default=Decimal("0.00"))
    costs_open: Mapped[Decimal] = mapped_column(Money, default=Decimal("0.00"))
    status: Mapped[str] = mapped_column(String(16), default="open", index=True)
    paid_on: Mapped[date | None] = mapped_column(Date)
    lines: Mapped[list[dict[str, Any]]] = mapped_column(JSON)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class CreditNote(Base):
    """A full or partial cancellation of an invoice, numbered in its own gap-free series."""

    __tablename__ = "credit_notes"
    __table_args__ = (UniqueConstraint("series", "year", "sequence"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    invoice_id: Mapped[int] = mapped_column(ForeignKey("invoices.id"), index=True)
    mission_id: Mapped[int] = mapped_column(ForeignKey("missions.id"), index=True)
    client_id: Mapped[int] = mapped_column(ForeignKey("clients.id"), index=True)
    series: Mapped[str] = mapped_column(String(8))
    year: Mapped[int] = mapped_column(Integer)
    sequence: Mapped[int] = mapped_column(Integer)
    number: Mapped[str] = mapped_column(String(32), unique=True)
    issue_date: Mapped[date] = mapped_column(Date)
    full: Mapped[bool] = mapped_column(default=False)
    reason: Mapped[str] = mapped_column(Text)
    vat_rate: Mapped[Decimal] = mapped_column(Money)
    vat_category: Mapped[str] = mapped_column(String(2))
    amount_excl_vat: Mapped[Decimal] = mapped_column(Money)
    vat_amount: Mapped[Decimal] = mapped_column(Money)
    amount_incl_vat: Mapped[Decimal] = mapped_column(Money)
    # Where the excl.-VAT part was taken back from (the ledger transaction says the same).
    fee_income: Mapped[Decimal] = mapped_column(Money)
    fund_contribution: Mapped[Decimal] = mapped_column(Money)
    member_share: Mapped[Decimal] = mapped_column(Money)
    fund_share: Mapped[Decimal] = mapped_column(Money)
    # The price excl. VAT the member's salary is computed on after this note.
    salary_base_after: Mapped[Decimal] = mapped_column(Money)
    created_by_user_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class Payment(Base):
    """A client payment seen on the bank account; kept even when it matches nothing (suspense)."""

    __tablename__ = "payments"
    __table_args__ = (UniqueConstraint("bank_account", "bank_transaction_id"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    bank_account: Mapped[str] = mapped_column(String(34), default="main")
    bank_transaction_id: Mapped[str] = mapped_column(String(64))
    amount: Mapped[Decimal] = mapped_column(Money)
    received_on: Mapped[date] = mapped_column(Date)
    communication: Mapped[str | None] = mapped_column(String(140))
    structured_communication: Mapped[str | None] = mapped_column(String(20))
    invoice_id: Mapped[int | None] = mapped_column(ForeignKey("invoices.id"), index=True)
    matched: Mapped[bool] = mapped_column(default=False, index=True)
    recorded_by_user_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class Payout(Base):
    """A salary paid to a member: one per (mission, period), whoever's money it came from."""

    __tablename__ = "payouts"
    __table_args__ = (UniqueConstraint("mission_id", "period"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    mission_id: Mapped[int] = mapped_column(ForeignKey("missions.id"), index=True)
    period: Mapped[str] = mapped_column(String(16), default="salary")
    source: Mapped[str] = mapped_column(String(8))  # "fund" | "client"
    paid_on: Mapped[date] = mapped_column(Date)
    iban: Mapped[str] = mapped_column(String(34))
    end_to_end_id: Mapped[str] = mapped_column(String(35), unique=True)
    gross_salary: Mapped[Decimal] = mapped_column(Money)
    net_amount: Mapped[Decimal] = mapped_column(Money)
    expenses: Mapped[Decimal] = mapped_column(Money)
    payroll: Mapped[dict[str, Any]] = mapped_column(JSON)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class PayrollTrueUp(Base):
    """A correction of a paid salary (e.g. the quarterly DmfA), kept beside it: never an edit."""

    __tablename__ = "payroll_true_ups"
    __table_args__ = (UniqueConstraint("payout_id", "sequence"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    mission_id: Mapped[int] = mapped_column(ForeignKey("missions.id"), index=True)
    payout_id: Mapped[int] = mapped_column(ForeignKey("payouts.id"), index=True)
    sequence: Mapped[int] = mapped_column(Integer)
    business_date: Mapped[date] = mapped_column(Date)
    reason: Mapped[str] = mapped_column(Text)
    employer_contributions_delta: Mapped[Decimal] = mapped_column(Money)
    employee_contributions_delta: Mapped[Decimal] = mapped_column(Money)
    withholding_tax_delta: Mapped[Decimal] = mapped_column(Money)
    net_salary_delta: Mapped[Decimal] = mapped_column(Money)
    corrected: Mapped[dict[str, Any]] = mapped_column(JSON)
    recorded_by_user_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class DunningStep(Base):
    """One rung of the dunning ladder as it was climbed, with what the law allowed to claim."""

    __tablename__ = "dunning_steps"
    __table_args__ = (UniqueConstraint("invoice_id", "level"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    invoice_id: Mapped[int] = mapped_column(ForeignKey("invoices.id"), index=True)
    mission_id: Mapped[int] = mapped_column(ForeignKey("missions.id"), index=True)
    level: Mapped[int] = mapped_column(Integer)
    step: Mapped[str] = mapped_column(String(32))
    regime: Mapped[str] = mapped_column(String(8))  # "b2b" | "b2c"
    business_date: Mapped[date] = mapped_column(Date)
    # The day the rung's letter really left (its email sent, or recorded sent by hand); None
    # until then. Waiting periods count from it (INV-8), never from `business_date`.
    sent_on: Mapped[date | None] = mapped_column(Date, default=None)
    fixed_compensation: Mapped[Decimal] = mapped_column(Money)
    interest: Mapped[Decimal] = mapped_column(Money)
    penalty: Mapped[Decimal] = mapped_column(Money)
    reminder_fee: Mapped[Decimal] = mapped_column(Money)
    rule: Mapped[str] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class WriteOff(Base):
    __tablename__ = "write_offs"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    invoice_id: Mapped[int] = mapped_column(ForeignKey("invoices.id"), unique=True)
    amount: Mapped[Decimal] = mapped_column(Money)
    business_date: Mapped[date] = mapped_column(Date)
    reason: Mapped[str] = mapped_column(Text)
    # Why (services/fund.py WRITE_OFF_CAUSES) and whether the loss is certain, so that the VAT
    # paid on the invoice is recovered (art. 77 CTVA); otherwise the fund absorbs the VAT too.
    cause: Mapped[str] = mapped_column(String(32), default="dunning_exhausted")
    vat_recoverable: Mapped[bool] = mapped_column(default=False)
    vat_recovered: Mapped[Decimal] = mapped_column(Money, default=Decimal("0.00"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class LedgerTransaction(Base):
    """One business event's balanced posting; the event key makes it happen at most once."""

    __tablename__ = "ledger_transactions"
    # kind filters (recoveries, write-offs) must not scan every transaction (migration 0013)
    __table_args__ = (Index("ix_ledger_transactions_kind", "kind"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    event_key: Mapped[str] = mapped_column(String(96), unique=True)
    kind: Mapped[str] = mapped_column(String(32))
    mission_id: Mapped[int | None] = mapped_column(ForeignKey("missions.id"), index=True)
    business_date: Mapped[date] = mapped_column(Date)
    description: Mapped[str] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class LedgerEntry(Base):
    """A debit (positive) or credit (negative) line; rows are only ever inserted."""

    __tablename__ = "ledger_entries"
    # balances by account and the fund's advances: index-only scans (migration 0013, bench/)
    __table_args__ = (
        Index(
            "ix_ledger_entries_account_transaction_id",
            "account",
            "transaction_id",
            postgresql_include=["amount", "client_id"],
        ),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    transaction_id: Mapped[int] = mapped_column(ForeignKey("ledger_transactions.id"), index=True)
    account: Mapped[str] = mapped_column(String(48), index=True)
    client_id: Mapped[int | None] = mapped_column(ForeignKey("clients.id"), index=True)
    amount: Mapped[Decimal] = mapped_column(Money)


class LedgerBalance(Base):
    """The running balance of one account: what `ledger_entries` sum to, kept by `ledger.post`
    in the posting's own database transaction (reading a balance must not sum the whole ledger)."""

    __tablename__ = "ledger_balances"

    account: Mapped[str] = mapped_column(String(48), primary_key=True)
    balance: Mapped[Decimal] = mapped_column(Money, default=Decimal("0.00"))


class FundAdvanceBalance(Base):
    """The `fund_advances` lines summed per mission and client, kept by `ledger.post` like
    `LedgerBalance`: what the fund has advanced on a mission and not got back."""

    __tablename__ = "fund_advance_balances"
    # the advances still outstanding (most rows go back to zero when the client pays)
    __table_args__ = (
        Index(
            "ix_fund_advance_balances_outstanding",
            "mission_id",
            postgresql_include=["amount"],
            postgresql_where=text("amount <> 0"),
            sqlite_where=text("amount <> 0"),
        ),
    )

    mission_id: Mapped[int] = mapped_column(ForeignKey("missions.id"), primary_key=True)
    client_id: Mapped[int] = mapped_column(ForeignKey("clients.id"), primary_key=True, index=True)
    amount: Mapped[Decimal] = mapped_column(Money, default=Decimal("0.00"))


class FundClientExposure(Base):
    """The `fund_advances` lines summed per client (its exposure), kept by `ledger.post`."""

    __tablename__ = "fund_client_exposures"
    # the most exposed clients first: exposures are credit balances, the largest the lowest
    __table_args__ = (Index("ix_fund_client_exposures_amount", "amount", "client_id"),)

    client_id: Mapped[int] = mapped_column(ForeignKey("clients.id"), primary_key=True)
    amount: Mapped[Decimal] = mapped_column(Money, default=Decimal("0.00"))


class FundMemberExposure(Base):
    """The `fund_advances` lines summed per member of the missions, kept by `ledger.post`."""

    __tablename__ = "fund_member_exposures"
    __table_args__ = (Index("ix_fund_member_exposures_amount", "amount", "member_id"),)

    member_id: Mapped[int] = mapped_column(ForeignKey("members.id"), primary_key=True)
    amount: Mapped[Decimal] = mapped_column(Money, default=Decimal("0.00"))
