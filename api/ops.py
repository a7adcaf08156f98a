"""The ops console's JSON API: stuck cases, repairs by business step, suspense matching, bulk runs,
the audit trail, the simulated gateways and advisor assignment. Ops act; advisors read their own."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from typing import Annotated, Any

from fastapi import APIRouter, FastAPI, Query, Request
from pydantic import Field, StrictFloat, StrictInt, StrictStr

from api.deps import (
    DatabaseDep,
    IdempotencyKeyDep,
    OpsDep,
    SessionDep,
    SettingsDep,
    StaffDep,
    temporal_client,
)
from api.schemas import Body
from core.errors import DomainError
from core.temporal import connect
from services import audit, bulk, collection, gateways, idempotency, queries, repairs, stuck
from services import missions as mission_service
from services.clock import business_today, current_clock
from services.mission_filters import parse_filter
from services.missions import parse_date

log = logging.getLogger(__name__)
router = APIRouter(prefix="/api")

Limit = Annotated[int, Query(ge=1, le=200)]
Offset = Annotated[int, Query(ge=0, le=1_000_000)]
PositiveId = Annotated[int, Query(ge=1, le=2**31 - 1)]
RESUME_SWEEP_SECONDS = 30.0


class RepairIn(Body):
    reason: StrictStr
    params: dict[str, Any] = Field(
        default_factory=dict,
        description='skip: {"reference": "..."}; hold: {"until": "YYYY-MM-DD"}; others: {}',
    )


class MatchIn(Body):
    invoice_id: StrictInt
    reason: StrictStr


class RefundIn(Body):
    reason: StrictStr


class BulkPreviewIn(Body):
    filter: dict[str, Any] = Field(
        default_factory=dict,
        description="member_id, client_id, stage, overdue_min_days, amount_min, amount_max, "
        "needs_attention, q",
    )


class BulkIn(Body):
    action: StrictStr = Field(description=", ".join(repairs.REPAIRS))
    reason: StrictStr
    mission_ids: list[Any] = Field(description="the ids the preview listed")
    params: dict[str, Any] = Field(default_factory=dict)


class GatewayIn(Body):
    failure_rate: StrictFloat | StrictInt = Field(description="0 to 1")
    latency_seconds: StrictFloat | StrictInt = Field(description="0 to 30")
    reason: StrictStr


class AdvisorIn(Body):
    advisor_user_id: StrictInt | None
    reason: StrictStr


# ---------------------------------------------------------------- stuck cases
@router.get("/ops/stuck", tags=["ops"])
async def stuck_cases(
    request: Request,
    session: SessionDep,
    viewer: StaffDep,
    min_attempts: Annotated[int, Query(ge=1, le=1000)] = 3,
) -> list[dict[str, Any]]:
    """Stuck cases with why (advisors: their members' missions only)."""
    try:
        client = await temporal_client(request)
    except DomainError:
        client = None  # Temporal down: the database's view alone
    cases = await stuck.stuck_cases(session, client, viewer, min_attempts=min_attempts)
    return [case.as_dict() for case in cases]


# ---------------------------------------------------------------- repairs
@router.get("/missions/{mission_id}/repairs", tags=["ops"])
async def repairs_available(
    mission_id: int, session: SessionDep, viewer: StaffDep, request: Request
) -> dict[str, Any]:
    """The workflow's live state and the repairs that apply now (advisors: read only)."""
    mission = await mission_service.visible_mission(session, viewer, mission_id)
    await session.commit()  # Temporal is asked below: no transaction held meanwhile
    status = await repairs.live_status(await temporal_client(request), mission)
    return {
        "mission_id": mission.id,
        "workflow": None if status is None else status.model_dump(mode="json"),
        "available": repairs.available_repairs(status) if viewer.role == "ops" else [],
        "params": {action: list(names) for action, names in repairs.REPAIR_PARAMS.items()},
    }


@router.post("/missions/{mission_id}/repairs/{action}", tags=["ops"])
async def repair(
    mission_id: int,
    action: str,
    body: RepairIn,
    session: SessionDep,
    settings: SettingsDep,
    viewer: OpsDep,
    request: Request,
) -> dict[str, Any]:
    """Ops: retry, skip (with the manual reference), hold (until), resume, cancel,
    pause_dunning or restart_dunning; the workflow refuses what does not apply (409)."""
    clock = await current_clock(session, settings.day_seconds, settings.timezone)
    await session.commit()  # read before Temporal is asked: no transaction held meanwhile
    client = await temporal_client(request)  # once the request was read (422 first)
    done = await repairs.repair(
        session,
        client,
        viewer,
        mission_id,
        action,
        body.reason,
        body.params,
        business_today(clock),
        timeout=settings.action_timeout_seconds,
    )
    await session.commit()
    session.expire_all()
    mission = await mission_service.get_mission(session, mission_id)
    return {**done, "mission": await mission_service.mission_detail(session, mission)}


@router.post("/payments/{payment_id}/match", tags=["ops"])
async def match_payment(
    payment_id: int, body: MatchIn, session: SessionDep, viewer: OpsDep, request: Request
) -> dict[str, Any]:
    """Ops: match a payment in suspense to an invoice by hand, with a reason."""
    payment, invoice = await repairs.match_payment(
        session, viewer, payment_id, body.invoice_id, body.reason
    )
    await session.commit()
    try:
        client = await temporal_client(request)
        await repairs.notify_payment(client, invoice.mission_id, payment.id, invoice.balance)
    except DomainError:
        log.warning("payment %s matched; Temporal unavailable to tell the mission", payment.id)
    return queries.payment_out(payment, invoice)


@router.post("/payments/{payment_id}/refund", tags=["ops"])
async def refund_payment(
    payment_id: int,
    body: RefundIn,
    session: SessionDep,
    viewer: OpsDep,
    request: Request,
    key: IdempotencyKeyDep,
) -> dict[str, Any]:
    """Ops: queue what a payment left in suspense to be paid back, with a reason (INV-7).

    With an `Idempotency-Key`, the same request again answers the first reply."""
    guard = await idempotency.begin(session, viewer.user_id, key, request, body)
    payment, _ = await repairs.refund_payment(session, viewer, payment_id, body.reason)
    position = (await collection.suspense_positions(session, [payment]))[payment.id]
    out = queries.payment_out(payment, None, position)
    await guard.store(session, 200, out)
    await session.commit()
    return out


# ---------------------------------------------------------------- bulk
@router.post("/ops/bulk/preview", tags=["ops"])
async def bulk_preview(body: BulkPreviewIn, session: SessionDep, viewer: OpsDep) -> dict[str, Any]:
    """The exact missions a bulk action on this filter would act on."""
    filter = parse_filter(body.filter)
    targets = await bulk.preview(session, viewer, filter)
    return {
        "filter": filter.as_dict(),
        "count": len(targets),
        "targets": [t.__dict__ for t in targets],
    }


@router.post("/ops/bulk", status_code=202, tags=["ops"])
async def bulk_start(
    body: BulkIn, db: DatabaseDep, settings: SettingsDep, viewer: OpsDep, request: Request
) -> dict[str, Any]:
    """Start a bulk repair on the previewed missions; follow it at GET /api/ops/bulk/{id}."""
    run_id = await bulk.start(
        db,
        await temporal_client(request),  # once the body was read (422 first)
        viewer,
        body.action,
        body.reason,
        body.mission_ids,
        body.params,
        rate_per_second=settings.bulk_rate_per_second,
    )
    return {"id": run_id, "status_url": f"/api/ops/bulk/{run_id}"}


@router.get("/ops/bulk/{bulk_id}", tags=["ops"])
async def bulk_status(bulk_id: int, session: SessionDep, viewer: OpsDep) -> dict[str, Any]:
    return await bulk.bulk_status(session, bulk_id)


# ---------------------------------------------------------------- audit
@router.get("/ops/audit", tags=["ops"])
async def audit_log(
    session: SessionDep,
    viewer: StaffDep,
    mission_id: PositiveId | None = None,
    user_id: PositiveId | None = None,
    # An action's name (e.g. assign_advisor): nothing else reaches the query (a NUL was a 500).
    action: Annotated[str | None, Query(max_length=48, pattern=r"^[a-z0-9_]+$")] = None,
    since: str | None = None,
    until: str | None = None,
    limit: Limit = 50,
    offset: Offset = 0,
) -> dict[str, Any]:
    """The audit trail, newest first; advisors only see it for a mission of theirs."""
    if viewer.role != "ops":
        if mission_id is None:
            raise DomainError("advisors see the audit trail of their missions only", 403)
        await mission_service.visible_mission(session, viewer, mission_id)
    f = audit.AuditFilter(
        mission_id=mission_id,
        user_id=user_id,
        action=action,
        since=parse_date(since, "since") if since is not None else None,
        until=parse_date(until, "until") if until is not None else None,
    )
    rows, total = await audit.list_entries(session, f, limit=limit, offset=offset)
    return {"total": total, "items": [audit.entry_out(e) for e in rows]}


# ---------------------------------------------------------------- gateways
@router.get("/ops/gateways", tags=["ops"])
async def list_gateways(session: SessionDep, viewer: OpsDep) -> list[dict[str, Any]]:
    return [gateways.gateway_out(g) for g in await gateways.list_gateways(session)]


@router.get("/ops/gateways/{name}", tags=["ops"])
async def get_gateway(name: str, session: SessionDep, viewer: OpsDep) -> dict[str, Any]:
    setting = await gateways.gateway_setting(session, gateways.parse_gateway(name))
    return gateways.gateway_out(setting)


@router.put("/ops/gateways/{name}", tags=["ops"])
async def set_gateway(
    name: str, body: GatewayIn, session: SessionDep, viewer: OpsDep
) -> dict[str, Any]:
    """Ops: make a simulated gateway (declaration, email, bank) fail or lag, with a reason."""
    setting = await gateways.set_gateway(
        session, viewer, name, body.failure_rate, body.latency_seconds, body.reason
    )
    return gateways.gateway_out(setting)


# ---------------------------------------------------------------- advisors
@router.put("/members/{member_id}/advisor", tags=["accounts"])
async def assign_advisor(
    member_id: int, body: AdvisorIn, session: SessionDep, viewer: OpsDep
) -> dict[str, Any]:
    """Ops: assign the member to an advisor (null: to none)."""
    member = await repairs.assign_advisor(
        session, viewer, member_id, body.advisor_user_id, body.reason
    )
    return {**queries.member_out(member), "advisor_user_id": member.advisor_user_id}


# ---------------------------------------------------------------- background
def start_resume_sweep(app: FastAPI) -> asyncio.Task[None]:
    """At startup and every 30 s, continue the bulk runs a crash interrupted."""

    async def sweep() -> None:
        while True:
            try:
                state = app.state
                if state.temporal is None:
                    state.temporal = await connect(state.settings)
                await bulk.resume_interrupted(state.db, state.temporal)
            except Exception as err:
                log.warning("bulk resume sweep: %s", err)
            await asyncio.sleep(RESUME_SWEEP_SECONDS)

    return asyncio.create_task(sweep(), name="bulk-resume-sweep")


async def stop_resume_sweep(task: asyncio.Task[None]) -> None:
    task.cancel()
    with contextlib.suppress(asyncio.CancelledError):
        await task
