"""Stuck cases for the ops console, each with why: flagged needs-attention, an activity that keeps
failing (read from Temporal's pending activities), a human step overdue, a payment in suspense,
a mission waiting for the guarantee gate's approval or deposit, a salary that took the guarantee
fund below its floor (issue 12).

Temporal is asked about a bounded number of missions only (open, recently active, most recent
first) and a few at a time: the console must not turn into a load test of the frontend.
"""

from __future__ import annotations

import asyncio
import logging
from dataclasses import asdict, dataclass
from datetime import UTC, date, datetime, timedelta
from typing import Any

from sqlalchemy import and_, func, select
from sqlalchemy.ext.asyncio import AsyncSession
from temporalio.client import Client

from contracts.stages import Stage
from models import FundAlert, Mission, Payout, TimelineEvent, utcnow
from services import collection, parameters
from services.access import Viewer, scope_missions
from services.mission_filters import anchored_today

log = logging.getLogger(__name__)

MAX_DESCRIBES = 50  # Temporal describe calls per listing
DESCRIBE_CONCURRENCY = 5
ACTIVE_WITHIN = timedelta(days=30)  # real time since the mission row last changed
MAX_LISTED = 500  # per kind of case: a console page, not an export
KINDS = (
    "needs_attention",
    "failing_activity",
    "overdue_human_step",
    "payment_in_suspense",
    "guarantee_needs_approval",
    "fund_below_floor",
)


@dataclass(frozen=True)
class StuckCase:
    """One stuck case and why; `mission_id` is None for a payment in suspense."""

    kind: str
    why: str
    mission_id: int | None
    member_id: int | None = None
    stage: str | None = None
    step: str | None = None
    attempts: int | None = None
    last_error: str | None = None
    next_retry: datetime | None = None
    payment_id: int | None = None
    since: date | None = None

    def as_dict(self) -> dict[str, Any]:
        out = asdict(self)
        out["next_retry"] = self.next_retry.isoformat() if self.next_retry else None
        out["since"] = self.since.isoformat() if self.since else None
        return out


async def stuck_cases(
    session: AsyncSession,
    temporal_client: Client | None,
    viewer: Viewer,
    *,
    min_attempts: int = 3,
    today: date | None = None,
    max_describes: int = MAX_DESCRIBES,
) -> list[StuckCase]:
    """Every stuck case the viewer may see, flagged ones first; `temporal_client` None skips the
    pending-activity check (Temporal down must not take the console down)."""
    today = today or await anchored_today(session)
    cases: list[StuckCase] = []
    cases += await _flagged(session, viewer)
    flagged_ids = {c.mission_id for c in cases}
    if temporal_client is not None:
        cases += await _failing_activities(
            session, temporal_client, viewer, min_attempts, max_describes, flagged_ids
        )
    cases += await _overdue_human_steps(session, viewer, today)
    cases += await _awaiting_guarantee(session, viewer)
    if viewer.role == "ops":  # suspense and the fund belong to no member: ops work them
        cases += await _suspense(session)
        cases += await _fund_alerts(session)
    return cases


async def _awaiting_guarantee(session: AsyncSession, viewer: Viewer) -> list[StuckCase]:
    """Missions the member may not sign until an advisor approves or the client pays a deposit."""
    rows = (
        await session.scalars(
            scope_missions(select(Mission), viewer)
            .where(Mission.guarantee_status == "needs_approval", Mission.stage == Stage.CONTRACT)
            .order_by(Mission.id)
            .limit(MAX_LISTED)
        )
    ).all()
    return [
        StuckCase(
            kind="guarantee_needs_approval",
            why="the member cannot sign until an advisor approves or the client pays a deposit: "
            + "; ".join(str(r.get("message")) for r in m.guarantee_reasons or []),
            mission_id=m.id,
            member_id=m.member_id,
            stage=m.stage,
            since=m.created_on,
        )
        for m in rows
    ]


