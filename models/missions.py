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
    Index,
    Integer,
    String,
    Text,
    UniqueConstraint,
    text,
)
from sqlalchemy.orm import Mapped, mapped_column

from models.base import Base, Money, UTCDateTime, utcnow


class Mission(Base):
    __tablename__ = "missions"
    __table_args__ = (
        # The dashboard's pipeline and dunning ladder per advisor (their members' missions by
        # stage) and the missions an advisor sees, as index-only scans (migration 0016).
        Index(
            "ix_missions_member_id_stage",
            "member_id",
            "stage",
            postgresql_include=["id", "amount_excl_vat", "dunning_level"],
        ),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    member_id: Mapped[int] = mapped_column(ForeignKey("members.id"), index=True)
    client_id: Mapped[int] = mapped_column(ForeignKey("clients.id"), index=True)
    title: Mapped[str] = mapped_column(String(200))
    start_date: Mapped[date] = mapped_column(Date)
    end_date: Mapped[date] = mapped_column(Date)
    amount_excl_vat: Mapped[Decimal] = mapped_column(Money)
    vat_rate: Mapped[Decimal] = mapped_column(Money)  # percent, exact to 2 decimals
    # "ordinary" (white-collar employee) or "artistic" (art. 1bis: contributions on 108 %):
    # chosen on the form, it decides the payroll and is printed on every document.
    contract_type: Mapped[str] = mapped_column(
        String(16), default="ordinary", server_default="ordinary"
    )
    # The legal ground of a 0 % VAT rate (a code of the `vat.exemption_grounds` parameter);
    # NULL when VAT is charged (migration 0022).
    vat_exemption: Mapped[str | None] = mapped_column(String(32))
    stage: Mapped[str] = mapped_column(String(16), index=True, default="contract")
    needs_attention: Mapped[bool] = mapped_column(Boolean, default=False, index=True)
    attention_reason: Mapped[str | None] = mapped_column(Text)
    attention_step: Mapped[str | None] = mapped_column(String(32))
    dunning_level: Mapped[int] = mapped_column(Integer, default=0)
    created_on: Mapped[date] = mapped_column(Date)  # business date the mission was created
    # The day the salary's transfer executes (the workflow waits for it): the last TARGET2 day
    # on or before `pay_due_date`, the legal latest credit date (7th wage working day after the
    # work, Saturdays counted; domain/calendar.py). NULL only for rows older than migration 0019
    # whose end date was not readable.
    pay_date: Mapped[date] = mapped_column(Date)
    pay_due_date: Mapped[date | None] = mapped_column(Date)
    # Whether the guarantee fund stands behind the salary, decided before the contract is
    # signed (services/missions.py): "guaranteed" by the fund's rules, "needs_approval" (the
    # member may not sign yet; `guarantee_reasons` say why), then "approved" by an advisor or
    # ops, or "deposit" once the client's deposit is recorded. Wages are paid whatever it says.
    guarantee_status: Mapped[str] = mapped_column(
        String(16), default="guaranteed", server_default="guaranteed"
    )
    guarantee_reasons: Mapped[list[dict[str, Any]] | None] = mapped_column(JSON)
    guarantee_cleared_by: Mapped[str | None] = mapped_column(String(254))
    guarantee_cleared_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    guarantee_note: Mapped[str | None] = mapped_column(Text)
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


class MissionStageDates(Base):
    """Per mission, the business date it entered each stage, as its timeline says: what the
    dashboard's stage durations read (services/dashboard.py).

    Kept by a database trigger on `timeline_events` INSERT (migration 0016; UPDATE and DELETE
    recompute the mission's row), so every writer keeps it right, the services, the tests and the
    bench loader alike. The dates are the timeline's: `contract` the first `created`,
    `declaration_at` the later of `signed` and `client_confirmed` (`contract_parts` how many of the
    two there are: the declaration starts when both are), `in_progress` `declaration:in`,
    `work_report` `work_report_due`, `invoiced` `invoiced`, `dunning` the first `dunning:*`,
    `ended` the first of `paid`, `written_off`, `cancelled`, `credited`. `last_at` is the latest
    of them but `contract`: no stay ends after it (the durations' period filter)."""

    __tablename__ = "mission_stage_dates"

    mission_id: Mapped[int] = mapped_column(ForeignKey("missions.id"), primary_key=True)
    contract: Mapped[date | None] = mapped_column(Date)
    declaration_at: Mapped[date | None] = mapped_column(Date)
    contract_parts: Mapped[int] = mapped_column(Integer, default=0, server_default=text("0"))
    in_progress: Mapped[date | None] = mapped_column(Date)
    work_report: Mapped[date | None] = mapped_column(Date)
    invoiced: Mapped[date | None] = mapped_column(Date)
    dunning: Mapped[date | None] = mapped_column(Date)
    ended: Mapped[date | None] = mapped_column(Date)
    last_at: Mapped[date | None] = mapped_column(Date, index=True)


class StageStayCount(Base):
    """How many stays in `stage` ended on `ended_on` after `days` days, over the whole book: the
    stays of `mission_stage_dates`, counted by a trigger on that table as its rows change
    (migration 0016), so that the book-wide stage durations read a few hundred rows per period
    instead of every mission's dates. Rows may fall to 0 stays (a stay that moved)."""

    __tablename__ = "stage_stay_counts"

    ended_on: Mapped[date] = mapped_column(Date, primary_key=True)
    stage: Mapped[str] = mapped_column(String(16), primary_key=True)
    days: Mapped[int] = mapped_column(Integer, primary_key=True)
    stays: Mapped[int] = mapped_column(Integer)


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
