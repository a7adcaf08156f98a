"""The forms' other paths: the price computed from a wished salary, the live estimate panel,
a wrong expense line flagged on its own row, and the layering rule of web/ (no SQL)."""

from __future__ import annotations

import re
from decimal import Decimal

from sqlalchemy import select

from models import Mission
from tests.test_gates import _violations
from tests.web.conftest import Server
from tests.web.test_access import _create, _member_client
from tests.web.test_auth import _csrf


def test_pages_write_no_sql() -> None:
    assert (
        _violations("web", ("sqlalchemy",), allowed=("sqlalchemy.ext.asyncio", "sqlalchemy.exc"))
        == []
    )


async def test_wished_salary_sets_the_price_and_the_estimate_panel_follows(server: Server) -> None:
    member, http = await _member_client(server)
    try:
        form = await http.get("/missions/new")
        panel = await http.post(
            "/missions/estimate",
            data={"price_mode": "salary", "gross_salary": "2000.00", "vat_rate": "21"},
            headers={"X-CSRF-Token": _csrf(form.text)},
        )
        assert panel.status_code == 200
        price = re.search(r'data-figure="amount_excl_vat">([^<]+)<', panel.text)
        assert price and "€" in price.group(1)
        wrong = await http.post(
            "/missions/estimate",
            data={"price_mode": "price", "amount_excl_vat": "1e3", "vat_rate": "21"},
            headers={"X-CSRF-Token": _csrf(form.text)},
        )
        assert 'class="field-error"' in wrong.text
        r = await _create(
            server,
            http,
            member["client_id"],
            price_mode="salary",
            amount_excl_vat="",
            gross_salary="2000.00",
        )
        assert r.status_code == 303, r.text
        mission_id = int(r.headers["location"].rsplit("/", 1)[1])
        async with server.db.session() as session:
            mission = await session.scalar(select(Mission).where(Mission.id == mission_id))
        assert mission is not None and mission.amount_excl_vat > Decimal("2000.00")
        # A wrong expense on the third row is flagged on that row; what was typed stays.
        page = await http.get(f"/missions/{mission_id}")
        r = await http.post(
            f"/missions/{mission_id}/work-report",
            data={
                "csrf_token": _csrf(page.text),
                "days_worked": "1",
                "expenses.0.label": "Train",
                "expenses.0.amount": "12.00",
                "expenses.2.label": "Hotel",
                "expenses.2.amount": "1 000,00",
            },
        )
        assert r.status_code == 422
        assert 'id="f-expenses-2-amount-error"' in r.text
        assert 'id="f-expenses-0-amount-error"' not in r.text
        assert 'value="1 000,00"' in r.text
    finally:
        await http.aclose()