async def _fund_alerts(session: AsyncSession) -> list[StuckCase]:
    """Salaries paid while the fund could not carry them: the treasury covered, ops decide."""
    rows = (
        await session.execute(
            select(FundAlert, Mission.member_id, Mission.stage)
            .join(Mission, Mission.id == FundAlert.mission_id)
            .where(FundAlert.resolved_at.is_(None))
            .order_by(FundAlert.id)
            .limit(MAX_LISTED)
        )
    ).all()
    return [
        StuckCase(
            kind="fund_below_floor",
            why=alert.message,
            mission_id=alert.mission_id,
            member_id=member_id,
            stage=stage,
            since=alert.business_date,
        )
        for alert, member_id, stage in rows
    ]


async def _flagged(session: AsyncSession, viewer: Viewer) -> list[StuckCase]:
    rows = (
        await session.scalars(
            scope_missions(select(Mission), viewer)
            .where(Mission.needs_attention.is_(True))
            .order_by(Mission.id)
            .limit(MAX_LISTED)
        )
    ).all()
    # Each mission's last needs-attention event, in one query (not one per mission).
    latest = (
        select(func.max(TimelineEvent.id))
        .where(
            TimelineEvent.mission_id.in_([m.id for m in rows]),
            TimelineEvent.step == "needs_attention",
        )
        .group_by(TimelineEvent.mission_id)
    )
    last_events = {
        event.mission_id: event
        for event in await session.scalars(
            select(TimelineEvent).where(TimelineEvent.id.in_(latest))
        )
    }
    out = []
    for m in rows:
        last = last_events.get(m.id)
        detail = (last.detail or {}) if last is not None else {}
        attempts = detail.get("attempts")
        out.append(
            StuckCase(
                kind="needs_attention",
                why=f"{m.attention_step or 'a step'} keeps failing and waits for ops: "
                f"{m.attention_reason or 'no error recorded'}",
                mission_id=m.id,
                member_id=m.member_id,
                stage=m.stage,
                step=m.attention_step,
                attempts=int(attempts) if isinstance(attempts, int) else None,
                last_error=m.attention_reason,
                next_retry=None,  # none scheduled: it runs again when ops retry it
                since=last.business_date if last is not None else None,
            )
        )
    return out


async def _failing_activities(
    session: AsyncSession,
    client: Client,
    viewer: Viewer,
    min_attempts: int,
    max_describes: int,
    skip: set[int | None],
) -> list[StuckCase]:
    # A scalar subquery, not EXISTS: under the OR below PostgreSQL turned EXISTS into a hashed
    # subplan that read every payout; this one is an index probe per candidate, stopped by LIMIT.
    salary_paid = (
        select(Payout.id)
        .where(Payout.mission_id == Mission.id, Payout.period == "salary")
        .limit(1)
        .scalar_subquery()
        .is_not(None)
    )
    candidates = (
        await session.execute(
            scope_missions(select(Mission.id, Mission.member_id, Mission.stage), viewer)  # type: ignore[type-var]
            .where(
                Mission.stage != Stage.CANCELLED,
                ~and_(Mission.stage.in_((Stage.PAID, Stage.WRITTEN_OFF)), salary_paid),
                Mission.needs_attention.is_(False),
                Mission.workflow_started_at.is_not(None),
                Mission.updated_at >= utcnow() - ACTIVE_WITHIN,
            )
            .order_by(Mission.updated_at.desc())
            .limit(max_describes)
        )
    ).all()
    gate = asyncio.Semaphore(DESCRIBE_CONCURRENCY)

    async def look(mission_id: int, member_id: int, stage: str) -> list[StuckCase]:
        async with gate:
            try:
                handle = client.get_workflow_handle(f"mission-{mission_id}")
                desc = await handle.describe()
            except Exception as err:
                log.info("describe of mission %s failed: %s", mission_id, err)
                return []
        found = []
        for pending in desc.raw_description.pending_activities:
            if pending.attempt < min_attempts:
                continue
            error = pending.last_failure.message if pending.HasField("last_failure") else None
            next_retry = (
                pending.next_attempt_schedule_time.ToDatetime(tzinfo=UTC)
                if pending.HasField("next_attempt_schedule_time")
                else None
            )
            name = pending.activity_type.name
            found.append(
                StuckCase(
                    kind="failing_activity",
                    why=f"{name} has failed {pending.attempt - 1} times and is still retrying"
                    + (f": {error}" if error else ""),
                    mission_id=mission_id,
                    member_id=member_id,
                    stage=stage,
                    step=name,
                    attempts=pending.attempt,
                    last_error=error,
                    next_retry=next_retry,
                )
            )
        return found

    results = await asyncio.gather(
        *(look(mid, member, stage) for mid, member, stage in candidates if mid not in skip)
    )
    return [case for cases in results for case in cases]


