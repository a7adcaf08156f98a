"""Login throttling across API processes: two app instances with their own engines on one
database, as two uvicorn processes are, share the counts of failures per client address and
email; the free failures are exact across both, even for attempts sent at once; a success clears
them; failures older than the window do not count (and are pruned). Beyond the free failures
each attempt waits a delay that doubles, never more than the window: the owner's right password
works once it has passed, and at once from another address (issue 13, #9). And the same on
SQLite, the embedded default."""

from __future__ import annotations

import asyncio
import itertools
import re
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path

import httpx
import pytest
from sqlalchemy import func, select

from api.app import create_app
from core.db import Database, make_engine
from core.errors import DomainError
from core.settings import Settings
from models import LoginFailure, utcnow
from services import login_throttle
from services.login_throttle import LoginThrottle, address_key, login_key
from services.people import create_staff_user
from tests.api.conftest import assert_refused
from tests.conftest import alembic_config, unique

PASSWORD = "staff password 123"
_addresses = itertools.count(1)


def new_address() -> str:
    """A client address of its own for each test: the per-address counts do not mix."""
    n = next(_addresses)
    return f"192.0.2.{n % 250 + 1}" if n < 250 else f"198.51.100.{n % 250 + 1}"


def client(app: object, address: str) -> httpx.AsyncClient:
    return httpx.AsyncClient(
        transport=httpx.ASGITransport(app=app, client=(address, 40000)),  # type: ignore[arg-type]
        base_url="http://coopflow.test",
        timeout=60,
    )


@dataclass
class Clock:
    """The throttle's UTC clock, moved by hand."""

    now: datetime

    def __call__(self) -> datetime:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += timedelta(seconds=seconds)


@pytest.fixture
def clock(monkeypatch: pytest.MonkeyPatch) -> Iterator[Clock]:
    fake = Clock(utcnow())
    monkeypatch.setattr(login_throttle, "utcnow", fake)
    yield fake


@dataclass
class Apps:
    one: httpx.AsyncClient
    two: httpx.AsyncClient
    address: str
    app_one: object


@pytest.fixture
async def two_apps(db: Database, settings: Settings) -> AsyncIterator[Apps]:
    """Two API processes' worth: each its own app, its own engine and pool, one database; one
    client address for both."""
    other = Database(make_engine(settings))
    address = new_address()
    app_one = create_app(settings, db, None)
    try:
        async with (
            client(app_one, address) as one,
            client(create_app(settings, other, None), address) as two,
        ):
            yield Apps(one, two, address, app_one)
    finally:
        await other.dispose()


async def _user(db: Database) -> str:
    email = f"{unique('throttle')}@coop.example"
    async with db.session() as session:
        await create_staff_user(session, email, PASSWORD, "ops")
    return email


async def _login(http: httpx.AsyncClient, email: str, password: str) -> httpx.Response:
    return await http.post("/api/auth/token", data={"username": email, "password": password})


async def _rows(db: Database, key: str) -> int:
    async with db.session() as session:
        count = await session.scalar(
            select(func.count(LoginFailure.id)).where(LoginFailure.key == key)
        )
    return int(count or 0)


def _seconds(response: httpx.Response) -> int:
    detail = assert_refused(response, 429, "username", "too many failed logins")
    return int(re.search(r"try again in (\d+) s", detail["msg"]).group(1))  # type: ignore[union-attr]


async def test_failures_in_one_process_count_in_the_other(
    two_apps: Apps, db: Database, settings: Settings
) -> None:
    one, two = two_apps.one, two_apps.two
    email = await _user(db)
    limit = settings.login_max_failures
    for attempt in range(limit):  # alternately on each process, the address typed differently
        http = (one, two)[attempt % 2]
        typed = f"  {email.upper()} " if attempt % 2 else email
        r = await _login(http, typed, "wrong!")
        assert_refused(r, 401, "password", "wrong email or password")
    # Past the free failures: the next attempt waits, on both processes, right password or not.
    for http in (one, two):
        seconds = _seconds(await _login(http, email, PASSWORD))
        assert 0 < seconds <= settings.login_delay_seconds + 1
    # Refused attempts do not extend the delay: still `limit` failures recorded.
    assert await _rows(db, login_key(email, two_apps.address)) == limit
    assert await _rows(db, address_key(two_apps.address)) == limit
    # Other logins are not affected.
    other = await _user(db)
    assert (await _login(two, other, PASSWORD)).status_code == 200


