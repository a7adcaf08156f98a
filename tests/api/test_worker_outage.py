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
import socket
import time
import uuid
from collections.abc import AsyncIterator
from datetime import timedelta
from typing import Any

import httpx
import pytest
from sqlalchemy import text
from sqlalchemy.ext.asyncio import create_async_engine
from temporalio import activity
from temporalio.client import Client, WorkflowExecutionStatus
from temporalio.contrib.pydantic import pydantic_data_converter
from temporalio.testing import WorkflowEnvironment

import worker as worker_module
from activities.mission import MissionActivities
from api.app import create_app
from contracts.mission import SignatureRecord
from core.db import Database
from core.settings import Settings
from services.missions import missions_without_workflow
from services.starter import start_missing_workflows
from tests.api.conftest import Account, assert_refused
from tests.conftest import Stack, _finish_workflows, api_client

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


async def _hung_temporal() -> tuple[asyncio.Server, Client]:
    """A Temporal frontend that accepts connections and never answers (a hung server, or one
    dead behind a load balancer), and the API's client of it, connected before it hung."""
    server = await asyncio.start_server(lambda r, w: None, "127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]
    client = await Client.connect(
        f"127.0.0.1:{port}", lazy=True, data_converter=pydantic_data_converter
    )
    return server, client


async def test_a_new_mission_is_stored_and_answered_within_the_deadline_while_temporal_hangs(
    dev_env: WorkflowEnvironment, db: Database, settings: Settings
) -> None:
    """POST /api/missions while Temporal does not answer: 202 within the action deadline (it
    took 30 s before: the workflow start had no deadline), the mission stored without its
    workflow, no transaction held meanwhile; the worker's sweep starts the workflow later."""
    hung_server, hung_client = await _hung_temporal()
    hung = settings.model_copy(
        update={
            "task_queue": f"no-worker-{uuid.uuid4().hex[:8]}",
            "action_timeout_seconds": DEADLINE,
        }
    )
    try:
        async with api_client(create_app(hung, db, hung_client)) as http:
            s = Stack(dev_env, http, db, hung)
            member, mh = await s.new_member()
            client = await s.new_client(member["id"])
            today = await s.today()
            body = {
                "member_id": member["id"],
                "client_id": client["id"],
                "title": "Sound check",
                "start_date": (today + timedelta(days=3)).isoformat(),
                "end_date": (today + timedelta(days=5)).isoformat(),
                "amount_excl_vat": "900.00",
                "vat_rate": "21",
                "contract_type": "ordinary",
            }
            before = await _idle_in_transaction(db)
            began = time.monotonic()
            task = asyncio.create_task(http.post("/api/missions", json=body, headers=mh))
            await asyncio.sleep(DEADLINE / 2)
            held = await _idle_in_transaction(db)
            r = await asyncio.wait_for(task, 60)
            took = time.monotonic() - began
    finally:
        hung_server.close()
    assert took < DEADLINE + 3, f"answered after {took:.1f}s"
    assert held <= before, f"{held} connections idle in transaction while waiting on Temporal"
    assert r.status_code == 202, r.text
    mission = r.json()
    assert mission["workflow_started"] is False and mission["stage"] == "contract", mission
    async with db.session() as session:
        pending = await missions_without_workflow(session, after_id=mission["id"] - 1, limit=1)
    assert [m.id for m in pending] == [mission["id"]], "left for the worker's sweep"
    # Temporal back: the sweep starts it (and the mission says so).
    try:
        assert (
            await start_missing_workflows(dev_env.client, db, hung, after_id=mission["id"] - 1) >= 1
        )
        async with api_client(create_app(hung, db, dev_env.client)) as http:
            s = Stack(dev_env, http, db, hung)
            assert (await s.mission(mission["id"]))["workflow_started"] is True
    finally:
        await dev_env.client.get_workflow_handle(f"mission-{mission['id']}").terminate("test")


async def test_an_action_accepted_but_slower_than_the_deadline_answers_202_and_completes(
    dev_env: WorkflowEnvironment, db: Database, settings: Settings
) -> None:
    """The worker takes the signature but its write outlasts the deadline: 202 "accepted"
    within the deadline, and the signature lands on its own afterwards."""
    quick = settings.model_copy(
        update={"task_queue": f"slow-{uuid.uuid4().hex[:8]}", "action_timeout_seconds": DEADLINE}
    )
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(worker_module, "MissionActivities", _SlowSignature)
        slow_worker = worker_module.build_worker(dev_env.client, db, quick)
    async with slow_worker, api_client(create_app(quick, db, dev_env.client)) as http:
        s = Stack(dev_env, http, db, quick)
        try:
            member, mh = await s.new_member()
            client = await s.new_client(member["id"])
            mission = await s.new_mission(mh, member["id"], client["id"])
            await s.wait_mission(mission["id"], lambda m: m["workflow_started"])
            began = time.monotonic()
            r = await s.http.post(f"/api/missions/{mission['id']}/sign", headers=mh)
            took = time.monotonic() - began
            assert r.status_code == 202, r.text
            assert r.json()["status"] == "accepted", r.json()
            assert "accepted" in r.json()["message"]
            assert took < DEADLINE + 2, took
            assert (await s.mission(mission["id"]))["signed_at"] is None  # not yet
            await s.wait_mission(mission["id"], lambda m: m["signed_at"] is not None)
        finally:
            await _finish_workflows(s)


class _SlowSignature(MissionActivities):
    """The worker's activities, with a signature write slower than the action deadline."""

    @activity.defn(name="record_signature")
    async def record_signature(self, rec: SignatureRecord) -> None:
        await asyncio.sleep(DEADLINE + 1.5)
        await super().record_signature(rec)


async def test_temporal_down_a_bad_request_is_refused_for_what_it_is_not_with_503(
    db: Database, settings: Settings, accounts: tuple[Account, Account]
) -> None:
    """Temporal down (a closed port): a request wrong on its own still gets its 422 naming the
    field, or its 404, not "the workflow service is unavailable" (the fuzzer's finding: the
    Temporal connection was made before the request was read, e.g. 503 for
    GET /api/missions/null,null/repairs)."""
    with socket.socket() as free:
        free.bind(("127.0.0.1", 0))
        closed = free.getsockname()[1]
    down = settings.model_copy(
        update={"temporal_address": f"127.0.0.1:{closed}", "action_timeout_seconds": DEADLINE}
    )
    a, _ = accounts
    async with api_client(create_app(down, db, None)) as http:
        ops = await Stack(None, http, db, down).staff("ops")  # type: ignore[arg-type]
        nobody = 2_147_000_000
        r = await http.post(f"/api/missions/{nobody}/cancel", json={"reason": 5}, headers=a.headers)
        assert_refused(r, 422, "reason")
        r = await http.post(f"/api/missions/{nobody}/sign", headers=a.headers)
        assert_refused(r, 404, None, "mission")
        r = await http.post(
            f"/api/missions/{nobody}/client-confirmation", json={"method": ""}, headers=ops
        )
        assert r.status_code in (404, 422), r.text
        r = await http.get("/api/missions/null,null/repairs", headers=ops)
        assert r.status_code == 422 and r.json()["detail"][0]["loc"][:2] == ["path", "mission_id"]
        r = await http.post(f"/api/missions/{nobody}/repairs/retry", json=[], headers=ops)
        assert r.status_code == 422, r.text
        r = await http.post("/api/ops/bulk", json={"action": "retry"}, headers=ops)
        assert_refused(r, 422, "reason")
        # A run on a mission that does not exist is refused for that (a run on real missions
        # is recorded `queued` for the worker's sweep: tests/ops/test_bulk_workflow.py).
        r = await http.post(
            "/api/ops/bulk",
            json={"action": "retry", "reason": "outage over", "mission_ids": [nobody]},
            headers=ops,
        )
        assert r.status_code == 422, r.text
        assert r.json()["detail"][0]["loc"][:2] == ["body", "mission_ids"], r.text
