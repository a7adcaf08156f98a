"""A bulk run is a Temporal workflow (`BulkRepairWorkflow`, one per run) on the real dev server.

These tests run the worker themselves (on a task queue of their own, missions included): a
worker process killed mid-run and another one started, an Update that went through just before
a crash, a run left queued while Temporal was out of reach, and ops cancelling a run. Each item
is acted on exactly once: one audit row, one accepted Update in the mission's history.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import sys
import uuid
from collections.abc import AsyncIterator
from datetime import timedelta
from typing import Any

import pytest
from temporalio.client import WorkflowExecutionStatus
from temporalio.testing import WorkflowEnvironment
from temporalio.worker import Worker

from api.app import create_app
from contracts.bulk import BulkProgress, bulk_workflow_id
from contracts.mission import MissionStatus
from core.db import Database
from core.settings import Settings
from models import BulkRun
from services import bulk, repairs
from services.missions import Viewer
from tests.conftest import ROOT, Stack, api_client, wait_for
from tests.ops.conftest import audit_rows
from tests.workflows.conftest import HISTORIES, RECORD
from worker import build_worker

WAIT = 60.0


class BulkStack(Stack):
    run_ids: list[int]


@pytest.fixture
async def own(dev_env: WorkflowEnvironment, db: Database) -> AsyncIterator[BulkStack]:
    """The API on the dev server, with a task queue no other test's worker polls."""
    settings = Settings(task_queue=f"test-bulk-{uuid.uuid4().hex[:8]}")
    async with api_client(create_app(settings, db, dev_env.client)) as http:
        s = BulkStack(dev_env, http, db, settings)
        s.run_ids = []
        yield s
        ids = [f"mission-{m}" for m in s.mission_ids] + [bulk_workflow_id(r) for r in s.run_ids]
        for workflow_id in ids:  # a failed test leaves nothing running
            handle = dev_env.client.get_workflow_handle(workflow_id)
            try:
                if (await handle.describe()).status == WorkflowExecutionStatus.RUNNING:
                    await handle.terminate("test finished")
            except Exception:
                pass


def worker(s: Stack) -> Worker:
    return build_worker(s.env.client, s.db, s.settings)


async def _bulk(s: Stack, run_id: int) -> dict[str, Any]:
    r = await s.http.get(f"/api/ops/bulk/{run_id}", headers=await s.ops())
    assert r.status_code == 200, r.text
    return dict(r.json())


async def _missions(s: Stack, n: int) -> list[int]:
    member, headers = await s.new_member()
    client = await s.new_client(member["id"])
    ids = [
        (await s.new_mission(headers, member["id"], client["id"], start_in=5))["id"]
        for _ in range(n)
    ]
    for mission_id in ids:
        await s.wait_mission(mission_id, lambda m: m["stage"] == "contract")
    return ids


async def _hold(s: BulkStack, ids: list[int], until: str, rate: float) -> int:
    s.settings.bulk_rate_per_second = rate
    r = await s.http.post(
        "/api/ops/bulk",
        json={
            "action": "hold",
            "reason": "client closed for the holidays",
            "mission_ids": ids,
            "params": {"until": until},
        },
        headers=await s.ops(),
    )
    assert r.status_code == 202, r.text
    run_id = int(r.json()["id"])
    s.run_ids.append(run_id)
    return run_id


async def _accepted_updates(s: Stack, mission_id: int, name: str) -> int:
    """How many `name` Updates the mission's workflow accepted (its history, not our rows)."""
    history = await s.handle(mission_id).fetch_history()
    return sum(
        1
        for e in history.events
        if e.HasField("workflow_execution_update_accepted_event_attributes")
        and e.workflow_execution_update_accepted_event_attributes.accepted_request.input.name
        == name
    )


async def _assert_held_once(s: Stack, run_id: int, ids: list[int], until: str) -> None:
    for mission_id in ids:
        st = await s.handle(mission_id).query("status", result_type=MissionStatus)
        assert st.held_until is not None and st.held_until.isoformat() == until
        rows = await audit_rows(s, mission_id)
        assert [(a.action, a.bulk_run_id) for a in rows] == [("hold", run_id)], mission_id
        assert await _accepted_updates(s, mission_id, "hold_mission") == 1, mission_id


async def record_history(s: Stack, run_id: int, name: str) -> None:
    """Keep the finished run's history for the replay test (only when asked to)."""
    if RECORD:
        handle = s.env.client.get_workflow_handle(bulk_workflow_id(run_id))
        history = await handle.fetch_history()
        (HISTORIES / f"{name}.json").write_text(history.to_json() + "\n")


async def _progress(s: Stack, run_id: int) -> BulkProgress:
    handle = s.env.client.get_workflow_handle(bulk_workflow_id(run_id))
    progress: BulkProgress = await handle.query("progress", result_type=BulkProgress)
    return progress


