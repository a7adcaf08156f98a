"""Ops repairs by business step: each one an Update the mission's workflow implements (its
validator refuses what does not apply), each one audited with who, why, before and after.

Used by the JSON API (api/ops.py), the console pages and bulk runs (activities/bulk.py) alike.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Mapping
from datetime import date, timedelta
from decimal import Decimal
from typing import Any

from pydantic import BaseModel
from sqlalchemy.ext.asyncio import AsyncSession
from temporalio.client import Client

from contracts.mission import (
    MAX_HOLD_DAYS,
    CancelMission,
    DunningControl,
    HoldMission,
    MissionStatus,
    PaymentNotice,
    ResumeMission,
    RetryStep,
    SkipStep,
    mission_workflow_id,
)
from contracts.stages import Stage
from core.errors import DomainError, NotFound
from domain.calendar import parse_date
from domain.errors import FieldError
from domain.identifiers import clean_text
from models import Invoice, Member, Mission, Payment, User
from services import audit, collection, lifecycle
from services.access import Viewer, visible_mission
from services.missions import mission_summary
from services.timeline import add_timeline

log = logging.getLogger(__name__)

# action -> (workflow update, timeline step written by the service; None: the workflow writes it)
REPAIRS: dict[str, tuple[str, str | None]] = {
    "retry": ("retry", None),
    "skip": ("skip_step", None),
    "hold": ("hold_mission", "held"),
    "resume": ("resume_mission", "resumed"),
    "cancel": ("cancel", None),
    "pause_dunning": ("pause_dunning", "dunning_paused"),
    "restart_dunning": ("restart_dunning", "dunning_restarted"),
}
# What each repair takes besides the reason (the bulk preview and the pages show it).
REPAIR_PARAMS: dict[str, tuple[str, ...]] = {
    "retry": (),
    "skip": ("reference",),
    "hold": ("until",),
    "resume": (),
    "cancel": (),
    "pause_dunning": (),
    "restart_dunning": (),
}


SKIPPABLE = ("declaration", "declaration_cancel", "documents")  # and every "email:<step>"


STATUS_WAIT = 3.0  # seconds a page waits for the workflow's live status


async def live_status(temporal: Client, mission: Mission) -> MissionStatus | None:
    """The workflow's own view (hold, paused ladder, the step waiting for ops); None when the
    workflow is closed, not started yet or unreachable."""
    if mission.workflow_id is None or mission.workflow_started_at is None:
        return None
    try:
        handle = temporal.get_workflow_handle(mission.workflow_id)
        # A query waits for a worker: with none, the page shows what the database knows.
        status: MissionStatus = await asyncio.wait_for(
            handle.query(
                "status", result_type=MissionStatus, rpc_timeout=timedelta(seconds=STATUS_WAIT)
            ),
            STATUS_WAIT,
        )
        return status
    except Exception as err:
        log.info("status of mission %s unavailable: %s", mission.id, err)
        return None


def available_repairs(status: MissionStatus | None) -> list[str]:
    """The repairs worth offering now (buttons); the workflow's validators still decide."""
    if status is None or status.stage == Stage.CANCELLED:
        return []
    held = status.held_until is not None
    out = []
    if status.attention is not None and status.attention_retryable and not held:
        out.append("retry")
        if status.attention in SKIPPABLE or status.attention.startswith("email:"):
            out.append("skip")
    finished = status.stage in (Stage.PAID, Stage.WRITTEN_OFF) and status.salary_paid
    if held:
        out.append("resume")
    elif not finished:
        out.append("hold")
    if status.stage in (Stage.CONTRACT, Stage.DECLARATION, Stage.IN_PROGRESS):
        out.append("cancel")
    if status.dunning_paused:
        out.append("restart_dunning")
    elif status.invoice_number is not None and status.stage in (Stage.INVOICED, Stage.DUNNING):
        out.append("pause_dunning")
    return out


