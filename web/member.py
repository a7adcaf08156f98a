"""The member portal: my missions, a new mission with its live estimate, the mission page (sign,
work report, documents, money) and my profile. Every rule is the services' (the JSON API's)."""

from __future__ import annotations

import logging
from collections.abc import Callable
from datetime import date, timedelta
from decimal import Decimal
from functools import partial
from typing import Any, TypeVar
from urllib.parse import quote

from fastapi import APIRouter, Request
from fastapi.responses import Response
from sqlalchemy.ext.asyncio import AsyncSession

from api.deps import DatabaseDep, SessionDep, SettingsDep, temporal_client
from contracts.mission import SignContract
from contracts.stages import Stage
from core.errors import DomainError, NotFound
from core.settings import Settings
from documents import wording
from documents.payslip import SUMMARY_FIGURES
from documents.texts import TEXTS
from domain.calendar import parse_date
from domain.errors import FieldError
from domain.identifiers import clean_text, normalize_country, normalize_email, normalize_iban
from domain.money import parse_money, parse_vat_rate
from domain.payroll import PAYROLL_LINE_CODES, parse_contract_type, weekdays_between
from models import Document, Member, Mission, User
from services import (
    access,
    documents,
    estimates,
    lifecycle,
    parameters,
    payslips,
    people,
    queries,
    vat_grounds,
    views,
)
from services import missions as mission_service
from services.clock import business_today, current_clock
from services.document_data import payslip_and_estimate
from services.starter import start_now_or_later
from web import narrative
from web.auth import MemberPage, WebRoute
from web.i18n import LANGUAGES
from web.render import LANG_COOKIE, Page, flash, redirect, render, secure_cookies

log = logging.getLogger(__name__)
router = APIRouter(route_class=WebRoute, include_in_schema=False)
T = TypeVar("T")

EXPENSE_ROWS = 5
POLL_SECONDS = 2


# ---------------------------------------------------------------- helpers


class _Refused(Exception):
    """Some fields were refused one by one: the services are not asked."""


class FormErrors(dict[str, str]):
    """Field name -> message, each validator run on its own so that every wrong field shows."""

    def check(self, name: str, validate: Callable[[], T]) -> T | None:
        try:
            return validate()
        except FieldError as err:
            self.setdefault(name, err.message)
            return None


async def _form(request: Request) -> dict[str, str]:
    form = await request.form()
    return {k: v[:2000] for k, v in form.items() if isinstance(v, str) and k != "csrf_token"}


def _member_id(page: Page) -> int:
    assert page.viewer is not None and page.viewer.member_id is not None
    return page.viewer.member_id


async def _today(session: AsyncSession, settings: Settings) -> date:
    clock = await current_clock(session, settings.day_seconds, settings.timezone)
    return business_today(clock)


def _mission_id(raw: str) -> int:
    """A path id that is not a positive integer is simply a mission that does not exist."""
    if not raw.isascii() or not raw.isdigit() or len(raw) > 10:
        raise NotFound("mission")
    return int(raw)


# ---------------------------------------------------------------- my missions


@router.get("/missions")
async def my_missions(page: MemberPage, session: SessionDep, settings: SettingsDep) -> Response:
    assert page.viewer is not None
    today = await _today(session, settings)
    rows = await mission_service.list_missions(session, page.viewer, limit=200)
    items: list[dict[str, Any]] = []
    for mission in rows:
        detail = await views.mission_detail(session, mission)
        if detail["estimate"] is None and detail["stage"] == Stage.CONTRACT:
            detail["estimate"] = await _mission_estimate(session, mission, today)
        client = await access.visible_client(session, page.viewer, mission.client_id)
        items.append(
            {"mission": detail, "client": client, "story": narrative.story(page.t, detail)}
        )
    actions = [i for i in items if i["story"].action]
    return render(page, "missions.html", items=items, actions=actions, today=today)


async def _mission_estimate(
    session: AsyncSession, mission: Mission, today: date
) -> dict[str, Any] | None:
    """What the member would get (before signing, the mission keeps no estimate yet)."""
    try:
        return await estimates.for_mission(session, mission, today)
    except (FieldError, DomainError):
        return None


# ---------------------------------------------------------------- new mission