# A worker in a process of its own, to be killed (SIGKILL: no shutdown, an item maybe in flight).
CHILD_WORKER = """
import asyncio, sys
from core.db import Database, make_engine
from core.settings import Settings
from core.temporal import connect
from worker import build_worker

async def main() -> None:
    settings = Settings(task_queue=sys.argv[1], temporal_address=sys.argv[2])
    client = await connect(settings)
    async with build_worker(client, Database(make_engine(settings)), settings):
        print("ready", flush=True)
        await asyncio.Event().wait()

asyncio.run(main())
"""


@contextlib.asynccontextmanager
async def child_worker(s: Stack) -> AsyncIterator[asyncio.subprocess.Process]:
    proc = await asyncio.create_subprocess_exec(
        sys.executable,
        "-c",
        CHILD_WORKER,
        s.settings.task_queue,
        s.env.client.service_client.config.target_host,
        cwd=ROOT,
        env={**os.environ, "COOPFLOW_RENDER_PROCESSES": "0"},
        stdout=asyncio.subprocess.PIPE,
    )
    try:
        assert proc.stdout is not None
        line = await asyncio.wait_for(proc.stdout.readline(), WAIT)
        assert line.strip() == b"ready", line
        yield proc
    finally:
        if proc.returncode is None:
            proc.kill()
        await proc.wait()


async def test_a_worker_killed_mid_run_resumes_it_and_acts_on_each_item_once(
    own: BulkStack,
) -> None:
    s = own
    until = (await s.today() + timedelta(days=10)).isoformat()
    async with child_worker(s) as child:
        ids = await _missions(s, 6)
        run_id = await _hold(s, ids, until, rate=2.0)
        await wait_for(lambda: _bulk(s, run_id), lambda b: b["counts"]["pending"] <= 4, WAIT, 0.02)
        child.kill()  # most likely mid-item: an item takes most of its half-second
    # The worker is gone mid-run: nothing moves without one.
    await asyncio.sleep(0.5)
    stopped = await _bulk(s, run_id)
    assert stopped["status"] == "running" and 0 < stopped["counts"]["pending"] < 6
    await asyncio.sleep(1.0)
    assert (await _bulk(s, run_id))["counts"] == stopped["counts"]

    async with worker(s):
        status = await wait_for(lambda: _bulk(s, run_id), lambda b: b["status"] == "finished", WAIT)
        assert status["counts"] == {"pending": 0, "done": 6, "refused": 0}
        assert [i["mission_id"] for i in status["items"]] == ids
        await _assert_held_once(s, run_id, ids, until)
        assert await _progress(s, run_id) == BulkProgress(
            run_id=run_id,
            status="finished",
            total=6,
            pending=0,
            done=6,
            refused=0,
            cancelled=0,
        )
        result = await s.env.client.get_workflow_handle(bulk_workflow_id(run_id)).result()
        assert result == "finished"
        await record_history(s, run_id, "bulk_finished_after_a_worker_crash")


async def test_an_update_that_went_through_before_a_crash_is_not_sent_twice(
    own: BulkStack,
) -> None:
    """The crash between a mission's Update and the commit of its item: the repeat is answered
    by the mission's workflow with the first outcome, and recorded once."""
    s = own
    until = (await s.today() + timedelta(days=10)).isoformat()
    async with worker(s):
        ids = await _missions(s, 2)
        me = (await s.http.get("/api/me", headers=await s.ops())).json()
        viewer = Viewer(user_id=me["user_id"], role="ops", member_id=None)
        async with s.db.session() as session:
            run = await bulk.create_run(
                session,
                viewer,
                "hold",
                "client closed for the holidays",
                ids,
                {"until": until},
                rate_per_second=10,
                today=await s.today(),
            )
            run_id = run.id
        s.run_ids.append(run_id)

        class Crash(Exception):
            pass

        # The first item's attempt: the Update goes through, then the process dies before the
        # item's transaction (with the audit row) commits.
        with pytest.raises(Crash):
            async with s.db.session() as session:
                await repairs.repair(
                    session,
                    s.env.client,
                    viewer,
                    ids[0],
                    "hold",
                    "client closed for the holidays",
                    {"until": until},
                    await s.today(),
                    bulk_run_id=run_id,
                    update_id=f"{bulk_workflow_id(run_id)}-0",
                )
                raise Crash()
        assert await _accepted_updates(s, ids[0], "hold_mission") == 1
        assert await audit_rows(s, ids[0]) == []

        # The run was left queued: the worker's sweep starts it.
        assert await bulk.start_queued_runs(s.env.client, s.db, s.settings) == [run_id]
        status = await wait_for(lambda: _bulk(s, run_id), lambda b: b["status"] == "finished", WAIT)
        first, second = status["items"]
        assert first["status"] == "done", first  # not "refused: already held"
        assert second["status"] == "done", second
        await _assert_held_once(s, run_id, ids, until)
        assert await bulk.start_queued_runs(s.env.client, s.db, s.settings) == []