async def _overdue_human_steps(
    session: AsyncSession, viewer: Viewer, today: date
) -> list[StuckCase]:
    policy = await parameters.lifecycle_policy(session, today)
    out = []
    # The contract: chased once half the confirmation window is gone (cancelled at its end).
    half = max(policy.confirmation_days // 2, 1)
    contract = (
        await session.scalars(
            scope_missions(select(Mission), viewer)
            .where(
                Mission.stage == Stage.CONTRACT,
                Mission.created_on <= today - timedelta(days=half),
            )
            .order_by(Mission.id)
            .limit(MAX_LISTED)
        )
    ).all()
    for m in contract:
        missing = []
        if m.signed_at is None:
            missing.append("the member's signature")
        if m.client_confirmed_at is None:
            missing.append("the client's confirmation")
        if not missing:
            continue
        deadline = m.created_on + timedelta(days=policy.confirmation_days)
        out.append(
            StuckCase(
                kind="overdue_human_step",
                why=f"waiting {(today - m.created_on).days} days for {' and '.join(missing)}; "
                f"cancelled automatically on {deadline.isoformat()}",
                mission_id=m.id,
                member_id=m.member_id,
                stage=m.stage,
                step="signature" if m.signed_at is None else "client_confirmation",
                since=m.created_on,
            )
        )
    late = today - timedelta(days=policy.report_reminder_days)
    reports = (
        await session.scalars(
            scope_missions(select(Mission), viewer)
            .where(
                Mission.stage == Stage.WORK_REPORT,
                Mission.days_worked.is_(None),
                Mission.end_date < late,
            )
            .order_by(Mission.id)
            .limit(MAX_LISTED)
        )
    ).all()
    for m in reports:
        out.append(
            StuckCase(
                kind="overdue_human_step",
                why=f"work report overdue: the work ended on {m.end_date.isoformat()}, "
                f"{(today - m.end_date).days} days ago",
                mission_id=m.id,
                member_id=m.member_id,
                stage=m.stage,
                step="work_report",
                since=m.end_date,
            )
        )
    return out


async def _suspense(session: AsyncSession) -> list[StuckCase]:
    """Every payment with money still in suspense (INV-7): unmatched, overpaid, or on an
    invoice already paid; ops match it to an invoice or refund it."""
    rows = await collection.unmatched_payments(session, None, suspense=True)
    rows = sorted(rows, key=lambda p: p.id)[:MAX_LISTED]
    positions = await collection.suspense_positions(session, rows)
    return [
        StuckCase(
            kind="payment_in_suspense",
            why=f"payment {p.bank_transaction_id} of {p.amount:.2f} EUR: "
            f"{positions[p.id].open:.2f} EUR in suspense ({positions[p.id].reason})"
            + (
                f" (communication {p.structured_communication or p.communication})"
                if p.structured_communication or p.communication
                else ""
            ),
            mission_id=None,
            payment_id=p.id,
            since=p.received_on,
        )
        for p in rows
    ]