CLIENT_FIELDS = ("name", "email", "kind", "country", "address", "vat_number", "language")
NEW_MISSION_FIELDS = (
    "client_id",
    "client.",
    "title",
    "start_date",
    "end_date",
    "amount_excl_vat",
    "gross_salary",
    "vat_rate",
    "vat_exemption",
    "contract_type",
)


async def _new_mission_page(
    page: Page,
    session: AsyncSession,
    settings: Settings,
    values: dict[str, str],
    errors: dict[str, str],
    status_code: int = 200,
) -> Response:
    assert page.viewer is not None
    today = await _today(session, settings)
    clients = await queries.list_clients(session, page.viewer, 200, 0)
    rates = await parameters.vat_rates(session, today)
    defaults = {
        "start_date": (today + timedelta(days=1)).isoformat(),
        "end_date": (today + timedelta(days=1)).isoformat(),
        "vat_rate": "21",
        "vat_exemption": "",
        "contract_type": "ordinary",
        "price_mode": "price",
        "client_id": str(clients[0].id) if clients else "new",
        "client.kind": "business",
        "client.country": "BE",
        "client.language": page.language,
    }
    estimate = None
    if values:
        estimate = await _estimate_from(session, today, values, _member_id(page))
    return render(
        page,
        "new_mission.html",
        status_code=status_code,
        values={**defaults, **values},
        errors=_translated(page, errors, NEW_MISSION_FIELDS),
        clients=clients,
        rates=[format(r.normalize(), "f") for r in sorted(rates, reverse=True)],
        vat_grounds=[
            (g.code, g.label(page.language)) for g in await vat_grounds.grounds(session, today)
        ],
        estimate=estimate,
        today=today,
    )


@router.get("/missions/new")
async def new_mission_form(
    page: MemberPage, session: SessionDep, settings: SettingsDep
) -> Response:
    return await _new_mission_page(page, session, settings, {}, {})


async def _estimate_from(
    session: AsyncSession, today: date, values: dict[str, str], member_id: int | None = None
) -> dict[str, Any]:
    """The salary estimate for what is typed so far: the figures, or the field that is wrong.

    Computed as the signature will: on the contract's working days (the work bonus is prorated
    on them) and, for an artist, at the withholding rate chosen on the profile."""
    salary_mode = values.get("price_mode") == "salary"
    field = "gross_salary" if salary_mode else "amount_excl_vat"
    raw = values.get(field, "").strip()
    if not raw:
        return {"missing": field}
    try:
        amount = parse_money(raw, field=field)
        end = parse_date(values.get("end_date", ""), "end_date") if values.get("end_date") else None
        start = (
            parse_date(values.get("start_date", ""), "start_date")
            if values.get("start_date")
            else None
        )
        contract_type = values.get("contract_type") or "ordinary"
        paid_days = max(1, weekdays_between(start, end)) if start and end and start <= end else None
        result = await estimates.estimate(
            session,
            amount_excl_vat=None if salary_mode else amount,
            gross_salary=amount if salary_mode else None,
            expenses=Decimal("0.00"),
            contract_type=contract_type,
            vat_rate=values.get("vat_rate") or None,
            end_date=estimates.check_end_date(end, today),
            paid_days=paid_days,
            withholding_rate=await estimates.chosen_withholding_rate(
                session, member_id, contract_type, today
            ),
            today=today,
        )
    except FieldError as err:
        return {"error_field": err.field, "error": err.message}
    return {"figures": result}


@router.post("/missions/estimate")
async def live_estimate(
    request: Request, page: MemberPage, session: SessionDep, settings: SettingsDep
) -> Response:
    """The estimate panel, re-rendered by htmx as the member types."""
    values = await _form(request)
    today = await _today(session, settings)
    return render(
        page,
        "_estimate.html",
        estimate=await _estimate_from(session, today, values, _member_id(page)),
    )


