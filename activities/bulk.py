"""The side effects of BulkRepairWorkflow: read a run's items, act on one item, close the run.

Each activity may run again (a crash, a timeout): an item whose row is no longer pending is
answered from the row, and the mission's Update is sent with an Update id of its own, so that a
repeat after a crash between the Update and the item's commit is answered by the mission's
workflow with the first outcome instead of acting twice. The item's row commits with the repair's
audit row: both or neither.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator
from typing import Any

from sqlalchemy import CursorResult, func, select, update
from temporalio import activity
from temporalio.client import Client
from temporalio.exceptions import ApplicationError

from contracts.bulk import (
    BulkFinish,
    BulkItemOutcome,
    BulkItemRef,
    BulkItemRequest,
    BulkPlan,
    bulk_workflow_id,
)
from core.db import Database
from core.errors import DomainError
from core.settings import Settings
from domain.errors import FieldError
from models import BulkItem, BulkRun, utcnow
from services import repairs
from services.access import Viewer
from services.mission_filters import anchored_today

log = logging.getLogger(__name__)

# Attempts of one item while the mission's workflow cannot answer (no worker in time, Temporal
# unreachable) or an unexpected error: after the last one the item is recorded as refused, with
# why. While the database itself is down, nothing can be recorded: the activity keeps retrying.
ITEM_ATTEMPTS = 3


# How often a running item tells the Temporal server it is alive. The workflow's heartbeat
# timeout is a few times this: an item whose worker died is tried again within seconds, not
# after the item's whole time limit.
BEAT_SECONDS = 1.0
# The longest wait an item keeps itself (the workflow uses timers from one second up): a clock
# far off between the workflow's server and this worker cannot stall an item.
MAX_ITEM_WAIT = 1.0


@contextlib.asynccontextmanager
async def beating() -> AsyncIterator[None]:
    async def beat() -> None:
        while True:
            activity.heartbeat()
            await asyncio.sleep(BEAT_SECONDS)

    task = asyncio.create_task(beat())
    try:
        yield
    finally:
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task


class ItemTaken(Exception):
    """Another attempt recorded the item first: this one's writes are rolled back."""


def _rowcount(result: object) -> int:
    assert isinstance(result, CursorResult)
    return int(result.rowcount)


