"""The member's mission page and the guarantee gate (issue 12): a mission the fund does not cover
by its rules shows why and what happens next, has no sign button, and a signature posted anyway
is refused (nothing signed); once the advisor or ops approve, the member signs."""

from __future__ import annotations

import html

from tests.web.conftest import Server
from tests.web.test_access import _create, _member_client
from tests.web.test_auth import _csrf
from web.render import LANG_COOKIE


async def test_sign_is_refused_until_the_gate_is_cleared(server: Server) -> None:
    member, http = await _member_client(server)
    try:
        # 30,000.00 excl. VAT: the salary's expected cost alone passes the client cap.
        r = await _create(server, http, member["client_id"], amount_excl_vat="30000.00")
        assert r.status_code == 303, r.text
        mission_id = int(r.headers["location"].rsplit("/", 1)[1])
        page = await http.get(f"/missions/{mission_id}")
        assert page.status_code == 200, page.text
        text = html.unescape(page.text)
        assert "Before you can sign, it needs your advisor's approval" in text  # the flash
        assert 'id="guarantee"' in page.text
        assert "You cannot sign yet: the guarantee fund already carries a lot" in text
        assert 'id="sign-button"' not in page.text

        # Posted anyway: refused with the reason, nothing signed.
        refused = await http.post(
            f"/missions/{mission_id}/sign", data={"csrf_token": _csrf(page.text)}
        )
        assert refused.status_code == 303
        after = await http.get(refused.headers["location"])
        assert "Not signed: You cannot sign yet" in html.unescape(after.text)
        mission = (
            await http.get(f"/api/missions/{mission_id}", headers=await server.ops_headers())
        ).json()
        assert mission["signed_at"] is None
        assert mission["guarantee"]["status"] == "needs_approval"

        # In French too.
        http.cookies.set(LANG_COOKIE, "fr")
        fr = await http.get(f"/missions/{mission_id}")
        assert "Vous ne pouvez pas encore signer" in html.unescape(fr.text)
        http.cookies.set(LANG_COOKIE, "en")

        # Ops approve: the page says so and the member signs.
        r = await http.post(
            f"/api/missions/{mission_id}/guarantee/approval",
            json={"reason": "the client paid its last ten invoices on time"},
            headers=await server.ops_headers(),
        )
        assert r.status_code == 200, r.text
        page = await http.get(f"/missions/{mission_id}")
        assert "approved this mission: you can sign" in html.unescape(page.text)
        assert 'id="sign-button"' in page.text
        signed = await http.post(
            f"/missions/{mission_id}/sign", data={"csrf_token": _csrf(page.text)}
        )
        assert signed.status_code == 303
        done = await http.get(signed.headers["location"])
        assert "Contract signed" in done.text
    finally:
        await http.aclose()