@router.post("/missions/new")
async def create_mission(
    request: Request,
    page: MemberPage,
    session: SessionDep,
    db: DatabaseDep,
    settings: SettingsDep,
) -> Response:
    """Create the client if new, then the mission; commit; start its workflow (as the API)."""
    assert page.viewer is not None
    values = await _form(request)
    member_id = _member_id(page)
    errors = FormErrors()
    clock = await current_clock(session, settings.day_seconds, settings.timezone)
    today = business_today(clock)
    # Every field on its own first, so that each wrong one gets its message at once.
    choice = values.get("client_id", "")
    if choice == "new":
        c = {f: values.get(f"client.{f}", "") for f in CLIENT_FIELDS}
        errors.check("client.name", lambda: clean_text(c["name"], field="name", max_length=200))
        errors.check("client.email", lambda: normalize_email(c["email"]))
        country = errors.check("client.country", lambda: normalize_country(c["country"]))
        errors.check(
            "client.address", lambda: clean_text(c["address"], field="address", max_length=500)
        )
    elif not choice.isdigit():
        errors["client_id"] = page.gettext("Choose a client, or add a new one.")
    errors.check("title", lambda: clean_text(values.get("title"), field="title", max_length=200))
    errors.check("start_date", lambda: parse_date(values.get("start_date"), "start_date"))
    errors.check("end_date", lambda: parse_date(values.get("end_date"), "end_date"))
    rates = await parameters.vat_rates(session, today)
    errors.check(
        "vat_rate",
        lambda: parse_vat_rate(values.get("vat_rate"), field="vat_rate", allowed=rates),
    )
    salary_mode = values.get("price_mode") == "salary"
    price_field = "gross_salary" if salary_mode else "amount_excl_vat"
    errors.check(price_field, lambda: parse_money(values.get(price_field), field=price_field))
    errors.check("contract_type", lambda: parse_contract_type(values.get("contract_type")))
    try:
        if errors:
            raise _Refused()
        # Then the services, whose rules across fields (dates vs today, VAT number) decide.
        if choice == "new":
            try:
                client = await people.create_client(
                    session,
                    name=c["name"],
                    email=c["email"],
                    kind=c["kind"],
                    country=country,
                    address=c["address"],
                    vat_number=c["vat_number"] or None,
                    language=c["language"],
                    owner_member_id=member_id,
                )
            except FieldError as err:
                raise FieldError(f"client.{err.field}", err.message) from None
            client_id = client.id
        else:
            client_id = int(choice)
        amount = values.get("amount_excl_vat")
        if salary_mode:
            estimate = await _estimate_from(session, today, values, _member_id(page))
            if "figures" not in estimate:
                raise FieldError(estimate.get("error_field", "gross_salary"), estimate["error"])
            amount = estimate["figures"]["amount_excl_vat"]
        data = {
            "member_id": member_id,
            "client_id": client_id,
            "title": values.get("title"),
            "start_date": values.get("start_date"),
            "end_date": values.get("end_date"),
            "amount_excl_vat": amount,
            "vat_rate": values.get("vat_rate"),
            "vat_exemption": values.get("vat_exemption") or None,
            "contract_type": values.get("contract_type"),
        }
        mission, inp = await mission_service.create_mission(session, page.viewer, data, clock)
    except (_Refused, FieldError, DomainError) as err:
        await session.rollback()  # nothing of a refused form is kept (not even its new client)
        if isinstance(err, FieldError):
            name = "gross_salary" if salary_mode and err.field == "amount_excl_vat" else err.field
            errors.setdefault(name, err.message)
        elif isinstance(err, DomainError):
            errors.setdefault(err.field or "form", err.message)
        return await _new_mission_page(page, session, settings, values, errors, 422)
    await session.commit()
    # Within the action deadline; if Temporal does not answer, the worker's sweep starts it.
    await start_now_or_later(partial(temporal_client, request), db, inp, settings)
    response = redirect(f"/missions/{mission.id}")
    if mission.guarantee_status == mission_service.NEEDS_APPROVAL:
        flash(
            response,
            request,
            "success",
            page.gettext(
                "Mission created. Before you can sign, it needs your advisor's approval or a "
                "deposit from the client: see below."
            ),
        )
        return response
    flash(response, request, "success", page.gettext("Mission created. Sign the contract below."))
    return response


# ---------------------------------------------------------------- the mission page


