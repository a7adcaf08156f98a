"""The pages under test as a member meets them: a real uvicorn server, a real Temporal dev server
with a worker, a fast business clock, and Debian's Chromium driven by Playwright.

The web tests get their own PostgreSQL database (made and dropped here, on the suite's server):
their fast business clock must not move the calendar of the other tests' database.
"""

from __future__ import annotations

import os
import secrets
import socket
import subprocess
import sys
import time
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import Any

import httpx
import pytest
from sqlalchemy.engine import make_url
from temporalio.testing import WorkflowEnvironment

from core.db import Database, make_engine
from core.settings import Settings
from tests.conftest import (
    BELGIAN_VAT,
    IBANS,
    ROOT,
    alembic_config,
    next_niss,
    prepare_database,
    unique,
)
from worker import build_worker

# Fast enough to see day 7 within seconds, slow enough for a browser to fill a form in a day.
DAY_SECONDS = 1.5
ARTIFACTS = ROOT / "test-artifacts" / "web"
CHROMIUM = "/usr/bin/chromium"
PASSWORD = "member password 123"
EN = {"Accept-Language": "en"}  # the pages default to French without it


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.fixture(scope="session")
def web_db_url(settings: Settings) -> Iterator[str]:
    """A database of their own for the web tests, migrated to head."""
    from alembic import command

    url = make_url(settings.sync_database_url)
    name = f"coopflow_web_{secrets.token_hex(4)}"
    base = [
        "-h",
        url.host or "127.0.0.1",
        "-p",
        str(url.port or 5432),
        "-U",
        url.username or "postgres",
    ]
    subprocess.run(["createdb", *base, name], check=True)
    sync_url = url.set(database=name).render_as_string(hide_password=False)
    try:
        command.upgrade(alembic_config(sync_url), "heads")
        # Workflow ids are mission ids and the dev server is shared with the main database's
        # tests (tests/ops, tests/api/test_worker_outage): a collision sends an action to the
        # other database's closed workflow ("mission 16 is closed"). Start far from them (and
        # from tests/workflows/test_restart.py's 1,000,001).
        subprocess.run(
            [
                "psql",
                *base,
                "-d",
                name,
                "-qc",
                # Bulk runs are workflows `bulk-<id>` on the same server too (issue 14).
                "ALTER SEQUENCE missions_id_seq RESTART WITH 2000001;"
                " ALTER SEQUENCE bulk_runs_id_seq RESTART WITH 2000001",
            ],
            check=True,
        )
        yield (
            sync_url.replace("postgresql://", "postgresql+psycopg://", 1)
            if sync_url.startswith("postgresql://")
            else sync_url
        )
    finally:
        subprocess.run(["dropdb", *base, "--if-exists", "--force", name], check=False)


@pytest.fixture(scope="session")
def web_settings(web_db_url: str) -> Settings:
    return Settings(
        database_url=web_db_url,
        day_seconds=DAY_SECONDS,
        task_queue=f"web-missions-{secrets.token_hex(4)}",
        env="test",
    )


@pytest.fixture(scope="session")
async def web_db(web_settings: Settings) -> AsyncIterator[Database]:
    database = Database(make_engine(web_settings))
    await prepare_database(database, "WEB-TEST-ENDOWMENT")
    yield database
    await database.dispose()


