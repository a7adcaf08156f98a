"""The ops console: stuck cases with why, repairs by business step (each needs a reason), hold
with an expiry, matching a payment in suspense, bulk actions (filter -> preview -> run with a
progress bar), the audit trail, the simulated gateways, the late-payment rates with the staff
tasks asking for them, and the bank statements (camt.053) imported.

Every action is the ops services' (the JSON API under /api/ops calls the same functions): the
workflow validates the repair, the service writes the audit row.
"""

from __future__ import annotations

import logging
import math
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import Response
from sqlalchemy.ext.asyncio import AsyncSession
from temporalio.client import Client

from api.deps import DatabaseDep, SessionDep, SettingsDep, temporal_client
from contracts.stages import STAGES
from core.errors import DomainError, NotFound
from domain.calendar import parse_date
from domain.errors import FieldError
from services import audit, bank, bulk, gateways, rates, repairs, staff_tasks, stuck
from web.auth import WebRoute
from web.console.common import (
    OpsPage,
    business_date,
    list_values,
    parse_list,
    query_string,
)
from web.console.pages import REPAIR_LABELS, mission_page, path_mission_id
from web.messages import known_message
from web.render import Page, flash, redirect, render

log = logging.getLogger(__name__)
router = APIRouter(prefix="/console", route_class=WebRoute, include_in_schema=False)

AUDIT_PAGE = 50


async def _form(request: Request) -> dict[str, str]:
    form = await request.form()
    return {k: v[:2000] for k, v in form.items() if isinstance(v, str) and k != "csrf_token"}


async def _temporal_or_none(request: Request) -> Client | None:
    try:
        return await temporal_client(request)
    except DomainError:
        return None  # Temporal down: the console still shows what the database knows


def _message(err: Exception) -> str:
    return err.message if isinstance(err, FieldError | DomainError) else str(err)


# ---------------------------------------------------------------- stuck cases


@router.get("/ops")
async def stuck_page(request: Request, page: OpsPage, session: SessionDep) -> Response:
    assert page.viewer is not None
    client = await _temporal_or_none(request)
    cases = await stuck.stuck_cases(session, client, page.viewer)
    return render(
        page,
        "console/stuck.html",
        cases=cases,
        temporal_down=client is None,
        errors={},
        values={},
    )


@router.post("/ops/payments/{payment_id}/match")
async def match_payment(
    payment_id: str, request: Request, page: OpsPage, session: SessionDep
) -> Response:
    assert page.viewer is not None
    form = await _form(request)
    if not payment_id.isascii() or not payment_id.isdigit() or len(payment_id) > 10:
        raise NotFound("payment")
    raw_invoice = form.get("invoice_id", "")
    try:
        invoice_id: object = (
            int(raw_invoice) if raw_invoice.isascii() and raw_invoice.isdigit() else raw_invoice
        )
        payment, invoice = await repairs.match_payment(
            session, page.viewer, int(payment_id), invoice_id, form.get("reason")
        )
    except (FieldError, DomainError) as err:
        if isinstance(err, DomainError) and (err.status_code == 403 or not err.field):
            raise  # not ops, or no such payment: the refusal page
        await session.rollback()
        response = redirect("/console/ops#suspense")
        flash(response, request, "error", f"{err.field}: {err.message}")
        return response
    await session.commit()
    client = await _temporal_or_none(request)
    if client is not None:
        await repairs.notify_payment(client, invoice.mission_id, payment.id, invoice.balance)
    response = redirect("/console/ops#suspense")
    flash(
        response,
        request,
        "success",
        page.gettext("Payment %(p)s matched to invoice %(n)s.", p=payment.id, n=invoice.number),
    )
    return response


# ---------------------------------------------------------------- repairs


