"""/docs and /redoc work in a browser under their CSP (issue 13): Swagger UI lists the
operations and nothing is blocked; ReDoc renders (the only thing blocked is its "powered by"
logo from cdn.redoc.ly: nothing is loaded from another origin)."""

from __future__ import annotations

from typing import Any

from tests.web.conftest import Server


async def _open(browser: Any, server: Server, path: str, ready: str) -> list[str]:
    context = await browser.new_context(base_url=server.url)
    page = await context.new_page()
    problems: list[str] = []
    page.on("console", lambda m: problems.append(m.text) if m.type == "error" else None)
    page.on("pageerror", lambda e: problems.append(str(e)))
    try:
        response = await page.goto(path)
        assert response is not None and response.status == 200
        assert "frame-ancestors 'none'" in response.headers["content-security-policy"]
        await page.wait_for_selector(ready, timeout=20_000)
    finally:
        await context.close()
    return problems


async def test_swagger_ui_runs_under_its_csp(browser: Any, server: Server) -> None:
    assert await _open(browser, server, "/docs", ".opblock") == []


async def test_redoc_runs_under_its_csp(browser: Any, server: Server) -> None:
    problems = await _open(browser, server, "/redoc", ".menu-content")
    assert all("cdn.redoc.ly/redoc/logo-mini.svg" in p for p in problems), problems
