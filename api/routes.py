"""JSON API under /api. Routes parse, authorise and delegate: no SQL and no business rules here."""

from __future__ import annotations

import logging
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Query, Request, Response
from fastapi.security import OAuth2PasswordRequestForm
from sqlalchemy.ext.asyncio import AsyncSession
from temporalio.client import Client

from api.deps import (
    DatabaseDep,
    IdempotencyKeyDep,
    MemberDep,
    OpsDep,
    SessionDep,
    SettingsDep,
    StaffDep,
    ViewerDep,
    temporal_client,
)
from api.schemas import (
    CancelIn,
    ClientConfirmation,
    ClientCreate,
    MemberCreate,
    MissionCreate,
    PaymentIn,
    RetryIn,
    TrueUpIn,
    WorkReportIn,
)
from contracts.mission import (
    CancelMission,
    ConfirmClient,
    RetryStep,
    SignContract,
)
from core.db import Database
from core.errors import DomainError, NotFound
from core.security import issue_token
from core.settings import Settings
from domain.calendar import parse_date
from domain.identifiers import clean_text, parse_id
from domain.money import parse_money
from models import Mission
from services import (
    access,
    collection,
    idempotency,
    ledger,
    lifecycle,
    payroll,
    people,
    queries,
    repairs,
    views,
)
from services import missions as mission_service
from services.clock import business_today, current_clock
from services.login_throttle import LoginThrottle
from services.starter import start_now_or_later

log = logging.getLogger(__name__)
router = APIRouter(prefix="/api")

Limit = Annotated[int, Query(ge=1, le=200)]
Offset = Annotated[int, Query(ge=0, le=1_000_000)]
PositiveId = Annotated[int, Query(ge=1, le=2**31 - 1)]


# ---------------------------------------------------------------- auth and accounts
@router.post("/auth/token", tags=["auth"])
async def login(
    request: Request, session: SessionDep, form: Annotated[OAuth2PasswordRequestForm, Depends()]
) -> dict[str, str]:
    """OAuth2 password flow: `username` is the email. Repeated failures from one client address
    are slowed down by growing delays (429); other addresses are not."""
    throttle: LoginThrottle = request.app.state.login_throttle
    db: Database = request.app.state.db
    address = request.client.host if request.client else None
    attempt = await throttle.begin(db, form.username, address)
    user = await people.authenticate(session, form.username, form.password)
    if user is None:
        await throttle.failed(db, attempt)
        raise DomainError("wrong email or password", 401, "password")
    await throttle.succeeded(db, attempt)
    token = issue_token(request.app.state.settings, user.id, user.role)
    return {"access_token": token, "token_type": "bearer"}


@router.get("/me", tags=["auth"])
async def me(viewer: ViewerDep) -> dict[str, Any]:
    return {"user_id": viewer.user_id, "role": viewer.role, "member_id": viewer.member_id}


@router.post("/members", status_code=201, tags=["accounts"])
async def create_member(
    body: MemberCreate, session: SessionDep, viewer: StaffDep
) -> dict[str, Any]:
    member = await people.create_member(
        session,
        name=body.name,
        email=body.email,
        password=body.password,
        iban=body.iban,
        national_number=body.national_number,
        language=body.language,
        advisor_user_id=viewer.user_id if viewer.role == "advisor" else None,
    )
    return queries.member_out(member)


@router.get("/members/{member_id}", tags=["accounts"])
async def get_member(member_id: int, session: SessionDep, viewer: ViewerDep) -> dict[str, Any]:
    member = await queries.visible_member(session, viewer, member_id)
    return queries.member_out(member)


@router.post("/clients", status_code=201, tags=["accounts"])
async def create_client(
    body: ClientCreate, session: SessionDep, viewer: ViewerDep
) -> dict[str, Any]:
    """Ops add clients for any member, an advisor for their members (or a client of no member),
    a member their own clients; someone else's member answers like a missing one (404)."""
    if viewer.is_staff:
        # An id PostgreSQL's integer can hold, or 422 (it was a 500 "integer out of range").
        owner = None if body.member_id is None else parse_id(body.member_id, "member_id")
        if owner is not None and not await access.sees_member(session, viewer, owner):
            raise NotFound("member", "member_id")
    else:
        if body.member_id not in (None, viewer.member_id):
            raise NotFound("member", "member_id")
        owner = viewer.member_id
    client = await people.create_client(
        session,
        name=body.name,
        email=body.email,
        kind=body.kind,
        country=body.country,
        address=body.address,
        vat_number=body.vat_number,
        language=body.language,
        owner_member_id=owner,
    )
    return queries.client_out(client)


