"""Logging in and out of the pages: cookie flags, a new session id at login, logout ends the
session, CSRF on every POST, password guessing slowed down."""

from __future__ import annotations

import re

import httpx

from tests.web.conftest import EN, Server


def _csrf(html: str) -> str:
    found = re.search(r'name="csrf_token" value="([^"]+)"', html)
    assert found, html[:500]
    return found.group(1)


async def login(http: httpx.AsyncClient, email: str, password: str) -> httpx.Response:
    page = await http.get("/login")
    return await http.post(
        "/login", data={"email": email, "password": password, "csrf_token": _csrf(page.text)}
    )


async def test_login_sets_a_new_session_and_logout_ends_it(server: Server) -> None:
    member = await server.member()
    async with httpx.AsyncClient(base_url=server.url, headers=EN) as http:
        page = await http.get("/login")
        assert page.status_code == 200
        assert "Content-Security-Policy" in page.headers
        assert page.headers["X-Content-Type-Options"] == "nosniff"
        http.cookies.set("coopflow_session", "attacker-chosen-session-id", domain="127.0.0.1")
        r = await http.post(
            "/login",
            data={
                "email": member["email"],
                "password": member["password"],
                "csrf_token": _csrf(page.text),
            },
        )
        assert r.status_code == 303, r.text
        cookie = r.headers["set-cookie"]
        assert "coopflow_session=" in cookie and "HttpOnly" in cookie and "SameSite=lax" in cookie
        token = re.search(r"coopflow_session=([^;]+)", cookie).group(1)  # type: ignore[union-attr]
        assert token and token != "attacker-chosen-session-id"
        http.cookies.clear()
        http.cookies.set("coopflow_session", token, domain="127.0.0.1")
        missions = await http.get("/missions")
        assert missions.status_code == 200
        csrf = _csrf(missions.text)
        r = await http.post("/logout", data={"csrf_token": csrf})
        assert r.status_code == 303
    # The old cookie opens nothing any more.
    async with httpx.AsyncClient(
        base_url=server.url, headers=EN, cookies={"coopflow_session": token}
    ) as http:
        r = await http.get("/missions")
        assert r.status_code == 303 and r.headers["location"].startswith("/login")


async def test_post_without_csrf_or_from_another_site_is_refused(server: Server) -> None:
    member = await server.member()
    async with httpx.AsyncClient(base_url=server.url, headers=EN) as http:
        assert (await login(http, member["email"], member["password"])).status_code == 303
        page = await http.get("/profile")
        assert page.status_code == 200, (page.status_code, page.headers, page.text[-3000:])
        csrf = _csrf(page.text)
        r = await http.post("/profile/language", data={"language": "nl"})
        assert r.status_code == 403
        r = await http.post("/profile/language", data={"language": "nl", "csrf_token": "forged"})
        assert r.status_code == 403
        r = await http.post(
            "/profile/language",
            data={"language": "nl", "csrf_token": csrf},
            headers={"Origin": "https://evil.example"},
        )
        assert r.status_code == 403
        assert "nl" not in (await http.get("/profile")).text.split("selected>")[0][-40:]
        r = await http.post("/profile/language", data={"language": "nl", "csrf_token": csrf})
        assert r.status_code == 303
    # Before login too: the login form's token must match its cookie.
    async with httpx.AsyncClient(base_url=server.url, headers=EN) as http:
        r = await http.post(
            "/login", data={"email": member["email"], "password": member["password"]}
        )
        assert r.status_code == 403


async def test_password_guessing_is_slowed_down(server: Server) -> None:
    member = await server.member()
    async with httpx.AsyncClient(base_url=server.url, headers=EN) as http:
        for _ in range(server.settings.login_max_failures):
            r = await login(http, member["email"], "wrong password!")
            assert r.status_code == 422
            assert "Wrong email or password" in r.text
        r = await login(http, member["email"], member["password"])
        assert r.status_code == 422
        assert "Too many failed attempts" in r.text


async def test_deactivation_and_expiry_end_the_session(server: Server) -> None:
    from sqlalchemy import select, update

    from models import User, WebSession

    for end in ("deactivate", "expire"):
        member = await server.member()
        async with httpx.AsyncClient(base_url=server.url, headers=EN) as http:
            assert (await login(http, member["email"], member["password"])).status_code == 303
            assert (await http.get("/missions")).status_code == 200
            async with server.db.session() as session:
                user = await session.scalar(select(User).where(User.email == member["email"]))
                assert user is not None
                if end == "deactivate":
                    user.active = False
                else:
                    await session.execute(
                        update(WebSession)
                        .where(WebSession.user_id == user.id)
                        .values(expires_at=WebSession.created_at)
                    )
            r = await http.get("/missions")
            assert r.status_code == 303 and r.headers["location"].startswith("/login"), end
