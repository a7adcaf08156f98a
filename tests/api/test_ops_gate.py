"""The proxy's gate to the Temporal UI (deploy/nginx.conf `auth_request`): GET /auth/ops-gate
answers 204 for a browser logged in as ops, 401 without a live session (the proxy then sends
the login page), 403 for any other role. Nothing but the status: the proxy reads no body."""

from __future__ import annotations

import httpx

from api.app import create_app
from core.db import Database
from core.settings import Settings
from services.people import create_staff_user
from tests.api.conftest import Account
from tests.conftest import api_client, unique
from tests.web.test_auth import login


async def _browser(http: httpx.AsyncClient, email: str, password: str) -> None:
    r = await login(http, email, password)
    assert r.status_code == 303, r.text


async def test_only_an_ops_session_opens_the_gate(
    db: Database, settings: Settings, accounts: tuple[Account, Account]
) -> None:
    staff = {role: f"{unique(role)}@coop.example" for role in ("ops", "advisor")}
    async with db.session() as session:
        for role, email in staff.items():
            await create_staff_user(session, email, "staff password 123", role)
    app = create_app(settings, db, None)
    async with api_client(app) as anonymous:
        assert (await anonymous.get("/auth/ops-gate")).status_code == 401
        anonymous.cookies.set("coopflow_session", "not-a-session")
        assert (await anonymous.get("/auth/ops-gate")).status_code == 401
    async with api_client(app) as member:
        await _browser(member, accounts[0].member["email"], "correct horse battery")
        assert (await member.get("/auth/ops-gate")).status_code == 403
    async with api_client(app) as advisor:
        await _browser(advisor, staff["advisor"], "staff password 123")
        assert (await advisor.get("/auth/ops-gate")).status_code == 403
    async with api_client(app) as ops:
        await _browser(ops, staff["ops"], "staff password 123")
        r = await ops.get("/auth/ops-gate")
        assert r.status_code == 204 and r.content == b""
        assert r.headers["Cache-Control"] == "no-store"
        # A bearer token is not a browser session: the UI is for the logged-in console only.
        token = await ops.post(
            "/api/auth/token", data={"username": staff["ops"], "password": "staff password 123"}
        )
        bearer = {"Authorization": f"Bearer {token.json()['access_token']}"}
        ops.cookies.clear()
        assert (await ops.get("/auth/ops-gate", headers=bearer)).status_code == 401