async def test_a_success_clears_the_failures_for_both(
    two_apps: Apps, db: Database, settings: Settings
) -> None:
    one, two = two_apps.one, two_apps.two
    email = await _user(db)
    limit = settings.login_max_failures
    for _ in range(limit - 1):
        assert (await _login(one, email, "wrong!")).status_code == 401
    assert (await _login(two, email, PASSWORD)).status_code == 200
    assert await _rows(db, login_key(email, two_apps.address)) == 0
    # The address keeps its failures: logging in does not buy guesses at other accounts.
    assert await _rows(db, address_key(two_apps.address)) == limit - 1
    for attempt in range(limit):  # a full allowance again, on either process
        assert (await _login((two, one)[attempt % 2], email, "wrong!")).status_code == 401
    assert (await _login(one, email, PASSWORD)).status_code == 429


async def test_attempts_sent_at_once_get_no_more_than_the_limit(
    two_apps: Apps, db: Database, settings: Settings
) -> None:
    one, two = two_apps.one, two_apps.two
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
    assert await _rows(db, login_key(email, two_apps.address)) == checked  # refused: no trace
    if checked < settings.login_max_failures:
        assert (await _login(two, email, PASSWORD)).status_code == 200


async def test_failures_older_than_the_window_do_not_count(
    two_apps: Apps, db: Database, settings: Settings
) -> None:
    one, two = two_apps.one, two_apps.two
    email = await _user(db)
    key = login_key(email, two_apps.address)
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
    assert await _rows(db, key) == 1
    # Failures just inside the window do count: the wait runs from the latest of them.
    async with db.session() as session:
        session.add_all(
            LoginFailure(key=key, failed_at=utcnow() - window + timedelta(seconds=10))
            for _ in range(limit - 1)
        )
    seconds = _seconds(await _login(two, email, PASSWORD))
    assert settings.login_delay_seconds - 5 <= seconds <= settings.login_delay_seconds + 1


async def test_the_owner_is_never_locked_out(
    db: Database, settings: Settings, clock: Clock
) -> None:
    """Issue 13, #9: someone who knows the email guesses from their address; the owner logs
    in at once from theirs, and from the guesser's own address once the delay has passed; the
    delays double with every further failure."""
    email = await _user(db)
    limit = settings.login_max_failures
    quick = settings.model_copy(update={"login_delay_seconds": 1.0, "login_window_seconds": 600})
    app = create_app(quick, db, None)
    async with client(app, new_address()) as attacker, client(app, new_address()) as owner:
        for _ in range(limit):
            assert (await _login(attacker, email, "wrong!")).status_code == 401
        assert (await _login(attacker, email, PASSWORD)).status_code == 429
        # The owner, from another address: not slowed down at all.
        assert (await _login(owner, email, PASSWORD)).status_code == 200

        # The guesser goes on: each failure past the free ones doubles the wait (8 of them
        # take 255 s, all inside the window).
        waits = []
        for n in range(8):
            waits.append(_seconds(await _login(attacker, email, "wrong!")))
            clock.advance(waits[-1])
            assert (await _login(attacker, email, "wrong!")).status_code == 401, n
        assert waits == [1, 2, 4, 8, 16, 32, 64, 128], waits
        # Even at the guesser's address, the right password works once the wait is over.
        wait = _seconds(await _login(attacker, email, PASSWORD))
        assert wait == 256
        clock.advance(wait)
        assert (await _login(attacker, email, PASSWORD)).status_code == 200


def test_the_delay_never_exceeds_the_window() -> None:
    throttle = LoginThrottle(max_failures=5, window_seconds=300)
    assert [throttle.delay(n) for n in range(10)] == [1, 2, 4, 8, 16, 32, 64, 128, 256, 300]
    assert throttle.delay(10_000) == 300


