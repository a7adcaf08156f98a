"""Payslips beyond the single document: the yearly 281.10 summary and the artist's withholding rate.

The summary adds up, per member and calendar year of payment, what every payout (and every later
correction of one, services/payroll.py true-ups) counted as taxable pay, contributions and
withholding tax: the figures of the 281.10 tax form. It reads the payroll JSON the engine wrote;
it computes no payroll.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date
from decimal import Decimal, InvalidOperation
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from documents.common import LOCALES
from documents.kinds import Person, SummaryRow, TaxSummaryDocument
from documents.payslip import SUMMARY_FIGURES, add_up, summary_figures
from documents.pdf import Seller
from domain.errors import FieldError
from models import Member, Mission, Payout, PayrollTrueUp
from services import parameters
from services.access import Viewer, visible_mission
from services.dashboard import csv_line
from services.queries import visible_member

ARTISTIC_RATES = "payroll.artistic_withholding_rates"
RATE_FIELD = "artistic_withholding_rate"
# The refusal, as the pages' gettext catalogues translate it (%(rates)s: the allowed values).
RATE_MESSAGE = "Choose one of the rates offered: %(rates)s."
FIRST_YEAR = 2000
ZERO = Decimal("0.00")


async def payout_ids(session: AsyncSession, mission_id: int) -> list[int]:
    """The mission's payouts, oldest first: one payslip each."""
    rows = await session.scalars(
        select(Payout.id).where(Payout.mission_id == mission_id).order_by(Payout.id)
    )
    return list(rows)


def _amount(value: Decimal | None) -> str | None:
    return None if value is None else f"{value:.2f}"


async def mission_payslips(
    session: AsyncSession, viewer: Viewer, mission_id: int, language: str = "en"
) -> list[dict[str, Any]]:
    """Each payout's payslip as data: its lines with their rules, and every difference from the
    signed estimate with the reasons (keys and their wording in `language`)."""
    from documents.wording import explain
    from services.document_data import payslip_and_estimate
    from services.documents import document_key, find

    await visible_mission(session, viewer, mission_id)
    out = []
    for payout_id in await payout_ids(session, mission_id):
        data, _ = await payslip_and_estimate(session, mission_id, payout_id)
        stored = await find(session, mission_id, document_key("payslip", payout_id=payout_id))
        out.append(
            {
                "payout_id": payout_id,
                "paid_on": data.paid_on.isoformat(),
                "contract_type": data.contract_type,
                "document_url": None if stored is None else f"/api/documents/{stored.id}",
                "estimate_date": None
                if data.estimate_date is None
                else data.estimate_date.isoformat(),
                "lines": [
                    {
                        "code": line.code,
                        "amount": _amount(line.amount),
                        "base": _amount(line.base),
                        "rate": None if line.rate is None else str(line.rate),
                        "rule": line.rule,
                        "valid_from": None
                        if line.valid_from is None
                        else line.valid_from.isoformat(),
                        "source": line.source,
                    }
                    for line in data.lines
                ],
                "differences": [
                    {
                        "code": d.code,
                        "estimated": _amount(d.estimated),
                        "final": _amount(d.final),
                        "difference": _amount(d.difference),
                        "reasons": [
                            {"key": r.key, "text": explain(r, language)} for r in d.reasons
                        ],
                    }
                    for d in data.differences
                ],
            }
        )
    return out


# ---------------------------------------------------------------- the artist's withholding rate


async def allowed_withholding_rates(session: AsyncSession, on: date) -> list[Decimal]:
    """The rates (percent) a member on an artistic contract may choose, in force on `on`."""
    value = await parameters.parameter(session, ARTISTIC_RATES, on)
    return sorted(Decimal(str(rate)) for rate in value["value"])


def rate_text(rate: Decimal) -> str:
    return format(rate.normalize(), "f")


class RateRefused(FieldError):
    """Not one of the rates offered; `allowed` lets each page say which, in its language."""

    def __init__(self, allowed: list[Decimal]) -> None:
        self.allowed = allowed
        super().__init__(
            RATE_FIELD, RATE_MESSAGE % {"rates": ", ".join(rate_text(r) for r in allowed)}
        )


def parse_withholding_rate(value: object, allowed: list[Decimal]) -> Decimal:
    """One of the allowed rates, given as text ("18", "22.8", "22,8") or a JSON number."""
    if isinstance(value, bool) or not isinstance(value, str | int | float):
        raise RateRefused(allowed)
    text = str(value).strip().replace(",", ".").removesuffix("%").strip()
    if not text or len(text) > 8:
        raise RateRefused(allowed)
    try:
        rate = Decimal(text)
    except InvalidOperation:
        raise RateRefused(allowed) from None
    for candidate in allowed:
        if rate.is_finite() and rate == candidate:
            return candidate
    raise RateRefused(allowed)


async def set_withholding_rate(
    session: AsyncSession, member: Member, value: object, today: date
) -> Decimal:
    """The member's choice for their artistic contracts' withholding tax; refused unless it is
    one of the rates of `payroll.artistic_withholding_rates` in force today."""
    rate = parse_withholding_rate(value, await allowed_withholding_rates(session, today))
    member.artistic_withholding_rate = rate
    return rate


