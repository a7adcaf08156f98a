"""A mission and what the workflow keeps in step with it: the read model behind every list page."""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import (
    JSON,
    Boolean,
    Date,
    ForeignKey,
    Integer,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, mapped_column

from models.base import Base, Money, UTCDateTime, utcnow

STAGES = (
    "contract",
    "declaration",
    "in_progress",
    "work_report",
    "invoiced",
    "dunning",
    "paid",
    "written_off",
    "cancelled",
)


class Mission(Base):
    __tablename__ = "missions"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    member_id: Mapped[int] = mapped_column(ForeignKey("members.id"), index=True)
    client_id: Mapped[int] = mapped_column(ForeignKey("clients.id"), index=True)
    title: Mapped[str] = mapped_column(String(200))
    start_date: Mapped[date] = mapped_column(Date)
    end_date: Mapped[date] = mapped_column(Date)
    amount_excl_vat: Mapped[Decimal] = mapped_column(Money)
    vat_rate: Mapped[Decimal] = mapped_column(Money)  # percent, exact to 2 decimals
    stage: Mapped[str] = mapped_column(String(16), index=True, default="contract")
    needs_attention: Mapped[bool] = mapped_column(Boolean, default=False, index=True)
    attention_reason: Mapped[str | None] = mapped_column(Text)
    attention_step: Mapped[str | None] = mapped_column(String(32))
    dunning_level: Mapped[int] = mapped_column(Integer, default=0)
    created_on: Mapped[date] = mapped_column(Date)  # business date the mission was created
    pay_date: Mapped[date] = mapped_column(Date)  # the day-7 salary date
    signed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    client_confirmed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    client_confirmation_method: Mapped[str | None] = mapped_column(String(200))
    days_worked: Mapped[int | None] = mapped_column(Integer)
    cancel_reason: Mapped[str | None] = mapped_column(Text)
    workflow_id: Mapped[str | None] = mapped_column(String(64), unique=True)
    # Set once Temporal accepted the start: a NULL here after a crash means "start it again".
    workflow_started_at: Mapped[datetime | None] = mapped_column(UTCDateTime, index=True)
    estimate: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    created_by_user_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    # indexed: the ops console looks at the most recently active missions first
    updated_at: Mapped[datetime] = mapped_column(
        UTCDateTime, default=utcnow, onupdate=utcnow, index=True
    )


class Expense(Base):
    """A line of the member's work report, rebilled to the client and reimbursed at cost."""

    __tablename__ = "expenses"
    __table_args__ = (UniqueConstraint("mission_id", "position"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    mission_id: Mapped[int] = mapped_column(ForeignKey("missions.id"), index=True)
    position: Mapped[int] = mapped_column(Integer)
    label: Mapped[str] = mapped_column(String(200))
    amount: Mapped[Decimal] = mapped_column(Money)


class TimelineEvent(Base):
    """One step of a mission's life, recorded once (the key makes a retried activity harmless)."""

    __tablename__ = "timeline_events"
    __table_args__ = (UniqueConstraint("mission_id", "key"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    mission_id: Mapped[int] = mapped_column(ForeignKey("missions.id"), index=True)
    key: Mapped[str] = mapped_column(String(64))
    step: Mapped[str] = mapped_column(String(32))
    occurred_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    business_date: Mapped[date] = mapped_column(Date)
    actor: Mapped[str | None] = mapped_column(String(254))
    detail: Mapped[dict[str, Any] | None] = mapped_column(JSON)


class Declaration(Base):
    """An employment declaration (Dimona-like) accepted by the gateway: at most one per kind."""

    __tablename__ = "declarations"
    __table_args__ = (UniqueConstraint("mission_id", "kind"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    mission_id: Mapped[int] = mapped_column(ForeignKey("missions.id"), index=True)
    kind: Mapped[str] = mapped_column(String(16))
    reference: Mapped[str] = mapped_column(String(64))
    filed_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    business_date: Mapped[date] = mapped_column(Date)