async def _mission_context(page: Page, session: AsyncSession, mission_id: int) -> dict[str, Any]:
    assert page.viewer is not None
    mission = await access.visible_mission(session, page.viewer, mission_id)
    detail = await views.mission_detail(session, mission)
    if detail["estimate"] is None and detail["stage"] == Stage.CONTRACT:
        detail["estimate"] = await _mission_estimate(session, mission, mission.created_on)
    client = await access.visible_client(session, page.viewer, mission.client_id)
    docs = await documents.list_documents(session, page.viewer, mission.id)
    member_docs = [d for d in docs if d.media_type == "application/pdf"]
    return {
        "payslips": await _payslips(page, session, mission, docs),
        "mission": detail,
        "client": client,
        "story": narrative.story(page.t, detail),
        "guarantee_notice": narrative.guarantee_notice(page.t, detail),
        "documents": member_docs,
        "actions_key": narrative.actions_key(detail),
        "step_label": lambda step: narrative.step_label(page.t, step),
        "stage_label": lambda stage: narrative.stage_label(page.t, stage),
        "poll_seconds": POLL_SECONDS,
        "charges": _charges,
    }


async def _payslips(
    page: Page, session: AsyncSession, mission: Mission, docs: list[Document]
) -> list[dict[str, Any]]:
    """Each payout's payslip beside the estimate, line by line, every difference explained
    (the same wording as the PDF, in the page's language)."""
    payout_ids = await payslips.payout_ids(session, mission.id)
    if not payout_ids:
        return []
    language = page.language if page.language in TEXTS else "en"
    by_key = {d.key: d for d in docs}
    estimate_doc = by_key.get("payslip_estimate")
    out = []
    for payout_id in payout_ids:
        data, estimate_lines = await payslip_and_estimate(session, mission.id, payout_id)
        ctx_rows = []
        estimated = (
            {}
            if data.estimate_date is None
            else {line.code: line.amount for line in estimate_lines}
        )
        final = {line.code: line.amount for line in data.lines}
        diffs = {d.code: d for d in data.differences}
        for code in PAYROLL_LINE_CODES:
            if code not in final and code not in estimated:
                continue
            diff = diffs.get(code)
            ctx_rows.append(
                {
                    "code": code,
                    "label": wording.line_label(code, language),
                    "estimated": estimated.get(code),
                    "final": final.get(code),
                    "difference": None
                    if diff is None
                    else wording.signed_money(diff.difference, language),
                    "why": []
                    if diff is None
                    else [wording.explain(r, language) for r in diff.reasons],
                }
            )
        out.append(
            {
                "payout_id": payout_id,
                "paid_on": data.paid_on,
                "estimate_date": data.estimate_date,
                "rows": ctx_rows,
                "differs": bool(data.differences),
                "document": by_key.get(f"payslip:{payout_id}"),
                "estimate_document": estimate_doc,
            }
        )
    return out


def _charges(step: dict[str, Any]) -> Decimal:
    """What a dunning rung charged the client (interest, fixed compensation, fees)."""
    keys = ("interest", "fixed_compensation", "penalty", "reminder_fee")
    return sum((Decimal(step[k] or "0") for k in keys), Decimal("0.00"))


async def _mission_page(
    page: Page,
    session: AsyncSession,
    mission_id: int,
    values: dict[str, str] | None = None,
    errors: dict[str, str] | None = None,
    status_code: int = 200,
) -> Response:
    context = await _mission_context(page, session, mission_id)
    rows = EXPENSE_ROWS
    if values:
        used = [int(k.split(".")[1]) for k in values if k.startswith("expenses.")]
        rows = max(rows, max(used, default=0) + 1)
    return render(
        page,
        "mission.html",
        status_code=status_code,
        values=values or {},
        errors=_translated(page, errors or {}, ("days_worked", "expenses.")),
        expense_rows=range(rows),
        **context,
    )


@router.get("/missions/{mission_id}")
async def mission_page(mission_id: str, page: MemberPage, session: SessionDep) -> Response:
    return await _mission_page(page, session, _mission_id(mission_id))


