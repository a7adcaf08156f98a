"""Every answer carries its security headers (issue 13): the pages' set on pages and static
files, a strict one on the JSON API (and its errors), and on /docs, /redoc and /openapi.json a
CSP that lets the API explorers run from our own origin only (no CDN, no inline script)."""

from __future__ import annotations

import re

import httpx
import pytest

from api.app import create_app
from core.db import Database
from core.settings import Settings
from tests.api.conftest import Account
from tests.conftest import api_client

API_CSP = "default-src 'none'; frame-ancestors 'none'"


def _common(r: httpx.Response) -> dict[str, str]:
    """What every answer must carry; returns the CSP's directives."""
    what = f"{r.request.method} {r.request.url.path} → {r.status_code}"
    assert r.headers.get("X-Content-Type-Options") == "nosniff", what
    assert r.headers.get("X-Frame-Options") == "DENY", what
    assert r.headers.get("Referrer-Policy") in ("no-referrer", "same-origin"), what
    csp = r.headers.get("Content-Security-Policy")
    assert csp, what
    directives = {d.split()[0]: " ".join(d.split()[1:]) for d in csp.split(";") if d.strip()}
    assert directives.get("frame-ancestors") == "'none'", (what, csp)
    # nothing is ever loaded from another origin
    assert not re.search(r"https?:|\*", csp), (what, csp)
    return directives


def _json_api(r: httpx.Response) -> None:
    what = f"{r.request.method} {r.request.url.path} → {r.status_code}"
    _common(r)
    assert r.headers["Content-Security-Policy"] == API_CSP, what
    assert "no-store" in r.headers.get("Cache-Control", ""), what


@pytest.fixture
async def http(db: Database, settings: Settings) -> httpx.AsyncClient:
    async with api_client(create_app(settings, db, None)) as client:
        yield client  # type: ignore[misc]


async def test_json_api_answers_and_errors_carry_the_strict_headers(
    http: httpx.AsyncClient, accounts: tuple[Account, Account]
) -> None:
    a, _ = accounts
    answers = [
        await http.get("/api/clock"),  # anonymous
        await http.get("/api/me", headers=a.headers),  # authenticated
        await http.get("/api/me"),  # 401
        await http.get("/api/missions/2147483000", headers=a.headers),  # 404
        await http.post("/api/missions", json={"title": 3}, headers=a.headers),  # 422
        await http.get("/api/nowhere"),  # 404 of the router
        await http.get("/openapi.json"),
    ]
    assert [r.status_code for r in answers] == [200, 200, 401, 404, 422, 404, 200]
    for r in answers:
        _json_api(r)


async def test_pages_and_static_files_carry_the_pages_headers(http: httpx.AsyncClient) -> None:
    page = await http.get("/login")
    assert page.status_code == 200
    assert _common(page)["script-src"] == "'self'"
    assert "no-store" in page.headers["Cache-Control"]
    static = await http.get("/static/web/app.css")
    assert static.status_code == 200
    _common(static)
    missing = await http.get("/static/web/nothing.css")
    assert missing.status_code == 404
    _common(missing)


@pytest.mark.parametrize("path", ["/docs", "/redoc"])
async def test_the_api_explorers_run_from_our_origin_under_their_csp(
    http: httpx.AsyncClient, path: str
) -> None:
    r = await http.get(path)
    assert r.status_code == 200, r.text
    directives = _common(r)
    assert "'unsafe-inline'" not in directives.get("script-src", "'none'")
    assert "'unsafe-eval'" not in directives.get("script-src", "'none'")
    assert "cdn" not in r.text and "https://" not in r.text, "served from our own origin"
    scripts = re.findall(r"<script([^>]*)>(.*?)</script>", r.text, re.S)
    assert scripts
    for attributes, body in scripts:
        assert not body.strip(), f"an inline script the CSP blocks: {body[:80]}"
        src = re.search(r'src="([^"]+)"', attributes)
        assert src and src[1].startswith("/"), attributes
        asset = await http.get(src[1])
        assert asset.status_code == 200 and len(asset.content) > 100, src[1]
        assert "javascript" in asset.headers["content-type"], src[1]
        _common(asset)
    for href in re.findall(r'<link[^>]*href="([^"]+)"', r.text):
        assert href.startswith("/"), href
        assert (await http.get(href)).status_code == 200, href
