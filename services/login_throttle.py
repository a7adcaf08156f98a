"""Slows down password guessing: after N failed logins for an email within the window, the next
attempts answer 429 until the oldest of them leaves the window. Both doors (the API's token and
the pages' login form) share one count per email.

The failures live in `login_failures`, so every API process (`COOPFLOW_API_WORKERS`, replicas)
counts the same ones and a restart forgets none. An attempt is written as a failure *before* the
password is checked, and committed before counting: of several attempts at once, on one process
or many, at most N get their password checked per window. The row is deleted if the attempt was
refused (429), and every row of the email when a login succeeds; one that fails simply stays.
Each failure also prunes rows older than the window, a batch at a time, skipping rows another
transaction holds (`SKIP LOCKED` on PostgreSQL; SQLite writes one at a time anyway).

Times are the processes' own UTC clocks (as for every timestamp Coopflow writes): keep them in
sync (NTP) across machines.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import timedelta

from sqlalchemy import delete, func, select
from sqlalchemy.exc import DBAPIError

from core.db import Database
from core.errors import DomainError
from models import LoginFailure, utcnow

log = logging.getLogger(__name__)

KEY_LENGTH = 320  # the longest email address; longer input is no login anyway
PRUNE_BATCH = 1000


def login_key(email: str) -> str:
    """One count per address, however it was typed (spaces around it, upper case)."""
    return email.strip().lower()[:KEY_LENGTH]


@dataclass(frozen=True)
class Attempt:
    """A login attempt let through, counted as a failure until `succeeded`."""

    key: str
    id: int


@dataclass(frozen=True)
class LoginThrottle:
    max_failures: int
    window_seconds: float

    @property
    def window(self) -> timedelta:
        return timedelta(seconds=self.window_seconds)

    async def begin(self, db: Database, email: str) -> Attempt:
        """Let an attempt through, counted as a failure from now on; or refuse it (429, field
        "username") when the email already has the maximum of failures within the window."""
        key = login_key(email)
        now = utcnow()
        async with db.session() as session:
            row = LoginFailure(key=key, failed_at=now)
            session.add(row)
            await session.flush()
            attempt = Attempt(key=key, id=row.id)
        # Counted after the commit above: each of concurrent attempts sees the others written
        # before its own count, so no more than the maximum pass.
        async with db.session() as session:
            count, oldest = (
                await session.execute(
                    select(func.count(LoginFailure.id), func.min(LoginFailure.failed_at)).where(
                        LoginFailure.key == key, LoginFailure.failed_at > now - self.window
                    )
                )
            ).one()
        if count > self.max_failures:
            await self._forget(db, attempt.id)  # a refused attempt does not extend the lockout
            retry_after = int(self.window_seconds - (now - oldest).total_seconds()) + 1
            raise DomainError(
                f"too many failed logins; try again in {retry_after} s", 429, "username"
            )
        return attempt

    async def failed(self, db: Database, attempt: Attempt) -> None:
        """The password was wrong: the attempt stays counted. Prunes what the window left."""
        try:
            async with db.session() as session:
                stale = (
                    select(LoginFailure.id)
                    .where(LoginFailure.failed_at <= utcnow() - self.window)
                    .limit(PRUNE_BATCH)
                    .with_for_update(skip_locked=True)
                )
                await session.execute(delete(LoginFailure).where(LoginFailure.id.in_(stale)))
        except DBAPIError as err:  # opportunistic: the next failure prunes them
            log.warning("login failures: pruning failed: %s", err)

    async def succeeded(self, db: Database, attempt: Attempt) -> None:
        """The right password: the email starts again with no failure."""
        async with db.session() as session:
            await session.execute(delete(LoginFailure).where(LoginFailure.key == attempt.key))

    async def _forget(self, db: Database, attempt_id: int) -> None:
        async with db.session() as session:
            await session.execute(delete(LoginFailure).where(LoginFailure.id == attempt_id))