async def test_ops_cancel_a_run_it_stops_before_the_next_item(own: BulkStack) -> None:
    s = own
    until = (await s.today() + timedelta(days=10)).isoformat()
    ops = await s.ops()
    async with worker(s):
        ids = await _missions(s, 4)
        run_id = await _hold(s, ids, until, rate=0.5)  # two seconds between items
        await wait_for(lambda: _bulk(s, run_id), lambda b: b["counts"]["done"] >= 1, WAIT, 0.05)
        r = await s.http.post(
            f"/api/ops/bulk/{run_id}/cancel", json={"reason": "wrong filter"}, headers=ops
        )
        assert r.status_code == 200, r.text
        assert r.json()["status"] == "cancelling"
        status = await wait_for(
            lambda: _bulk(s, run_id), lambda b: b["status"] == "cancelled", WAIT
        )
        done = [i["mission_id"] for i in status["items"] if i["status"] == "done"]
        cancelled = [i["mission_id"] for i in status["items"] if i["status"] == "cancelled"]
        assert done == ids[: len(done)] and cancelled == ids[len(done) :]
        assert 1 <= len(done) < 4, status
        assert status["finished_at"] is not None
        progress = await _progress(s, run_id)
        assert (progress.status, progress.done, progress.cancelled, progress.pending) == (
            "cancelled",
            len(done),
            len(cancelled),
            0,
        )
        for mission_id in cancelled:
            assert await audit_rows(s, mission_id) == []
            assert await _accepted_updates(s, mission_id, "hold_mission") == 0
        # Cancelled is final; the audit trail says who cancelled it and why.
        r = await s.http.post(
            f"/api/ops/bulk/{run_id}/cancel", json={"reason": "again"}, headers=ops
        )
        assert r.status_code == 409, r.text
        assert "already over" in r.json()["detail"][0]["msg"]
        r = await s.http.get("/api/ops/audit", params={"action": "cancel_bulk"}, headers=ops)
        mine = [e for e in r.json()["items"] if e["bulk_run_id"] == run_id]
        assert [(e["reason"], e["after"]) for e in mine] == [
            ("wrong filter", {"status": "cancelling"})
        ]
        await record_history(s, run_id, "bulk_cancelled_after_some_items")


async def test_temporal_out_of_reach_the_run_stays_queued_and_ops_may_cancel_it(
    own: BulkStack, monkeypatch: pytest.MonkeyPatch
) -> None:
    s = own
    ids = await _missions_without_worker(s)

    async def out_of_reach(*args: Any) -> None:
        raise ConnectionError("Temporal is out of reach")

    monkeypatch.setattr(bulk, "start_workflow", out_of_reach)
    r = await s.http.post(
        "/api/ops/bulk",
        json={"action": "retry", "reason": "Temporal was down", "mission_ids": ids},
        headers=await s.ops(),
    )
    assert r.status_code == 202, r.text  # recorded: the worker's sweep starts it later
    run_id = int(r.json()["id"])
    s.run_ids.append(run_id)
    assert (await _bulk(s, run_id))["status"] == "queued"
    monkeypatch.undo()

    r = await s.http.post(
        f"/api/ops/bulk/{run_id}/cancel", json={"reason": "not needed"}, headers=await s.ops()
    )
    assert r.status_code == 200 and r.json()["status"] == "cancelled", r.text
    status = await _bulk(s, run_id)
    assert status["status"] == "cancelled"
    assert status["counts"] == {"pending": 0, "done": 0, "refused": 0, "cancelled": len(ids)}
    assert run_id not in await bulk.start_queued_runs(s.env.client, s.db, s.settings)
    async with s.db.session() as session:
        row = await session.get(BulkRun, run_id)
        assert row is not None and row.status == "cancelled"


async def test_an_api_without_temporal_still_records_the_run_queued(
    own: BulkStack, db: Database
) -> None:
    """The API cannot reach Temporal at all (nothing listens there): the run is recorded."""
    ids = await _missions_without_worker(own)
    settings = Settings(
        task_queue=own.settings.task_queue,
        temporal_address="127.0.0.1:9",  # discard: nothing answers
        action_timeout_seconds=1.0,
    )
    async with api_client(create_app(settings, db, None)) as http:
        r = await http.post(
            "/api/ops/bulk",
            json={"action": "retry", "reason": "Temporal is down", "mission_ids": ids},
            headers=await own.ops(),
        )
        assert r.status_code == 202, r.text
        run_id = int(r.json()["id"])
        r = await http.get(f"/api/ops/bulk/{run_id}", headers=await own.ops())
        assert r.json()["status"] == "queued"
        r = await http.post(
            f"/api/ops/bulk/{run_id}/cancel", json={"reason": "not needed"}, headers=await own.ops()
        )
        assert r.status_code == 200 and r.json()["status"] == "cancelled", r.text


async def _missions_without_worker(s: Stack) -> list[int]:
    member, headers = await s.new_member()
    client = await s.new_client(member["id"])
    return [(await s.new_mission(headers, member["id"], client["id"], start_in=5))["id"]]