@router.get("/missions/{mission_id}/live")
async def mission_live(
    mission_id: str, page: MemberPage, session: SessionDep, k: str = ""
) -> Response:
    """The part of the page the workflow moves, polled by htmx; when the member's possible
    actions change (signed, report due), the whole page reloads to show the right forms."""
    context = await _mission_context(page, session, _mission_id(mission_id))
    if k and k != context["actions_key"]:
        return Response(status_code=200, headers={"HX-Refresh": "true"})
    return render(page, "_mission_live.html", **context)


@router.post("/missions/{mission_id}/sign")
async def sign(
    request: Request,
    mission_id: str,
    page: MemberPage,
    session: SessionDep,
    settings: SettingsDep,
) -> Response:
    assert page.viewer is not None
    mission = await access.visible_mission(session, page.viewer, _mission_id(mission_id))
    response = redirect(f"/missions/{mission.id}")
    # The guarantee gate, on today's figures, before the workflow is asked (as the API does).
    await mission_service.recheck_guarantee(session, mission, await _today(session, settings))
    await session.commit()
    if mission.guarantee_status == mission_service.NEEDS_APPROVAL:
        detail = await views.mission_detail(session, mission)
        flash(
            response,
            request,
            "error",
            page.gettext(
                "Not signed: %(reason)s", reason=narrative.guarantee_notice(page.t, detail) or ""
            ),
        )
        return response
    try:
        client = await temporal_client(request)
        await lifecycle.run_update(
            client,
            session,
            mission,
            "sign_contract",
            SignContract(actor=page.viewer.label),
            timeout=settings.action_timeout_seconds,
        )
    except lifecycle.ActionPending as err:
        flash(response, request, "success", page.gettext(err.message))
        return response
    except (FieldError, DomainError) as err:
        flash(
            response,
            request,
            "error",
            page.gettext("Not signed: %(reason)s", reason=page.gettext(_msg(err))),
        )
        return response
    flash(response, request, "success", page.gettext("Contract signed. Thank you!"))
    return response


def _msg(err: Exception) -> str:
    return err.message if isinstance(err, FieldError | DomainError) else str(err)


def _translated(page: Page, errors: dict[str, str], fields: tuple[str, ...] = ()) -> dict[str, str]:
    """The services' messages in the page's language where the catalogue has them; a message
    for a field the form does not show goes to the top of the form (key "form")."""
    placed: dict[str, str] = {}
    for field, message in errors.items():
        key = field if not fields or field.startswith(fields) else "form"
        text = page.gettext(message)
        placed[key] = f"{placed[key]} {text}" if key in placed else text
    return placed


@router.post("/missions/{mission_id}/work-report")
async def work_report(
    request: Request,
    mission_id: str,
    page: MemberPage,
    session: SessionDep,
    settings: SettingsDep,
) -> Response:
    assert page.viewer is not None
    mission = await access.visible_mission(session, page.viewer, _mission_id(mission_id))
    values = await _form(request)
    errors = FormErrors()
    status = 422  # 503 when the back office could not take the report in time
    raw_days = values.get("days_worked", "").strip()
    days = 0
    if not (raw_days.isascii() and raw_days.isdigit() and len(raw_days) <= 4):
        errors["days_worked"] = page.gettext("A whole number of days, like 3.")
    else:
        days = int(raw_days)
    # Blank rows are ignored; the others keep their row number for the messages.
    rows: list[int] = []
    for i in range(50):
        label = values.get(f"expenses.{i}.label", "").strip()
        amount = values.get(f"expenses.{i}.amount", "").strip()
        if label or amount:
            rows.append(i)
    lines = [(values[f"expenses.{i}.label"], values[f"expenses.{i}.amount"]) for i in rows]
    for i, (label, amount) in zip(rows, lines, strict=True):
        errors.check(
            f"expenses.{i}.label", partial(clean_text, label, field="label", max_length=200)
        )
        errors.check(f"expenses.{i}.amount", partial(parse_money, amount, field="amount"))
    if not errors:
        try:
            report = lifecycle.work_report(days, lines, page.viewer.label)
            client = await temporal_client(request)
            await lifecycle.run_update(
                client,
                session,
                mission,
                "submit_work_report",
                report,
                timeout=settings.action_timeout_seconds,
            )
        except lifecycle.ActionPending as err:
            response = redirect(f"/missions/{mission.id}")
            flash(response, request, "success", page.gettext(err.message))
            return response
        except (FieldError, DomainError) as err:
            if isinstance(err, DomainError) and err.status_code == 503:
                status = 503
            field = getattr(err, "field", None) or "form"
            parts = field.split(".")
            if len(parts) == 3 and parts[0] == "expenses" and parts[1].isdigit():
                field = f"expenses.{rows[int(parts[1])]}.{parts[2]}"
            errors[field] = _msg(err)
    if errors:
        return await _mission_page(page, session, mission.id, values, errors, status)
    response = redirect(f"/missions/{mission.id}")
    flash(response, request, "success", page.gettext("Work report sent: we invoice the client."))
    return response