@router.get("/clients", tags=["accounts"])
async def list_clients(
    session: SessionDep, viewer: ViewerDep, limit: Limit = 50, offset: Offset = 0
) -> list[dict[str, Any]]:
    return [
        queries.client_out(c) for c in await queries.list_clients(session, viewer, limit, offset)
    ]


@router.get("/clients/{client_id}", tags=["accounts"])
async def get_client(client_id: int, session: SessionDep, viewer: ViewerDep) -> dict[str, Any]:
    if not 1 <= client_id <= 2**31 - 1:
        raise NotFound("client")
    return queries.client_out(await access.visible_client(session, viewer, client_id))


# ---------------------------------------------------------------- missions
@router.post(
    "/missions",
    status_code=201,
    tags=["missions"],
    responses={202: {"description": "Stored; its workflow starts as soon as Temporal answers"}},
)
async def create_mission(
    body: MissionCreate,
    session: SessionDep,
    db: DatabaseDep,
    settings: SettingsDep,
    viewer: ViewerDep,
    request: Request,
    response: Response,
    key: IdempotencyKeyDep,
) -> dict[str, Any]:
    """Create the mission, commit it, then start its workflow `mission-<id>`.

    201 once the workflow started; 202 (`workflow_started` false) when Temporal did not answer
    within the action deadline: the mission is stored and the worker's sweep starts it.
    With an `Idempotency-Key`, the same request again (a reply lost to a network cut) answers
    the first reply instead of making a second mission."""
    guard = await idempotency.begin(session, viewer.user_id, key, request, body)
    clock = await current_clock(session, settings.day_seconds, settings.timezone)
    mission, inp = await mission_service.create_mission(session, viewer, body.model_dump(), clock)
    # Stored with the mission; completed once the start was tried (duplicates wait for that).
    await guard.store(session, 202, {"id": mission.id}, final=False)
    await session.commit()  # no transaction is held while Temporal is asked
    started = await start_now_or_later(lambda: _temporal(request), db, inp, settings)
    if not started:
        response.status_code = 202
    out = await _detail(session, mission.id)
    await guard.finish(db, out, status_code=201 if started else 202)
    return out


@router.get("/missions", tags=["missions"])
async def list_missions(
    session: SessionDep,
    viewer: ViewerDep,
    stage: str | None = None,
    member_id: Annotated[int | None, Query(ge=1, le=2**31 - 1)] = None,
    client_id: Annotated[int | None, Query(ge=1, le=2**31 - 1)] = None,
    needs_attention: bool | None = None,
    limit: Limit = 50,
    offset: Offset = 0,
) -> list[dict[str, Any]]:
    rows = await mission_service.list_missions(
        session,
        viewer,
        stage=stage,
        member_id=member_id,
        client_id=client_id,
        needs_attention=needs_attention,
        limit=limit,
        offset=offset,
    )
    return [mission_service.mission_summary(m) for m in rows]


@router.get("/missions/{mission_id}", tags=["missions"])
async def get_mission(mission_id: int, session: SessionDep, viewer: ViewerDep) -> dict[str, Any]:
    mission = await access.visible_mission(session, viewer, mission_id)
    return await views.mission_detail(session, mission)


@router.post("/missions/{mission_id}/sign", tags=["lifecycle"])
async def sign(
    mission_id: int,
    session: SessionDep,
    settings: SettingsDep,
    viewer: MemberDep,
    request: Request,
) -> dict[str, Any]:
    """The member signs the employment contract (empty body). 409 on field `guarantee` while
    the guarantee fund does not cover the mission and no advisor approved it nor deposit came."""
    mission = await access.visible_mission(session, viewer, mission_id)
    clock = await current_clock(session, settings.day_seconds, settings.timezone)
    await mission_service.recheck_guarantee(session, mission, business_today(clock))
    await session.commit()  # a gate the re-check closed stays closed, and on the timeline
    mission_service.require_guarantee(mission)
    await _update(
        request, session, settings, mission, "sign_contract", SignContract(actor=viewer.label)
    )
    return await _detail(session, mission_id)


