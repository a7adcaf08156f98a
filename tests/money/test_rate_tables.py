"""A late-payment rate table that runs out uses nothing silently (issue 13 #7).

The B2B rates (law of 2 Aug 2002, per half-year) end with the seeded table (2027-12-31): a
dunning rung on a later day says which rate is missing and where ops enter it (never a raw
ValueError, never 0 %); the worker's activity fails the step for good at once so that the
workflow flags it; ops enter the rate and the rung goes through. A staff task asks for the rate
6 weeks (a dated parameter) before its period starts, once, and is done when the rate is entered.

The database is shared by the suite: each test computes the first half-year without a rate (a
test elsewhere may have entered one) and rolls back what it writes, but for the activity's own
committed transactions.
"""

from __future__ import annotations

from datetime import date, timedelta
from decimal import Decimal

import pytest
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession
from temporalio.exceptions import ApplicationError
from temporalio.testing import ActivityEnvironment

from activities.mission import MissionActivities
from contracts.mission import DunningRequest, InvoiceRequest
from core.db import Database
from models import AuditEntry, DunningStep, Invoice, Mission, StaffTask
from services import collection, parameters, rates, staff_tasks
from services.access import Viewer
from services.invoicing import issue_invoice
from services.people import create_staff_user
from tests.conftest import unique
from tests.money.conftest import new_client, new_member, new_mission

D = Decimal
B2B = rates.RATE_TABLES["b2b_interest"]


async def _first_missing(session: AsyncSession) -> date:
    start = await rates.next_missing_period(session, B2B)
    assert start is not None and start.month in (1, 7) and start.day == 1
    return start


async def _b2b_invoice(session: AsyncSession, due: date) -> tuple[Mission, Invoice]:
    """A business client's invoice falling due on `due` (issued 30 days before)."""
    member = await new_member(session)
    client = await new_client(session, kind="business")
    issued = due - timedelta(days=30)
    mission = await new_mission(session, member, client, on=issued)
    invoice = await issue_invoice(session, mission.id, issued, 30)
    assert invoice.due_date == due
    return mission, invoice


async def _ops(session: AsyncSession) -> Viewer:
    user = await create_staff_user(
        session, f"{unique('rates')}@coop.example", "staff password 123", "ops"
    )
    return Viewer(user_id=user.id, role="ops", member_id=None)


async def test_a_rung_past_the_table_waits_for_the_rate_then_ops_enter_it(db: Database) -> None:
    async with db.session() as session:
        start = await _first_missing(session)
        # Due 10 days before the table ends: reminder 1 (due + 7) is still inside it.
        mission, invoice = await _b2b_invoice(session, start - timedelta(days=10))
        _, acted = await collection.record_dunning_step(
            session, mission.id, 1, "reminder_1", start - timedelta(days=3)
        )
        assert acted
        # Reminder 2, 11 days into the half-year without a rate.
        with pytest.raises(parameters.MissingParameter) as caught:
            await collection.record_dunning_step(
                session, mission.id, 2, "reminder_2", start + timedelta(days=10)
            )
        err = caught.value
        assert not isinstance(err, ValueError)
        assert err.key == parameters.B2B_RATES and err.period_start == start
        assert str(err) == (
            "The B2B legal interest rate (law of 2 August 2002) for the half-year from "
            f"{start.isoformat()} is missing: enter it on the ops console's Rates page (or POST "
            "/api/ops/rates), then retry the step."
        )
        assert err.message_id % err.params == str(err)
        steps = await session.scalars(
            select(DunningStep.level).where(DunningStep.invoice_id == invoice.id)
        )
        assert list(steps) == [1], "nothing charged on a guess"
        # The invoice page says it too, instead of a figure.
        shown = await collection.interest_json(session, invoice, start + timedelta(days=10))
        assert shown["error"] == str(err)

        ops = await _ops(session)
        await rates.enter_rate(
            session,
            ops,
            table="b2b_interest",
            valid_from=start.isoformat(),
            annual_rate="11.00",
            source="https://finances.belgium.be (test)",
            confidence="H",
            reason="published",
        )
        _, acted = await collection.record_dunning_step(
            session, mission.id, 2, "reminder_2", start + timedelta(days=10)
        )
        assert acted
        rung = await session.scalar(
            select(DunningStep).where(DunningStep.invoice_id == invoice.id, DunningStep.level == 2)
        )
        assert rung is not None and "11.00" in rung.rule
        # 9 days of the old half-year then 11 days at 11.00 % on 1210.00, less the 7 days
        # reminder 1 charged: the new rate is the one used.
        old = (await collection.rate_table(session, B2B.law))[-2]
        assert old.valid_to == start - timedelta(days=1)
        total = (D("1210.00") * old.annual_rate * 9 + D("1210.00") * D("11.00") * 11) / 36500
        first = (D("1210.00") * old.annual_rate * 7) / 36500
        assert rung.interest == total.quantize(D("0.01")) - first.quantize(D("0.01"))
        await session.rollback()


