"""Bulk runs with several API processes: a run is driven by exactly one process at a time.

Two processes' worth = two runner ids in this one process (each process's default runner is its
own id); the run's items act on real missions through the real dev server ("retry" on healthy
missions: the workflow's validator refuses it, quickly, and the item is recorded)."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import select, update

from models import BulkItem, BulkRun, utcnow
from services import bulk
from services.access import Viewer
from tests.conftest import Stack, wait_for

EPSILON = 0.02  # done_at (wall clock) against the pacing (monotonic clock)


async def _run(
    s: Stack, missions: int, rate: float, runner: str = "process A"
) -> tuple[int, list[int]]:
    """A run of `missions` healthy missions, created (hence claimed) by `runner`."""
    me = (await s.http.get("/api/me", headers=await s.ops())).json()
    viewer = Viewer(user_id=me["user_id"], role="ops", member_id=None)
    member, headers = await s.new_member()
    client = await s.new_client(member["id"])
    ids = [
        (await s.new_mission(headers, member["id"], client["id"], start_in=5))["id"]
        for _ in range(missions)
    ]
    async with s.db.session() as session:
        run = await bulk.create_run(
            session,
            viewer,
            "retry",
            "multi-process test",
            ids,
            {},
            rate_per_second=rate,
            today=await s.today(),
            runner=runner,
        )
        return run.id, ids


async def _interrupt(s: Stack, run_id: int, ago: timedelta = timedelta(minutes=5)) -> None:
    async with s.db.session() as session:
        await session.execute(
            update(BulkRun).where(BulkRun.id == run_id).values(heartbeat_at=utcnow() - ago)
        )


async def _state(s: Stack, run_id: int) -> tuple[BulkRun, list[BulkItem]]:
    async with s.db.session() as session:
        run = await session.get(BulkRun, run_id)
        assert run is not None
        items = (
            await session.scalars(
                select(BulkItem).where(BulkItem.run_id == run_id).order_by(BulkItem.position)
            )
        ).all()
        return run, list(items)


def _acts(monkeypatch: pytest.MonkeyPatch) -> list[tuple[int, str, datetime]]:
    """Every item acted on: the mission, the runner (task name) that acted, and when."""
    seen: list[tuple[int, str, datetime]] = []
    act: Callable[..., Any] = bulk._act

    async def recording(*args: Any) -> tuple[str, str]:
        task = asyncio.current_task()
        seen.append((args[4], task.get_name() if task else "?", utcnow()))
        result: tuple[str, str] = await act(*args)
        return result

    monkeypatch.setattr(bulk, "_act", recording)
    return seen


def _name_tasks(monkeypatch: pytest.MonkeyPatch) -> None:
    """Name each driver's task after its runner, to tell who acted on what."""
    spawn = bulk.spawn

    def named(*args: Any, **kwargs: Any) -> asyncio.Task[None]:
        task = spawn(*args, **kwargs)
        task.set_name(kwargs.get("runner", bulk.PROCESS_ID))
        return task

    monkeypatch.setattr(bulk, "spawn", named)


def _assert_paced(
    acts: list[tuple[int, str, datetime]], interval: float, after: datetime | None = None
) -> None:
    """No two items acted on less than an interval apart (the run's rate), whoever drove which
    part of the run; nor the first sooner than an interval after `after` (the last done)."""
    starts = ([after] if after else []) + [at for _, _, at in acts]
    gaps = [(b - a).total_seconds() for a, b in zip(starts, starts[1:], strict=False)]
    assert all(gap >= interval - EPSILON for gap in gaps), gaps