@router.post("/missions/{mission_id}/client-confirmation", tags=["lifecycle"])
async def client_confirmation(
    mission_id: int,
    body: ClientConfirmation,
    session: SessionDep,
    settings: SettingsDep,
    viewer: StaffDep,
    request: Request,
) -> dict[str, Any]:
    """Record how the client confirmed the order (e.g. "signed order form")."""
    mission = await access.visible_mission(session, viewer, mission_id)
    method = clean_text(body.method, field="method", max_length=200)
    await _update(
        request,
        session,
        settings,
        mission,
        "confirm_client",
        ConfirmClient(method=method, actor=viewer.label),
    )
    return await _detail(session, mission_id)


@router.post("/missions/{mission_id}/work-report", tags=["lifecycle"])
async def work_report(
    mission_id: int,
    body: WorkReportIn,
    session: SessionDep,
    settings: SettingsDep,
    viewer: MemberDep,
    request: Request,
) -> dict[str, Any]:
    """The member reports the days worked and the expenses to rebill."""
    mission = await access.visible_mission(session, viewer, mission_id)
    report = lifecycle.work_report(
        body.days_worked, [(line.label, line.amount) for line in body.expenses], viewer.label
    )
    await _update(request, session, settings, mission, "submit_work_report", report)
    return await _detail(session, mission_id)


@router.post("/missions/{mission_id}/cancel", tags=["lifecycle"])
async def cancel(
    mission_id: int,
    body: CancelIn,
    session: SessionDep,
    settings: SettingsDep,
    viewer: ViewerDep,
    request: Request,
) -> dict[str, Any]:
    """Cancel a mission before the work starts (the member or staff), with a reason."""
    mission = await access.visible_mission(session, viewer, mission_id)
    reason = clean_text(body.reason, field="reason", max_length=500)
    await _update(
        request,
        session,
        settings,
        mission,
        "cancel",
        CancelMission(reason=reason, actor=viewer.label),
    )
    return await _detail(session, mission_id)


@router.post("/missions/{mission_id}/retry", tags=["ops"])
async def retry(
    mission_id: int,
    session: SessionDep,
    settings: SettingsDep,
    viewer: OpsDep,
    request: Request,
    body: RetryIn | None = None,
) -> dict[str, Any]:
    """Ops: run the step that kept failing again, now."""
    mission = await access.visible_mission(session, viewer, mission_id)
    reason = clean_text(body.reason if body else "", field="reason", max_length=500, required=False)
    await _update(
        request, session, settings, mission, "retry", RetryStep(actor=viewer.label, reason=reason)
    )
    return await _detail(session, mission_id)


@router.post("/missions/{mission_id}/payroll/true-ups", status_code=201, tags=["money"])
async def payroll_true_up(
    mission_id: int,
    body: TrueUpIn,
    session: SessionDep,
    settings: SettingsDep,
    viewer: OpsDep,
) -> dict[str, Any]:
    """Ops: correct a paid salary's contributions and tax (e.g. the quarterly DmfA)."""
    mission = await access.visible_mission(session, viewer, mission_id)
    clock = await current_clock(session, settings.day_seconds, settings.timezone)
    await payroll.record_true_up(
        session,
        mission_id=mission.id,
        corrected=body.model_dump(exclude={"reason"}),
        reason=body.reason,
        today=business_today(clock),
        recorded_by_user_id=viewer.user_id,
    )
    detail = await _detail(session, mission.id)
    return dict(detail["advance"])


@router.get("/missions/{mission_id}/ledger", tags=["money"])
async def mission_ledger(mission_id: int, session: SessionDep, viewer: ViewerDep) -> list[Any]:
    mission = await access.visible_mission(session, viewer, mission_id)
    return await queries.mission_ledger(session, mission.id)


