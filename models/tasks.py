"""Staff tasks: work the back office asks of a person (issue 15 grows this into the task inbox).

One row per task, made once: `key` is the task's business identity (e.g.
"rate:b2b_interest:2028-01-01"), UNIQUE, so the periodic job that makes it may run on every
worker, again and again, and the task still exists once. `title` is an English message with
%(name)s placeholders and `params` its values: the pages translate it (web/i18n.py).
"""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from sqlalchemy import JSON, CheckConstraint, Date, ForeignKey, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from models.base import Base, UTCDateTime, utcnow

TASK_STATUSES = ("open", "done")


class StaffTask(Base):
    """Something staff must do by `due_on` (enter a rate, ...); done once, by whom and when."""

    __tablename__ = "staff_tasks"
    __table_args__ = (CheckConstraint("status IN ('open', 'done')", name="status_known"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    kind: Mapped[str] = mapped_column(String(48), index=True)
    key: Mapped[str] = mapped_column(String(200), unique=True)
    title: Mapped[str] = mapped_column(Text)
    params: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    due_on: Mapped[date] = mapped_column(Date)
    status: Mapped[str] = mapped_column(String(16), default="open", index=True)
    link: Mapped[str | None] = mapped_column(String(500))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    done_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    done_by: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