async def test_the_activity_fails_the_step_for_good_with_the_reason(db: Database) -> None:
    async with db.session() as session:
        start = await _first_missing(session)
        mission, _ = await _b2b_invoice(session, start - timedelta(days=5))
        mission_id = mission.id
    activities = MissionActivities(db)
    with pytest.raises(ApplicationError) as caught:
        await ActivityEnvironment().run(
            activities.record_dunning_step,
            DunningRequest(
                mission_id=mission_id,
                level=1,
                step="reminder_1",
                business_date=start + timedelta(days=2),
            ),
        )
    err = caught.value
    # Not retried N times in vain: the workflow flags the step at once, with this reason.
    assert err.type == "ParameterMissing" and err.non_retryable
    assert f"for the half-year from {start.isoformat()} is missing" in err.message
    assert "ValueError" not in err.message
    detail = err.details[0]
    assert detail["key"] == parameters.B2B_RATES
    assert detail["params"]["valid_from"] == start.isoformat()


async def test_a_staff_task_asks_for_the_rate_six_weeks_before(db: Database) -> None:
    async with db.session() as session:
        start = await _first_missing(session)
        key = f"rate:b2b_interest:{start.isoformat()}"
        weeks = (await parameters.parameter(session, rates.RATE_REQUEST, start))["weeks_before"]
        assert weeks == 6

        made = await rates.request_missing_rates(session, start - timedelta(weeks=6, days=1))
        assert key not in [t.key for t in made], "not yet: more than 6 weeks before"
        made = await rates.request_missing_rates(session, start - timedelta(weeks=6))
        assert [t.key for t in made if t.kind == "rate_request" and "b2b" in t.key] == [key]
        # The job runs again (every sweep, on every worker): still one task.
        again = await rates.request_missing_rates(session, start - timedelta(weeks=5))
        assert key not in [t.key for t in again]
        rows = (await session.scalars(select(StaffTask).where(StaffTask.key == key))).all()
        assert len(rows) == 1
        task = rows[0]
        assert (task.status, task.due_on, task.link) == ("open", start, rates.RATES_PAGE)
        assert staff_tasks.task_out(task)["title"] == (
            "Enter the B2B legal interest rate (law of 2 August 2002) for the half-year from "
            f"{start.isoformat()}"
        )
        assert key in [t.key for t in await staff_tasks.list_tasks(session, "open")]

        ops = await _ops(session)
        await rates.enter_rate(
            session,
            ops,
            table="b2b_interest",
            valid_from=start.isoformat(),
            annual_rate="10.50",
            estimate=True,
            source="Moniteur belge (test)",
            confidence="M",
            reason="rate published",
        )
        await session.refresh(task)
        assert (task.status, task.done_by) == ("done", ops.user_id)
        assert task.done_at is not None
        assert key not in [t.key for t in await staff_tasks.list_tasks(session, "open")]
        audit_row = await session.scalar(
            select(AuditEntry).where(
                AuditEntry.action == "enter_rate",
                AuditEntry.target_id == f"{parameters.B2B_RATES}:{start.isoformat()}",
            )
        )
        assert audit_row is not None and audit_row.user_id == ops.user_id
        assert audit_row.after is not None and audit_row.after["annual_rate"] == "10.50"
        # With the rate in, the job asks nothing more for that half-year.
        later = await rates.request_missing_rates(session, start - timedelta(weeks=1))
        assert key not in [t.key for t in later]
        await session.rollback()


async def test_any_dated_parameter_missing_fails_a_money_step_the_same_clear_way(
    db: Database,
) -> None:
    """Not only the interest rates: an invoice dated before the payroll and VAT rows (or any
    dated row a money step reads) is refused at once, naming the parameter and the day, never a raw
    LookupError retried in vain."""
    before_any_row = date(2019, 3, 4)
    async with db.session() as session:
        member = await new_member(session)
        client = await new_client(session, kind="business")
        mission = await new_mission(session, member, client, on=before_any_row)
        mission_id = mission.id
    with pytest.raises(ApplicationError) as caught:
        await ActivityEnvironment().run(
            MissionActivities(db).issue_invoice,
            InvoiceRequest(mission_id=mission_id, issue_date=before_any_row, due_days=30),
        )
    err = caught.value
    assert err.type == "ParameterMissing" and err.non_retryable
    assert err.message.startswith("No value of the parameter ")
    assert f"is in force on {before_any_row.isoformat()}" in err.message
    async with db.session() as session:
        assert await session.scalar(select(Invoice).where(Invoice.mission_id == mission_id)) is None