def ensure_ops(viewer: Viewer) -> None:
    if viewer.role != "ops":
        raise DomainError("ops only", 403)


def parse_action(action: object) -> str:
    if not isinstance(action, str) or action not in REPAIRS:
        raise FieldError("action", f"one of {', '.join(REPAIRS)}")
    return action


def repair_input(
    action: str, viewer: Viewer, reason: str, params: Mapping[str, Any], today: date
) -> BaseModel:
    """The Update's input, from the action's parameters (unknown parameters are refused)."""
    unknown = set(params) - set(REPAIR_PARAMS[action])
    if unknown:
        raise FieldError(f"params.{sorted(unknown)[0]}", f"not a parameter of {action}")
    actor = viewer.label
    if action == "retry":
        return RetryStep(actor=actor, reason=reason)
    if action == "skip":
        reference = clean_text(params.get("reference"), field="params.reference", max_length=64)
        return SkipStep(actor=actor, reason=reason, reference=reference)
    if action == "hold":
        until = parse_date(params.get("until"), "params.until")
        if until <= today:
            raise FieldError("params.until", f"the hold must end after today ({today})")
        if until > today + timedelta(days=MAX_HOLD_DAYS):
            raise FieldError("params.until", f"a hold lasts at most {MAX_HOLD_DAYS} days")
        return HoldMission(actor=actor, reason=reason, until=until)
    if action == "resume":
        return ResumeMission(actor=actor, reason=reason)
    if action == "cancel":
        return CancelMission(actor=actor, reason=reason)
    return DunningControl(actor=actor, reason=reason)


async def repair(
    session: AsyncSession,
    temporal: Client,
    viewer: Viewer,
    mission_id: int,
    action: str,
    reason: object,
    params: Mapping[str, Any],
    today: date,
    *,
    bulk_run_id: int | None = None,
    timeout: float | None = None,
    update_id: str | None = None,
) -> dict[str, Any]:
    """Run one repair on one mission through its workflow and write its audit row.

    A refusal by the workflow's validator raises (a 4xx naming the field) and writes nothing.
    """
    ensure_ops(viewer)
    action = parse_action(action)
    text = audit.require_reason(reason)
    mission = await visible_mission(session, viewer, mission_id)
    arg = repair_input(action, viewer, text, params, today)
    before = mission_summary(mission)
    update, timeline_step = REPAIRS[action]
    # Commits the (read-only) transaction before the wait, which has the action deadline.
    try:
        result = await lifecycle.run_update(
            temporal, session, mission, update, arg, timeout=timeout, update_id=update_id
        )
    except lifecycle.ActionPending:
        # In the workflow's history and still running: audited now, as accepted.
        result = "pending"
    # The workflow's own activities committed in their transactions: read what they wrote.
    await session.refresh(mission)
    after = {**mission_summary(mission), "workflow": result}
    entry = await audit.record(
        session,
        viewer,
        action=action,
        target_type="mission",
        target_id=mission.id,
        reason=text,
        before=before,
        after=after,
        mission_id=mission.id,
        bulk_run_id=bulk_run_id,
    )
    detail: dict[str, Any] = {"reason": text, **{k: str(v) for k, v in params.items()}}
    if timeline_step is not None:
        await add_timeline(
            session, mission.id, f"ops:{entry.id}", timeline_step, today, viewer.label, detail
        )
    return {"mission_id": mission.id, "action": action, "result": result, "audit_id": entry.id}


