"""The member's yearly pay summary (281.10) and withholding-rate choice through the API: who may
read whose, JSON / CSV / PDF, and a refused rate named on its field in the member's language."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import UTC, date, datetime
from decimal import Decimal

import pytest
from sqlalchemy import select

from api.app import create_app
from core.db import Database
from core.settings import Settings
from models import Member, Mission, Payout
from tests.api.conftest import assert_refused, snapshot
from tests.conftest import Stack, api_client, unique
from tests.documents import payroll_json

D = Decimal
IBAN = "BE71096123456769"


@pytest.fixture
async def api(db: Database, settings: Settings) -> AsyncIterator[Stack]:
    """The API without Temporal (nothing here starts a workflow)."""
    async with api_client(create_app(settings, db, None)) as http:
        yield Stack(None, http, db, settings)  # type: ignore[arg-type]


async def _paid_member(api: Stack, language: str) -> tuple[dict[str, object], dict[str, str]]:
    """A member (made by the API's advisor) with one paid artistic mission in 2026."""
    member, headers = await api.new_member(iban=IBAN, language=language)
    client = await api.new_client(int(member["id"]))  # type: ignore[call-overload]
    async with api.db.session() as session:
        mission = Mission(
            member_id=member["id"],
            client_id=client["id"],
            title="Concert",
            start_date=date(2026, 3, 6),
            end_date=date(2026, 3, 6),
            amount_excl_vat=D("1550.04"),
            vat_rate=D("21.00"),
            contract_type="artistic",
            stage="paid",
            created_on=date(2026, 2, 10),
            pay_date=date(2026, 3, 17),
            client_confirmed_at=datetime.now(UTC),
        )
        session.add(mission)
        await session.flush()
        payroll = payroll_json.artistic_payout()
        session.add(
            Payout(
                mission_id=mission.id,
                period="salary",
                source="fund",
                paid_on=date(2026, 3, 17),
                iban=IBAN,
                end_to_end_id=unique("SAL-")[:35],
                gross_salary=D("1000.00"),
                net_amount=D("704.25"),
                expenses=D("0.00"),
                payroll=payroll,
            )
        )
    return member, headers


async def test_mission_payslips_as_data(api: Stack) -> None:
    member, headers = await _paid_member(api, "en")
    _, other_headers = await api.new_member(iban=IBAN)
    async with api.db.session() as session:
        mission_id = await session.scalar(
            select(Mission.id).where(Mission.member_id == member["id"])
        )
    url = f"/api/missions/{mission_id}/payslips"
    r = await api.http.get(url, headers=headers)
    assert r.status_code == 200, r.text
    (slip,) = r.json()
    assert slip["contract_type"] == "artistic" and slip["paid_on"] == "2026-03-17"
    assert slip["estimate_date"] is None and slip["differences"] == []
    tax = next(line for line in slip["lines"] if line["code"] == "withholding_tax")
    assert tax == {
        "code": "withholding_tax",
        "amount": "154.59",
        "base": "858.84",
        "rate": "0.18",
        "rule": "payroll.artistic_withholding_rates",
        "valid_from": "2026-01-01",
        "source": "dev.amplo.be/en/faq/withholding-tax",
    }
    assert (await api.http.get(url, headers=await api.advisor())).status_code == 200
    r = await api.http.get(url, headers=other_headers)
    assert_refused(r, 404, None, "not found")


async def test_year_summary_json_csv_pdf_and_who_may_read_it(api: Stack) -> None:
    member, headers = await _paid_member(api, "fr")
    _, other_headers = await api.new_member(iban=IBAN)
    url = f"/api/members/{member['id']}/tax-summaries/2026"
    r = await api.http.get(url, headers=headers)
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["totals"]["gross_salary"] == "1000.00"
    assert body["totals"]["withholding_tax"] == "154.59"
    assert body["totals"]["taxable_pay"] == "858.84"
    assert [row["paid_on"] for row in body["rows"]] == ["2026-03-17"]
    r = await api.http.get(url, params={"format": "csv"}, headers=headers)
    assert r.status_code == 200 and r.headers["content-type"].startswith("text/csv")
    assert "attachment" in r.headers["content-disposition"]
    assert r.text.splitlines()[-1].endswith("704.25")
    r = await api.http.get(url, params={"format": "pdf"}, headers=headers)
    assert r.status_code == 200 and r.content.startswith(b"%PDF-")
    # The advisor who follows the member and ops read it; another member gets a plain 404.
    for staff in (await api.advisor(), await api.ops()):
        assert (await api.http.get(url, headers=staff)).json()["totals"] == body["totals"]
    r = await api.http.get(url, headers=other_headers)
    assert_refused(r, 404, None, "not found")
    missing = await api.http.get("/api/members/999999/tax-summaries/2026", headers=headers)
    assert missing.status_code == 404 and missing.json() == r.json()
    r = await api.http.get(f"/api/members/{member['id']}/tax-summaries/1999", headers=headers)
    assert r.status_code == 422 and r.json()["detail"][0]["loc"][-1] == "year"
    r = await api.http.get(url, params={"format": "xls"}, headers=headers)
    assert r.status_code == 422


async def test_withholding_rate_choice(api: Stack) -> None:
    member, headers = await api.new_member(iban=IBAN, language="nl")
    url = f"/api/members/{member['id']}/artistic-withholding-rate"
    r = await api.http.put(url, json={"rate": "22.8"}, headers=headers)
    assert r.status_code == 200, r.text
    assert r.json()["artistic_withholding_rate"] == "22.8"
    assert r.json()["allowed"] == ["11.11", "18", "22.8", "30"]
    async with api.db.session() as session:
        rate = await session.scalar(
            select(Member.artistic_withholding_rate).where(Member.id == member["id"])
        )
    assert rate == D("22.8")
    before = await snapshot(api.db)
    for bad in ("20", "", None, 18.5, "abc", [18]):
        r = await api.http.put(url, json={"rate": bad}, headers=headers)
        first = assert_refused(r, 422, "artistic_withholding_rate")
        assert first["msg"] == "Kies een van de voorgestelde tarieven: 11.11, 18, 22.8, 30."
    assert await snapshot(api.db) == before
    async with api.db.session() as session:
        rate = await session.scalar(
            select(Member.artistic_withholding_rate).where(Member.id == member["id"])
        )
    assert rate == D("22.8")
    # Not someone else's, and not staff's to choose.
    other, _ = await api.new_member(iban=IBAN)
    r = await api.http.put(
        f"/api/members/{other['id']}/artistic-withholding-rate",
        json={"rate": "30"},
        headers=headers,
    )
    assert r.status_code == 404
    r = await api.http.put(url, json={"rate": "30"}, headers=await api.ops())
    assert r.status_code == 403
