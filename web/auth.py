"""Logging in to the pages: server-side sessions, CSRF on every POST, and the route class that
turns the services' refusals into pages.

- The cookie `coopflow_session` holds a random token (HttpOnly, SameSite=Lax, Secure outside
  dev/test); the `web_sessions` row holds its hash, the user, the CSRF token and the expiry.
  Logging in always starts a new session id; logging out deletes the row.
- Every POST of a router built with `WebRoute` is refused (403) unless it carries the CSRF token
  (form field `csrf_token` or header `X-CSRF-Token`) and, when the browser says where it comes
  from (`Origin`), comes from this site. Before login the token is a double-submit cookie.
- Password guessing is slowed down by the API's own LoginThrottle: growing delays per client
  address and email (and per address), shared by both doors and every process; never a lockout
  of the owner (`services/login_throttle.py`).
"""

from __future__ import annotations

import secrets
from collections.abc import Callable, Coroutine
from datetime import timedelta
from typing import Annotated, Any
from urllib.parse import quote, urlsplit

from fastapi import APIRouter, Depends, Request
from fastapi.responses import Response
from fastapi.routing import APIRoute
from sqlalchemy.ext.asyncio import AsyncSession

from api.deps import SessionDep
from core.db import Database
from core.errors import DomainError
from models import Member
from services import people, web_sessions
from services.access import viewer_of
from services.login_throttle import Attempt, LoginThrottle
from web.i18n import LANGUAGES, N_
from web.render import (
    LANG_COOKIE,
    Page,
    flash,
    read_flashes,
    redirect,
    render,
    request_language,
    safe_next,
    secure_cookies,
    with_headers,
)

SESSION_COOKIE = "coopflow_session"
CSRF_COOKIE = "coopflow_csrf"
CSRF_FIELD = "csrf_token"
CSRF_HEADER = "x-csrf-token"


class LoginRequired(Exception):
    """The page needs a logged-in user: answered with a redirect to the login page."""


class CsrfRefused(Exception):
    """A POST without the page's CSRF token, or from another site."""


async def _load_session(request: Request, session: AsyncSession) -> Page:
    """The request's Page: its user (if the session cookie opens one) and its language."""
    cached: Page | None = getattr(request.state, "web_page", None)
    if cached is not None:
        return cached
    token = request.cookies.get(SESSION_COOKIE)
    found = await web_sessions.find_session(session, token)
    if found is None:
        anonymous = request.cookies.get(CSRF_COOKIE) or secrets.token_urlsafe(32)
        page = Page(request, request_language(request), anonymous, flashes=read_flashes(request))
    else:
        row, user = found
        profile = None
        if user.member_id is not None:
            member = await session.get(Member, user.member_id)
            profile = member.language if member else None
        page = Page(
            request,
            request_language(request, profile),
            row.csrf_token,
            user=user,
            viewer=viewer_of(user),
            cookie_token=token,
            flashes=read_flashes(request),
        )
    request.state.web_page = page
    return page


async def _check_csrf(request: Request, session: AsyncSession) -> None:
    origin = request.headers.get("origin")
    if origin and origin != "null":
        if urlsplit(origin).netloc != request.headers.get("host", ""):
            raise CsrfRefused()
    page = await _load_session(request, session)
    sent = request.headers.get(CSRF_HEADER)
    if sent is None:
        form = await request.form()
        value = form.get(CSRF_FIELD)
        sent = value if isinstance(value, str) else None
    if page.user is None:
        # Before login: the token must match the cookie this browser was given with the form.
        expected = request.cookies.get(CSRF_COOKIE)
    else:
        expected = page.csrf_token
    if not sent or not expected or not secrets.compare_digest(sent, expected):
        raise CsrfRefused()


def _error_page(request: Request, status: int, title: str, message: str) -> Response:
    page = getattr(request.state, "web_page", None) or Page(
        request, request_language(request), request.cookies.get(CSRF_COOKIE) or ""
    )
    return render(
        page,
        "error.html",
        status_code=status,
        title=page.gettext(title),
        message=page.gettext(message),
    )


class WebRoute(APIRoute):
    """Routes of the pages: CSRF on every POST; refusals rendered as pages, not JSON.

    A missing object and someone else's answer the very same 404 page."""

    def get_route_handler(self) -> Callable[[Request], Coroutine[Any, Any, Response]]:
        handler = super().get_route_handler()

        async def route(request: Request) -> Response:
            try:
                if request.method == "POST":
                    async with request.app.state.db.session() as session:
                        await _check_csrf(request, session)
                response = await handler(request)
            except LoginRequired:
                target = request.url.path
                if request.url.query:
                    target += "?" + request.url.query
                if request.headers.get("hx-request"):
                    response = Response(status_code=204, headers={"HX-Redirect": "/login"})
                    return response
                return redirect(f"/login?next={quote(target, safe='/')}")
            except CsrfRefused:
                return _error_page(
                    request,
                    403,
                    N_("Refused"),
                    N_(
                        "This form has expired or did not come from this site. "
                        "Reload the page and try again."
                    ),
                )
            except DomainError as err:
                if err.status_code == 404:
                    return _error_page(
                        request, 404, N_("Not found"), N_("There is nothing here, or not for you.")
                    )
                if err.status_code == 403:
                    return _error_page(
                        request, 403, N_("Refused"), N_("This page is not for your role.")
                    )
                if err.status_code == 503:
                    return _error_page(
                        request,
                        503,
                        N_("Unavailable"),
                        N_("A service we depend on is unavailable. Try again in a moment."),
                    )
                raise
            return with_headers(response)

        return route


