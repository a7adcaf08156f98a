"""Bulk repairs on a filtered set of missions: a preview listing exactly the targets, then a run at
a bounded rate whose progress and per-mission results (done / refused, with the reason) live in
`bulk_runs` / `bulk_items`.

The run executes in a background asyncio task of the API process, one item per transaction. A run
interrupted by a crash keeps its pending items; `resume_interrupted` (called at API startup and
every 30 s) continues them. An item whose Update went through but whose row was not yet marked is
sent again: the workflow's validator refuses the repeat ("nothing to retry"), so nothing is done
twice.

Several API processes may see the same interrupted run: exactly one drives it at a time. A process
claims a run with one conditional UPDATE (`runner` = its id, when the run has no runner, is
already its own, or its heartbeat is older than the lease) and checks the row count. The driver
refreshes `heartbeat_at` (again only while `runner` is still its own) before each item, with each
item, and at least every third of the lease while it waits between items at a slow rate; when
the refresh finds another runner, it stops. A run taken over keeps its rate: the new driver waits
one interval after the last item done before acting on the next one. The lease is 60 s: an item
(one repair, one Temporal Update) must take less than that, or another process may take the run
over meanwhile (it then skips the item being acted on). Times are the processes' UTC clocks.
"""

from __future__ import annotations

import asyncio
import logging
import os
import secrets
import socket
import time
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date, timedelta
from typing import Any

from sqlalchemy import CursorResult, func, or_, select, update
from sqlalchemy.ext.asyncio import AsyncSession
from temporalio.client import Client

from core.db import Database
from core.errors import DomainError, NotFound
from domain.errors import FieldError
from models import BulkItem, BulkRun, Mission, utcnow
from services import audit, repairs
from services.access import Viewer
from services.mission_filters import MissionFilter, anchored_today, filtered_missions

log = logging.getLogger(__name__)

MAX_TARGETS = 1000
# The claim's lease: a running run whose heartbeat is older was interrupted (its driver crashed or
# hangs) and another process may claim it. Drivers refresh it at least every third of it.
LEASE = timedelta(seconds=60)
STALE_AFTER = LEASE
# This process, as the runner of the runs it drives (unique across machines and restarts).
PROCESS_ID = f"{socket.gethostname()[:80]}:{os.getpid()}:{secrets.token_hex(4)}"
# Background runs of this process by (runner, run), kept referenced so the event loop does not
# drop them.
_TASKS: dict[tuple[str, int], asyncio.Task[None]] = {}


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
    runner: str = PROCESS_ID,
) -> BulkRun:
    """Validate a bulk action; write its run with one pending item per mission (no effect yet),
    claimed by `runner` (this process: it executes the run next)."""
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
        status="running",
        rate_per_second=rate_per_second,
        total=len(ids),
        created_at=utcnow(),
        runner=runner,
        heartbeat_at=utcnow(),
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
    temporal: Client,
    viewer: Viewer,
    action: object,
    reason: object,
    mission_ids: object,
    params: Mapping[str, Any],
    *,
    rate_per_second: float = 5.0,
) -> int:
    """Record the run, commit it, and execute it in the background; returns the bulk id."""
    async with db.session() as session:
        today = await anchored_today(session)
        run = await create_run(
            session,
            viewer,
            action,
            reason,
            mission_ids,
            params,
            rate_per_second=rate_per_second,
            today=today,
        )
        run_id = run.id
    spawn(db, temporal, run_id)
    return run_id


def spawn(
    db: Database,
    temporal: Client,
    run_id: int,
    *,
    runner: str = PROCESS_ID,
    lease: timedelta = LEASE,
) -> asyncio.Task[None]:
    """Execute a run in a background task of this process (once per run at a time)."""
    key = (runner, run_id)
    task = _TASKS.get(key)
    if task is not None and not task.done():
        return task
    task = asyncio.create_task(
        execute(db, temporal, run_id, runner=runner, lease=lease), name=f"bulk-{run_id}"
    )
    _TASKS[key] = task
    task.add_done_callback(lambda _: _TASKS.pop(key, None))
    return task


async def wait(run_id: int) -> None:
    """Wait for this process's task(s) of a run, if any (tests, graceful shutdown)."""
    tasks = [task for (_, run), task in list(_TASKS.items()) if run == run_id]
    for task in tasks:
        await task


async def execute(
    db: Database,
    temporal: Client,
    run_id: int,
    *,
    runner: str = PROCESS_ID,
    lease: timedelta = LEASE,
) -> None:
    """Claim the run, then act on each pending item in order, no faster than the run's rate;
    record each result. Returns at once if another runner holds the claim, and stops as soon
    as it finds the claim taken over.

    If the database fails mid-run the task stops, loudly; the run's heartbeat then goes stale and
    the resume sweep (of any process) continues it."""
    try:
        await _execute(db, temporal, run_id, runner, lease)
    except Exception:
        log.exception("bulk run %s stopped; the resume sweep will continue it", run_id)


async def claim(db: Database, run_id: int, runner: str, lease: timedelta = LEASE) -> bool:
    """Make `runner` the run's only driver: if it has none, is already this one, or its driver
    stopped beating for longer than the lease. True if the claim is now `runner`'s."""
    now = utcnow()
    async with db.session() as session:
        result = await session.execute(
            update(BulkRun)
            .where(
                BulkRun.id == run_id,
                BulkRun.status == "running",
                or_(
                    BulkRun.runner.is_(None),
                    BulkRun.runner == runner,
                    BulkRun.heartbeat_at < now - lease,
                ),
            )
            .values(runner=runner, heartbeat_at=now)
            .execution_options(synchronize_session=False)
        )
    return _rowcount(result) == 1


