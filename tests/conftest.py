"""Shared fixtures: a real PostgreSQL database migrated once, real Temporal servers, the real API.

`make test` hands us a throwaway database in COOPFLOW_DATABASE_URL; run directly, the suite
creates (and drops) its own on the local PostgreSQL. Tests never delete rows: each one makes its
own members, clients and missions, so they can share the database.
"""

from __future__ import annotations

import asyncio
import itertools
import os
import secrets
import subprocess
import sys
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable
from datetime import date, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any, TypeVar

import httpx
import pytest
from sqlalchemy import select, update

ROOT = Path(__file__).resolve().parent.parent
BIN = Path(sys.executable).parent
T = TypeVar("T")

_XDIST_WORKER = os.environ.get("PYTEST_XDIST_WORKER", "")
_created: list[str] = []
# This process's PostgreSQL database. `make test` (.ci/with-test-db) gives one in
# COOPFLOW_DATABASE_URL; without it a throwaway one is named. Under pytest-xdist each worker
# process gets a database of its own (the given name plus the worker's id): workers never see
# each other's rows, sequences or clock. The URL is set now, before anything reads the settings;
# the database itself is made on first use, so tests that need none (tests/domain) run without
# PostgreSQL.
_given = os.environ.get("COOPFLOW_DATABASE_URL", "")
if not _given:
    _own_db = f"coopflow_test_{secrets.token_hex(4)}"
elif _XDIST_WORKER and not _given.endswith(f"_{_XDIST_WORKER}"):
    _own_db = f"{_given.rsplit('/', 1)[1]}_{_XDIST_WORKER}"
else:
    _own_db = ""
if _own_db:
    os.environ["COOPFLOW_DATABASE_URL"] = f"postgresql+psycopg://postgres@127.0.0.1:5432/{_own_db}"


def test_database_url() -> str:
    """The URL of this process's database, made on first use (see above)."""
    if _own_db and _own_db not in _created:
        pg = ["-h", "127.0.0.1", "-U", "postgres"]
        subprocess.run(
            ["dropdb", *pg, "--if-exists", "--force", _own_db], check=False, capture_output=True
        )
        subprocess.run(["createdb", *pg, _own_db], check=True)
        _created.append(_own_db)
    return os.environ["COOPFLOW_DATABASE_URL"]


os.environ.setdefault("COOPFLOW_ENV", "test")
# Login delays long enough that "refused right after the free failures" holds on a busy machine
# (the first delay is 1 s by default); tests of the delays themselves move the clock.
os.environ.setdefault("COOPFLOW_LOGIN_DELAY_SECONDS", "30")

from core.db import Database, make_engine  # noqa: E402
from core.settings import Settings  # noqa: E402
from models import Parameter  # noqa: E402

# Step retries fast in tests: a policy row like any other (a data change, not a code change).
TEST_POLICY_CHANGES = {
    "step_max_attempts": 3,
    "step_retry_initial_seconds": 0.1,
    "step_retry_max_seconds": 0.5,
    "step_timeout_seconds": 20.0,
    "update_wait_seconds": 10.0,
}


def pytest_sessionfinish(session: pytest.Session, exitstatus: int) -> None:
    for name in _created:
        subprocess.run(
            ["dropdb", "-h", "127.0.0.1", "-U", "postgres", "--if-exists", "--force", name],
            check=False,
        )


def alembic_config(url: str) -> Any:
    from alembic.config import Config

    cfg = Config(str(ROOT / "alembic.ini"))
    cfg.set_main_option("script_location", str(ROOT / "alembic"))
    cfg.set_main_option("sqlalchemy.url", url)
    cfg.attributes["configure_logger"] = False
    return cfg


@pytest.fixture(scope="session")
def database_url() -> str:
    return test_database_url()


@pytest.fixture(scope="session")
def settings(database_url: str) -> Settings:
    return Settings(task_queue=f"test-missions-{uuid.uuid4().hex[:8]}")


@pytest.fixture(scope="session")
def migrated(settings: Settings) -> str:
    from alembic import command

    command.upgrade(alembic_config(settings.sync_database_url), "heads")
    return settings.database_url


async def prepare_database(database: Database, endowment_reference: str) -> None:
    """The suite's policy (fast retries, short waits) and an endowed guarantee fund.

    The fund advances only above its floor: endow it, as ops would (a top-up, once per
    reference)."""
    from services.fund import top_up

    async with database.session() as session:
        row = await session.scalar(select(Parameter).where(Parameter.key == "policy.lifecycle"))
        assert row is not None
        await session.execute(
            update(Parameter)
            .where(Parameter.id == row.id)
            .values(value={**row.value, **TEST_POLICY_CHANGES})
        )
        await top_up(
            session,
            amount=Decimal("1000000.00"),
            reference=endowment_reference,
            reason="test suite opening balance",
            business_date=date(2026, 1, 1),
            recorded_by_user_id=None,
        )


