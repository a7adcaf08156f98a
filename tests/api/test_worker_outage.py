"""A worker outage must not take the API down (issue 13 #1, INV-9).

The API runs on a real Temporal dev server whose missions' task queue has no worker, and on a
database pool of 2 connections. More actions than connections are sent at once: each answers 503
within the action deadline, none holds a transaction while it waits ("idle in transaction" in
pg_stat_activity), and health, the clock and login answer 200 meanwhile.
"""

from __future__ import annotations

import asyncio
import html
import re
import time
import uuid
from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest
from sqlalchemy import text
from sqlalchemy.ext.asyncio import create_async_engine
from temporalio.client import WorkflowExecutionStatus
from temporalio.testing import WorkflowEnvironment

from api.app import create_app
from core.db import Database
from core.settings import Settings
from tests.conftest import Stack, api_client

DEADLINE = 2.0
ACTIONS = 6  # three times the pool


@pytest.fixture
async def no_worker(
    dev_env: WorkflowEnvironment, db: Database, settings: Settings
) -> AsyncIterator[Stack]:
    """The API alone: its missions' workflows wait on a task queue no worker polls."""
    outage = settings.model_copy(
        update={
            "task_queue": f"no-worker-{uuid.uuid4().hex[:8]}",
            "action_timeout_seconds": DEADLINE,
            "db_pool_timeout_seconds": 1.0,
        }
    )
    small = Database(
        create_async_engine(settings.database_url, pool_size=2, max_overflow=0, pool_timeout=1.0)
    )
    try:
        async with api_client(create_app(outage, small, dev_env.client)) as http:
            s = Stack(dev_env, http, db, outage)
            yield s
            for mission_id in s.mission_ids:
                handle = s.handle(mission_id)
                try:
                    if (await handle.describe()).status == WorkflowExecutionStatus.RUNNING:
                        await handle.terminate("test finished")
                except Exception:
                    pass
    finally:
        await small.dispose()


async def _idle_in_transaction(db: Database) -> int:
    async with db.session() as session:
        n = await session.scalar(
            text(
                "SELECT count(*) FROM pg_stat_activity"
                " WHERE datname = current_database() AND state LIKE 'idle in transaction%'"
            )
        )
    return int(n or 0)


async def test_actions_answer_503_without_holding_a_transaction_while_the_worker_is_down(
    no_worker: Stack,
) -> None:
    s = no_worker
    member, mh = await s.new_member()
    client = await s.new_client(member["id"])
    missions = [await s.new_mission(mh, member["id"], client["id"]) for _ in range(2)]
    ops = await s.ops()
    before = await _idle_in_transaction(s.db)

    async def act(i: int) -> tuple[httpx.Response, float]:
        mid = missions[i % 2]["id"]
        began = time.monotonic()
        if i % 3 == 0:
            r = await s.http.post(f"/api/missions/{mid}/sign", headers=mh)
        elif i % 3 == 1:
            r = await s.http.post(
                f"/api/missions/{mid}/client-confirmation",
                json={"method": "signed order form"},
                headers=ops,
            )
        else:
            r = await s.http.post(
                f"/api/missions/{mid}/cancel", json={"reason": "changed plans"}, headers=mh
            )
        return r, time.monotonic() - began

    began = time.monotonic()
    tasks = [asyncio.create_task(act(i)) for i in range(ACTIONS)]
    await asyncio.sleep(DEADLINE / 2)
    # While the actions wait on the worker: no transaction is held, and the API answers.
    held = await _idle_in_transaction(s.db)
    health = await s.http.get("/api/health")
    clock = await s.http.get("/api/clock")
    await s.login(member["email"], "correct horse battery")  # asserts 200
    try:
        done = await asyncio.wait_for(asyncio.gather(*tasks), DEADLINE * 4 + 5)
    finally:
        for t in tasks:
            t.cancel()
    assert held <= before, f"{held} connections idle in transaction while waiting on the worker"
    assert health.status_code == 200, health.text
    assert clock.status_code == 200, clock.text
    for r, took in done:
        assert r.status_code == 503, r.text
        detail: dict[str, Any] = r.json()["detail"][0]
        assert detail["type"] == "unavailable"
        assert "not recorded" in detail["msg"], detail
        assert took < DEADLINE + 3, took
    assert time.monotonic() - began < DEADLINE * 2 + 5
    assert await _idle_in_transaction(s.db) <= before
    assert (await s.http.get("/api/health")).status_code == 200


async def test_no_free_database_connection_is_a_503_not_a_500(settings: Settings) -> None:
    """Every connection of the pool taken: a request waits the pool timeout, then answers 503."""
    tiny = Database(
        create_async_engine(settings.database_url, pool_size=1, max_overflow=0, pool_timeout=0.5)
    )
    try:
        async with tiny.engine.connect() as held, api_client(create_app(settings, tiny)) as http:
            await held.execute(text("SELECT 1"))
            began = time.monotonic()
            r = await http.get("/api/health")
            assert r.status_code == 503, r.text
            assert r.json()["detail"][0]["type"] == "unavailable"
            assert time.monotonic() - began < 5
        async with api_client(create_app(settings, tiny)) as http:
            assert (await http.get("/api/health")).status_code == 200
    finally:
        await tiny.dispose()


async def test_the_member_page_says_in_the_members_language_that_the_signature_waits(
    no_worker: Stack,
) -> None:
    """The page's sign button, worker down: back within the deadline (it hung before), nothing
    signed, and the reason in the member's language (French here)."""
    from tests.web.test_auth import _csrf, login

    s = no_worker
    member, mh = await s.new_member(language="fr")
    client = await s.new_client(member["id"])
    mission = await s.new_mission(mh, member["id"], client["id"])
    assert (await login(s.http, member["email"], "correct horse battery")).status_code == 303
    page = await s.http.get(f"/missions/{mission['id']}")
    assert page.status_code == 200, page.text
    began = time.monotonic()
    r = await s.http.post(f"/missions/{mission['id']}/sign", data={"csrf_token": _csrf(page.text)})
    assert time.monotonic() - began < DEADLINE + 3
    assert r.status_code == 303, r.text
    after = html.unescape((await s.http.get(r.headers["location"])).text)
    assert "Non signé : le back-office termine des tâches en cours ; votre action n'a pas été" in (
        after
    ), re.findall(r"(?s)<article[^>]*flash.*?</article>", after) or after[-3000:]
    assert (await s.mission(mission["id"]))["signed_at"] is None