# ---------------------------------------------------------------- the year (281.10)


def parse_year(value: object, today: date) -> int:
    text = str(value)
    if not (text.isascii() and text.isdigit() and len(text) == 4):
        raise FieldError("year", "a calendar year, like 2026")
    year = int(text)
    if not FIRST_YEAR <= year <= today.year:
        raise FieldError("year", f"between {FIRST_YEAR} and {today.year}")
    return year


@dataclass(frozen=True)
class YearSummary:
    member: Member
    document: TaxSummaryDocument


def _correction_figures(t: PayrollTrueUp) -> dict[str, Decimal]:
    """A true-up's effect on the year's figures (services.payroll.current_payroll's rule: the
    budget is fixed, so more employer contributions mean less gross)."""
    figures = dict.fromkeys(SUMMARY_FIGURES, ZERO)
    figures["gross_salary"] = -t.employer_contributions_delta
    figures["employee_contributions"] = t.employee_contributions_delta
    figures["taxable_pay"] = -t.employer_contributions_delta - t.employee_contributions_delta
    figures["withholding_tax"] = t.withholding_tax_delta
    figures["net_salary"] = t.net_salary_delta
    return figures


async def year_summary(
    session: AsyncSession,
    viewer: Viewer,
    member_id: int,
    year: object,
    today: date,
    language: str | None = None,
) -> YearSummary:
    """The member's 281.10 figures for one calendar year of payment (a member: their own;
    an advisor: their members'; ops: everyone's). Another's answers 404 like a missing one."""
    member = await visible_member(session, viewer, member_id)
    the_year = parse_year(year, today)
    start, end = date(the_year, 1, 1), date(the_year, 12, 31)
    rows = (
        await session.execute(
            select(Payout, Mission.title)
            .join(Mission, Mission.id == Payout.mission_id)
            .where(
                Mission.member_id == member.id,
                Payout.paid_on >= start,
                Payout.paid_on <= end,
            )
            .order_by(Payout.paid_on, Payout.id)
        )
    ).all()
    out: list[SummaryRow] = []
    for payout, title in rows:
        out.append(
            SummaryRow(
                paid_on=payout.paid_on,
                mission_id=payout.mission_id,
                title=title,
                kind="payout",
                figures=summary_figures(payout.payroll),
            )
        )
        corrections = await session.scalars(
            select(PayrollTrueUp)
            .where(PayrollTrueUp.payout_id == payout.id)
            .order_by(PayrollTrueUp.sequence)
        )
        for t in corrections:
            out.append(
                SummaryRow(
                    paid_on=t.business_date,
                    mission_id=payout.mission_id,
                    title=title,
                    kind="correction",
                    figures=_correction_figures(t),
                )
            )
    lang = language if language in LOCALES else member.language
    if lang not in LOCALES:
        lang = "en"
    document = TaxSummaryDocument(
        employer=Seller.from_settings(),
        member=Person(name=member.name, national_number=member.national_number),
        reference=f"281.10-{the_year}-{member.id:06d}",
        year=the_year,
        issue_date=today,
        rows=tuple(out),
        totals=add_up(r.figures for r in out),
        language=lang,
    )
    return YearSummary(member=member, document=document)


def summary_out(summary: YearSummary) -> dict[str, Any]:
    doc = summary.document
    return {
        "member_id": summary.member.id,
        "year": doc.year,
        "reference": doc.reference,
        "rows": [
            {
                "paid_on": r.paid_on.isoformat(),
                "mission_id": r.mission_id,
                "title": r.title,
                "kind": r.kind,
                **{name: f"{r.figures[name]:.2f}" for name in SUMMARY_FIGURES},
            }
            for r in doc.rows
        ],
        "totals": {name: f"{doc.totals[name]:.2f}" for name in SUMMARY_FIGURES},
        "downloads": {
            "csv": f"/api/members/{summary.member.id}/tax-summaries/{doc.year}?format=csv",
            "pdf": f"/api/members/{summary.member.id}/tax-summaries/{doc.year}?format=pdf",
        },
    }


CSV_COLUMNS = ("paid_on", "mission_id", "title", "kind", *SUMMARY_FIGURES)


def summary_csv(summary: YearSummary) -> Iterator[str]:
    """The rows and the year's total as CSV; every cell formula-safe (services.dashboard)."""
    doc = summary.document
    yield csv_line(CSV_COLUMNS)
    for r in doc.rows:
        yield csv_line(
            [r.paid_on, r.mission_id, r.title, r.kind, *(r.figures[n] for n in SUMMARY_FIGURES)]
        )
    yield csv_line(
        ["", "", f"total {doc.year}", "total", *(doc.totals[n] for n in SUMMARY_FIGURES)]
    )


def summary_filename(summary: YearSummary, extension: str) -> str:
    return f"pay-summary-281.10-{summary.document.year}-{summary.member.id:06d}.{extension}"


async def summary_pdf(summary: YearSummary) -> bytes:
    from services.documents import _render  # WeasyPrint: in the render processes

    return await _render("tax_summary", summary.document)