@router.post("/ops/missions/{mission_id}/repairs/{action}")
async def repair(
    mission_id: str,
    action: str,
    request: Request,
    page: OpsPage,
    session: SessionDep,
    settings: SettingsDep,
) -> Response:
    assert page.viewer is not None
    mid = path_mission_id(mission_id)
    if action not in repairs.REPAIRS:
        raise NotFound("repair")
    form = await _form(request)
    params = {k: form.get(k, "") for k in repairs.REPAIR_PARAMS[action]}
    today = await business_date(session, settings)
    try:
        audit.require_reason(form.get("reason"))  # said before anything is asked of Temporal
        client = await temporal_client(request)
        await repairs.repair(
            session,
            client,
            page.viewer,
            mid,
            action,
            form.get("reason"),
            params,
            today,
            timeout=settings.action_timeout_seconds,
        )
    except (FieldError, DomainError) as err:
        if isinstance(err, DomainError) and err.status_code in (403, 404, 503):
            raise
        await session.rollback()
        field = (getattr(err, "field", None) or "reason").removeprefix("params.")
        return await mission_page(
            page,
            session,
            settings,
            mid,
            status_code=422 if isinstance(err, FieldError) else err.status_code,
            repair_errors={action: {field: _message(err)}},
            repair_values={action: form},
        )
    # Committed before answering: the browser's next request (the redirect) must see it.
    await session.commit()
    response = redirect(f"/console/missions/{mid}")
    flash(response, request, "success", page.gettext(REPAIR_LABELS[action]) + " ✓")
    return response


# ---------------------------------------------------------------- bulk actions


@router.get("/ops/bulk")
async def bulk_page(
    request: Request, page: OpsPage, session: SessionDep, settings: SettingsDep
) -> Response:
    """The filter (the lists' own), and once asked, the preview: exactly the targets."""
    assert page.viewer is not None
    values = list_values(request.query_params)
    list_request, errors = parse_list(values)
    targets = None
    if request.query_params.get("preview") and not errors:
        try:
            today = await business_date(session, settings)
            targets = await bulk.preview(session, page.viewer, list_request.filter, today=today)
        except FieldError as err:
            errors[err.field or "q"] = err.message
    return render(
        page,
        "console/bulk.html",
        status_code=422 if errors else 200,
        values=values,
        errors=errors,
        targets=targets,
        stages=STAGES,
        repairs=REPAIR_LABELS,
        repair_params=repairs.REPAIR_PARAMS,
        run_errors={},
        run_values={},
        qs=lambda **over: query_string(values, **over),
    )


@router.post("/ops/bulk")
async def bulk_start(
    request: Request, page: OpsPage, db: DatabaseDep, settings: SettingsDep
) -> Response:
    assert page.viewer is not None
    form = await request.form()
    ids: list[object] = []
    for raw in form.getlist("mission_ids")[: bulk.MAX_TARGETS + 1]:
        text = raw if isinstance(raw, str) else ""
        ids.append(int(text) if text.isascii() and text.isdigit() and len(text) < 11 else text)
    action = str(form.get("action") or "")
    params = {
        k: str(form.get(k) or "") for k in repairs.REPAIR_PARAMS.get(action, ()) if form.get(k)
    }
    try:
        client = await _temporal_or_none(request)  # out of reach: the run waits, queued
        run_id = await bulk.start(
            db, client, settings, page.viewer, action, form.get("reason"), ids, params
        )
    except FieldError as err:
        response = redirect("/console/ops/bulk?" + str(form.get("back") or ""))
        flash(response, request, "error", f"{err.field}: {err.message}")
        return response
    return redirect(f"/console/ops/bulk/{run_id}")


def _run_id(raw: str) -> int:
    if not raw.isascii() or not raw.isdigit() or len(raw) > 10:
        raise NotFound("bulk run")
    return int(raw)


@router.get("/ops/bulk/{run_id}")
async def bulk_run_page(run_id: str, page: OpsPage, session: SessionDep) -> Response:
    status = await bulk.bulk_status(session, _run_id(run_id))
    return render(page, "console/bulk_run.html", run=status, labels=REPAIR_LABELS)


@router.post("/ops/bulk/{run_id}/cancel")
async def bulk_cancel(
    run_id: str, request: Request, page: OpsPage, db: DatabaseDep, settings: SettingsDep
) -> Response:
    """Ops: stop a run before its next mission (its workflow's `cancel`), with a reason."""
    assert page.viewer is not None
    bulk_id = _run_id(run_id)
    form = await _form(request)
    response = redirect(f"/console/ops/bulk/{bulk_id}")
    try:
        audit.require_reason(form.get("reason"))  # said before anything is asked of Temporal
        client = await _temporal_or_none(request)  # a queued run is cancelled without it
        await bulk.cancel(db, client, settings, page.viewer, bulk_id, form.get("reason"))
    except (FieldError, DomainError) as err:
        if isinstance(err, DomainError) and err.status_code in (403, 404):
            raise
        flash(response, request, "error", page.gettext(_message(err)))
        return response
    flash(response, request, "success", page.gettext("Cancelling the run") + " ✓")
    return response


