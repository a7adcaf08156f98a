"""Documents: GET /api/missions/{id}/documents (the list), GET /api/documents/{id} (the file),
the member's yearly pay summary (281.10) and their withholding rate on artistic contracts."""

from __future__ import annotations

from datetime import date
from typing import Any, Literal

from fastapi import APIRouter, Request, Response
from pydantic import BaseModel, ConfigDict

from api.deps import MemberDep, SessionDep, SettingsDep, ViewerDep
from domain.errors import FieldError
from services import documents, payslips, queries
from services.clock import business_today, current_clock
from web.i18n import translations

router = APIRouter(prefix="/api", tags=["documents"])


@router.get("/missions/{mission_id}/documents")
async def mission_documents(
    mission_id: int, session: SessionDep, viewer: ViewerDep
) -> list[dict[str, Any]]:
    """Every document of the mission (a member: own missions only), oldest first."""
    rows = await documents.list_documents(session, viewer, mission_id)
    return [documents.document_out(row) for row in rows]


@router.get(
    "/documents/{document_id}",
    response_class=Response,
    responses={200: {"content": {"application/pdf": {}, "application/xml": {}}}},
)
async def download_document(
    document_id: int, session: SessionDep, viewer: ViewerDep, request: Request
) -> Response:
    """The stored file itself, byte for byte; its SHA-256 is the ETag."""
    row = await documents.get_document(session, viewer, document_id)
    etag = f'"{row.sha256}"'
    headers = {
        "ETag": etag,
        "Content-Disposition": f'attachment; filename="{row.filename}"',
        "X-Content-SHA256": row.sha256,
        "X-Template-Version": row.template_version,
        "Cache-Control": "private, max-age=31536000, immutable",
        "X-Content-Type-Options": "nosniff",
    }
    if request.headers.get("if-none-match") == etag:
        return Response(status_code=304, headers=headers)
    return Response(content=row.content, media_type=row.media_type, headers=headers)


# ---------------------------------------------------------------- payslips: the year, the rate


@router.get("/missions/{mission_id}/payslips")
async def mission_payslips(
    mission_id: int, session: SessionDep, viewer: ViewerDep
) -> list[dict[str, Any]]:
    """Each payout's final payslip as data: every line with its base, rate and dated rule, and
    each difference from the signed estimate explained (a member: own missions only)."""
    return await payslips.mission_payslips(session, viewer, mission_id)


async def _today(session: SessionDep, settings: SettingsDep) -> date:
    return business_today(await current_clock(session, settings.day_seconds, settings.timezone))


@router.get(
    "/members/{member_id}/tax-summaries/{year}",
    responses={200: {"content": {"application/json": {}, "text/csv": {}, "application/pdf": {}}}},
)
async def tax_summary(
    member_id: int,
    year: str,
    session: SessionDep,
    settings: SettingsDep,
    viewer: ViewerDep,
    format: Literal["json", "csv", "pdf"] = "json",
) -> Any:
    """The member's pay of one calendar year: the figures of the 281.10 tax form, payout by
    payout, with the year's totals (a member: their own; an advisor: their members')."""
    summary = await payslips.year_summary(
        session, viewer, member_id, year, await _today(session, settings)
    )
    if format == "json":
        return payslips.summary_out(summary)
    if format == "csv":
        return Response(
            "".join(payslips.summary_csv(summary)),
            media_type="text/csv; charset=utf-8",
            headers=_attachment(payslips.summary_filename(summary, "csv")),
        )
    return Response(
        await payslips.summary_pdf(summary),
        media_type="application/pdf",
        headers=_attachment(payslips.summary_filename(summary, "pdf")),
    )


def _attachment(name: str) -> dict[str, str]:
    return {
        "Content-Disposition": f'attachment; filename="{name}"',
        "X-Content-Type-Options": "nosniff",
        "Cache-Control": "private, no-store",
    }


class WithholdingRateChoice(BaseModel):
    model_config = ConfigDict(extra="forbid")

    rate: Any = None


@router.put("/members/{member_id}/artistic-withholding-rate", tags=["accounts"])
async def choose_withholding_rate(
    member_id: int,
    body: WithholdingRateChoice,
    session: SessionDep,
    settings: SettingsDep,
    viewer: MemberDep,
) -> dict[str, Any]:
    """The member's own choice of withholding rate on artistic contracts: one of the rates of
    the dated parameter `payroll.artistic_withholding_rates` (percent), else 422 on the field."""
    member = await queries.visible_member(session, viewer, member_id)
    today = await _today(session, settings)
    try:
        rate = await payslips.set_withholding_rate(session, member, body.rate, today)
    except payslips.RateRefused as err:
        # In the member's language, as on their profile page.
        message = translations(member.language).gettext(payslips.RATE_MESSAGE) % {
            "rates": ", ".join(payslips.rate_text(r) for r in err.allowed)
        }
        raise FieldError(payslips.RATE_FIELD, message) from None
    allowed = await payslips.allowed_withholding_rates(session, today)
    return {
        "member_id": member.id,
        "artistic_withholding_rate": payslips.rate_text(rate),
        "allowed": [payslips.rate_text(r) for r in allowed],
    }
