"""Request-scoped dependencies: the unit of work, the caller, the Temporal client."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from typing import Annotated

from fastapi import Depends, Header, Request
from fastapi.security import OAuth2PasswordBearer
from sqlalchemy.ext.asyncio import AsyncSession
from temporalio.client import Client

from core.db import Database
from core.errors import DomainError
from core.security import read_token
from core.settings import Settings
from core.temporal import connect
from models import User
from services import idempotency
from services.access import Viewer, viewer_of

oauth2 = OAuth2PasswordBearer(tokenUrl="/api/auth/token", auto_error=False)


def get_settings_dep(request: Request) -> Settings:
    settings: Settings = request.app.state.settings
    return settings


def get_db(request: Request) -> Database:
    db: Database = request.app.state.db
    return db


async def get_session(request: Request) -> AsyncIterator[AsyncSession]:
    """One transaction per request, committed at its end (the edge owns the transaction)."""
    async with get_db(request).session() as session:
        yield session


SettingsDep = Annotated[Settings, Depends(get_settings_dep)]
DatabaseDep = Annotated[Database, Depends(get_db)]
SessionDep = Annotated[AsyncSession, Depends(get_session)]


class Unauthorized(DomainError):
    def __init__(self) -> None:
        super().__init__("not authenticated", 401)


class Forbidden(DomainError):
    def __init__(self, message: str = "not allowed for your role") -> None:
        super().__init__(message, 403)


async def current_user(
    session: SessionDep, settings: SettingsDep, token: Annotated[str | None, Depends(oauth2)]
) -> User:
    if not token:
        raise Unauthorized()
    user_id = read_token(settings, token)
    user = await session.get(User, user_id) if user_id is not None else None
    if user is None or not user.active:
        raise Unauthorized()
    return user


CurrentUser = Annotated[User, Depends(current_user)]


async def current_viewer(user: CurrentUser) -> Viewer:
    return viewer_of(user)


ViewerDep = Annotated[Viewer, Depends(current_viewer)]


async def staff_viewer(viewer: ViewerDep) -> Viewer:
    if not viewer.is_staff:
        raise Forbidden("advisors and ops only")
    return viewer


async def ops_viewer(viewer: ViewerDep) -> Viewer:
    if viewer.role != "ops":
        raise Forbidden("ops only")
    return viewer


async def member_viewer(viewer: ViewerDep) -> Viewer:
    if viewer.role != "member":
        raise Forbidden("members only: this step is the member's own")
    return viewer


StaffDep = Annotated[Viewer, Depends(staff_viewer)]
OpsDep = Annotated[Viewer, Depends(ops_viewer)]
MemberDep = Annotated[Viewer, Depends(member_viewer)]


class TemporalUnavailable(DomainError):
    def __init__(self) -> None:
        super().__init__("the workflow service is unavailable; try again shortly", 503)


async def temporal_client(request: Request) -> Client:
    """The shared Temporal client, connected on first need so the API starts without Temporal."""
    state = request.app.state
    if state.temporal is None:
        try:
            state.temporal = await asyncio.wait_for(
                connect(state.settings), state.settings.action_timeout_seconds
            )
        except Exception as err:
            raise TemporalUnavailable() from err
    client: Client = state.temporal
    return client


TemporalDep = Annotated[Client, Depends(temporal_client)]


async def idempotency_key(
    key: Annotated[
        str | None,
        Header(
            alias=idempotency.HEADER,
            description="1-100 printable ASCII characters: the same key with the same body "
            "answers the first reply without doing it again; with another body, 422",
        ),
    ] = None,
) -> str | None:
    return idempotency.parse_key(key)


IdempotencyKeyDep = Annotated[str | None, Depends(idempotency_key)]
