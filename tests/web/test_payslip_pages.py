"""The member portal's payslip pages: the payslip beside the estimate with every difference
explained, the yearly pay summary (281.10) with its downloads, and the withholding-rate choice
(refused values named on the field, in the member's language)."""

from __future__ import annotations

import csv
import html
import io
from datetime import UTC, date, datetime
from decimal import Decimal
from typing import Any

import httpx
from sqlalchemy import select

from models import Member, Mission, Payout
from services import documents
from services.timeline import add_timeline
from tests.conftest import unique
from tests.documents import payroll_json
from tests.web.conftest import EN, Server
from tests.web.test_auth import _csrf, login

D = Decimal


async def _client(server: Server, language: str) -> tuple[dict[str, Any], httpx.AsyncClient]:
    member = await server.member(language=language)
    http = httpx.AsyncClient(base_url=server.url, headers=EN, timeout=60)
    assert (await login(http, member["email"], member["password"])).status_code == 303
    return member, http


async def _paid_mission(server: Server, member: dict[str, Any]) -> int:
    """A signed mission (the fixture estimate) paid in September 2026 (the fixture payout)."""
    year = (await server.today()).year
    async with server.db.session() as session:
        mission = Mission(
            member_id=member["id"],
            client_id=member["client_id"],
            title='=cmd|"/c calc"!A1',
            start_date=date(year, 9, 1),
            end_date=date(year, 9, 4),
            amount_excl_vat=D("4502.89"),
            vat_rate=D("21.00"),
            contract_type="ordinary",
            stage="paid",
            created_on=date(year, 2, 10),
            pay_date=date(year, 9, 15),
            days_worked=4,
            signed_at=datetime.now(UTC),
            client_confirmed_at=datetime.now(UTC),
            estimate=payroll_json.ordinary_estimate(),
        )
        session.add(mission)
        await session.flush()
        await add_timeline(session, mission.id, "signed", "signed", date(year, 2, 11), "member")
        payroll = payroll_json.ordinary_payout()
        session.add(
            Payout(
                mission_id=mission.id,
                period="salary",
                source="client",
                paid_on=date(year, 9, 15),
                iban="BE71096123456769",
                end_to_end_id=unique("SAL-")[:35],
                gross_salary=D("3000.00"),
                net_amount=D("2408.71"),
                expenses=D("0.00"),
                payroll=payroll,
            )
        )
        mission_id = mission.id
    await documents.ensure_pdf(server.db, mission_id, "payslip_estimate")
    await documents.ensure_payslips(server.db, mission_id)
    return mission_id


async def test_payslip_beside_the_estimate_and_the_year(server: Server) -> None:
    member, http = await _client(server, "nl")
    _, other = await _client(server, "en")
    try:
        mission_id = await _paid_mission(server, member)
        page = await http.get(f"/missions/{mission_id}")
        assert page.status_code == 200, page.text
        text = html.unescape(page.text)
        assert "Uw loonbrief van" in text and "naast de raming" in text
        assert 'data-code="withheld_earlier_this_month" class="differs"' in text
        assert "ander loon betaald in dezelfde maand" in text
        assert "regel gewijzigd op" in text and "payroll.withholding_key_formula" in text
        assert 'data-code="gross_salary" ' in text  # unchanged lines are shown too
        assert "Loonbrief (PDF)" in text and "Raming (PDF)" in text

        # The payout's year: the web clock (1.5 s a day) may have crossed New Year since.
        async with server.db.session() as session:
            paid_on = await session.scalar(
                select(Payout.paid_on).where(Payout.mission_id == mission_id)
            )
        assert paid_on is not None
        year = paid_on.year
        summary = await http.get(f"/pay-summary/{year}")
        assert summary.status_code == 200, summary.text
        assert "Loonoverzicht" in summary.text and 'id="pay-summary-total"' in summary.text
        assert "580,00" in summary.text  # the year's withholding tax
        rows = list(csv.reader(io.StringIO((await http.get(f"/pay-summary/{year}/csv")).text)))
        assert rows[1][2].startswith("'=cmd")  # no formula reaches a spreadsheet
        assert rows[-1][-1] == "2408.71"
        pdf = await http.get(f"/pay-summary/{year}/pdf")
        assert pdf.status_code == 200 and pdf.content.startswith(b"%PDF-")
        for bad in ("1999", "abc", str(year + 2)):
            assert (await http.get(f"/pay-summary/{bad}")).status_code == 404
        # Another member sees their own (empty) year, nothing of this one's.
        theirs = await other.get(f"/pay-summary/{year}")
        assert theirs.status_code == 200 and "cmd" not in theirs.text
        assert 'id="summary-empty"' in theirs.text
        assert (await other.get(f"/missions/{mission_id}")).status_code == 404
    finally:
        await http.aclose()
        await other.aclose()


async def _rate(server: Server, member_id: int) -> Decimal:
    async with server.db.session() as session:
        rate = await session.scalar(
            select(Member.artistic_withholding_rate).where(Member.id == member_id)
        )
    assert rate is not None
    return rate


async def test_withholding_rate_choice_on_the_profile(server: Server) -> None:
    member, http = await _client(server, "fr")
    try:
        page = await http.get("/profile")
        assert page.status_code == 200
        for rate in ("11.11", "18", "22.8", "30"):
            assert f'<option value="{rate}"' in page.text
        assert '<option value="11.11" selected>' in page.text
        csrf = _csrf(page.text)
        r = await http.post(
            "/profile/withholding-rate",
            data={"csrf_token": csrf, "artistic_withholding_rate": "22.8"},
        )
        assert r.status_code == 303, r.text
        assert await _rate(server, member["id"]) == D("22.8")
        for bad in ("20", "", "11,1", "<b>30</b>"):
            r = await http.post(
                "/profile/withholding-rate",
                data={"csrf_token": csrf, "artistic_withholding_rate": bad},
            )
            assert r.status_code == 422
            assert 'id="f-artistic_withholding_rate-error"' in r.text
            text = html.unescape(r.text)
            assert "Choisissez l'un des taux proposés : 11.11, 18, 22.8, 30." in text
            assert await _rate(server, member["id"]) == D("22.8")
        assert '<option value="22.8" selected>' in (await http.get("/profile")).text
    finally:
        await http.aclose()