@pytest.fixture(scope="session")
async def db(migrated: str, settings: Settings) -> AsyncIterator[Database]:
    database = Database(make_engine(settings))
    await prepare_database(database, "TEST-ENDOWMENT")
    yield database
    await database.dispose()


_counter = itertools.count(1)


def unique(prefix: str = "t") -> str:
    return f"{prefix}{next(_counter)}-{uuid.uuid4().hex[:6]}"


# Valid Belgian identifiers for test members: NISS check digits computed, IBANs known-good.
def make_niss(seq: int) -> str:
    """A valid national number, different for every `seq` >= 1: serials 1..997 of one birth day
    (1985-01-01), then of the next day, and so on (the suite makes well over 997 members)."""
    born = date(1985, 1, 1) + timedelta(days=(seq - 1) // 997)
    base = f"{born:%y%m%d}{(seq - 1) % 997 + 1:03d}"
    check = 97 - int(base) % 97
    return f"{base}{check:02d}"


_niss_seq = itertools.count(1)  # a fresh database per run: serials stay unique
IBANS = ["BE71096123456769", "BE62510007547061", "BE43068999999501"]


def next_niss() -> str:
    """A national number no other member of this test run has."""
    return make_niss(next(_niss_seq))


def member_payload(**over: Any) -> dict[str, Any]:
    n = next(_niss_seq)
    base = {
        "name": f"Member {n}",
        "email": f"{unique('member')}@example.be",
        "password": "correct horse battery",
        "iban": IBANS[n % len(IBANS)],
        "national_number": make_niss(n),
    }
    base.update(over)
    return base


BELGIAN_VAT = "BE0403170701"


def client_payload(**over: Any) -> dict[str, Any]:
    base = {
        "name": f"Client {unique('c')}",
        "email": f"{unique('client')}@example.be",
        "kind": "business",
        "country": "BE",
        "address": "Rue de la Loi 16, 1000 Bruxelles",
        "vat_number": BELGIAN_VAT,
    }
    base.update(over)
    return base


async def wait_for(
    probe: Callable[[], Awaitable[T]],
    done: Callable[[T], bool],
    timeout: float = 30.0,
    interval: float = 0.2,
) -> T:
    """Poll `probe` until `done(value)`; fail with the last value seen."""
    deadline = asyncio.get_running_loop().time() + timeout
    while True:
        value = await probe()
        if done(value):
            return value
        if asyncio.get_running_loop().time() > deadline:
            raise AssertionError(f"condition not met within {timeout}s; last value: {value!r}")
        await asyncio.sleep(interval)


def iso(d: date) -> str:
    return d.isoformat()


def days(n: int) -> timedelta:
    return timedelta(days=n)


def api_client(app: Any) -> httpx.AsyncClient:
    return httpx.AsyncClient(
        transport=httpx.ASGITransport(app=app), base_url="http://coopflow.test", timeout=60
    )


# ---------------------------------------------------------------- Temporal + worker + API stack
from temporalio.contrib.pydantic import pydantic_data_converter  # noqa: E402
from temporalio.testing import WorkflowEnvironment  # noqa: E402

from api.app import create_app  # noqa: E402
from worker import build_worker  # noqa: E402


@pytest.fixture
async def ts_env() -> AsyncIterator[WorkflowEnvironment]:
    """A fresh time-skipping test server per test.

    Its clock only moves forward and starts at the real now, where the API's business clock is
    anchored; it also hangs with two or more workflows in flight, so one test = one server.
    """
    env = await WorkflowEnvironment.start_time_skipping(
        test_server_existing_path=str(BIN / "temporal-test-server"),
        data_converter=pydantic_data_converter,
    )
    yield env
    await env.shutdown()


@pytest.fixture(scope="session")
async def dev_env() -> AsyncIterator[WorkflowEnvironment]:
    """A real dev server (the one `make run` uses), for restarts and concurrency."""
    env = await WorkflowEnvironment.start_local(
        dev_server_existing_path=str(BIN / "temporal"),
        data_converter=pydantic_data_converter,
        dev_server_extra_args=["--sqlite-pragma", "journal_mode=wal"],
    )
    yield env
    await env.shutdown()


class Stack:
    """The API as a client sees it, over a real worker, Temporal server and database."""

    def __init__(
        self, env: WorkflowEnvironment, http: httpx.AsyncClient, db: Database, settings: Settings
    ) -> None:
        self.env = env
        self.http = http
        self.db = db
        self.settings = settings
        self.mission_ids: list[int] = []
        self._ops: dict[str, str] | None = None
        self._advisor: dict[str, str] | None = None

    async def login(self, email: str, password: str) -> dict[str, str]:
        r = await self.http.post("/api/auth/token", data={"username": email, "password": password})
        assert r.status_code == 200, r.text
        return {"Authorization": f"Bearer {r.json()['access_token']}"}

    async def staff(self, role: str) -> dict[str, str]:
        from services.people import create_staff_user

        email = f"{unique(role)}@coop.example"
        async with self.db.session() as session:
            await create_staff_user(session, email, "staff password 123", role)
        return await self.login(email, "staff password 123")

    async def ops(self) -> dict[str, str]:
        if self._ops is None:
            self._ops = await self.staff("ops")
        return self._ops

    async def advisor(self) -> dict[str, str]:
        """The stack's one advisor. Callers racing at the start (missions created in parallel)
        may each create one, but all get the first stored: an advisor may act only for the
        members they follow (POST /api/clients for another advisor's member is a 404)."""
        if self._advisor is None:
            made = await self.staff("advisor")
            if self._advisor is None:
                self._advisor = made
        return self._advisor

    async def new_member(self, **over: Any) -> tuple[dict[str, Any], dict[str, str]]:
        payload = member_payload(**over)
        r = await self.http.post("/api/members", json=payload, headers=await self.advisor())
        assert r.status_code == 201, r.text
        return r.json(), await self.login(payload["email"], payload["password"])

    async def new_client(self, member_id: int, **over: Any) -> dict[str, Any]:
        r = await self.http.post(
            "/api/clients",
            json=client_payload(member_id=member_id, **over),
            headers=await self.advisor(),
        )
        assert r.status_code == 201, r.text
        return r.json()

    async def today(self) -> date:
        r = await self.http.get("/api/clock")
        return date.fromisoformat(r.json()["today"])

    async def new_mission(
        self,
        member_headers: dict[str, str],
        member_id: int,
        client_id: int,
        start_in: int = 3,
        length: int = 5,
        amount: str = "1000.00",
        vat_rate: str = "21",
        vat_exemption: str | None = None,
        contract_type: str = "ordinary",
    ) -> dict[str, Any]:
        today = await self.today()
        body = {
            "member_id": member_id,
            "client_id": client_id,
            "title": "Stage lighting for a festival",
            "start_date": iso(today + days(start_in)),
            "end_date": iso(today + days(start_in + length - 1)),
            "amount_excl_vat": amount,
            "vat_rate": vat_rate,
            "vat_exemption": vat_exemption,
            "contract_type": contract_type,
        }
        r = await self.http.post("/api/missions", json=body, headers=member_headers)
        assert r.status_code == 201, r.text
        self.mission_ids.append(r.json()["id"])
        return r.json()

    async def mission(
        self, mission_id: int, headers: dict[str, str] | None = None
    ) -> dict[str, Any]:
        r = await self.http.get(f"/api/missions/{mission_id}", headers=headers or await self.ops())
        assert r.status_code == 200, r.text
        return r.json()

    async def wait_mission(
        self, mission_id: int, done: Callable[[dict[str, Any]], bool], timeout: float = 30.0
    ) -> dict[str, Any]:
        return await wait_for(lambda: self.mission(mission_id), done, timeout)

    def handle(self, mission_id: int) -> Any:
        return self.env.client.get_workflow_handle(f"mission-{mission_id}")


async def _finish_workflows(stack: Stack) -> None:
    """Leave no workflow in flight for the next test (the time-skipping server needs that)."""
    from temporalio.client import WorkflowExecutionStatus

    for mission_id in stack.mission_ids:
        handle = stack.handle(mission_id)
        try:
            desc = await handle.describe()
            if desc.status == WorkflowExecutionStatus.RUNNING:
                await handle.terminate("test finished")
        except Exception:
            pass


@pytest.fixture
async def stack(
    ts_env: WorkflowEnvironment, db: Database, settings: Settings
) -> AsyncIterator[Stack]:
    """Worker + API on the time-skipping server."""
    async with build_worker(ts_env.client, db, settings):
        async with api_client(create_app(settings, db, ts_env.client)) as http:
            s = Stack(ts_env, http, db, settings)
            yield s
            await _finish_workflows(s)


@pytest.fixture
async def dev_stack(
    dev_env: WorkflowEnvironment, db: Database, settings: Settings
) -> AsyncIterator[Stack]:
    """Worker + API on a real dev server."""
    async with build_worker(dev_env.client, db, settings):
        async with api_client(create_app(settings, db, dev_env.client)) as http:
            s = Stack(dev_env, http, db, settings)
            yield s
            await _finish_workflows(s)
