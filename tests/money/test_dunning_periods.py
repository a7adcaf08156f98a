"""INV-8 in services.collection (issue 13 #2): a waiting period counts from the day the letter
really left (`dunning_steps.sent_on`), and a rung or the write-off before it has run is refused.

The workflow never asks too early (tests/workflows/test_dunning_outage.py); this is the defence
in depth: a workflow from before the fix, catching up after an outage, is refused and flagged."""

from __future__ import annotations

import dataclasses
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal

import pytest
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession
from temporalio.exceptions import ApplicationError
from temporalio.testing import ActivityEnvironment

from activities.mission import MissionActivities, day_it_runs
from contracts.mission import ClockSpec, DunningRequest
from core.db import Database
from core.settings import Settings
from models import DunningStep, Invoice, Mission, WriteOff
from services import collection
from services.clock import current_clock
from services.document_data import document_data
from services.invoicing import issue_invoice
from tests.money.conftest import new_client, new_member, new_mission, unbalanced_transactions

D = Decimal


async def _consumer_invoice(session: AsyncSession) -> tuple[Mission, Invoice]:
    # Created on 10 Dec 2026 (order form clause OF-2026-12: reciprocal penalty), issued
    # 11 Dec 2026, due 10 Jan 2027; the ladder of the seeded policy: 7, 21, 35, 65 days.
    member = await new_member(session)
    client = await new_client(session, kind="consumer")
    mission = await new_mission(session, member, client, on=date(2026, 12, 11))
    mission.created_on = date(2026, 12, 10)
    await session.flush()
    invoice = await issue_invoice(session, mission.id, date(2026, 12, 11), 30)
    assert invoice.due_date == date(2027, 1, 10)
    return mission, invoice


async def _rows(session: AsyncSession, invoice: Invoice) -> list[DunningStep]:
    rows = await session.scalars(
        select(DunningStep).where(DunningStep.invoice_id == invoice.id).order_by(DunningStep.level)
    )
    return list(rows.all())


async def test_periods_count_from_the_day_each_letter_left(db: Database) -> None:
    async with db.session() as session:
        mission, invoice = await _consumer_invoice(session)
        await collection.record_dunning_step(
            session, mission.id, 1, "reminder_1", date(2027, 1, 17)
        )
        # An email outage: the first reminder's letter leaves a month after its rung.
        assert await collection.letter_sent(session, mission.id, "reminder_1", date(2027, 2, 16))
        # A second sending (an ops resend) does not move it.
        await collection.letter_sent(session, mission.id, "reminder_1", date(2027, 2, 20))
        balance = invoice.balance

        # Catching up the same day: refused, nothing written.
        with pytest.raises(collection.DunningTooEarly, match="until 2027-03-01"):
            await collection.record_dunning_step(
                session, mission.id, 2, "reminder_2", date(2027, 2, 16)
            )
        assert [r.step for r in await _rows(session, invoice)] == ["reminder_1"]
        assert invoice.balance == balance

        # 14 days after the letter left: the rung comes, and Book XIX (from 17 Feb, the day
        # after the e-mail, to 2 Mar) still forbids any cost on it.
        await collection.record_dunning_step(session, mission.id, 2, "reminder_2", date(2027, 3, 2))
        r1, r2 = await _rows(session, invoice)
        assert r1.sent_on == date(2027, 2, 16)
        assert (r2.penalty, r2.reminder_fee, r2.interest) == (D("0"), D("0"), D("0"))
        assert "first reminder of 2027-02-16" in r2.rule
        assert invoice.balance == balance
        letter = (await document_data(session, mission.id, "reminder_1")).data
        assert letter.waiting_start == date(2027, 2, 17)
        assert letter.costs_from == date(2027, 3, 3)

        # The formal notice 14 days after reminder 2 left: the penalty comes now, once.
        await collection.letter_sent(session, mission.id, "reminder_2", date(2027, 3, 2))
        await collection.record_dunning_step(
            session, mission.id, 3, "formal_notice", date(2027, 3, 16)
        )
        notice = (await _rows(session, invoice))[2]
        assert (notice.penalty, notice.reminder_fee) == (D("100.50"), D("7.50"))

        # The write-off: not before the formal notice's 30 days from the day it left.
        await collection.letter_sent(session, mission.id, "formal_notice", date(2027, 3, 18))
        with pytest.raises(collection.DunningTooEarly, match="retry from 2027-04-17"):
            await collection.write_off_invoice(session, mission.id, date(2027, 4, 15))
        assert (
            await session.scalar(select(WriteOff).where(WriteOff.invoice_id == invoice.id)) is None
        )
        _, acted = await collection.write_off_invoice(session, mission.id, date(2027, 4, 17))
        assert acted and invoice.status == "written_off"
        assert await unbalanced_transactions(session) == []
        await session.commit()


