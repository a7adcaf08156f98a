"""`mission_stage_dates` (migration 0016) says what the timeline says, whatever the order the
events come in, and `stage_stay_counts` counts exactly the stays those dates make: kept by
triggers, on PostgreSQL and on SQLite."""

from __future__ import annotations

import asyncio
from collections import Counter
from datetime import date, timedelta
from pathlib import Path
from typing import Any

from sqlalchemy import select, text
from sqlalchemy.ext.asyncio import AsyncSession

from core.db import Database, make_engine
from core.settings import Settings
from models import TimelineEvent
from models.missions import MissionStageDates, StageStayCount
from services import people
from tests.conftest import alembic_config, unique
from tests.console.conftest import PASSWORD, _client, _member, _mission

DAY = date(2031, 3, 1)  # far from the seeded book's dates (and its duration period)
COLUMNS = (
    "contract",
    "declaration_at",
    "contract_parts",
    "in_progress",
    "work_report",
    "invoiced",
    "dunning",
    "ended",
    "last_at",
)
# The dashboard's former per-request grouping of the timeline, as a person would write it.
FROM_TIMELINE = """
SELECT min(CASE WHEN key = 'created' THEN business_date END),
       max(CASE WHEN key IN ('signed', 'client_confirmed') THEN business_date END),
       sum(CASE WHEN key IN ('signed', 'client_confirmed') THEN 1 ELSE 0 END),
       min(CASE WHEN key = 'declaration:in' THEN business_date END),
       min(CASE WHEN key = 'work_report_due' THEN business_date END),
       min(CASE WHEN key = 'invoiced' THEN business_date END),
       min(CASE WHEN key LIKE 'dunning:%' THEN business_date END),
       min(CASE WHEN key IN ('paid', 'written_off', 'cancelled', 'credited')
                THEN business_date END),
       max(CASE WHEN key IN ('signed', 'client_confirmed', 'declaration:in', 'work_report_due',
                             'invoiced', 'paid', 'written_off', 'cancelled', 'credited')
                     OR key LIKE 'dunning:%' THEN business_date END)
FROM timeline_events WHERE mission_id = :m
"""
# Out of order in time and in stage; some keys twice over (their earliest/latest date counts),
# and steps that enter no stage (left out of the row).
EVENTS = [
    ("paid", 40),
    ("email_event:1", 1),
    ("dunning:2", 35),
    ("credited", 38),
    ("invoiced", 20),
    ("dunning:1", 28),
    ("client_confirmed", 4),
    ("created", 0),
    ("payment:7", 39),
    ("signed", 6),
    ("declaration:in", 8),
    ("work_reported", 18),
    ("work_report_due", 15),
    ("cancelled", 37),
]
FINAL = (0, 6, 2, 8, 15, 20, 28, 37, 40)
STAGES = ("contract", "declaration", "in_progress", "work_report", "invoiced", "dunning")


def _day(n: int | None) -> date | None:
    return None if n is None else DAY + timedelta(days=n)


async def _row(session: AsyncSession, mission_id: int) -> tuple[Any, ...] | None:
    row = await session.scalar(
        select(MissionStageDates).where(MissionStageDates.mission_id == mission_id)
    )
    return None if row is None else tuple(getattr(row, c) for c in COLUMNS)


async def _timeline(session: AsyncSession, mission_id: int) -> tuple[Any, ...] | None:
    found = (await session.execute(text(FROM_TIMELINE), {"m": mission_id})).one()
    values = tuple(date.fromisoformat(v) if isinstance(v, str) else v for v in found)
    if all(v is None or v == 0 for v in values):
        return None  # no step that enters a stage: no row
    return values


async def _counted(session: AsyncSession) -> None:
    """`stage_stay_counts` is every mission's stays counted, recomputed here from their dates."""
    want: Counter[tuple[date, str, int]] = Counter()
    for row in await session.scalars(select(MissionStageDates)):
        declaration = row.declaration_at if row.contract_parts >= 2 else None
        entered = [
            row.contract,
            declaration,
            row.in_progress,
            row.work_report,
            row.invoiced,
            row.dunning,
        ]
        later = [*entered[1:], row.ended]
        for i, stage in enumerate(STAGES):
            end = next((d for d in later[i:] if d is not None), None)
            if entered[i] is not None and end is not None:
                want[(end, stage, (end - entered[i]).days)] += 1
    got = {
        (c.ended_on, c.stage, c.days): c.stays
        for c in await session.scalars(select(StageStayCount).where(StageStayCount.stays != 0))
    }
    assert got == dict(want)


async def _check(db: Database) -> None:
    async with db.session() as session:
        advisor = await people.create_staff_user(
            session, f"{unique('advisor')}@coop.example", PASSWORD, "advisor"
        )
        member = await _member(session, advisor, "Dora Stage")
        client = await _client(session, member, "Stage Dates SPRL")
        mission = await _mission(session, member, client, "Out of order", "100.00", "paid", DAY)
        mission_id = mission.id
    for key, offset in EVENTS:
        # one transaction per event, as the workflow's activities write them
        async with db.session() as session:
            session.add(
                TimelineEvent(
                    mission_id=mission_id,
                    key=key,
                    step=key.split(":")[0],
                    business_date=DAY + timedelta(days=offset),
                    detail={},
                )
            )
            await session.flush()
            assert await _row(session, mission_id) == await _timeline(session, mission_id), key
            await _counted(session)
    async with db.session() as session:
        assert await _row(session, mission_id) == (
            *(_day(n) for n in FINAL[:2]),
            FINAL[2],
            *(_day(n) for n in FINAL[3:]),
        )
        # Nothing updates or deletes timeline events; if something did, the row follows.
        await session.execute(
            text(
                "UPDATE timeline_events SET business_date = :d WHERE mission_id = :m AND key = :k"
            ),
            {"d": DAY + timedelta(days=36), "m": mission_id, "k": "dunning:2"},
        )
        await session.execute(
            text("DELETE FROM timeline_events WHERE mission_id = :m AND key IN (:a, :b)"),
            {"m": mission_id, "a": "dunning:1", "b": "signed"},
        )
        got = await _row(session, mission_id)
        assert got == await _timeline(session, mission_id)
        assert got is not None and got[COLUMNS.index("dunning")] == _day(36)
        assert got[COLUMNS.index("contract_parts")] == 1
        await _counted(session)


async def test_postgresql_rows_follow_the_timeline(db: Database) -> None:
    await _check(db)


async def test_sqlite_rows_follow_the_timeline(tmp_path: Path) -> None:
    from alembic import command

    settings = Settings(database_url=f"sqlite+aiosqlite:///{tmp_path / 'stages.db'}")
    await asyncio.to_thread(command.upgrade, alembic_config(settings.sync_database_url), "heads")
    db = Database(make_engine(settings))
    try:
        await _check(db)
    finally:
        await db.dispose()
