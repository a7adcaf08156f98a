"""The advisor console: the dashboard, the mission lists with their CSV export, the staff mission
page. Every figure comes from services.dashboard, scoped to the viewer (advisor: their members)."""

from __future__ import annotations

from datetime import timedelta
from typing import Any
from urllib.parse import quote

from fastapi import APIRouter, Request
from fastapi.responses import Response
from sqlalchemy.ext.asyncio import AsyncSession

from api.deps import SessionDep, SettingsDep
from contracts.stages import STAGES
from core.errors import DomainError, NotFound
from core.settings import Settings
from domain.calendar import parse_date
from domain.errors import FieldError
from models import Client, Member
from services import audit, dashboard, documents, guarantee, queries, repairs, views
from web.auth import WebRoute
from web.console.common import (
    PAGE_SIZE,
    StaffPage,
    business_date,
    list_values,
    parse_list,
    query_string,
)
from web.messages import known_message
from web.render import Page, flash, redirect, render, with_headers

router = APIRouter(prefix="/console", route_class=WebRoute, include_in_schema=False)

DEFAULT_PERIOD_DAYS = 90


def path_mission_id(raw: str) -> int:
    """A path id that is not a positive integer is simply a mission that does not exist."""
    if not raw.isascii() or not raw.isdigit() or len(raw) > 10:
        raise NotFound("mission")
    return int(raw)


@router.get("")
async def dashboard_page(
    request: Request, page: StaffPage, session: SessionDep, settings: SettingsDep
) -> Response:
    assert page.viewer is not None
    viewer = page.viewer
    today = await business_date(session, settings)
    errors: dict[str, str] = {}
    raw_from = request.query_params.get("from") or ""
    raw_to = request.query_params.get("to") or ""
    date_from, date_to = today - timedelta(days=DEFAULT_PERIOD_DAYS), today
    try:
        if raw_from:
            date_from = parse_date(raw_from[:10], "from")
    except FieldError as err:
        errors["from"] = err.message
    try:
        if raw_to:
            date_to = parse_date(raw_to[:10], "to")
    except FieldError as err:
        errors["to"] = err.message
    if not errors and date_to < date_from:
        errors["to"] = page.gettext("the end of the period is before its start")
    durations = []
    if not errors:
        durations = await dashboard.stage_durations(session, viewer, date_from, date_to)
    fund = await dashboard.guarantee_fund(session, viewer, today)
    chart = {
        "exposure": {
            "labels": [e.name for e in fund.exposure],
            "amounts": [float(e.amount) for e in fund.exposure],
            "label": page.gettext("Advanced and not yet repaid"),
        },
        "months": {
            "labels": [m.month for m in fund.months],
            "write_offs": [float(m.write_offs) for m in fund.months],
            "recoveries": [float(m.recoveries) for m in fund.months],
            "write_offs_label": page.gettext("Write-offs"),
            "recoveries_label": page.gettext("Recoveries"),
        },
    }
    return render(
        page,
        "console/dashboard.html",
        status_code=422 if errors else 200,
        today=today,
        pipeline=await dashboard.pipeline(session, viewer),
        ageing=await dashboard.receivables_ageing(session, viewer, today),
        ladder=await dashboard.dunning_ladder(session, viewer),
        fund=fund,
        chart=chart,
        durations=durations,
        period={"from": raw_from or date_from.isoformat(), "to": raw_to or date_to.isoformat()},
        errors=errors,
    )