async def page_dep(request: Request, session: SessionDep) -> Page:
    """The page of anyone, logged in or not."""
    return await _load_session(request, session)


async def user_page_dep(page: Annotated[Page, Depends(page_dep)]) -> Page:
    """A page for logged-in users only."""
    if page.user is None:
        raise LoginRequired()
    return page


async def member_page_dep(page: Annotated[Page, Depends(user_page_dep)]) -> Page:
    """A page for members only (staff have their consoles)."""
    if page.viewer is None or page.viewer.role != "member":
        raise DomainError("members only", 403)
    return page


AnyPage = Annotated[Page, Depends(page_dep)]
UserPage = Annotated[Page, Depends(user_page_dep)]
MemberPage = Annotated[Page, Depends(member_page_dep)]


def set_session_cookie(
    response: Response, request: Request, token: str, lifetime: timedelta
) -> None:
    response.set_cookie(
        SESSION_COOKIE,
        token,
        max_age=int(lifetime.total_seconds()),
        httponly=True,
        samesite="lax",
        secure=secure_cookies(request),
        path="/",
    )


def ensure_csrf_cookie(response: Response, page: Page) -> Response:
    """Before login, the form's token is also set as a cookie (double submit)."""
    if page.user is None and page.request.cookies.get(CSRF_COOKIE) != page.csrf_token:
        response.set_cookie(
            CSRF_COOKIE,
            page.csrf_token,
            httponly=True,
            samesite="lax",
            secure=secure_cookies(page.request),
            path="/",
        )
    return response


# ---------------------------------------------------------------- the routes

router = APIRouter(route_class=WebRoute, include_in_schema=False)


@router.get("/")
async def home(page: AnyPage) -> Response:
    if page.user is None:
        return redirect("/login")
    return redirect("/console" if page.user.role in ("advisor", "ops") else "/missions")


@router.get("/login")
async def login_form(page: AnyPage, next: str | None = None) -> Response:
    if page.user is not None:
        return redirect(safe_next(next))
    response = render(page, "login.html", next=safe_next(next), values={}, errors={})
    return ensure_csrf_cookie(response, page)


@router.post("/login")
async def login(request: Request, page: AnyPage, session: SessionDep) -> Response:
    form = await request.form()
    email = str(form.get("email") or "")[:320]
    password = str(form.get("password") or "")[:1024]
    target = safe_next(str(form.get("next") or ""))
    throttle: LoginThrottle = request.app.state.login_throttle
    db: Database = request.app.state.db
    errors: dict[str, str] = {}
    attempt: Attempt | None = None
    try:
        address = request.client.host if request.client else None
        attempt = await throttle.begin(db, email, address)
    except DomainError:
        errors["email"] = page.gettext(
            "Too many failed attempts for this email. Wait a few minutes and try again."
        )
    if attempt is not None:
        user = await people.authenticate(session, email, password)
        if user is None:
            await throttle.failed(db, attempt)
            errors["password"] = page.gettext("Wrong email or password.")
    if errors:
        response = render(
            page, "login.html", status_code=422, next=target, values={"email": email}, errors=errors
        )
        return ensure_csrf_cookie(response, page)
    assert attempt is not None and user is not None
    await throttle.succeeded(db, attempt)
    if user.role in ("advisor", "ops") and target == safe_next(None):
        target = "/console"  # staff land on their console, not on the member portal
    lifetime = timedelta(minutes=request.app.state.settings.token_minutes)
    token, _ = await web_sessions.open_session(
        session, user, lifetime, replaces=request.cookies.get(SESSION_COOKIE)
    )
    # Committed before answering: the browser's next request must find the session.
    await session.commit()
    done = redirect(target)
    set_session_cookie(done, request, token, lifetime)
    done.delete_cookie(CSRF_COOKIE, path="/")
    return done


@router.post("/logout")
async def logout(request: Request, page: AnyPage, session: SessionDep) -> Response:
    if page.cookie_token:
        await web_sessions.close_session(session, page.cookie_token)
        await session.commit()
    response = redirect("/login")
    response.delete_cookie(SESSION_COOKIE, path="/")
    flash(response, request, "info", page.gettext("You are logged out."))
    return response


@router.post("/language")
async def set_language(request: Request, page: AnyPage) -> Response:
    """The language switch: remembered in a cookie (the profile's language is for emails)."""
    form = await request.form()
    language = str(form.get("language") or "")
    response = redirect(safe_next(str(form.get("next") or ""), "/"))
    if language in LANGUAGES:
        response.set_cookie(
            LANG_COOKIE,
            language,
            max_age=365 * 24 * 3600,
            httponly=True,
            samesite="lax",
            secure=secure_cookies(request),
            path="/",
        )
    return response


# ---------------------------------------------------------------- the proxy's gate

gate_router = APIRouter(include_in_schema=False)


@gate_router.get("/auth/ops-gate")
async def ops_gate(request: Request, session: SessionDep) -> Response:
    """Asked by the proxy (nginx `auth_request`) before every request to the Temporal UI: 204 if
    the browser's session cookie is a live ops login, 401 without one (the proxy then sends the
    login page), 403 for any other role. A status only: the proxy reads no body."""
    found = await web_sessions.find_session(session, request.cookies.get(SESSION_COOKIE))
    if found is None:
        status = 401
    else:
        status = 204 if found[1].role == "ops" else 403
    return Response(status_code=status, headers={"Cache-Control": "no-store"})
