"""Dated parameters, the business clock, simulated gateways and the email outbox."""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from sqlalchemy import JSON, Date, Float, ForeignKey, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from models.base import Base, UTCDateTime, utcnow


class Parameter(Base):
    """A rate, threshold or policy valid over a date range: a new rate is a row, not a deploy."""

    __tablename__ = "parameters"
    __table_args__ = (UniqueConstraint("key", "valid_from"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    key: Mapped[str] = mapped_column(String(64), index=True)
    valid_from: Mapped[date] = mapped_column(Date)
    valid_to: Mapped[date | None] = mapped_column(Date)
    value: Mapped[dict[str, Any]] = mapped_column(JSON)
    source: Mapped[str | None] = mapped_column(Text)


class ClockAnchor(Base):
    """Where business day `anchor_date` began in real time, and how long a business day lasts."""

    __tablename__ = "clock_anchor"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    anchor_real: Mapped[datetime] = mapped_column(UTCDateTime)
    anchor_date: Mapped[date] = mapped_column(Date)
    day_seconds: Mapped[float] = mapped_column(Float)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class GatewaySetting(Base):
    """Behaviour of a simulated external service of the embedded default, changeable at runtime."""

    __tablename__ = "gateway_settings"

    name: Mapped[str] = mapped_column(String(32), primary_key=True)
    failure_rate: Mapped[float] = mapped_column(Float, default=0.0)
    latency_seconds: Mapped[float] = mapped_column(Float, default=0.0)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)


class OutboxEmail(Base):
    """One email per (mission, template, step): a retried activity never sends a different one."""

    __tablename__ = "outbox_emails"
    __table_args__ = (UniqueConstraint("mission_id", "template", "step"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    mission_id: Mapped[int | None] = mapped_column(ForeignKey("missions.id"), index=True)
    template: Mapped[str] = mapped_column(String(48))
    step: Mapped[str] = mapped_column(String(48))
    language: Mapped[str] = mapped_column(String(2))
    recipient: Mapped[str] = mapped_column(String(254))
    subject: Mapped[str] = mapped_column(String(300))
    body: Mapped[str] = mapped_column(Text)
    status: Mapped[str] = mapped_column(String(16), default="queued")
    provider: Mapped[str] = mapped_column(String(16), default="outbox")
    provider_message_id: Mapped[str | None] = mapped_column(String(128))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
