"""Starting mission workflows: after the row is committed, and again for any a crash left behind."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable

from temporalio.client import Client
from temporalio.common import WorkflowIDReusePolicy
from temporalio.exceptions import WorkflowAlreadyStartedError

from contracts.mission import MissionInput, mission_workflow_id
from core.db import Database
from core.settings import Settings
from models import Mission, utcnow
from services import missions
from services.clock import current_clock

log = logging.getLogger(__name__)

SWEEP_BATCH = 200  # missions read and started per round of the worker's sweep


async def start_mission_workflow(
    client: Client, db: Database, inp: MissionInput, task_queue: str
) -> None:
    """Start the mission's workflow (once: the id is the business id) and note that it started."""
    try:
        await client.start_workflow(
            "MissionWorkflow",
            inp,
            id=mission_workflow_id(inp.mission_id),
            task_queue=task_queue,
            id_reuse_policy=WorkflowIDReusePolicy.REJECT_DUPLICATE,
        )
    except WorkflowAlreadyStartedError:
        pass
    async with db.session() as session:
        mission = await session.get(Mission, inp.mission_id)
        if mission is not None and mission.workflow_started_at is None:
            mission.workflow_started_at = utcnow()


async def start_now_or_later(
    connect: Callable[[], Awaitable[Client]], db: Database, inp: MissionInput, settings: Settings
) -> bool:
    """Start the workflow of a mission just committed, within the action deadline
    (COOPFLOW_ACTION_TIMEOUT_SECONDS, connecting included). False when Temporal refused or did
    not answer in time: the mission stays committed, and the worker's sweep starts it later
    (`start_missing_workflows`). The caller holds no transaction meanwhile."""
    try:
        async with asyncio.timeout(settings.action_timeout_seconds):
            await start_mission_workflow(await connect(), db, inp, settings.task_queue)
        return True
    except Exception as err:
        log.warning(
            "workflow start of mission %s deferred to the worker's sweep: %s",
            inp.mission_id,
            type(err).__name__ if isinstance(err, TimeoutError) else err,
        )
        return False


async def start_missing_workflows(
    client: Client, db: Database, settings: Settings, batch: int = SWEEP_BATCH, after_id: int = 0
) -> int:
    """Start the workflow of every mission committed without one (a crash between the two), from
    the mission after `after_id` on.

    In batches of `batch` missions, so that thousands left behind (an outage of the Temporal
    server during a month-end peak) neither sit in memory at once nor hold one session open."""
    started = 0
    while True:
        async with db.session() as session:
            pending = await missions.missions_without_workflow(
                session, after_id=after_id, limit=batch
            )
            if not pending:
                return started
            clock = await current_clock(session, settings.day_seconds, settings.timezone)
            inputs = [await missions.workflow_input(session, m, clock) for m in pending]
        for inp in inputs:
            await start_mission_workflow(client, db, inp, settings.task_queue)
            log.warning(
                "started the workflow of mission %s, left unstarted by a crash", inp.mission_id
            )
        started += len(inputs)
        after_id = inputs[-1].mission_id
