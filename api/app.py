"""The FastAPI application: JSON API under /api, OpenAPI at /docs."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse
from sqlalchemy.exc import InterfaceError, OperationalError
from sqlalchemy.exc import TimeoutError as PoolTimeout
from temporalio.client import Client

import web
from api import bank, clients, documents, estimates, fund, headers, invoices, ops, webhooks
from api.routes import router
from core.db import Database, make_engine
from core.errors import DomainError
from core.settings import Settings, get_settings
from domain.errors import FieldError
from services import idempotency
from services.lifecycle import ActionPending
from services.login_throttle import LoginThrottle
from web import console


def _error(status: int, loc: list[Any], msg: str, kind: str) -> JSONResponse:
    headers = {"WWW-Authenticate": "Bearer"} if status == 401 else None
    return JSONResponse(
        {"detail": [{"loc": loc, "msg": msg, "type": kind}]}, status_code=status, headers=headers
    )


def _loc(field: str | None) -> list[Any]:
    if not field:
        return []
    if field == idempotency.HEADER:
        return ["header", field]
    return ["body", *(int(p) if p.isdigit() else p for p in field.split("."))]


def create_app(
    settings: Settings | None = None, db: Database | None = None, temporal: Client | None = None
) -> FastAPI:
    settings = settings or get_settings()

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        own_db = db is None
        app.state.db = db or Database(make_engine(settings))
        yield
        if own_db:
            await app.state.db.dispose()

    app = FastAPI(
        title="Coopflow",
        version="0.1.0",
        description="Back office of a cooperative of salaried freelancers. "
        "One Temporal workflow per mission.",
        lifespan=lifespan,
        docs_url=None,  # api.headers.add_docs: served from our own origin, under a CSP
        redoc_url=None,
        swagger_ui_oauth2_redirect_url=None,  # the password flow needs no redirect page
    )
    app.state.settings = settings
    app.state.db = db
    app.state.temporal = temporal
    # Failed logins are counted in the database: one count for every API process.
    app.state.login_throttle = LoginThrottle(
        settings.login_max_failures,
        settings.login_window_seconds,
        settings.login_address_max_failures,
        settings.login_delay_seconds,
    )

    @app.exception_handler(FieldError)
    async def field_error(_: Request, err: FieldError) -> JSONResponse:
        return _error(422, _loc(err.field), err.message, "value_error")

    @app.exception_handler(DomainError)
    async def domain_error(_: Request, err: DomainError) -> JSONResponse:
        kind = {
            401: "unauthorized",
            403: "forbidden",
            404: "not_found",
            429: "rate_limited",
            503: "unavailable",
        }.get(err.status_code, "conflict")
        return _error(err.status_code, _loc(err.field), err.message, kind)

    @app.exception_handler(idempotency.Replay)
    async def replay(_: Request, answer: idempotency.Replay) -> JSONResponse:
        # The answer stored with the Idempotency-Key, sent again exactly (no second effect).
        return JSONResponse(answer.body, status_code=answer.status_code)

    @app.exception_handler(ActionPending)
    async def action_pending(_: Request, err: ActionPending) -> JSONResponse:
        # Accepted into the workflow's history, still running: it completes without the client.
        return JSONResponse({"status": "accepted", "message": err.message}, status_code=202)

    @app.exception_handler(OperationalError)
    @app.exception_handler(InterfaceError)
    async def database_down(_: Request, err: Exception) -> JSONResponse:
        return _error(503, [], "the database is unavailable; try again shortly", "unavailable")

    @app.exception_handler(PoolTimeout)
    async def database_busy(_: Request, err: Exception) -> JSONResponse:
        # No free connection within COOPFLOW_DB_POOL_TIMEOUT_SECONDS.
        return _error(503, [], "the back office is busy; try again in a moment", "unavailable")

    app.include_router(router)
    app.include_router(estimates.router)
    app.include_router(fund.router)
    app.include_router(invoices.router)
    app.include_router(webhooks.router)
    app.include_router(documents.router)
    app.include_router(clients.router)
    app.include_router(ops.router)
    app.include_router(bank.router)
    web.mount(app)  # the pages (member portal) and their static files
    app.include_router(console.router)  # the advisor and ops consoles (/console)
    headers.add_docs(app)
    app.add_middleware(headers.SecurityHeaders)  # every answer, errors included
    return app


app = create_app()