@dataclass
class Server:
    url: str
    db: Database
    settings: Settings

    async def member(self, **over: Any) -> dict[str, Any]:
        """A member (with a Belgian business client) made through the services."""
        from services import people

        n = int(secrets.randbelow(900)) + 50
        email = over.pop("email", f"{unique('web')}@example.be")
        async with self.db.session() as session:
            member = await people.create_member(
                session,
                name=over.pop("name", f"Web Member {n}"),
                email=email,
                password=PASSWORD,
                iban=IBANS[0],
                national_number=next_niss(),
                language=over.pop("language", "en"),
            )
            client = await people.create_client(
                session,
                name=f"Client {unique('c')}",
                email=f"{unique('client')}@example.be",
                kind="business",
                country="BE",
                address="Rue de la Loi 16, 1000 Bruxelles",
                vat_number=BELGIAN_VAT,
                owner_member_id=member.id,
            )
        return {"id": member.id, "email": email, "password": PASSWORD, "client_id": client.id}

    async def ops_headers(self) -> dict[str, str]:
        from services.people import create_staff_user

        email = f"{unique('ops')}@coop.example"
        async with self.db.session() as session:
            await create_staff_user(session, email, "staff password 123", "ops")
        async with httpx.AsyncClient(base_url=self.url) as http:
            r = await http.post(
                "/api/auth/token", data={"username": email, "password": "staff password 123"}
            )
            assert r.status_code == 200, r.text
            return {"Authorization": f"Bearer {r.json()['access_token']}"}

    async def today(self) -> date:
        async with httpx.AsyncClient(base_url=self.url) as http:
            return date.fromisoformat((await http.get("/api/clock")).json()["today"])


@pytest.fixture(scope="session")
def uvicorn_url(
    dev_env: WorkflowEnvironment, web_settings: Settings, tmp_path_factory: Any
) -> Iterator[str]:
    """uvicorn serving api.app:app on a free port, on the web tests' database and clock."""
    port = _free_port()
    env = {
        **os.environ,
        "COOPFLOW_ENV": "test",
        "COOPFLOW_DATABASE_URL": web_settings.database_url,
        "COOPFLOW_DAY_SECONDS": str(DAY_SECONDS),
        "COOPFLOW_TASK_QUEUE": web_settings.task_queue,
        "COOPFLOW_TEMPORAL_ADDRESS": dev_env.client.service_client.config.target_host,
        "COOPFLOW_VAR_DIR": str(tmp_path_factory.mktemp("var")),
    }
    log = Path(tmp_path_factory.mktemp("uvicorn")) / "uvicorn.log"
    command = [sys.executable, "-m", "uvicorn", "api.app:app", "--host", "127.0.0.1"]
    with log.open("wb") as out:
        proc = subprocess.Popen(
            [*command, "--port", str(port), "--log-level", "warning"],
            cwd=ROOT,
            env=env,
            stdout=out,
            stderr=subprocess.STDOUT,
        )
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 30
        while True:
            try:
                if httpx.get(f"{url}/api/health", timeout=2).status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            if proc.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError(f"uvicorn did not start:\n{log.read_text()}")
            time.sleep(0.2)
        yield url
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()
        if os.environ.get("CI"):
            print(log.read_text()[-5000:])


@pytest.fixture(scope="session")
async def server(
    uvicorn_url: str, dev_env: WorkflowEnvironment, web_db: Database, web_settings: Settings
) -> AsyncIterator[Server]:
    """The server, with a worker of the web tests' task queue on the dev server."""
    async with build_worker(dev_env.client, web_db, web_settings):
        yield Server(uvicorn_url, web_db, web_settings)


@pytest.fixture(scope="session")
def chromium_path() -> str:
    if not Path(CHROMIUM).exists():
        pytest.fail(f"{CHROMIUM} is missing: apt-get install chromium (.ci/system-deps does)")
    return CHROMIUM


@pytest.fixture(scope="session")
async def browser(chromium_path: str) -> AsyncIterator[Any]:
    from playwright.async_api import async_playwright

    async with async_playwright() as pw:
        chromium = await pw.chromium.launch(
            executable_path=chromium_path,
            headless=True,
            args=[
                "--no-sandbox",
                "--disable-gpu",
                "--disable-background-networking",
                "--disable-component-update",
                "--disable-sync",
                "--disable-dev-shm-usage",
            ],
        )
        yield chromium
        await chromium.close()


def artifact(name: str) -> str:
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    return str(ARTIFACTS / name)
