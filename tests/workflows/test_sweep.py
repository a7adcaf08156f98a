"""Nothing is lost between the mission's commit and its workflow's start: the worker's sweep
starts every mission a crash left without its workflow, in bounded batches, and only once."""

from __future__ import annotations

import asyncio
from datetime import timedelta

import pytest
from sqlalchemy import select

from core.settings import get_settings
from models import Mission
from services.access import Viewer
from services.clock import current_clock
from services.missions import create_mission
from services.starter import start_missing_workflows
from tests.conftest import Stack


async def test_the_sweep_starts_every_mission_left_without_its_workflow(dev_stack: Stack) -> None:
    s = dev_stack
    member, _ = await s.new_member()
    client = await s.new_client(member["id"])
    me = (await s.http.get("/api/me", headers=await s.ops())).json()
    ops = Viewer(user_id=me["user_id"], role="ops", member_id=None)
    today = await s.today()
    body = {
        "member_id": member["id"],
        "client_id": client["id"],
        "title": "Committed, then the API process died",
        "start_date": (today + timedelta(days=5)).isoformat(),
        "end_date": (today + timedelta(days=6)).isoformat(),
        "amount_excl_vat": "800.00",
        "vat_rate": "21",
        "contract_type": "ordinary",
    }
    # Five missions committed exactly as the API commits them, then no start: the crash.
    async with s.db.session() as session:
        clock = await current_clock(session, s.settings.day_seconds, s.settings.timezone)
        ids = [(await create_mission(session, ops, body, clock))[0].id for _ in range(5)]

    # From just before ours: the suite's database also holds other tests' unstarted missions.
    first = min(ids) - 1
    started = await start_missing_workflows(s.env.client, s.db, s.settings, batch=2, after_id=first)
    assert started == 5, "batches of 2 still reach every pending mission"

    async with s.db.session() as session:
        rows = (await session.scalars(select(Mission).where(Mission.id.in_(ids)))).all()
        assert all(m.workflow_started_at is not None for m in rows)
    for mission_id in ids:
        description = await s.env.client.get_workflow_handle(f"mission-{mission_id}").describe()
        assert description.workflow_type == "MissionWorkflow"
    assert await start_missing_workflows(s.env.client, s.db, s.settings, after_id=first) == 0


async def test_the_sweep_also_asks_for_missing_rates(monkeypatch: pytest.MonkeyPatch) -> None:
    """The worker's periodic sweep runs the rate requests (services/rates.py) every round, and a
    failure of one job neither stops the sweep nor the other job."""
    import worker

    stop = asyncio.Event()
    calls: list[str] = []

    async def start_missing(*_: object) -> int:
        calls.append("start")
        raise RuntimeError("Temporal down")

    async def request_rates(*_: object) -> list[object]:
        calls.append("rates")
        if calls.count("rates") == 2:
            stop.set()
        return []

    monkeypatch.setattr(worker, "start_missing_workflows", start_missing)
    monkeypatch.setattr(worker.rates, "request_rates", request_rates)
    settings = get_settings().model_copy(update={"sweep_seconds": 0.01})
    await asyncio.wait_for(worker._sweep(None, None, settings, stop), timeout=5)  # type: ignore[arg-type]
    assert calls == ["start", "rates", "start", "rates"]
