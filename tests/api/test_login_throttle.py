"""Login throttling across API processes: two app instances with their own engines on one
database, as two uvicorn processes are, share one count of failures per email; the limit is
exact across both, even for attempts sent at once; a success clears it; failures older than the
window do not count (and are pruned). And the same on SQLite, the embedded default."""

from __future__ import annotations

import asyncio
import re
from collections.abc import AsyncIterator
from datetime import timedelta
from pathlib import Path

import httpx
import pytest
from sqlalchemy import func, select

from api.app import create_app
from core.db import Database, make_engine
from core.errors import DomainError
from core.settings import Settings
from models import LoginFailure, utcnow
from services.login_throttle import LoginThrottle, login_key
from services.people import create_staff_user
from tests.api.conftest import assert_refused
from tests.conftest import alembic_config, api_client, unique

PASSWORD = "staff password 123"


@pytest.fixture
async def two_apps(
    db: Database, settings: Settings
) -> AsyncIterator[tuple[httpx.AsyncClient, httpx.AsyncClient]]:
    """Two API processes' worth: each its own app, its own engine and pool, one database."""
    other = Database(make_engine(settings))
    try:
        async with (
            api_client(create_app(settings, db, None)) as one,
            api_client(create_app(settings, other, None)) as two,
        ):
            yield one, two
    finally:
        await other.dispose()


async def _user(db: Database) -> str:
    email = f"{unique('throttle')}@coop.example"
    async with db.session() as session:
        await create_staff_user(session, email, PASSWORD, "ops")
    return email


async def _login(http: httpx.AsyncClient, email: str, password: str) -> httpx.Response:
    return await http.post("/api/auth/token", data={"username": email, "password": password})


async def _rows(db: Database, email: str) -> int:
    async with db.session() as session:
        count = await session.scalar(
            select(func.count(LoginFailure.id)).where(LoginFailure.key == login_key(email))
        )
    return int(count or 0)


async def test_failures_in_one_process_count_in_the_other(
    two_apps: tuple[httpx.AsyncClient, httpx.AsyncClient], db: Database, settings: Settings
) -> None:
    one, two = two_apps
    email = await _user(db)
    limit = settings.login_max_failures
    for attempt in range(limit):  # alternately on each process, the address typed differently
        http = (one, two)[attempt % 2]
        typed = f"  {email.upper()} " if attempt % 2 else email
        r = await _login(http, typed, "wrong!")
        assert_refused(r, 401, "password", "wrong email or password")
    # Exactly the limit: the next attempt is refused by both processes, right password or not.
    for http in (one, two):
        r = await _login(http, email, PASSWORD)
        detail = assert_refused(r, 429, "username", "too many failed logins")
        seconds = int(re.search(r"try again in (\d+) s", detail["msg"]).group(1))  # type: ignore[union-attr]
        assert 0 < seconds <= settings.login_window_seconds + 1
    # Refused attempts do not extend the lockout: still `limit` failures recorded.
    assert await _rows(db, email) == limit
    # Other logins are not affected.
    other = await _user(db)
    assert (await _login(two, other, PASSWORD)).status_code == 200


async def test_a_success_clears_the_failures_for_both(
    two_apps: tuple[httpx.AsyncClient, httpx.AsyncClient], db: Database, settings: Settings
) -> None:
    one, two = two_apps
    email = await _user(db)
    limit = settings.login_max_failures
    for _ in range(limit - 1):
        assert (await _login(one, email, "wrong!")).status_code == 401
    assert (await _login(two, email, PASSWORD)).status_code == 200
    assert await _rows(db, email) == 0
    for attempt in range(limit):  # a full allowance again, on either process
        assert (await _login((two, one)[attempt % 2], email, "wrong!")).status_code == 401
    assert (await _login(one, email, PASSWORD)).status_code == 429


async def test_attempts_sent_at_once_get_no_more_than_the_limit(
    two_apps: tuple[httpx.AsyncClient, httpx.AsyncClient], db: Database, settings: Settings
) -> None:
    one, two = two_apps
    email = await _user(db)
    replies = await asyncio.gather(
        *(_login((one, two)[i % 2], email, f"guess {i}") for i in range(4 * 5))
    )
    statuses = sorted(r.status_code for r in replies)
    assert set(statuses) <= {401, 429}, statuses
    # Each attempt is counted before its password is checked: when they all arrive together,
    # they may all see each other and all be refused; never more than the limit are checked.
    checked = statuses.count(401)
    assert checked <= settings.login_max_failures, statuses
    assert await _rows(db, email) == checked  # the refused ones left no trace
    if checked < settings.login_max_failures:
        assert (await _login(two, email, PASSWORD)).status_code == 200


async def test_failures_older_than_the_window_do_not_count(
    two_apps: tuple[httpx.AsyncClient, httpx.AsyncClient], db: Database, settings: Settings
) -> None:
    one, two = two_apps
    email = await _user(db)
    key = login_key(email)
    window = timedelta(seconds=settings.login_window_seconds)
    limit = settings.login_max_failures
    async with db.session() as session:
        session.add_all(
            LoginFailure(key=key, failed_at=utcnow() - window - timedelta(seconds=1 + i))
            for i in range(limit)
        )
    assert (await _login(one, email, "wrong!")).status_code == 401
    # That failure pruned the old ones (any email's), and counts alone.
    async with db.session() as session:
        old = await session.scalar(
            select(func.count(LoginFailure.id)).where(LoginFailure.failed_at < utcnow() - window)
        )
    assert old == 0
    assert await _rows(db, email) == 1
    # Failures just inside the window do count; the wait is until the oldest leaves it.
    async with db.session() as session:
        session.add_all(
            LoginFailure(key=key, failed_at=utcnow() - window + timedelta(seconds=10))
            for _ in range(limit - 1)
        )
    r = await _login(two, email, PASSWORD)
    detail = assert_refused(r, 429, "username", "too many failed logins")
    assert detail["msg"] in {f"too many failed logins; try again in {s} s" for s in (9, 10, 11)}


async def test_throttle_on_sqlite(tmp_path: Path) -> None:
    from alembic import command

    settings = Settings(database_url=f"sqlite+aiosqlite:///{tmp_path / 'throttle.db'}")
    await asyncio.to_thread(command.upgrade, alembic_config(settings.sync_database_url), "heads")
    dbs = [Database(make_engine(settings)) for _ in range(2)]
    throttle = LoginThrottle(max_failures=3, window_seconds=60)
    try:
        for i in range(3):
            attempt = await throttle.begin(dbs[i % 2], "Someone@Example.be")
            await throttle.failed(dbs[i % 2], attempt)
        for db in dbs:
            with pytest.raises(DomainError) as refused:
                await throttle.begin(db, " someone@example.be")
            assert refused.value.status_code == 429 and refused.value.field == "username"
            assert refused.value.message.startswith("too many failed logins; try again in ")
        async with dbs[0].session() as session:
            for row in (await session.scalars(select(LoginFailure))).all():
                row.failed_at = utcnow() - timedelta(seconds=61)
        attempt = await throttle.begin(dbs[1], "someone@example.be")  # the window has passed
        await throttle.failed(dbs[1], attempt)
        async with dbs[0].session() as session:
            assert await session.scalar(select(func.count(LoginFailure.id))) == 1  # pruned
        await throttle.succeeded(dbs[0], await throttle.begin(dbs[0], "someone@example.be"))
        async with dbs[1].session() as session:
            assert await session.scalar(select(func.count(LoginFailure.id))) == 0
    finally:
        for db in dbs:
            await db.dispose()
