"""The embedded default runs on SQLite: the dashboard's portable paths (month labels, day counts,
percentiles computed in Python) give the very figures PostgreSQL gives on the same book."""

from __future__ import annotations

import asyncio
from datetime import date
from decimal import Decimal
from pathlib import Path

from core.db import Database, make_engine
from core.settings import Settings
from services import dashboard
from services.clock import business_today, current_clock
from services.dashboard import ListRequest
from services.fund import top_up
from services.mission_filters import MissionFilter
from tests.conftest import alembic_config
from tests.console.conftest import DURATION_PERIOD, seed_book
from tests.console.test_dashboard import EXPECTED_DURATIONS


async def test_sqlite_gives_the_same_figures(tmp_path: Path) -> None:
    from alembic import command

    settings = Settings(database_url=f"sqlite+aiosqlite:///{tmp_path / 'console.db'}")
    await asyncio.to_thread(command.upgrade, alembic_config(settings.sync_database_url), "heads")
    db = Database(make_engine(settings))
    try:
        async with db.session() as session:
            await top_up(
                session,
                amount=Decimal("1000000.00"),
                reference="SQLITE-ENDOWMENT",
                reason="opening balance",
                business_date=date(2026, 1, 1),
                recorded_by_user_id=None,
            )
            clock = await current_clock(session, settings.day_seconds, settings.timezone)
            book = await seed_book(session, business_today(clock))
        viewer, today = book.advisor_viewer, book.today
        async with db.session() as session:
            pipeline = await dashboard.pipeline(session, viewer)
            ageing = await dashboard.receivables_ageing(session, viewer, today)
            fund = await dashboard.guarantee_fund(session, viewer, today)
            durations = await dashboard.stage_durations(session, viewer, *DURATION_PERIOD)
            overdue = await dashboard.mission_list(
                session, viewer, ListRequest(filter=MissionFilter(overdue_min_days=30)), today
            )
        assert {f.stage: (f.count, f.amount) for f in pipeline if f.count} == {
            "contract": (2, Decimal("350.00")),
            "declaration": (1, Decimal("300.00")),
            "invoiced": (2, Decimal("3000.00")),
            "dunning": (2, Decimal("900.00")),
            "paid": (6, Decimal("650.00")),
            "written_off": (1, Decimal("800.00")),
        }
        assert [a.balance for a in ageing] == [
            Decimal(x) for x in ("1210.00", "2420.00", "605.00", "0.00", "484.00")
        ]
        assert sum(m.write_offs for m in fund.months) == Decimal("968.00")
        assert sum(m.recoveries for m in fund.months) == Decimal("100.00")
        assert {d.stage: (d.count, d.median_days, d.p90_days) for d in durations} == (
            EXPECTED_DURATIONS
        )
        assert {r.id for r in overdue.rows} == {
            book.missions["late45"].id,
            book.missions["late100"].id,
        }
    finally:
        await db.dispose()
