"""The ops console's own records: the audit trail of every repair, and bulk runs with their items.

`audit_log` is append-only: UPDATE, DELETE and TRUNCATE are refused by triggers (migration 0012),
like the ledger's and the documents'.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import (
    JSON,
    CheckConstraint,
    Float,
    ForeignKey,
    Integer,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, mapped_column

from models.base import Base, UTCDateTime, utcnow

BULK_ITEM_STATUSES = ("pending", "done", "refused")
BULK_RUN_STATUSES = ("running", "finished")


class AuditEntry(Base):
    """Who did what to which target, when, why, and the target before and after."""

    __tablename__ = "audit_log"
    __table_args__ = (CheckConstraint("length(trim(reason)) > 0", name="reason_required"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    user_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"), index=True)
    user_label: Mapped[str] = mapped_column(String(254))
    role: Mapped[str] = mapped_column(String(16))
    at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, index=True)
    action: Mapped[str] = mapped_column(String(48), index=True)
    target_type: Mapped[str] = mapped_column(String(32))
    target_id: Mapped[str] = mapped_column(String(64))
    # The mission concerned, when there is one: the mission page shows its audit trail.
    mission_id: Mapped[int | None] = mapped_column(ForeignKey("missions.id"), index=True)
    reason: Mapped[str] = mapped_column(Text)
    before: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    after: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    bulk_run_id: Mapped[int | None] = mapped_column(ForeignKey("bulk_runs.id"), index=True)


class BulkRun(Base):
    """One bulk action on a previewed set of missions, executed at a bounded rate."""

    __tablename__ = "bulk_runs"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    action: Mapped[str] = mapped_column(String(32))
    reason: Mapped[str] = mapped_column(Text)
    params: Mapped[dict[str, Any]] = mapped_column(JSON)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    role: Mapped[str] = mapped_column(String(16))
    # queued (its workflow not started yet) | running | finished | cancelled. The run's driver is
    # its workflow, BulkRepairWorkflow `bulk-<id>` (workflows/bulk.py).
    status: Mapped[str] = mapped_column(String(16), default="queued", index=True)
    rate_per_second: Mapped[float] = mapped_column(Float)
    total: Mapped[int] = mapped_column(Integer)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    finished_at: Mapped[datetime | None] = mapped_column(UTCDateTime)


class BulkItem(Base):
    """One mission of a bulk run and what became of it: pending, done, refused (with why) or
    cancelled (the run was cancelled before it)."""

    __tablename__ = "bulk_items"
    __table_args__ = (UniqueConstraint("run_id", "mission_id"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    run_id: Mapped[int] = mapped_column(ForeignKey("bulk_runs.id"), index=True)
    mission_id: Mapped[int] = mapped_column(ForeignKey("missions.id"))
    position: Mapped[int] = mapped_column(Integer)
    status: Mapped[str] = mapped_column(String(16), default="pending", index=True)
    result: Mapped[str | None] = mapped_column(Text)
    done_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