async def match_payment(
    session: AsyncSession,
    viewer: Viewer,
    payment_id: int,
    invoice_id: object,
    reason: object,
) -> tuple[Payment, Invoice]:
    """Match a suspense payment to an invoice by hand, audited; the caller then tells the
    workflow (notify_payment) once committed."""
    ensure_ops(viewer)
    text = audit.require_reason(reason)
    if isinstance(invoice_id, bool) or not isinstance(invoice_id, int):
        raise FieldError("invoice_id", "an integer id")
    if not 1 <= invoice_id <= 2**31 - 1:
        raise FieldError("invoice_id", "an id between 1 and 2147483647")
    if not 1 <= payment_id <= 2**31 - 1:
        raise NotFound("payment")
    existing = await session.get(Payment, payment_id)
    if existing is None:
        raise NotFound("payment")
    before = _payment_state(existing, None)
    payment, invoice = await collection.match_suspense_payment(
        session, payment_id, invoice_id, viewer.user_id
    )
    await audit.record(
        session,
        viewer,
        action="match_payment",
        target_type="payment",
        target_id=payment.id,
        reason=text,
        before=before,
        after=_payment_state(payment, invoice),
        mission_id=invoice.mission_id,
    )
    return payment, invoice


async def refund_payment(
    session: AsyncSession, viewer: Viewer, payment_id: int, reason: object
) -> tuple[Payment, Decimal]:
    """Queue what a payment left in suspense to be paid back, audited (INV-7)."""
    ensure_ops(viewer)
    text = audit.require_reason(reason)
    if not 1 <= payment_id <= 2**31 - 1:
        raise NotFound("payment")
    existing = await session.get(Payment, payment_id)
    if existing is None:
        raise NotFound("payment")
    held = (await collection.suspense_positions(session, [existing]))[existing.id]
    payment, amount = await collection.refund_suspense_payment(session, payment_id, text)
    await audit.record(
        session,
        viewer,
        action="refund_payment",
        target_type="payment",
        target_id=payment.id,
        reason=text,
        before={**_payment_state(payment, None), "suspense": f"{held.open:.2f}"},
        after={**_payment_state(payment, None), "suspense": "0.00", "refunded": f"{amount:.2f}"},
    )
    return payment, amount


def _payment_state(payment: Payment, invoice: Invoice | None) -> dict[str, Any]:
    state: dict[str, Any] = {
        "matched": payment.matched,
        "invoice_id": payment.invoice_id,
        "amount": f"{payment.amount:.2f}",
    }
    if invoice is not None:
        state["invoice_balance"] = f"{invoice.balance:.2f}"
        state["invoice_status"] = invoice.status
    return state


async def notify_payment(
    temporal: Client, mission_id: int, payment_id: int, balance: Decimal
) -> None:
    """Tell the workflow at once; if it cannot hear, its next step reads the balance anyway."""
    try:
        handle = temporal.get_workflow_handle(mission_workflow_id(mission_id))
        await handle.signal(
            "payment_recorded", PaymentNotice(payment_id=payment_id, balance=balance)
        )
    except Exception as err:
        log.warning("payment %s matched; mission %s not signalled: %s", payment_id, mission_id, err)


async def assign_advisor(
    session: AsyncSession, viewer: Viewer, member_id: int, advisor_user_id: object, reason: object
) -> Member:
    """Ops: give a member an advisor (or none); the advisor then sees that member's book."""
    ensure_ops(viewer)
    text = audit.require_reason(reason)
    if not 1 <= member_id <= 2**31 - 1:
        raise NotFound("member")
    member = await session.get(Member, member_id, with_for_update=True)
    if member is None:
        raise NotFound("member")
    if advisor_user_id is not None:
        if isinstance(advisor_user_id, bool) or not isinstance(advisor_user_id, int):
            raise FieldError("advisor_user_id", "an integer user id or null")
        if not 1 <= advisor_user_id <= 2**31 - 1:
            raise FieldError("advisor_user_id", "an id between 1 and 2147483647")
        user = await session.get(User, advisor_user_id)
        if user is None or user.role != "advisor" or not user.active:
            raise FieldError("advisor_user_id", "not an active advisor's login")
    before = {"advisor_user_id": member.advisor_user_id}
    member.advisor_user_id = advisor_user_id
    await audit.record(
        session,
        viewer,
        action="assign_advisor",
        target_type="member",
        target_id=member.id,
        reason=text,
        before=before,
        after={"advisor_user_id": advisor_user_id},
    )
    return member
