"""Security headers on every answer, by family of route (issue 13).

- Pages keep their own set (web/render.py SECURITY_HEADERS); static files get it without the
  no-store (they may be cached).
- The JSON API, its errors and /openapi.json: nothing may run or load (`default-src 'none'`),
  never framed, never sniffed, never stored (answers carry personal data), no Referer.
- /docs (Swagger UI) and /redoc run from our own origin: their files come from the
  `fastapi-offline` package (mounted at /docs-assets) and our own starter script, so the CSP
  allows `'self'` only and no inline script. ReDoc writes its styles into <style> elements
  (styled-components), hence `style-src 'unsafe-inline'` on /redoc alone, and builds its search
  worker from a blob: URL.

Set by a plain ASGI middleware, before an answer's first byte: a header a route set itself
(a download's Cache-Control, a page's) is kept.
"""

from __future__ import annotations

from pathlib import Path

import fastapi_offline
from fastapi import FastAPI
from fastapi.responses import HTMLResponse
from fastapi.staticfiles import StaticFiles
from starlette.datastructures import MutableHeaders
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from web.render import SECURITY_HEADERS as PAGE_HEADERS

DOCS_ASSETS = "/docs-assets"
_ASSETS_DIR = Path(fastapi_offline.__file__).resolve().parent / "static"

_NEVER_FRAMED = {
    "X-Content-Type-Options": "nosniff",
    "X-Frame-Options": "DENY",
}
API_HEADERS = {
    **_NEVER_FRAMED,
    "Content-Security-Policy": "default-src 'none'; frame-ancestors 'none'",
    "Referrer-Policy": "no-referrer",
    "Cache-Control": "no-store",
}
STATIC_HEADERS = {k: v for k, v in PAGE_HEADERS.items() if k != "Cache-Control"}
_EXPLORER = (
    "default-src 'none'; script-src 'self'; img-src 'self' data:; connect-src 'self'; "
    "frame-ancestors 'none'; base-uri 'none'; form-action 'none'"
)
DOCS_HEADERS = {
    **_NEVER_FRAMED,
    "Content-Security-Policy": f"{_EXPLORER}; style-src 'self'",
    "Referrer-Policy": "same-origin",
}
REDOC_HEADERS = {
    **_NEVER_FRAMED,
    "Content-Security-Policy": (
        f"{_EXPLORER}; style-src 'self' 'unsafe-inline'; font-src 'self'; worker-src blob:"
    ),
    "Referrer-Policy": "same-origin",
}


def headers_for(path: str) -> dict[str, str]:
    if path == "/api" or path.startswith("/api/") or path == "/openapi.json":
        return API_HEADERS
    if path == "/docs":
        return DOCS_HEADERS
    if path == "/redoc":
        return REDOC_HEADERS
    if path.startswith(("/static/", f"{DOCS_ASSETS}/")):
        return STATIC_HEADERS
    return PAGE_HEADERS


class SecurityHeaders:
    """Adds the family's headers to every HTTP answer, keeping those the route set."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        wanted = headers_for(scope["path"])

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = MutableHeaders(scope=message)
                for name, value in wanted.items():
                    headers.setdefault(name, value)
            await send(message)

        await self.app(scope, receive, send_with_headers)


DOCS_PAGE = """<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1.0">
<title>{title} - Swagger UI</title>
<link rel="stylesheet" href="{assets}/swagger-ui.css">
<link rel="icon" href="{assets}/favicon.png">
</head>
<body>
<div id="swagger-ui" data-openapi-url="{openapi_url}"></div>
<script src="{assets}/swagger-ui-bundle.js"></script>
<script src="/static/docs/swagger-init.js"></script>
</body>
</html>
"""

REDOC_PAGE = """<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>{title} - ReDoc</title>
<link rel="stylesheet" href="/static/docs/redoc.css">
<link rel="icon" href="{assets}/favicon.png">
</head>
<body>
<noscript>ReDoc requires JavaScript to show the documentation.</noscript>
<redoc spec-url="{openapi_url}"></redoc>
<script src="{assets}/redoc.standalone.js"></script>
</body>
</html>
"""


def add_docs(app: FastAPI) -> None:
    """/docs and /redoc served from our own origin (the app is built with docs_url=None and
    redoc_url=None, so FastAPI's CDN pages are not there)."""
    values = {"title": app.title, "assets": DOCS_ASSETS, "openapi_url": app.openapi_url}
    docs_html = DOCS_PAGE.format(**values)
    redoc_html = REDOC_PAGE.format(**values)

    @app.get("/docs", include_in_schema=False)
    async def docs() -> HTMLResponse:
        return HTMLResponse(docs_html)

    @app.get("/redoc", include_in_schema=False)
    async def redoc() -> HTMLResponse:
        return HTMLResponse(redoc_html)

    app.mount(DOCS_ASSETS, StaticFiles(directory=_ASSETS_DIR), name="docs-assets")