@router.get("/missions/{mission_id}/documents/{document_id}")
async def download(
    mission_id: str, document_id: str, page: MemberPage, session: SessionDep
) -> Response:
    assert page.viewer is not None
    mission = _mission_id(mission_id)
    doc = await documents.get_document(session, page.viewer, _mission_id(document_id))
    if doc.mission_id != mission:
        raise NotFound("document")
    return Response(
        doc.content,
        media_type=doc.media_type,
        headers={
            "Content-Disposition": f"attachment; filename*=UTF-8''{quote(doc.filename)}",
            "X-Content-Type-Options": "nosniff",
        },
    )


# ---------------------------------------------------------------- my profile


async def _profile_page(
    page: Page,
    session: AsyncSession,
    values: dict[str, str] | None = None,
    errors: dict[str, str] | None = None,
    status_code: int = 200,
) -> Response:
    member = await session.get(Member, _member_id(page))
    if member is None:
        raise NotFound("member")
    pending = await people.pending_iban_change(session, member.id)
    today = await _today(session, page.request.app.state.settings)
    rates = await payslips.allowed_withholding_rates(session, today)
    return render(
        page,
        "profile.html",
        status_code=status_code,
        member=member,
        pending=pending,
        values={
            "language": member.language,
            "email": member.email,
            payslips.RATE_FIELD: payslips.rate_text(member.artistic_withholding_rate),
            **(values or {}),
        },
        errors=_translated(page, errors or {}, ("iban", "email", "language", payslips.RATE_FIELD)),
        language_choices=LANGUAGES,
        withholding_rates=[payslips.rate_text(r) for r in rates],
        summary_year=today.year,
    )


@router.get("/profile")
async def profile(page: MemberPage, session: SessionDep) -> Response:
    return await _profile_page(page, session)


async def _me(page: Page, session: AsyncSession) -> tuple[Member, User]:
    assert page.user is not None
    member = await session.get(Member, _member_id(page))
    user = await session.get(User, page.user.id)
    assert member is not None and user is not None
    return member, user


@router.post("/profile/language")
async def profile_language(request: Request, page: MemberPage, session: SessionDep) -> Response:
    values = await _form(request)
    member, _ = await _me(page, session)
    try:
        await people.change_language(session, member, values.get("language"))
    except FieldError as err:
        await session.rollback()
        return await _profile_page(page, session, values, {"language": err.message}, 422)
    await session.commit()
    response = redirect("/profile")
    response.set_cookie(
        LANG_COOKIE,
        member.language,
        max_age=365 * 24 * 3600,
        httponly=True,
        samesite="lax",
        secure=secure_cookies(request),
        path="/",
    )
    page.language = member.language
    flash(response, request, "success", page.gettext("Language saved."))
    return response


@router.post("/profile/withholding-rate")
async def profile_withholding_rate(
    request: Request, page: MemberPage, session: SessionDep, settings: SettingsDep
) -> Response:
    """The withholding rate on the member's artistic contracts: one of the rates offered."""
    values = await _form(request)
    member, _ = await _me(page, session)
    today = await _today(session, settings)
    try:
        await payslips.set_withholding_rate(session, member, values.get(payslips.RATE_FIELD), today)
    except payslips.RateRefused as err:
        await session.rollback()
        message = page.gettext(
            payslips.RATE_MESSAGE, rates=", ".join(payslips.rate_text(r) for r in err.allowed)
        )
        return await _profile_page(page, session, values, {payslips.RATE_FIELD: message}, 422)
    await session.commit()
    response = redirect("/profile")
    flash(response, request, "success", page.gettext("Withholding rate saved."))
    return response


