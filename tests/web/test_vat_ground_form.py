"""The new-mission form: a 0 % VAT rate needs its legal ground, chosen from the list, fitting the
client; the refusal is on the field, in the member's language, and nothing is kept."""

from __future__ import annotations

from datetime import timedelta

import httpx
from sqlalchemy import select

from models import Client, Mission
from tests.web.conftest import Server
from tests.web.test_access import _count, _create
from tests.web.test_auth import login


async def _ahead(server: Server) -> dict[str, str]:
    """Dates a few business days ahead: the web tests' clock runs 1.5 s per day."""
    today = await server.today()
    return {
        "start_date": (today + timedelta(days=6)).isoformat(),
        "end_date": (today + timedelta(days=8)).isoformat(),
    }


async def _member_in(server: Server, language: str) -> tuple[dict[str, object], httpx.AsyncClient]:
    member = await server.member(language=language)
    http = httpx.AsyncClient(base_url=server.url, headers={"Accept-Language": language}, timeout=30)
    assert (await login(http, str(member["email"]), str(member["password"]))).status_code == 303
    return member, http


async def test_the_form_lists_the_grounds_and_refuses_0_percent_without_one(
    server: Server,
) -> None:
    member, http = await _member_in(server, "fr")
    try:
        form = await http.get("/missions/new")
        assert 'name="vat_exemption"' in form.text
        assert 'value="eu_reverse_charge"' in form.text
        assert "Autoliquidation : services à une entreprise d&#39;un autre pays" in form.text
        missions = await _count(server, Mission)
        r = await _create(
            server, http, str(member["client_id"]), vat_rate="0", **await _ahead(server)
        )
        assert r.status_code == 422
        assert 'id="f-vat_exemption-error"' in r.text
        assert "est obligatoire quand le taux de TVA est de 0 %" in r.text
        # A ground that does not fit the (Belgian) client: refused on the field, in French.
        r = await _create(
            server,
            http,
            str(member["client_id"]),
            vat_rate="0",
            vat_exemption="eu_reverse_charge",
            **await _ahead(server),
        )
        assert r.status_code == 422
        assert (
            "ne s&#39;applique qu&#39;à un client établi dans un autre pays de l&#39;UE" in r.text
        )
        assert 'value="eu_reverse_charge" selected' in r.text  # the choice is kept
        assert await _count(server, Mission) == missions
    finally:
        await http.aclose()


async def test_a_new_eu_client_at_21_percent_is_sent_to_the_reverse_charge(
    server: Server,
) -> None:
    _, http = await _member_in(server, "nl")
    try:
        clients, missions = await _count(server, Client), await _count(server, Mission)
        new_client = {
            "client.name": "Beispiel GmbH",
            "client.email": "rechnung@beispiel.example",
            "client.kind": "business",
            "client.country": "DE",
            "client.address": "Unter den Linden 1, 10117 Berlin",
            "client.vat_number": "DE136695976",
            "client.language": "nl",
        }
        r = await _create(server, http, "new", **new_client, **await _ahead(server))
        assert r.status_code == 422
        assert 'id="f-vat_rate-error"' in r.text
        assert "Belgische btw is niet van toepassing" in r.text
        assert await _count(server, Client) == clients  # not even the new client is kept
        assert await _count(server, Mission) == missions
        r = await _create(
            server,
            http,
            "new",
            **new_client,
            **await _ahead(server),
            vat_rate="0",
            vat_exemption="eu_reverse_charge",
        )
        assert r.status_code == 303, r.text
        mission_id = int(r.headers["location"].rsplit("/", 1)[1])
        async with server.db.session() as session:
            mission = await session.scalar(select(Mission).where(Mission.id == mission_id))
        assert mission is not None and mission.vat_exemption == "eu_reverse_charge"
    finally:
        await http.aclose()