@router.get("/ops/bulk/{run_id}/progress")
async def bulk_progress(run_id: str, page: OpsPage, session: SessionDep) -> Response:
    """The progress fragment htmx polls until the run has finished."""
    status = await bulk.bulk_status(session, _run_id(run_id))
    return render(page, "console/_bulk_progress.html", run=status)


# ---------------------------------------------------------------- audit


@router.get("/ops/audit")
async def audit_page(request: Request, page: OpsPage, session: SessionDep) -> Response:
    q = request.query_params
    values = {k: q.get(k, "")[:48] for k in ("mission_id", "action", "since", "until", "page")}
    errors: dict[str, str] = {}
    parsed: dict[str, Any] = {}
    for name in ("mission_id", "page"):
        raw = values[name]
        if raw and (not raw.isascii() or not raw.isdigit() or len(raw) > 9 or int(raw) < 1):
            errors[name] = page.gettext("a positive whole number")
        parsed[name] = int(raw) if raw and name not in errors else None
    for name in ("since", "until"):
        try:
            parsed[name] = parse_date(values[name], name) if values[name] else None
        except FieldError as err:
            errors[name] = err.message
    entries: list[Any] = []
    total = 0
    current = parsed.get("page") or 1
    if not errors:
        try:
            entries, total = await audit.list_entries(
                session,
                audit.AuditFilter(
                    mission_id=parsed["mission_id"],
                    action=values["action"] or None,
                    since=parsed["since"],
                    until=parsed["until"],
                ),
                limit=AUDIT_PAGE,
                offset=(current - 1) * AUDIT_PAGE,
            )
        except FieldError as err:
            errors[err.field or "since"] = err.message
    return render(
        page,
        "console/audit.html",
        status_code=422 if errors else 200,
        entries=entries,
        total=total,
        values=values,
        errors=errors,
        current=current,
        pages=max(1, math.ceil(total / AUDIT_PAGE)),
        qs=lambda **over: query_string({k: v for k, v in values.items() if v}, **over),
    )


# ---------------------------------------------------------------- gateways


def _number(raw: str, field: str) -> float:
    text = raw.strip().replace(",", ".")
    try:
        if not text or not text.isascii() or text.lower() in ("nan", "inf", "-inf", "infinity"):
            raise ValueError
        return float(text)
    except ValueError:
        raise FieldError(field, "a number") from None


async def _gateways_page(
    page: Page,
    session: AsyncSession,
    status_code: int = 200,
    errors: dict[str, dict[str, str]] | None = None,
    values: dict[str, dict[str, str]] | None = None,
) -> Response:
    return render(
        page,
        "console/gateways.html",
        status_code=status_code,
        gateways=await gateways.list_gateways(session),
        errors=errors or {},
        values=values or {},
    )


@router.get("/ops/gateways")
async def gateways_page(page: OpsPage, session: SessionDep) -> Response:
    return await _gateways_page(page, session)


@router.post("/ops/gateways/{name}")
async def set_gateway(name: str, request: Request, page: OpsPage, session: SessionDep) -> Response:
    assert page.viewer is not None
    gateway = gateways.parse_gateway(name)
    form = await _form(request)
    try:
        # The form says percent (what people type); the service keeps a 0-1 rate.
        rate = _number(form.get("failure_percent", ""), "failure_percent") / 100
        latency = _number(form.get("latency_seconds", ""), "latency_seconds")
        await gateways.set_gateway(session, page.viewer, gateway, rate, latency, form.get("reason"))
    except FieldError as err:
        await session.rollback()
        field = {"failure_rate": "failure_percent"}.get(err.field or "", err.field or "reason")
        message = err.message
        if err.field == "failure_rate":
            message = page.gettext("between 0 and 100")
        return await _gateways_page(
            page, session, 422, errors={gateway: {field: message}}, values={gateway: form}
        )
    await session.commit()  # before answering: the redirect's page must show the new setting
    response = redirect("/console/ops/gateways")
    flash(response, request, "success", page.gettext("Gateway %(name)s updated.", name=gateway))
    return response


# ---------------------------------------------------------------- rates and staff tasks
RATE_FIELDS = ("annual_rate", "source", "confidence", "estimate", "reason")