@router.post("/profile/email")
async def profile_email(request: Request, page: MemberPage, session: SessionDep) -> Response:
    values = await _form(request)
    member, user = await _me(page, session)
    errors = FormErrors()
    errors.check("email", lambda: normalize_email(values.get("email")))
    if not errors:
        try:
            await people.change_email(
                session, member, user, values.get("email"), values.get("email_password")
            )
        except (FieldError, DomainError) as err:
            field = "email_password" if err.field == "password" else (err.field or "email")
            errors[field] = _msg(err)
    if errors:
        await session.rollback()
        return await _profile_page(page, session, values, errors, 422)
    await session.commit()
    response = redirect("/profile")
    flash(response, request, "success", page.gettext("Email saved."))
    return response


@router.post("/profile/iban")
async def profile_iban(
    request: Request, page: MemberPage, session: SessionDep, db: DatabaseDep, settings: SettingsDep
) -> Response:
    values = await _form(request)
    member, user = await _me(page, session)
    errors = FormErrors()
    errors.check("iban", lambda: normalize_iban(values.get("iban")))
    if not errors:
        try:
            change = await people.request_iban_change(
                session, member, user, values.get("iban"), values.get("iban_password")
            )
        except FieldError as err:
            errors["iban_password" if err.field == "password" else err.field] = err.message
    if errors:
        await session.rollback()
        return await _profile_page(page, session, values, errors, 422)
    old_email = member.email
    await session.commit()
    from worker import build_mailer  # the worker's choice of mailer (outbox or SendGrid)

    sent = await people.send_iban_notice(db, build_mailer(settings), change.id)
    response = redirect("/profile")
    if sent:
        message = page.gettext(
            "New IBAN saved. We sent a notice to %(email)s; your next salary goes to the new "
            "account.",
            email=old_email,
        )
    else:
        message = page.gettext(
            "New IBAN saved. It takes effect once we have sent a notice to %(email)s.",
            email=old_email,
        )
    flash(response, request, "success", message)
    return response


# ---------------------------------------------------------------- my pay of the year (281.10)


@router.get("/pay-summary/{year}")
async def pay_summary(
    year: str, page: MemberPage, session: SessionDep, settings: SettingsDep
) -> Response:
    """The member's pay of one calendar year: the figures of the 281.10, payout by payout."""
    today = await _today(session, settings)
    summary = await _summary(page, session, year, today)
    return render(
        page,
        "pay_summary.html",
        summary=summary.document,
        figures=SUMMARY_FIGURES,
        label=lambda code: wording.line_label(code, _doc_language(page)),
        years=range(today.year, today.year - 5, -1),
    )


@router.get("/pay-summary/{year}/csv")
async def pay_summary_csv(
    year: str, page: MemberPage, session: SessionDep, settings: SettingsDep
) -> Response:
    summary = await _summary(page, session, year, await _today(session, settings))
    return Response(
        "".join(payslips.summary_csv(summary)),
        media_type="text/csv; charset=utf-8",
        headers=_download(payslips.summary_filename(summary, "csv")),
    )


@router.get("/pay-summary/{year}/pdf")
async def pay_summary_pdf(
    year: str, page: MemberPage, session: SessionDep, settings: SettingsDep
) -> Response:
    summary = await _summary(page, session, year, await _today(session, settings))
    return Response(
        await payslips.summary_pdf(summary),
        media_type="application/pdf",
        headers=_download(payslips.summary_filename(summary, "pdf")),
    )


def _doc_language(page: Page) -> str:
    return page.language if page.language in TEXTS else "en"


async def _summary(
    page: Page, session: AsyncSession, year: str, today: date
) -> payslips.YearSummary:
    assert page.viewer is not None
    try:
        return await payslips.year_summary(
            session, page.viewer, _member_id(page), year, today, _doc_language(page)
        )
    except FieldError as err:
        raise NotFound("year") from err


def _download(name: str) -> dict[str, str]:
    return {
        "Content-Disposition": f"attachment; filename*=UTF-8''{quote(name)}",
        "X-Content-Type-Options": "nosniff",
        "Cache-Control": "private, no-store",
    }
