"""The ops console's JSON API: stuck cases, repairs by business step, suspense matching, bulk runs,
the audit trail, the simulated gateways and advisor assignment. Ops act; advisors read their own."""

from __future__ import annotations

import logging
from typing import Annotated, Any

from fastapi import APIRouter, Query, Request
from pydantic import Field, StrictBool, StrictFloat, StrictInt, StrictStr
from temporalio.client import Client

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
from domain.calendar import parse_date
from services import (
    access,
    audit,
    bulk,
    collection,
    gateways,
    idempotency,
    queries,
    rates,
    repairs,
    staff_tasks,
    stuck,
    views,
)
from services.clock import business_today, current_clock
from services.mission_filters import parse_filter

log = logging.getLogger(__name__)
router = APIRouter(prefix="/api")

Limit = Annotated[int, Query(ge=1, le=200)]
Offset = Annotated[int, Query(ge=0, le=1_000_000)]
PositiveId = Annotated[int, Query(ge=1, le=2**31 - 1)]


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


class BulkCancelIn(Body):
    reason: StrictStr


class GatewayIn(Body):
    failure_rate: StrictFloat | StrictInt = Field(description="0 to 1")
    latency_seconds: StrictFloat | StrictInt = Field(description="0 to 30")
    reason: StrictStr


class RateIn(Body):
    table: StrictStr = Field(description=", ".join(rates.RATE_TABLES))
    valid_from: StrictStr = Field(description="YYYY-MM-DD: the first day of the period")
    annual_rate: StrictStr = Field(description='percent per year as published, e.g. "10.50"')
    source: StrictStr = Field(description="where it is published (URL, Moniteur reference)")
    confidence: StrictStr = Field(description=", ".join(rates.CONFIDENCES))
    estimate: StrictBool = False
    reason: StrictStr


class AdvisorIn(Body):
    advisor_user_id: StrictInt | None
    reason: StrictStr


async def _temporal_or_none(request: Request) -> Client | None:
    try:
        return await temporal_client(request)
    except DomainError:
        return None  # Temporal down: what needs no workflow is still done


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
    mission = await access.visible_mission(session, viewer, mission_id)
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
    mission = await access.get_mission(session, mission_id)
    return {**done, "mission": await views.mission_detail(session, mission)}


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
    """Start a bulk repair on the previewed missions; follow it at GET /api/ops/bulk/{id}. With
    Temporal out of reach the run is recorded `queued`: the worker's sweep starts it."""
    client = await _temporal_or_none(request)
    run_id = await bulk.start(
        db, client, settings, viewer, body.action, body.reason, body.mission_ids, body.params
    )
    return {"id": run_id, "status_url": f"/api/ops/bulk/{run_id}"}


@router.get("/ops/bulk/{bulk_id}", tags=["ops"])
async def bulk_status(bulk_id: int, session: SessionDep, viewer: OpsDep) -> dict[str, Any]:
    return await bulk.bulk_status(session, bulk_id)


@router.post("/ops/bulk/{bulk_id}/cancel", tags=["ops"])
async def bulk_cancel(
    bulk_id: int,
    body: BulkCancelIn,
    db: DatabaseDep,
    settings: SettingsDep,
    viewer: OpsDep,
    request: Request,
) -> dict[str, Any]:
    """Ops: cancel a bulk run, with a reason: it stops before its next item, the missions not
    yet acted on are marked cancelled (follow it at GET /api/ops/bulk/{id}). A run still queued
    (Temporal was out of reach) is cancelled without Temporal."""
    client = await _temporal_or_none(request)
    status = await bulk.cancel(db, client, settings, viewer, bulk_id, body.reason)
    return {"id": bulk_id, "status": status, "status_url": f"/api/ops/bulk/{bulk_id}"}


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
        await access.visible_mission(session, viewer, mission_id)
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


# ---------------------------------------------------------------- rates and staff tasks
@router.get("/ops/rates", tags=["ops"])
async def list_rates(session: SessionDep, viewer: OpsDep) -> list[dict[str, Any]]:
    """The late-payment rate tables, each with its rows and the first period without a rate."""
    return await rates.rate_tables_out(session)


@router.post("/ops/rates", status_code=201, tags=["ops"])
async def enter_rate(body: RateIn, session: SessionDep, viewer: OpsDep) -> dict[str, Any]:
    """Ops: enter the rate of the next period without one, with its source (audited). The
    staff task asking for it is done; steps flagged for this rate run again when retried."""
    table, row = await rates.enter_rate(
        session,
        viewer,
        table=body.table,
        valid_from=body.valid_from,
        annual_rate=body.annual_rate,
        source=body.source,
        confidence=body.confidence,
        estimate=body.estimate,
        reason=body.reason,
    )
    out = rates.rate_out(table, row)
    await session.commit()
    return out


@router.get("/staff-tasks", tags=["ops"])
async def list_staff_tasks(
    session: SessionDep,
    viewer: OpsDep,
    status: Annotated[str | None, Query(max_length=16)] = None,
    limit: Limit = 100,
    offset: Offset = 0,
) -> list[dict[str, Any]]:
    """Staff tasks (`status=open` for what is still to do), the most urgent first."""
    found = await staff_tasks.list_tasks(
        session, staff_tasks.parse_status(status), limit=limit, offset=offset
    )
    return [staff_tasks.task_out(t) for t in found]


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