async def _rates_page(
    page: Page,
    session: AsyncSession,
    status_code: int = 200,
    errors: dict[str, dict[str, str]] | None = None,
    values: dict[str, dict[str, str]] | None = None,
) -> Response:
    return render(
        page,
        "console/rates.html",
        status_code=status_code,
        tables=await rates.rate_tables_out(session),
        tasks=await staff_tasks.list_tasks(session, "open"),
        confidences=rates.CONFIDENCES,
        errors=errors or {},
        values=values or {},
    )


@router.get("/ops/rates")
async def rates_page(page: OpsPage, session: SessionDep) -> Response:
    """The late-payment rate tables, the open staff tasks, and the form for each next rate."""
    return await _rates_page(page, session)


@router.post("/ops/rates/{name}")
async def enter_rate(name: str, request: Request, page: OpsPage, session: SessionDep) -> Response:
    """Ops: enter the rate of the table's next period without one (services/rates.py)."""
    assert page.viewer is not None
    rate_table = rates.RATE_TABLES.get(name)
    if rate_table is None:
        raise NotFound("rate table")
    form = await _form(request)
    try:
        await rates.enter_rate(
            session,
            page.viewer,
            table=rate_table.name,
            valid_from=form.get("valid_from"),
            annual_rate=form.get("annual_rate"),
            source=form.get("source"),
            confidence=form.get("confidence"),
            estimate=form.get("estimate") == "on",
            reason=form.get("reason"),
        )
    except (FieldError, DomainError) as err:
        await session.rollback()
        field = err.field if err.field in (*RATE_FIELDS, "valid_from") else "reason"
        return await _rates_page(
            page,
            session,
            422 if isinstance(err, FieldError) else err.status_code,
            errors={rate_table.name: {field or "reason": page.gettext(err.message)}},
            values={rate_table.name: form},
        )
    await session.commit()  # before answering: the redirect's page must show the new rate
    response = redirect("/console/ops/rates")
    flash(
        response,
        request,
        "success",
        page.gettext("Rate from %(date)s entered.", date=str(form.get("valid_from"))),
    )
    return response


# ---------------------------------------------------------------- bank statements (camt.053)


async def _bank_page(
    page: Page, session: AsyncSession, status_code: int = 200, error: str = ""
) -> Response:
    rows = await bank.statements(session)
    return render(
        page,
        "console/bank.html",
        status_code=status_code,
        statements=rows,
        entries=await bank.entries_to_look_at(session, [row.id for row in rows[:5]]),
        error=known_message(page.gettext, error) if error else "",
        max_mb=bank.MAX_BYTES // (1024 * 1024),
    )


@router.get("/ops/bank")
async def bank_page(page: OpsPage, session: SessionDep) -> Response:
    """Upload a camt.053 statement; the statements imported with their counts, and the lines of
    the latest ones that were not applied (suspense with suggestions, debits)."""
    return await _bank_page(page, session)


@router.post("/ops/bank")
async def bank_upload(
    request: Request, page: OpsPage, session: SessionDep, settings: SettingsDep
) -> Response:
    assert page.viewer is not None
    form = await request.form()
    upload = form.get("file")
    if upload is None or isinstance(upload, str):
        data, filename = b"", "statement.xml"
    else:
        data, filename = await upload.read(bank.MAX_BYTES + 1), upload.filename or ""
    try:
        today = await business_date(session, settings)
        result = await bank.import_upload(session, page.viewer, data, filename, today)
    except (FieldError, DomainError) as err:
        if isinstance(err, DomainError) and err.status_code == 403:
            raise
        await session.rollback()
        return await _bank_page(page, session, 422, _message(err))
    await session.commit()
    await bank.notify(await _temporal_or_none(request), result.notices)
    response = redirect("/console/ops/bank")
    for row, repeated in zip(result.statements, result.repeated, strict=True):
        if repeated:
            text = page.gettext(
                "Statement %(id)s was already imported: nothing new was booked.",
                id=row.statement_id,
            )
        else:
            text = page.gettext(
                "Statement %(id)s imported: %(created)s lines booked, %(applied)s applied, "
                "%(suspense)s to suspense, %(ignored)s already booked.",
                id=row.statement_id,
                created=row.created,
                applied=row.applied,
                suspense=row.suspense,
                ignored=row.ignored,
            )
        flash(response, request, "success", text)
    return response
