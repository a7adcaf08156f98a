"""The guarantee fund's own records: top-ups by ops, client deposits that clear a mission's
guarantee gate, and alerts when a salary took the fund below its floor (the ledger has the
money, these who, why and what ops must look at)."""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal

from sqlalchemy import Date, ForeignKey, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from models.base import Base, Money, UTCDateTime, utcnow


class FundTopUp(Base):
    """Money put into the guarantee fund: once per reference (a bank transfer, a board decision)."""

    __tablename__ = "fund_top_ups"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    reference: Mapped[str] = mapped_column(String(64), unique=True)
    amount: Mapped[Decimal] = mapped_column(Money)
    reason: Mapped[str] = mapped_column(Text)
    business_date: Mapped[date] = mapped_column(Date)
    recorded_by_user_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class GuaranteeDeposit(Base):
    """Money a client paid in advance so that a mission the fund would not guarantee may be
    signed: once per reference (the bank transfer), booked Dr bank / Cr client_deposits."""

    __tablename__ = "guarantee_deposits"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    mission_id: Mapped[int] = mapped_column(ForeignKey("missions.id"), index=True)
    reference: Mapped[str] = mapped_column(String(64), unique=True)
    amount: Mapped[Decimal] = mapped_column(Money)
    required: Mapped[Decimal] = mapped_column(Money)  # what the rules asked for, at the time
    reason: Mapped[str] = mapped_column(Text)
    business_date: Mapped[date] = mapped_column(Date)
    recorded_by_user_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class FundAlert(Base):
    """Something about the fund ops must look at: a salary paid while the fund could not carry
    it (`below_floor`), with the treasury's cover. Once per (kind, mission): a retried payday
    does not raise it twice. `resolved_at` is set when ops have dealt with it."""

    __tablename__ = "fund_alerts"
    __table_args__ = (UniqueConstraint("kind", "mission_id"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    kind: Mapped[str] = mapped_column(String(32))
    mission_id: Mapped[int] = mapped_column(ForeignKey("missions.id"), index=True)
    business_date: Mapped[date] = mapped_column(Date)
    message: Mapped[str] = mapped_column(Text)
    advance: Mapped[Decimal] = mapped_column(Money)
    available_before: Mapped[Decimal] = mapped_column(Money)
    floor: Mapped[Decimal] = mapped_column(Money)
    covered_by_treasury: Mapped[Decimal] = mapped_column(Money)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    resolved_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