@router.get("/missions")
async def mission_list_page(
    request: Request, page: StaffPage, session: SessionDep, settings: SettingsDep
) -> Response:
    assert page.viewer is not None
    values = list_values(request.query_params)
    list_request, errors = parse_list(values)
    today = await business_date(session, settings)
    members, clients = await dashboard.filter_choices(session, page.viewer)
    result = None
    if not errors:
        try:
            result = await dashboard.mission_list(session, page.viewer, list_request, today)
        except FieldError as err:
            errors[err.field or "q"] = err.message
    current = list_request.offset // PAGE_SIZE + 1
    pages = 1 if result is None else max(1, -(-result.total // PAGE_SIZE))
    return render(
        page,
        "console/missions.html",
        status_code=422 if errors else 200,
        stages=STAGES,
        values=values,
        errors=errors,
        result=result,
        members=members,
        clients=clients,
        current=current,
        pages=pages,
        qs=lambda **over: query_string(values, **over),
        export_qs=query_string({k: v for k, v in values.items() if k != "page"}),
        today=today,
    )


@router.get("/missions.csv")
async def mission_export(
    request: Request, page: StaffPage, session: SessionDep, settings: SettingsDep
) -> Response:
    """Exactly the filtered rows (every page), as CSV; cells that would be formulas are quoted."""
    assert page.viewer is not None
    values = list_values(request.query_params)
    list_request, errors = parse_list(values)
    if errors:
        field, message = next(iter(errors.items()))
        raise FieldError(field, message)
    today = await business_date(session, settings)
    lines = [line async for line in dashboard.export_csv(session, page.viewer, list_request, today)]
    response = Response(
        "\ufeff" + "".join(lines),  # the BOM tells spreadsheets the file is UTF-8
        media_type="text/csv; charset=utf-8",
        headers={"Content-Disposition": f'attachment; filename="missions-{today}.csv"'},
    )
    return with_headers(response)


async def mission_context(
    page: Page, session: AsyncSession, settings: Settings, mission_id: int
) -> dict[str, Any]:
    """What staff see of a mission: the member's view plus the books, the emails, the workflow."""
    assert page.viewer is not None
    mission = await dashboard.staff_mission(session, page.viewer, mission_id)
    detail = await views.mission_detail(session, mission)
    member = await session.get(Member, mission.member_id)
    client = await session.get(Client, mission.client_id)
    workflow_url = (
        f"{settings.temporal_ui_url.rstrip('/')}/namespaces/{settings.temporal_namespace}"
        f"/workflows/{mission.workflow_id or f'mission-{mission.id}'}"
    )
    return {
        "mission": detail,
        "member": member,
        "client": client,
        "ledger": await queries.mission_ledger(session, mission.id),
        "emails": await queries.outbox(session, page.viewer, mission.id, limit=100, offset=0),
        "documents": await documents.list_documents(session, page.viewer, mission.id),
        "workflow_url": workflow_url,
    }


# What each ops repair does, as its button says (the services' REPAIR_PARAMS say what it asks).
REPAIR_LABELS = {
    "retry": "Retry the step now",
    "skip": "Skip the step (done by hand)",
    "hold": "Hold the mission",
    "resume": "Resume the mission",
    "cancel": "Cancel the mission",
    "pause_dunning": "Pause the dunning ladder",
    "restart_dunning": "Restart the dunning ladder",
}


async def mission_page(
    page: Page,
    session: AsyncSession,
    settings: Settings,
    mission_id: int,
    status_code: int = 200,
    repair_errors: dict[str, dict[str, str]] | None = None,
    repair_values: dict[str, dict[str, str]] | None = None,
    guarantee_error: str | None = None,
    guarantee_reason: str = "",
) -> Response:
    """The staff mission page: with its audit trail, the guarantee gate's approval form when the
    mission waits for it, and for ops the repair forms."""
    context = await mission_context(page, session, settings, mission_id)
    entries, _ = await audit.list_entries(
        session, audit.AuditFilter(mission_id=mission_id), limit=100
    )
    return render(
        page,
        "console/mission.html",
        status_code=status_code,
        audit_entries=entries,
        repairs=REPAIR_LABELS,
        repair_params=repairs.REPAIR_PARAMS,
        repair_errors=repair_errors or {},
        repair_values=repair_values or {},
        guarantee_error=guarantee_error,
        guarantee_reason=guarantee_reason,
        today=await business_date(session, settings),
        attention_reason=known_message(page.gettext, context["mission"]["attention_reason"]),
        **context,
    )


@router.get("/missions/{mission_id}/documents/{document_id}")
async def staff_download(
    mission_id: str, document_id: str, page: StaffPage, session: SessionDep
) -> Response:
    """A document of a mission the viewer may see, as the member downloads it."""
    assert page.viewer is not None
    mission = await dashboard.staff_mission(session, page.viewer, path_mission_id(mission_id))
    doc = await documents.get_document(session, page.viewer, path_mission_id(document_id))
    if doc.mission_id != mission.id:
        raise NotFound("document")
    return with_headers(
        Response(
            doc.content,
            media_type=doc.media_type,
            headers={"Content-Disposition": f"attachment; filename*=UTF-8''{quote(doc.filename)}"},
        )
    )


@router.get("/missions/{mission_id}")
async def staff_mission_page(
    mission_id: str, page: StaffPage, session: SessionDep, settings: SettingsDep
) -> Response:
    return await mission_page(page, session, settings, path_mission_id(mission_id))


@router.post("/missions/{mission_id}/guarantee/approval")
async def approve_guarantee(
    mission_id: str,
    request: Request,
    page: StaffPage,
    session: SessionDep,
    settings: SettingsDep,
) -> Response:
    """The member's advisor (or ops) lets a mission the fund's rules do not cover go ahead, with
    a reason for the audit trail: the member may then sign (services/guarantee.py)."""
    assert page.viewer is not None
    mid = path_mission_id(mission_id)
    form = await request.form()
    reason = form.get("reason")
    reason_text = reason[:2000] if isinstance(reason, str) else ""
    try:
        await guarantee.approve(
            session, page.viewer, mid, reason_text, await business_date(session, settings)
        )
    except (FieldError, DomainError) as err:
        if isinstance(err, DomainError) and err.status_code in (403, 404):
            raise
        await session.rollback()
        return await mission_page(
            page,
            session,
            settings,
            mid,
            status_code=422 if isinstance(err, FieldError) else err.status_code,
            guarantee_error=page.gettext(err.message),
            guarantee_reason=reason_text,
        )
    await session.commit()
    response = redirect(f"/console/missions/{mid}")
    flash(response, request, "success", page.gettext("Mission approved: the member can sign."))
    return response