async def test_an_address_guessing_many_emails_is_slowed_down(db: Database, clock: Clock) -> None:
    """Password spraying: a few guesses at each of many emails from one address."""
    throttle = LoginThrottle(max_failures=5, window_seconds=300, address_max_failures=6)
    sprayer, elsewhere = new_address(), new_address()
    emails = [f"{unique('spray')}@coop.example" for _ in range(7)]
    for email in emails[:6]:
        await throttle.failed(db, await throttle.begin(db, email, sprayer))
    with pytest.raises(DomainError) as refused:
        await throttle.begin(db, emails[6], sprayer)
    assert refused.value.status_code == 429
    attempt = await throttle.begin(db, emails[6], elsewhere)  # another address is not
    await throttle.succeeded(db, attempt)
    clock.advance(1)  # the first delay: 1 s
    await throttle.failed(db, await throttle.begin(db, emails[6], sprayer))
    with pytest.raises(DomainError, match="try again in 2 s"):
        await throttle.begin(db, emails[0], sprayer)


async def test_throttle_on_sqlite(tmp_path: Path, clock: Clock) -> None:
    from alembic import command

    settings = Settings(database_url=f"sqlite+aiosqlite:///{tmp_path / 'throttle.db'}")
    await asyncio.to_thread(command.upgrade, alembic_config(settings.sync_database_url), "heads")
    dbs = [Database(make_engine(settings)) for _ in range(2)]
    throttle = LoginThrottle(max_failures=3, window_seconds=60)
    here = "203.0.113.9"
    try:
        for i in range(3):
            attempt = await throttle.begin(dbs[i % 2], "Someone@Example.be", here)
            await throttle.failed(dbs[i % 2], attempt)
        for db in dbs:
            with pytest.raises(DomainError) as refused:
                await throttle.begin(db, " someone@example.be", here)
            assert refused.value.status_code == 429 and refused.value.field == "username"
            assert refused.value.message == "too many failed logins; try again in 1 s"
        await throttle.succeeded(dbs[1], await throttle.begin(dbs[1], "someone@example.be", "::1"))
        clock.advance(61)  # the window has passed
        attempt = await throttle.begin(dbs[1], "someone@example.be", here)
        await throttle.failed(dbs[1], attempt)
        async with dbs[0].session() as session:  # pruned: this failure's two rows are left
            assert await session.scalar(select(func.count(LoginFailure.id))) == 2
        await throttle.succeeded(dbs[0], await throttle.begin(dbs[0], "someone@example.be", here))
        async with dbs[1].session() as session:
            assert await session.scalar(select(func.count(LoginFailure.id))) == 1  # the address's
    finally:
        for db in dbs:
            await db.dispose()


@pytest.mark.parametrize(
    "username", ["ð\x1f\x94Ù\x00âð\x1e\x15s\U000b9cd1\U00108783", "ops\x00@coop.example"]
)
async def test_a_nul_in_the_email_is_a_wrong_login_not_a_500(
    db: Database, settings: Settings, username: str
) -> None:
    """Found by the fuzzer (tests/api/test_fuzz.py at 700 examples per operation): a NUL
    character in the username reached the failure count's key, which PostgreSQL's text cannot
    hold: 500. Now the usual 401, on the API and on the login page alike."""
    app = create_app(settings, db, None)
    async with httpx.AsyncClient(
        transport=httpx.ASGITransport(app=app, client=(new_address(), 1234)),
        base_url="http://coopflow.test",
    ) as http:
        r = await http.post("/api/auth/token", data={"username": username, "password": username})
        assert_refused(r, 401, "password", "wrong email or password")
        form = await http.get("/login")
        token = re.search(r'name="csrf_token" value="([^"]+)"', form.text)
        assert token is not None
        page = await http.post(
            "/login", data={"email": username, "password": "x", "csrf_token": token[1]}
        )
        assert page.status_code in (400, 401, 422), page.status_code