# ---------------------------------------------------------------- money
@router.post("/payments", status_code=201, tags=["money"])
async def record_payment(
    body: PaymentIn,
    session: SessionDep,
    settings: SettingsDep,
    viewer: OpsDep,
    request: Request,
    key: IdempotencyKeyDep,
) -> dict[str, Any]:
    """Record an incoming client payment (once per bank transaction id) and match it.

    With an `Idempotency-Key`, the same request again answers the first reply."""
    guard = await idempotency.begin(session, viewer.user_id, key, request, body)
    clock = await current_clock(session, settings.day_seconds, settings.timezone)
    payment, invoice = await collection.record_payment(
        session,
        amount=parse_money(body.amount, field="amount"),
        received_on=parse_date(body.received_on, "received_on"),
        structured_communication=body.structured_communication,
        bank_transaction_id=body.bank_transaction_id,
        today=business_today(clock),
        recorded_by_user_id=viewer.user_id,
    )
    position = (await collection.suspense_positions(session, [payment]))[payment.id]
    out = queries.payment_out(payment, invoice, position)
    await guard.store(session, 201, out)
    await session.commit()
    if invoice is not None and payment.matched:
        await _notify_payment(request, invoice.mission_id, payment.id, invoice.balance)
    return out


async def _notify_payment(request: Request, mission_id: int, payment_id: int, balance: Any) -> None:
    """Tell the workflow at once (services.repairs.notify_payment); if Temporal cannot be
    reached, the workflow's next step reads the balance anyway."""
    try:
        client = await _temporal(request)
    except DomainError as err:
        log.warning(
            "payment %s recorded; mission %s not signalled: %s", payment_id, mission_id, err
        )
        return
    await repairs.notify_payment(client, mission_id, payment_id, balance)


@router.get("/payments", tags=["money"])
async def list_payments(
    session: SessionDep,
    viewer: StaffDep,
    matched: bool | None = None,
    suspense: bool | None = None,
) -> list[dict[str, Any]]:
    """Payments, each with what it applied and what it left in suspense (and why);
    `?matched=false`: those that matched no invoice; `?suspense=true`: every payment with money
    still in suspense (unmatched, overpaid, on an invoice already paid), for ops to resolve.

    An advisor sees the payments of their members' invoices only; suspense is ops only."""
    payments = await queries.payments(session, viewer, matched, suspense)
    positions = await collection.suspense_positions(session, payments)
    return [queries.payment_out(p, None, positions[p.id]) for p in payments]


@router.get("/ledger/balances", tags=["money"])
async def ledger_balances(session: SessionDep, viewer: StaffDep) -> list[dict[str, str]]:
    return [
        {"account": account, "balance": f"{amount:.2f}"}
        for account, amount in (await ledger.balances(session)).items()
    ]


@router.get("/outbox", tags=["ops"])
async def outbox(
    session: SessionDep,
    viewer: StaffDep,
    mission_id: PositiveId | None = None,
    limit: Limit = 100,
    offset: Offset = 0,
) -> list[dict[str, Any]]:
    """Emails as sent: an advisor reads those of their members' missions only."""
    return await queries.outbox(session, viewer, mission_id, limit, offset)


@router.get("/clock", tags=["system"])
async def clock(session: SessionDep, settings: SettingsDep) -> dict[str, Any]:
    spec = await current_clock(session, settings.day_seconds, settings.timezone)
    return {"today": business_today(spec).isoformat(), "day_seconds": spec.day_seconds}


@router.get("/health", tags=["system"])
async def health(session: SessionDep) -> dict[str, str]:
    await queries.ping(session)
    return {"status": "ok"}


# ---------------------------------------------------------------- helpers
async def _temporal(request: Request) -> Client:
    return await temporal_client(request)


async def _detail(session: AsyncSession, mission_id: int) -> dict[str, Any]:
    """Re-read the mission after the workflow's activities committed in another transaction."""
    await session.commit()
    session.expire_all()
    mission = await access.get_mission(session, mission_id)
    return await views.mission_detail(session, mission)


async def _update(
    request: Request,
    session: AsyncSession,
    settings: Settings,
    mission: Mission,
    name: str,
    arg: Any,
) -> str:
    """Run a Temporal Update; a rejected step becomes a 4xx naming the field and the reason.

    Temporal is reached only now, once the request was read and the mission found: a wrong
    request gets its 422 or 404 even while Temporal is down. The request's transaction is
    committed first; the wait has the action deadline (503 when the worker does not take it,
    202 when it is accepted and still running)."""
    await session.commit()  # no transaction is held while connecting either
    client = await _temporal(request)
    return await lifecycle.run_update(
        client, session, mission, name, arg, timeout=settings.action_timeout_seconds
    )