class BulkActivities:
    def __init__(self, db: Database, client: Client, settings: Settings) -> None:
        self.db = db
        self.client = client
        self.settings = settings

    @activity.defn
    async def load_bulk_run(self, run_id: int) -> BulkPlan:
        """The run's pending items in order, and how many earlier attempts already settled. The
        run is `running` from now on (unless ops cancelled it before it started)."""
        async with self.db.session() as session:
            run = await session.get(BulkRun, run_id, with_for_update=True)
            if run is None:
                raise ApplicationError(f"bulk run {run_id} not found", non_retryable=True)
            if run.status == "queued":
                run.status = "running"
            pending = (
                await session.execute(
                    select(BulkItem.position, BulkItem.mission_id)
                    .where(BulkItem.run_id == run_id, BulkItem.status == "pending")
                    .order_by(BulkItem.position)
                )
            ).all()
            settled = (
                await session.execute(
                    select(BulkItem.status, func.count(BulkItem.id))
                    .where(BulkItem.run_id == run_id, BulkItem.status != "pending")
                    .group_by(BulkItem.status)
                )
            ).all()
            return BulkPlan(
                rate_per_second=run.rate_per_second,
                pending=[BulkItemRef(position=p, mission_id=m) for p, m in pending],
                settled={status: int(n) for status, n in settled},
                cancelled=run.status == "cancelled",
            )

    @activity.defn
    async def apply_bulk_item(self, req: BulkItemRequest) -> BulkItemOutcome:
        """One repair on one mission through its workflow, and the item's outcome."""
        async with beating():
            return await self._apply(req)

    async def _apply(self, req: BulkItemRequest) -> BulkItemOutcome:
        if req.not_before is not None:  # the rate, below a second between items
            wait = (req.not_before - utcnow()).total_seconds()
            if wait > 0:
                await asyncio.sleep(min(wait, MAX_ITEM_WAIT))
        async with self.db.session() as session:
            item = await session.scalar(
                select(BulkItem).where(
                    BulkItem.run_id == req.run_id, BulkItem.position == req.position
                )
            )
            run = await session.get(BulkRun, req.run_id)
            if item is None or run is None:
                raise ApplicationError(
                    f"bulk run {req.run_id} has no item {req.position}", non_retryable=True
                )
            if item.status != "pending":  # recorded by an earlier attempt: not redone
                return BulkItemOutcome(status=item.status, result=item.result or "")
            viewer = Viewer(user_id=run.user_id, role=run.role, member_id=None)
            action, reason, params = run.action, run.reason, dict(run.params)
        attempt = activity.info().attempt
        try:
            async with self.db.session() as session:
                today = await anchored_today(session)
                done = await repairs.repair(
                    session,
                    self.client,
                    viewer,
                    req.mission_id,
                    action,
                    reason,
                    params,
                    today,
                    bulk_run_id=req.run_id,
                    timeout=self.settings.action_timeout_seconds,
                    update_id=f"{bulk_workflow_id(req.run_id)}-{req.position}",
                )
                outcome = BulkItemOutcome(status="done", result=str(done["result"])[:2000])
                # With the audit row, in its transaction.
                if not await self._mark(session, req, outcome):
                    raise ItemTaken()
            return outcome
        except ItemTaken:
            return await self._recorded(req)
        except FieldError as err:
            return await self._record(req, "refused", f"{err.field}: {err.message}")
        except DomainError as err:
            if err.status_code >= 500 and attempt < ITEM_ATTEMPTS:
                raise  # the mission's workflow did not answer in time: try again
            return await self._record(req, "refused", err.message)
        except Exception as err:
            if attempt < ITEM_ATTEMPTS:
                raise
            log.exception("bulk run %s: mission %s failed", req.run_id, req.mission_id)
            return await self._record(req, "refused", f"error: {err}")

    async def _mark(self, session: Any, req: BulkItemRequest, outcome: BulkItemOutcome) -> bool:
        result = await session.execute(
            update(BulkItem)
            .where(
                BulkItem.run_id == req.run_id,
                BulkItem.position == req.position,
                BulkItem.status == "pending",
            )
            .values(status=outcome.status, result=outcome.result, done_at=utcnow())
            .execution_options(synchronize_session=False)
        )
        return _rowcount(result) == 1

    async def _record(self, req: BulkItemRequest, status: str, result: str) -> BulkItemOutcome:
        outcome = BulkItemOutcome(status=status, result=result[:2000])
        async with self.db.session() as session:
            if await self._mark(session, req, outcome):
                return outcome
        return await self._recorded(req)

    async def _recorded(self, req: BulkItemRequest) -> BulkItemOutcome:
        async with self.db.session() as session:
            item = await session.scalar(
                select(BulkItem).where(
                    BulkItem.run_id == req.run_id, BulkItem.position == req.position
                )
            )
            assert item is not None
            return BulkItemOutcome(status=item.status, result=item.result or "")

    @activity.defn
    async def finish_bulk_run(self, req: BulkFinish) -> None:
        """Close the run: finished, or cancelled with its items not acted on marked so."""
        async with self.db.session() as session:
            run = await session.get(BulkRun, req.run_id, with_for_update=True)
            if run is None or run.status not in ("queued", "running"):
                return
            if req.cancelled:
                await session.execute(
                    update(BulkItem)
                    .where(BulkItem.run_id == req.run_id, BulkItem.status == "pending")
                    .values(status="cancelled", done_at=utcnow())
                    .execution_options(synchronize_session=False)
                )
            run.status = "cancelled" if req.cancelled else "finished"
            run.finished_at = utcnow()