async def test_letter_sent_is_only_for_a_dunning_rung(db: Database) -> None:
    async with db.session() as session:
        mission, _ = await _consumer_invoice(session)
        # The member's work-report reminder and the write-off notice are no rung's letter.
        assert not await collection.letter_sent(session, mission.id, "reminder_1", date(2027, 1, 1))
        assert not await collection.letter_sent(session, mission.id, "write_off", date(2027, 1, 1))
        await session.commit()


def test_an_activity_is_dated_by_the_day_its_attempt_runs() -> None:
    """A rung scheduled on one day whose attempt runs 40 days later (a database outage retried
    on a 1.5-second business day, a worker stopped) is dated by the day it really runs."""
    clock = ClockSpec(
        anchor_real=datetime(2027, 1, 1, tzinfo=UTC), anchor_date=date(2027, 1, 1), day_seconds=1.5
    )
    env = ActivityEnvironment()
    env.info = dataclasses.replace(
        env.info, started_time=datetime(2027, 1, 1, tzinfo=UTC) + timedelta(seconds=60)
    )
    asked = date(2027, 1, 2)
    assert env.run(day_it_runs, asked, clock) == date(2027, 2, 10)
    assert env.run(day_it_runs, asked, None) == asked, "a request from before: its own date"
    assert env.run(day_it_runs, date(2027, 3, 1), clock) == date(2027, 3, 1), "never earlier"
    assert day_it_runs(asked, clock) == asked, "outside an activity: the date asked for"


async def test_a_workflow_from_before_catching_up_is_refused_by_the_activity(
    db: Database, settings: Settings
) -> None:
    """A workflow on the code before the fix sends no clock and reuses a request built weeks
    ago: the activity dates the rung by the day it really runs (the database's clock), and the
    catch-up rung right after a late letter is refused for good, ops told until when."""
    async with db.session() as session:
        clock = await current_clock(session, settings.day_seconds, settings.timezone)
        member = await new_member(session)
        client = await new_client(session, kind="consumer")
        mission = await new_mission(session, member, client, on=date(2026, 10, 1))
        await issue_invoice(session, mission.id, date(2026, 10, 1), 30)  # due 31 Oct 2026
    today = clock.to_clock().date_at(datetime.now(UTC))
    env = ActivityEnvironment()
    env.info = dataclasses.replace(env.info, started_time=datetime.now(UTC))
    activities = MissionActivities(db)

    stale = DunningRequest(
        mission_id=mission.id, level=1, step="reminder_1", business_date=date(2026, 11, 7)
    )
    assert (await env.run(activities.record_dunning_step, stale)).acted
    async with db.session() as session:
        assert await collection.letter_sent(session, mission.id, "reminder_1", today)
        (rung,) = await session.scalars(
            select(DunningStep).where(DunningStep.mission_id == mission.id)
        )
        assert rung.business_date == today, "dated the day it ran, not the day it was asked"

    catch_up = DunningRequest(
        mission_id=mission.id, level=2, step="reminder_2", business_date=date(2026, 11, 21)
    )
    with pytest.raises(ApplicationError) as refused:
        await env.run(activities.record_dunning_step, catch_up)
    assert refused.value.type == "DunningTooEarly" and refused.value.non_retryable
    assert f"retry from {(today + timedelta(days=14)).isoformat()}" in refused.value.message
