"""Bulk repairs on a filtered set of missions: a preview listing exactly the targets, then a run at
a bounded rate whose progress and per-mission results (done / refused / cancelled, with the
reason) live in `bulk_runs` / `bulk_items`.

A run is a Temporal workflow, `BulkRepairWorkflow` (workflows/bulk.py, id `bulk-<run id>`): its
history is the run's durable state, its timers keep the rate, and a crash of any process resumes
it where it stood. The API writes the run (`queued`) with one pending item per mission, commits,
then starts the workflow with a deadline; a run left `queued` (Temporal down, a crash between the
two) is started by the worker's sweep (`start_queued_runs`). Ops cancel a run through the
workflow's `cancel` Update. Pages and the API read progress from the rows; the workflow's
`progress` query is for ops tools.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date, timedelta
from typing import Any

from sqlalchemy import CursorResult, select, update
from sqlalchemy.ext.asyncio import AsyncSession
from temporalio.client import Client, WorkflowUpdateFailedError
from temporalio.common import WorkflowIDReusePolicy
from temporalio.exceptions import ApplicationError, WorkflowAlreadyStartedError
from temporalio.service import RPCError, RPCStatusCode

from contracts.bulk import BulkInput, CancelBulk, bulk_workflow_id
from core.db import Database
from core.errors import DomainError, NotFound
from core.settings import Settings
from domain.errors import FieldError
from models import BulkItem, BulkRun, Mission, utcnow
from services import audit, repairs
from services.access import Viewer
from services.mission_filters import MissionFilter, anchored_today, filtered_missions

log = logging.getLogger(__name__)

MAX_TARGETS = 1000
SWEEP_BATCH = 100  # queued runs started per round of the worker's sweep


@dataclass(frozen=True)
class Target:
    mission_id: int
    member_id: int
    client_id: int
    title: str
    stage: str
    amount_excl_vat: str
    needs_attention: bool
    attention_step: str | None


def _target(m: Mission) -> Target:
    return Target(
        mission_id=m.id,
        member_id=m.member_id,
        client_id=m.client_id,
        title=m.title,
        stage=m.stage,
        amount_excl_vat=f"{m.amount_excl_vat:.2f}",
        needs_attention=m.needs_attention,
        attention_step=m.attention_step,
    )


async def preview(
    session: AsyncSession, viewer: Viewer, filter: MissionFilter, *, today: date | None = None
) -> list[Target]:
    """Exactly the missions a bulk action on this filter would target (the list's own query)."""
    repairs.ensure_ops(viewer)
    today = today or await anchored_today(session)
    rows = await session.scalars(filtered_missions(filter, viewer, today).limit(MAX_TARGETS + 1))
    found = list(rows.all())
    if len(found) > MAX_TARGETS:
        raise FieldError("filter", f"more than {MAX_TARGETS} missions: narrow the filter")
    return [_target(m) for m in found]


def _mission_ids(value: object) -> list[int]:
    if not isinstance(value, list) or not value:
        raise FieldError("mission_ids", "a non-empty list of mission ids (from the preview)")
    if len(value) > MAX_TARGETS:
        raise FieldError("mission_ids", f"at most {MAX_TARGETS} missions per run")
    ids: list[int] = []
    for i, raw in enumerate(value):
        if isinstance(raw, bool) or not isinstance(raw, int) or not 1 <= raw <= 2**31 - 1:
            raise FieldError(f"mission_ids.{i}", "a mission id")
        if raw in ids:
            raise FieldError(f"mission_ids.{i}", f"mission {raw} is listed twice")
        ids.append(raw)
    return ids


async def create_run(
    session: AsyncSession,
    viewer: Viewer,
    action: object,
    reason: object,
    mission_ids: object,
    params: Mapping[str, Any],
    *,
    rate_per_second: float,
    today: date,
) -> BulkRun:
    """Validate a bulk action; write its run (`queued`: its workflow is not started yet) with one
    pending item per mission (no effect yet)."""
    repairs.ensure_ops(viewer)
    name = repairs.parse_action(action)
    text = audit.require_reason(reason)
    repairs.repair_input(name, viewer, text, params, today)  # refuses bad parameters up front
    ids = _mission_ids(mission_ids)
    known = set((await session.scalars(select(Mission.id).where(Mission.id.in_(ids)))).all())
    for i, mission_id in enumerate(ids):
        if mission_id not in known:
            raise FieldError(f"mission_ids.{i}", f"mission {mission_id} not found")
    if not 0 < rate_per_second <= 100:
        raise FieldError("rate_per_second", "between 0 and 100")
    run = BulkRun(
        action=name,
        reason=text,
        params=dict(params),
        user_id=viewer.user_id,
        role=viewer.role,
        status="queued",
        rate_per_second=rate_per_second,
        total=len(ids),
        created_at=utcnow(),
    )
    session.add(run)
    await session.flush()
    for position, mission_id in enumerate(ids):
        session.add(
            BulkItem(run_id=run.id, mission_id=mission_id, position=position, status="pending")
        )
    await session.flush()
    return run


async def start(
    db: Database,
    temporal: Client | None,
    settings: Settings,
    viewer: Viewer,
    action: object,
    reason: object,
    mission_ids: object,
    params: Mapping[str, Any],
) -> int:
    """Record the run, commit it, then start its workflow; returns the bulk id. If Temporal does
    not answer in time (or is out of reach: `temporal` None) the run stays `queued` and the
    worker's sweep starts it."""
    async with db.session() as session:
        today = await anchored_today(session)
        run = await create_run(
            session,
            viewer,
            action,
            reason,
            mission_ids,
            params,
            rate_per_second=settings.bulk_rate_per_second,
            today=today,
        )
        run_id = run.id
    if temporal is None:
        log.warning("bulk run %s stays queued (the worker's sweep starts it): no Temporal", run_id)
        return run_id
    try:
        await start_workflow(temporal, db, run_id, settings)
    except Exception as err:
        log.warning("bulk run %s stays queued (the worker's sweep starts it): %s", run_id, err)
    return run_id


def _rowcount(result: object) -> int:
    assert isinstance(result, CursorResult)
    return int(result.rowcount)


async def start_workflow(temporal: Client, db: Database, run_id: int, settings: Settings) -> None:
    """Start the run's workflow (once: the id is the business id), within the action deadline,
    and note it running (unless it already went further)."""
    deadline = settings.action_timeout_seconds
    try:
        async with asyncio.timeout(deadline):
            await temporal.start_workflow(
                "BulkRepairWorkflow",
                BulkInput(run_id=run_id),
                id=bulk_workflow_id(run_id),
                task_queue=settings.task_queue,
                id_reuse_policy=WorkflowIDReusePolicy.REJECT_DUPLICATE,
                rpc_timeout=timedelta(seconds=deadline),
            )
    except WorkflowAlreadyStartedError:
        pass
    async with db.session() as session:
        await session.execute(
            update(BulkRun)
            .where(BulkRun.id == run_id, BulkRun.status == "queued")
            .values(status="running")
            .execution_options(synchronize_session=False)
        )


async def start_queued_runs(
    client: Client, db: Database, settings: Settings, batch: int = SWEEP_BATCH
) -> list[int]:
    """Start the workflow of every run committed without one (Temporal was down, or a crash
    between the commit and the start); returns their ids."""
    async with db.session() as session:
        ids = list(
            (
                await session.scalars(
                    select(BulkRun.id)
                    .where(BulkRun.status == "queued")
                    .order_by(BulkRun.id)
                    .limit(batch)
                )
            ).all()
        )
    for run_id in ids:
        await start_workflow(client, db, run_id, settings)
        log.warning("started the workflow of bulk run %s, left queued", run_id)
    return ids


# The refusals of a cancellation (the pages translate them: locale/*/LC_MESSAGES/messages.po).
RUN_OVER = "the bulk run is already over"
RUN_CANCELLING = "the bulk run is already being cancelled"
BUSY = "the back office is busy; try again in a moment"


async def cancel(
    db: Database,
    temporal: Client | None,
    settings: Settings,
    viewer: Viewer,
    bulk_id: int,
    reason: object,
) -> str:
    """Cancel a run, audited: its workflow stops before the next item and marks the rest
    cancelled. A run whose workflow has not started yet is cancelled in the database (it will
    never start; no Temporal needed: `temporal` may be None while it is out of reach). Returns the
    run's status as of now (cancelling or cancelled)."""
    repairs.ensure_ops(viewer)
    text = audit.require_reason(reason)
    async with db.session() as session:
        run = await _run(session, bulk_id)
        before = {"status": run.status}
        queued = await session.execute(
            update(BulkRun)
            .where(BulkRun.id == bulk_id, BulkRun.status == "queued")
            .values(status="cancelled", finished_at=utcnow())
            .execution_options(synchronize_session=False)
        )
        if _rowcount(queued) == 1:
            await session.execute(
                update(BulkItem)
                .where(BulkItem.run_id == bulk_id, BulkItem.status == "pending")
                .values(status="cancelled", done_at=utcnow())
                .execution_options(synchronize_session=False)
            )
            await _audit(session, viewer, bulk_id, text, before, "cancelled")
            return "cancelled"
        if run.status != "running":
            raise DomainError(RUN_OVER, 409)
        if temporal is None:
            raise DomainError(BUSY, 503)
    # No transaction open while the workflow decides (it has the action deadline).
    await _cancel_workflow(temporal, settings, bulk_id, viewer, text)
    async with db.session() as session:
        await _audit(session, viewer, bulk_id, text, before, "cancelling")
    return "cancelling"


async def _audit(
    session: AsyncSession,
    viewer: Viewer,
    bulk_id: int,
    reason: str,
    before: dict[str, Any],
    status: str,
) -> None:
    await audit.record(
        session,
        viewer,
        action="cancel_bulk",
        target_type="bulk_run",
        target_id=bulk_id,
        reason=reason,
        before=before,
        after={"status": status},
        bulk_run_id=bulk_id,
    )


async def _cancel_workflow(
    temporal: Client, settings: Settings, bulk_id: int, viewer: Viewer, reason: str
) -> str:
    deadline = settings.action_timeout_seconds
    handle = temporal.get_workflow_handle(bulk_workflow_id(bulk_id))
    try:
        async with asyncio.timeout(deadline):
            result: str = await handle.execute_update(
                "cancel",
                CancelBulk(actor=viewer.label, reason=reason),
                result_type=str,
                rpc_timeout=timedelta(seconds=deadline),
            )
        return result
    except WorkflowUpdateFailedError as err:
        cause = err.cause
        if isinstance(cause, ApplicationError) and cause.type == "StepRejected":
            raise DomainError(cause.message, 409) from None
        log.warning("cancel of bulk run %s failed: %s", bulk_id, cause or err)
        raise DomainError(BUSY, 503) from None
    except RPCError as err:
        if err.status == RPCStatusCode.NOT_FOUND:
            raise DomainError(RUN_OVER, 409) from None
        log.warning("cancel of bulk run %s: %s %s", bulk_id, err.status.name, err.message)
        raise DomainError(BUSY, 503) from err
    except TimeoutError:
        raise DomainError(BUSY, 503) from None


async def _run(session: AsyncSession, bulk_id: int) -> BulkRun:
    if not 1 <= bulk_id <= 2**31 - 1:
        raise NotFound("bulk run")
    run = await session.get(BulkRun, bulk_id)
    if run is None:
        raise NotFound("bulk run")
    return run


async def bulk_status(session: AsyncSession, bulk_id: int) -> dict[str, Any]:
    """A run's progress and each mission's result, in the order they are (or were) acted on."""
    run = await _run(session, bulk_id)
    items = (
        await session.scalars(
            select(BulkItem).where(BulkItem.run_id == bulk_id).order_by(BulkItem.position)
        )
    ).all()
    counts = {status: 0 for status in ("pending", "done", "refused")}
    for item in items:
        counts[item.status] = counts.get(item.status, 0) + 1
    return {
        "id": run.id,
        "action": run.action,
        "reason": run.reason,
        "params": run.params,
        "status": run.status,
        "user_id": run.user_id,
        "rate_per_second": run.rate_per_second,
        "total": run.total,
        "counts": counts,
        "progress": (run.total - counts["pending"]) / run.total if run.total else 1.0,
        "created_at": run.created_at.isoformat(),
        "finished_at": run.finished_at.isoformat() if run.finished_at else None,
        "items": [
            {
                "mission_id": item.mission_id,
                "status": item.status,
                "result": item.result,
                "done_at": item.done_at.isoformat() if item.done_at else None,
            }
            for item in items
        ],
    }
