"""A person's action on a running mission, as the JSON API and the pages both send it: the input
built with the same validators, then the workflow's Update, whose refusal becomes a field error."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Sequence
from datetime import timedelta
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession
from temporalio.client import (
    Client,
    WorkflowUpdateFailedError,
    WorkflowUpdateRPCTimeoutOrCancelledError,
    WorkflowUpdateStage,
)
from temporalio.exceptions import ApplicationError
from temporalio.service import RPCError, RPCStatusCode

from contracts.mission import ExpenseLine, WorkReport
from core.errors import DomainError
from core.settings import get_settings
from domain.errors import FieldError
from domain.identifiers import clean_text
from domain.money import parse_money
from models import Mission

log = logging.getLogger(__name__)


def work_report(
    days_worked: int, expenses: Sequence[tuple[object, object]], actor: str
) -> WorkReport:
    """The member's work report: expense labels cleaned and amounts parsed strictly (the
    workflow's validator then checks the days against the mission's period)."""
    return WorkReport(
        days_worked=days_worked,
        expenses=[
            ExpenseLine(
                label=clean_text(label, field=f"expenses.{i}.label", max_length=200),
                amount=parse_money(amount, field=f"expenses.{i}.amount"),
            )
            for i, (label, amount) in enumerate(expenses)
        ],
        actor=actor,
    )


class ActionPending(DomainError):
    """The workflow accepted the action (it is in its history) but has not finished it within
    the deadline: rendered 202, it completes on its own."""

    def __init__(self) -> None:
        super().__init__(PENDING, 202, "mission")


# The messages the pages translate (locale/*/LC_MESSAGES/messages.po).
BUSY = (
    "the back office is busy finishing earlier work; your action was not recorded: "
    "check the mission in a minute and try again if it is still needed"
)
PENDING = "your action is accepted and being processed; the mission shows it in a minute"
UNAVAILABLE = "the workflow service is unavailable; try again shortly"


async def run_update(
    client: Client,
    session: AsyncSession,
    mission: Mission,
    name: str,
    arg: Any,
    *,
    timeout: float | None = None,
    update_id: str | None = None,
) -> str:
    """Run a Temporal Update; a rejected step becomes a 4xx naming the field and the reason.

    With an `update_id` (a bulk run's item), the same Update sent again is not run again: the
    server answers it with the first one's outcome.

    The request's transaction ends (committed) before anything is asked of Temporal: no database
    connection is held while the worker decides. The wait has a deadline (`timeout`, by default
    COOPFLOW_ACTION_TIMEOUT_SECONDS): not taken by the worker by then → 503 "not recorded";
    accepted but still running → ActionPending (202).
    """
    if mission.workflow_id is None or mission.workflow_started_at is None:
        raise DomainError(
            "the mission's workflow is starting; try again in a moment", 409, "mission"
        )
    workflow_id, mission_id, stage = mission.workflow_id, mission.id, mission.stage
    await session.commit()  # releases the connection to the pool for the whole wait
    deadline = timeout if timeout is not None else get_settings().action_timeout_seconds
    handle = client.get_workflow_handle(workflow_id)
    loop = asyncio.get_running_loop()
    ends = loop.time() + deadline
    accepted = False
    try:
        async with asyncio.timeout_at(ends):
            update = await handle.start_update(
                name,
                arg,
                id=update_id,
                wait_for_stage=WorkflowUpdateStage.ACCEPTED,
                result_type=str,
                rpc_timeout=timedelta(seconds=deadline),
            )
            accepted = True
            result: str = await update.result(
                rpc_timeout=timedelta(seconds=max(ends - loop.time(), 0.1))
            )
        return result
    except (TimeoutError, WorkflowUpdateRPCTimeoutOrCancelledError):
        log.warning(
            "update %s of %s: no answer within %ss (%s)",
            name,
            workflow_id,
            deadline,
            "accepted, still running" if accepted else "not taken by a worker",
        )
        if accepted:
            raise ActionPending() from None
        raise DomainError(BUSY, 503, "mission") from None
    except WorkflowUpdateFailedError as err:
        cause = err.cause
        if isinstance(cause, ApplicationError) and cause.type == "StepRejected":
            info = cause.details[0] if cause.details else {}
            field = info.get("field") if isinstance(info, dict) else None
            status = info.get("status", 409) if isinstance(info, dict) else 409
            if status == 422 and field:
                raise FieldError(field, cause.message) from None
            raise DomainError(cause.message, status, field) from None
        log.warning("update %s of %s failed: %s", name, workflow_id, cause or err)
        raise DomainError(f"the step failed: {cause or err}", 503, "mission") from None
    except RPCError as err:
        if err.status == RPCStatusCode.NOT_FOUND:
            raise DomainError(f"mission {mission_id} is closed ({stage})", 409, "mission") from None
        log.warning(
            "update %s of %s failed: %s %s", name, workflow_id, err.status.name, err.message
        )
        raise DomainError(UNAVAILABLE, 503) from err
