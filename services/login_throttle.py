"""Slows down password guessing without ever locking the owner out for good.

Failures are counted per client address and email (`login_key`) and per client address alone
(`address_key`, every email: password spraying). Up to `max_failures` failures of a pair within
the window (`address_max_failures` for an address) are free; beyond them each attempt must wait
a delay after the latest failure that doubles with every further failure (1 s, 2 s, 4 s, ...)
and never exceeds the window: 429 with the seconds to wait until then. The right password
still works once the delay has passed, and at once from any other address: a stranger who
knows a member's email slows down their own guesses, not the member's login (issue 13, #9).
Both doors (the API's token and the pages' login form) share the counts.

The failures live in `login_failures` (its `key` is either kind of key), so every API process
(`COOPFLOW_API_WORKERS`, replicas) counts the same ones and a restart forgets none. An attempt
is written as a failure (one row per key) *before* the password is checked, and committed
before counting: of several attempts at once, on one process or many, at most N get their
password checked. The rows are deleted if the attempt was refused (429); a success deletes the
pair's failures and its own address row (the address keeps its other failures: logging in to
one's own account does not buy more guesses at others); a failure simply stays. Each failure
also prunes rows older than the window, a batch at a time, skipping rows another transaction
holds (`SKIP LOCKED` on PostgreSQL; SQLite writes one at a time anyway).

The client address is the connection's, or the proxy's `X-Forwarded-For` where uvicorn trusts
it (`FORWARDED_ALLOW_IPS`, docker-compose.yml). Times are the processes' own UTC clocks (as for
every timestamp Coopflow writes): keep them in sync (NTP) across machines.
"""

from __future__ import annotations

import logging
import math
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import delete, func, or_, select, update
from sqlalchemy.exc import DBAPIError
from sqlalchemy.ext.asyncio import AsyncSession

from core.db import Database
from core.errors import DomainError
from models import LoginFailure, utcnow

log = logging.getLogger(__name__)

KEY_LENGTH = 320  # the column's length; longer input is no login anyway
ADDRESS_LENGTH = 64  # an IPv6 address with a zone fits
PRUNE_BATCH = 1000


def address_key(address: str | None) -> str:
    """The count of every login failure from one client address (never contains "|")."""
    cleaned = (address or "unknown").replace("\x00", "").strip().lower().replace("|", "")
    return cleaned[:ADDRESS_LENGTH] or "unknown"


def login_key(email: str, address: str | None) -> str:
    """One count per client address and email, however the email was typed (spaces around it,
    upper case): "<address>|<email>". Without NUL characters, which PostgreSQL's text cannot
    hold (such an email is no one's: it only fails, and is counted as the same without them)."""
    return f"{address_key(address)}|{email.replace(chr(0), '').strip().lower()}"[:KEY_LENGTH]


@dataclass(frozen=True)
class Attempt:
    """A login attempt let through, counted as a failure until `succeeded`."""

    key: str
    ids: tuple[int, ...]


@dataclass(frozen=True)
class LoginThrottle:
    max_failures: int
    window_seconds: float
    address_max_failures: int = 50
    base_delay_seconds: float = 1.0

    @property
    def window(self) -> timedelta:
        return timedelta(seconds=self.window_seconds)

    def delay(self, beyond: int) -> float:
        """Seconds an attempt waits after the latest failure when `beyond` failures past the
        free ones are in the window: doubling, at most the window."""
        return float(min(self.base_delay_seconds * 2 ** min(beyond, 40), self.window_seconds))

    async def begin(self, db: Database, email: str, address: str | None) -> Attempt:
        """Let an attempt through, counted as a failure from now on; or refuse it (429, field
        "username") while the delay its pair's or its address's failures impose runs."""
        keys = (login_key(email, address), address_key(address))
        now = utcnow()
        async with db.session() as session:
            rows = [LoginFailure(key=key, failed_at=now) for key in keys]
            session.add_all(rows)
            await session.flush()
            attempt = Attempt(key=keys[0], ids=tuple(row.id for row in rows))
        # Counted after the commit above: each of concurrent attempts sees the others written
        # before its own count, so no more than the free ones pass at once.
        async with db.session() as session:
            wait = max(
                await self._wait(session, keys[0], attempt, now, self.max_failures),
                await self._wait(session, keys[1], attempt, now, self.address_max_failures),
            )
        if wait > 0:
            await self._forget(db, attempt)  # a refused attempt does not extend the delay
            raise DomainError(
                f"too many failed logins; try again in {math.ceil(wait)} s", 429, "username"
            )
        return attempt

    async def _wait(
        self, session: AsyncSession, key: str, attempt: Attempt, now: datetime, free: int
    ) -> float:
        count, latest = (
            await session.execute(
                select(func.count(LoginFailure.id), func.max(LoginFailure.failed_at)).where(
                    LoginFailure.key == key,
                    LoginFailure.failed_at > now - self.window,
                    LoginFailure.id.not_in(attempt.ids),
                )
            )
        ).one()
        if count < free:
            return 0.0
        return self.delay(count - free) - (now - latest).total_seconds()

    async def failed(self, db: Database, attempt: Attempt) -> None:
        """The password was wrong: the attempt stays counted. Prunes what the window left."""
        async with db.session() as session:  # the delay runs from when the failure was known
            await session.execute(
                update(LoginFailure)
                .where(LoginFailure.id.in_(attempt.ids))
                .values(failed_at=utcnow())
            )
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
        """The right password: the pair starts again with no failure; the address keeps the
        failures it made at other emails."""
        async with db.session() as session:
            await session.execute(
                delete(LoginFailure).where(
                    or_(LoginFailure.key == attempt.key, LoginFailure.id.in_(attempt.ids))
                )
            )

    async def _forget(self, db: Database, attempt: Attempt) -> None:
        async with db.session() as session:
            await session.execute(delete(LoginFailure).where(LoginFailure.id.in_(attempt.ids)))
