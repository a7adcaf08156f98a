"""A member only ever sees their own missions: someone else's id answers the very same 404 page
as a missing one, for reading and for acting; forms refuse bad input field by field and change
nothing."""

from __future__ import annotations

import re
from typing import Any

import httpx
from sqlalchemy import func, select

from models import Client, Mission
from tests.web.conftest import EN, Server
from tests.web.test_auth import _csrf, login


async def _member_client(server: Server) -> tuple[dict[str, Any], httpx.AsyncClient]:
    member = await server.member()
    http = httpx.AsyncClient(base_url=server.url, headers=EN, timeout=30)
    assert (await login(http, member["email"], member["password"])).status_code == 303
    return member, http


async def _create(
    server: Server, http: httpx.AsyncClient, client_id: int | str, **over: str
) -> httpx.Response:
    today = await server.today()
    form = await http.get("/missions/new")
    data = {
        "csrf_token": _csrf(form.text),
        "client_id": str(client_id),
        "title": "Poster design",
        "start_date": today.replace().isoformat(),
        "end_date": today.isoformat(),
        "price_mode": "price",
        "amount_excl_vat": "1200.00",
        "vat_rate": "21",
        "contract_type": "ordinary",
    }
    data.update(over)
    return await http.post("/missions/new", data=data)


async def _count(server: Server, model: Any) -> int:
    async with server.db.session() as session:
        return int(await session.scalar(select(func.count()).select_from(model)))


async def test_member_b_cannot_read_or_act_on_member_a_mission(server: Server) -> None:
    a, http_a = await _member_client(server)
    b, http_b = await _member_client(server)
    try:
        r = await _create(server, http_a, a["client_id"])
        assert r.status_code == 303, r.text
        mission_id = int(r.headers["location"].rsplit("/", 1)[1])
        assert (await http_a.get(f"/missions/{mission_id}")).status_code == 200

        missing = await http_b.get("/missions/99999999")
        foreign = await http_b.get(f"/missions/{mission_id}")
        assert missing.status_code == foreign.status_code == 404
        strip = lambda html: re.sub(r'value="[^"]+"|"X-CSRF-Token": "[^"]+"', "", html)  # noqa: E731
        assert strip(missing.text) == strip(foreign.text)
        assert (await http_b.get(f"/missions/{mission_id}/live")).status_code == 404
        assert (await http_b.get("/missions/abc")).status_code == 404
        assert (await http_b.get(f"/missions/{mission_id}/documents/1")).status_code == 404
        csrf_b = _csrf((await http_b.get("/missions")).text)
        r = await http_b.post(f"/missions/{mission_id}/sign", data={"csrf_token": csrf_b})
        assert r.status_code == 404
        r = await http_b.post(
            f"/missions/{mission_id}/work-report",
            data={"csrf_token": csrf_b, "days_worked": "1"},
        )
        assert r.status_code == 404
        # Nor with A's client on a new mission of B's.
        missions = await _count(server, Mission)
        r = await _create(server, http_b, a["client_id"])
        assert r.status_code == 422 and "client not found" in r.text
        assert await _count(server, Mission) == missions
        # A's list does not show up in B's.
        assert f"/missions/{mission_id}" not in (await http_b.get("/missions")).text
        assert f"/missions/{mission_id}" in (await http_a.get("/missions")).text
    finally:
        await http_a.aclose()
        await http_b.aclose()


async def test_wrong_fields_each_show_their_message_and_nothing_is_kept(server: Server) -> None:
    member, http = await _member_client(server)
    try:
        missions, clients = await _count(server, Mission), await _count(server, Client)
        r = await _create(
            server,
            http,
            "new",
            **{
                "client.name": "Atelier <b>Nord</b>",
                "client.email": "not-an-email",
                "client.kind": "business",
                "client.country": "BE",
                "client.address": "Rue Haute 1, 1000 Bruxelles",
                "client.vat_number": "BE0403170702",
            },
            amount_excl_vat="12.50€",
            start_date="2026-02-29",
        )
        assert r.status_code == 422
        html = r.text
        assert 'id="f-client-email-error"' in html
        assert 'id="f-amount_excl_vat-error"' in html
        assert 'id="f-start_date-error"' in html
        assert "is not a day of the calendar" in html
        assert 'value="12.50€"' in html  # what the member typed is kept
        assert "Atelier &lt;b&gt;Nord&lt;/b&gt;" in html  # escaped, never markup
        assert await _count(server, Mission) == missions
        assert await _count(server, Client) == clients
        # The VAT number's check digits: the same rule as POST /api/clients.
        r = await _create(
            server,
            http,
            "new",
            **{
                "client.name": "Atelier Nord",
                "client.email": "atelier@example.be",
                "client.kind": "business",
                "client.country": "BE",
                "client.address": "Rue Haute 1, 1000 Bruxelles",
                "client.vat_number": "BE0403170702",
            },
        )
        assert r.status_code == 422
        assert 'id="f-client-vat_number-error"' in r.text
        assert await _count(server, Client) == clients
        assert await _count(server, Mission) == missions
    finally:
        await http.aclose()


async def test_email_change_asks_for_the_password(server: Server) -> None:
    member, http = await _member_client(server)
    new = f"new-{member['email']}"
    try:
        page = await http.get("/profile")
        r = await http.post(
            "/profile/email",
            data={"csrf_token": _csrf(page.text), "email": new, "email_password": "not it at all"},
        )
        assert r.status_code == 422
        assert 'id="f-email_password-error"' in r.text and f'value="{new}"' in r.text
        r = await http.post(
            "/profile/email",
            data={
                "csrf_token": _csrf(page.text),
                "email": new,
                "email_password": member["password"],
            },
        )
        assert r.status_code == 303
    finally:
        await http.aclose()
    async with httpx.AsyncClient(base_url=server.url, headers=EN) as fresh:
        assert (await login(fresh, new, member["password"])).status_code == 303
    async with httpx.AsyncClient(base_url=server.url, headers=EN) as fresh:
        assert (await login(fresh, member["email"], member["password"])).status_code == 422