async def test_two_processes_resume_one_run_only_one_drives_it(
    dev_stack: Stack, monkeypatch: pytest.MonkeyPatch
) -> None:
    s = dev_stack
    run_id, ids = await _run(s, 5, rate=4.0, runner="the process that crashed")
    # The crashed process had acted on the first item just before it died.
    crashed_at = utcnow()
    async with s.db.session() as session:
        await session.execute(
            update(BulkItem)
            .where(BulkItem.run_id == run_id, BulkItem.position == 0)
            .values(status="refused", result="before the crash", done_at=crashed_at)
        )
    await _interrupt(s, run_id)
    acts = _acts(monkeypatch)
    _name_tasks(monkeypatch)

    found = await asyncio.gather(
        bulk.resume_interrupted(s.db, s.env.client, runner="process A"),
        bulk.resume_interrupted(s.db, s.env.client, runner="process B"),
    )
    assert all(run_id in ids_found for ids_found in found)
    await bulk.wait(run_id)

    run, items = await _state(s, run_id)
    assert run.status == "finished" and run.runner in ("process A", "process B")
    assert [mission for mission, _, _ in acts] == ids[1:]  # each once, in order
    assert {runner for _, runner, _ in acts} == {run.runner}  # by one process only
    assert all(item.status == "refused" for item in items)
    assert all("does not need attention" in (item.result or "") for item in items[1:])
    _assert_paced(acts, 0.25, after=crashed_at)  # the crashed process's last item counts too


async def test_a_driver_whose_heartbeat_expired_is_taken_over_and_stops(
    dev_stack: Stack, monkeypatch: pytest.MonkeyPatch
) -> None:
    s = dev_stack
    run_id, ids = await _run(s, 4, rate=1.0)
    acts = _acts(monkeypatch)
    _name_tasks(monkeypatch)
    lease = timedelta(seconds=3)
    first = bulk.spawn(s.db, s.env.client, run_id, runner="process A", lease=lease)
    await wait_for(lambda: _state(s, run_id), lambda st: st[1][0].status != "pending", 30, 0.05)

    # Process A stalls (paused, swapped out): its heartbeat expires and process B claims the run.
    for _ in range(20):
        await _interrupt(s, run_id)
        if await bulk.claim(s.db, run_id, "process B", lease):
            break
    else:
        raise AssertionError("process B could not claim the run")
    second = bulk.spawn(s.db, s.env.client, run_id, runner="process B", lease=lease)
    await asyncio.wait_for(first, 10)  # A found out at its next heartbeat and stopped
    await asyncio.wait_for(second, 30)

    run, items = await _state(s, run_id)
    assert run.status == "finished" and run.runner == "process B"
    acted = [(mission, runner) for mission, runner, _ in acts]
    assert sorted(mission for mission, _ in acted) == sorted(ids)  # none twice, none left
    assert acted[0] == (ids[0], "process A")
    assert acted[-1] == (ids[-1], "process B")
    by_a = [m for m, runner in acted if runner == "process A"]
    assert acted[: len(by_a)] == [(m, "process A") for m in by_a]  # A never acted after B
    assert all(item.status == "refused" for item in items)
    _assert_paced(acts, 1.0)


async def test_a_slow_run_keeps_its_heartbeat_fresh_while_it_waits(
    dev_stack: Stack, monkeypatch: pytest.MonkeyPatch
) -> None:
    s = dev_stack
    lease = timedelta(seconds=1.5)  # a rate below one item per lease: 4 s between items
    run_id, _ = await _run(s, 2, rate=0.25)
    acts = _acts(monkeypatch)
    task = bulk.spawn(s.db, s.env.client, run_id, runner="process A", lease=lease)
    await wait_for(lambda: _state(s, run_id), lambda st: st[1][0].status != "pending", 30, 0.05)
    began = time.monotonic()
    while not task.done():
        run, items = await _state(s, run_id)
        if run.status == "running" and items[1].status == "pending":
            age = (utcnow() - run.heartbeat_at).total_seconds()
            assert age < lease.total_seconds(), age
            assert run.runner == "process A"
            # Another process sees a live driver: no claim, nothing to resume.
            assert not await bulk.claim(s.db, run_id, "process B", lease)
        await asyncio.sleep(0.2)
    assert time.monotonic() - began >= 3.5  # it did wait (several leases) between the items
    run, items = await _state(s, run_id)
    assert run.status == "finished" and run.runner == "process A"
    assert [item.status for item in items] == ["refused", "refused"]
    _assert_paced(acts, 4.0)
