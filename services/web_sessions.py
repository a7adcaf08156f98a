"""Browser sessions of the web pages: a random token in the cookie, its hash in the table."""

from __future__ import annotations

import hashlib
import secrets
from datetime import datetime, timedelta

from sqlalchemy import delete, select
from sqlalchemy.ext.asyncio import AsyncSession

from models import User, WebSession, utcnow


def _key(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


async def open_session(
    session: AsyncSession, user: User, lifetime: timedelta, replaces: str | None = None
) -> tuple[str, WebSession]:
    """Start a browser session for `user` under a new random id (the one it replaces ends)."""
    if replaces:
        await close_session(session, replaces)
    now = utcnow()
    # Expired sessions are deleted when met; a user's forgotten ones go at their next login.
    await session.execute(
        delete(WebSession).where(WebSession.user_id == user.id, WebSession.expires_at <= now)
    )
    token = secrets.token_urlsafe(32)
    row = WebSession(
        id=_key(token),
        user_id=user.id,
        csrf_token=secrets.token_urlsafe(32),
        created_at=now,
        expires_at=now + lifetime,
    )
    session.add(row)
    await session.flush()
    return token, row


async def find_session(
    session: AsyncSession, token: str | None, now: datetime | None = None
) -> tuple[WebSession, User] | None:
    """The live session behind a cookie and its active user; None if expired, ended or unknown."""
    if not token or len(token) > 128:
        return None
    row = await session.get(WebSession, _key(token))
    if row is None:
        return None
    if row.expires_at <= (now or utcnow()):
        await session.delete(row)
        return None
    user = await session.get(User, row.user_id)
    if user is None or not user.active:
        return None
    return row, user


async def close_session(session: AsyncSession, token: str) -> None:
    """Log out: the session row is deleted, so the cookie opens nothing any more."""
    await session.execute(delete(WebSession).where(WebSession.id == _key(token)))


async def close_user_sessions(session: AsyncSession, user_id: int) -> int:
    """End every browser session of a user (password change, deactivation)."""
    ids = (await session.scalars(select(WebSession.id).where(WebSession.user_id == user_id))).all()
    await session.execute(delete(WebSession).where(WebSession.user_id == user_id))
    return len(ids)
