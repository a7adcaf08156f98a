"""A person's action on a running mission, as the JSON API and the pages both send it: the input
built with the same validators, then the workflow's Update, whose refusal becomes a field error."""

from __future__ import annotations

import logging
from collections.abc import Sequence
from typing import Any

from temporalio.client import Client, WorkflowUpdateFailedError
from temporalio.exceptions import ApplicationError
from temporalio.service import RPCError, RPCStatusCode

from contracts.mission import ExpenseLine, WorkReport
from core.errors import DomainError
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


async def run_update(client: Client, mission: Mission, name: str, arg: Any) -> str:
    """Run a Temporal Update; a rejected step becomes a 4xx naming the field and the reason."""
    if mission.workflow_id is None or mission.workflow_started_at is None:
        raise DomainError(
            "the mission's workflow is starting; try again in a moment", 409, "mission"
        )
    handle = client.get_workflow_handle(mission.workflow_id)
    try:
        result: str = await handle.execute_update(name, arg, result_type=str)
        return result
    except WorkflowUpdateFailedError as err:
        cause = err.cause
        if isinstance(cause, ApplicationError) and cause.type == "StepRejected":
            info = cause.details[0] if cause.details else {}
            field = info.get("field") if isinstance(info, dict) else None
            status = info.get("status", 409) if isinstance(info, dict) else 409
            if status == 422 and field:
                raise FieldError(field, cause.message) from None
            raise DomainError(cause.message, status, field) from None
        log.warning("update %s of %s failed: %s", name, mission.workflow_id, cause or err)
        raise DomainError(f"the step failed: {cause or err}", 503, "mission") from None
    except RPCError as err:
        if err.status == RPCStatusCode.NOT_FOUND:
            raise DomainError(
                f"mission {mission.id} is closed ({mission.stage})", 409, "mission"
            ) from None
        log.warning(
            "update %s of %s failed: %s %s", name, mission.workflow_id, err.status.name, err.message
        )
        raise DomainError("the workflow service is unavailable; try again shortly", 503) from err
