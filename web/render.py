"""Rendering a page: the shared Jinja environment, the request's language, flash messages and the
security headers every HTML answer carries."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlsplit

from fastapi import Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from core.templating import environment
from models import User
from services.access import Viewer
from web.i18n import LANGUAGES, Formatter, accept_language, pick_language

LANG_COOKIE = "coopflow_lang"
FLASH_COOKIE = "coopflow_flash"

# htmx is loaded from our own origin and nothing runs inline: no 'unsafe-inline' anywhere.
CSP = (
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
    "connect-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'self'; "
    "object-src 'none'"
)
SECURITY_HEADERS = {
    "Content-Security-Policy": CSP,
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "same-origin",
    "X-Frame-Options": "DENY",
    "Cache-Control": "no-store",
}


@dataclass
class Page:
    """Who is looking at the page, in which language, with which CSRF token."""

    request: Request
    language: str
    csrf_token: str
    user: User | None = None
    viewer: Viewer | None = None
    cookie_token: str | None = None
    flashes: list[tuple[str, str]] = field(default_factory=list)

    @property
    def t(self) -> Formatter:
        return Formatter(self.language)

    def gettext(self, message: str, **values: Any) -> str:
        return self.t.gettext(message, **values)


def request_language(request: Request, profile: str | None = None) -> str:
    """The cookie set by the language switch, else the member's profile, else the browser."""
    return pick_language(
        request.cookies.get(LANG_COOKIE),
        profile,
        accept_language(request.headers.get("accept-language")),
    )


def read_flashes(request: Request) -> list[tuple[str, str]]:
    raw = request.cookies.get(FLASH_COOKIE)
    if not raw:
        return []
    try:
        items = json.loads(raw)
    except ValueError:
        return []
    if not isinstance(items, list):
        return []
    return [
        (str(kind), str(text))
        for kind, text in (i for i in items[:5] if isinstance(i, list) and len(i) == 2)
        if kind in ("success", "error", "info")
    ]


def flash(response: Response, request: Request, kind: str, text: str) -> None:
    """Show `text` once on the next page (kind: success, error, info)."""
    items = [*read_flashes(request), (kind, text)][-5:]
    response.set_cookie(
        FLASH_COOKIE,
        json.dumps([list(i) for i in items]),
        httponly=True,
        samesite="lax",
        secure=secure_cookies(request),
        path="/",
    )


def secure_cookies(request: Request) -> bool:
    """Cookies only over HTTPS, except on a developer's machine and in the tests."""
    return request.app.state.settings.env not in ("dev", "test")


def with_headers(response: Response) -> Response:
    for name, value in SECURITY_HEADERS.items():
        response.headers.setdefault(name, value)
    return response


def render(page: Page, template: str, status_code: int = 200, **context: Any) -> HTMLResponse:
    """Render `templates/web/<template>` for this page: every template gets `page`, `t` (money,
    dates), `_` (gettext), the CSRF token and the flash messages."""
    html = (
        environment()
        .get_template(f"web/{template}")
        .render(
            page=page,
            t=page.t,
            _=page.gettext,
            csrf_token=page.csrf_token,
            languages=LANGUAGES,
            flashes=page.flashes,
            here=here(page.request),
            **context,
        )
    )
    response = HTMLResponse(html, status_code=status_code)
    if page.flashes:
        response.delete_cookie(FLASH_COOKIE, path="/")
    return with_headers(response)  # type: ignore[return-value]


def here(request: Request | None) -> str:
    """The page to come back to (after switching language): a form re-rendered after a refused
    POST answers under the POST's URL, so it is the page the form was on (same-site Referer)."""
    if request is None:
        return "/"
    if request.method == "GET":
        return request.url.path
    referer = urlsplit(request.headers.get("referer", ""))
    if referer.netloc == request.headers.get("host") and referer.path:
        return safe_next(referer.path, "/")
    return "/"


def redirect(url: str) -> RedirectResponse:
    """After a successful POST: see the result with a GET (303), so a reload posts nothing."""
    response = RedirectResponse(url, status_code=303)
    with_headers(response)
    return response


def safe_next(value: str | None, default: str = "/missions") -> str:
    """Only a path of this site: never `//evil.example` nor `https://…` (open redirects)."""
    if not value or not value.startswith("/") or value.startswith("//") or "\\" in value:
        return default
    return value