async def _still_mine(session: AsyncSession, run_id: int, runner: str) -> bool:
    """Refresh the heartbeat if the claim is still `runner`'s (in the caller's transaction)."""
    result = await session.execute(
        update(BulkRun)
        .where(BulkRun.id == run_id, BulkRun.runner == runner, BulkRun.status == "running")
        .values(heartbeat_at=utcnow())
        .execution_options(synchronize_session=False)
    )
    return _rowcount(result) == 1


async def _beat(db: Database, run_id: int, runner: str) -> bool:
    async with db.session() as session:
        mine = await _still_mine(session, run_id, runner)
    if not mine:
        log.warning("bulk run %s: claimed by another runner (or over); %s stops", run_id, runner)
    return mine


async def _pause(db: Database, run_id: int, runner: str, seconds: float, beat: float) -> bool:
    """Sleep `seconds` in slices of at most `beat`, refreshing the heartbeat between slices;
    False as soon as the claim is lost."""
    deadline = time.monotonic() + seconds
    while (left := deadline - time.monotonic()) > 0:
        await asyncio.sleep(min(left, beat))
        if deadline - time.monotonic() > 0 and not await _beat(db, run_id, runner):
            return False
    return True


def _rowcount(result: object) -> int:
    assert isinstance(result, CursorResult)
    return int(result.rowcount)


async def _execute(
    db: Database, temporal: Client, run_id: int, runner: str, lease: timedelta
) -> None:
    if not await claim(db, run_id, runner, lease):
        log.info("bulk run %s is driven by another runner (or over)", run_id)
        return
    async with db.session() as session:
        run = await session.get(BulkRun, run_id)
        if run is None or run.status != "running":
            return
        viewer = Viewer(user_id=run.user_id, role=run.role, member_id=None)
        action, reason, params = run.action, run.reason, dict(run.params)
        interval = 1.0 / run.rate_per_second
        last_done = await session.scalar(
            select(func.max(BulkItem.done_at)).where(BulkItem.run_id == run_id)
        )
    beat = lease.total_seconds() / 3
    # Taken over: the previous driver's last item counts for the rate.
    wait = interval - (utcnow() - last_done).total_seconds() if last_done else 0.0
    while True:
        if not await _pause(db, run_id, runner, wait, beat):
            return
        if not await _beat(db, run_id, runner):
            return
        async with db.session() as session:
            item = await session.scalar(
                select(BulkItem)
                .where(BulkItem.run_id == run_id, BulkItem.status == "pending")
                .order_by(BulkItem.position)
                .limit(1)
                .with_for_update(skip_locked=True)
            )
            if item is None:
                run = await session.get(BulkRun, run_id, with_for_update=True)
                assert run is not None
                pending = await session.scalar(
                    select(func.count(BulkItem.id)).where(
                        BulkItem.run_id == run_id, BulkItem.status == "pending"
                    )
                )
                if not pending and run.status == "running":
                    run.status = "finished"
                    run.finished_at = utcnow()
                    run.heartbeat_at = utcnow()
                return
            mission_id = item.mission_id
            began = time.monotonic()  # items are acted on at least an interval apart
            status, result = await _act(
                db, temporal, viewer, run_id, mission_id, action, reason, params
            )
            item.status = status
            item.result = result[:2000]
            item.done_at = utcnow()
            # The item is recorded whatever happens (it was acted on); a lost claim stops here.
            mine = await _still_mine(session, run_id, runner)
        if not mine:
            log.warning("bulk run %s: claimed by another runner during an item; stopping", run_id)
            return
        wait = interval - (time.monotonic() - began)


async def _act(
    db: Database,
    temporal: Client,
    viewer: Viewer,
    run_id: int,
    mission_id: int,
    action: str,
    reason: str,
    params: Mapping[str, Any],
) -> tuple[str, str]:
    """One repair in its own transaction (its audit row commits with it); refused: why."""
    try:
        async with db.session() as session:
            today = await anchored_today(session)
            done = await repairs.repair(
                session,
                temporal,
                viewer,
                mission_id,
                action,
                reason,
                params,
                today,
                bulk_run_id=run_id,
            )
        return "done", str(done["result"])
    except FieldError as err:
        return "refused", f"{err.field}: {err.message}"
    except DomainError as err:
        return "refused", err.message
    except Exception as err:  # recorded on the item, never swallowed silently
        log.exception("bulk run %s: mission %s failed", run_id, mission_id)
        return "refused", f"error: {err}"


async def bulk_status(session: AsyncSession, bulk_id: int) -> dict[str, Any]:
    """A run's progress and each mission's result, in the order they are (or were) acted on."""
    if not 1 <= bulk_id <= 2**31 - 1:
        raise NotFound("bulk run")
    run = await session.get(BulkRun, bulk_id)
    if run is None:
        raise NotFound("bulk run")
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


async def resume_interrupted(
    db: Database,
    temporal: Client,
    *,
    stale_after: timedelta = STALE_AFTER,
    runner: str = PROCESS_ID,
) -> list[int]:
    """Continue every run a crash interrupted (running, without runner or with a heartbeat older
    than the lease); returns their ids. Each is claimed first: of several processes resuming the
    same run, one drives it, the others' tasks return at once."""
    async with db.session() as session:
        ids = list(
            (
                await session.scalars(
                    select(BulkRun.id).where(
                        BulkRun.status == "running",
                        or_(
                            BulkRun.runner.is_(None),
                            BulkRun.heartbeat_at < utcnow() - stale_after,
                        ),
                    )
                )
            ).all()
        )
    for run_id in ids:
        if (runner, run_id) not in _TASKS:
            log.warning("resuming bulk run %s, interrupted before it finished", run_id)
            spawn(db, temporal, run_id, runner=runner, lease=stale_after)
    return ids
