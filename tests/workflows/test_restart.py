"""On a real Temporal dev server: a worker stopped mid-lifecycle, and missions in parallel.

The dev server does not skip time, so these tests run a one-second business day. The business
clock is anchored per database (and re-anchored when the day length changes), so they get their
own throwaway PostgreSQL database rather than disturbing the 86400-second clock of the others.
"""

from __future__ import annotations

import asyncio
import secrets
import subprocess
import uuid
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass
from datetime import date, timedelta
from decimal import Decimal

import pytest
from sqlalchemy import func, select, text, update
from sqlalchemy.engine import make_url
from temporalio.client import WorkflowExecutionStatus, WorkflowUpdateFailedError
from temporalio.testing import WorkflowEnvironment
from temporalio.worker import Worker

from api.app import create_app
from contracts.mission import ConfirmClient
from core.db import Database, make_engine
from core.settings import Settings
from models import Invoice, OutboxEmail, Parameter, Payout
from services.fund import top_up
from tests.conftest import TEST_POLICY_CHANGES, Stack, alembic_config, api_client, wait_for
from tests.workflows.conftest import Run, assert_books, ledger_balances, new_run, steps
from worker import build_worker

DAY_SECONDS = 1.0
# Durations in business days (one second each here): a short ladder, an early salary day. The
# first rung (due + 8 = issue + 10) comes well after salary day (at most issue + 7 around
# holidays), so a mission paid right after its advance is never dunned first: a rung charges
# costs, and a payment of the invoice's first total then leaves them open. The salary step now
# also renders the payslip, so the advance lands a second or so later than it used to.
FAST_POLICY = {
    **TEST_POLICY_CHANGES,
    "advance_working_days": 3,
    "invoice_due_days": 2,
    "dunning_ladder": [
        {"step": "reminder_1", "days_after_due": 8},
        {"step": "reminder_2", "days_after_due": 9},
        {"step": "formal_notice", "days_after_due": 10},
        {"step": "write_off", "days_after_due": 11},
    ],
}
WAIT = 90.0  # real seconds; only a hung lifecycle gets near it


@pytest.fixture(scope="module")
def fast_database_url(database_url: str) -> Iterator[str]:
    base = make_url(database_url)
    name = f"coopflow_fast_{secrets.token_hex(4)}"
    pg = [
        "-h",
        base.host or "127.0.0.1",
        "-p",
        str(base.port or 5432),
        "-U",
        base.username or "postgres",
    ]
    subprocess.run(["createdb", *pg, name], check=True)
    try:
        yield base.set(database=name).render_as_string(hide_password=False)
    finally:
        subprocess.run(["dropdb", *pg, "--if-exists", "--force", name], check=False)


@dataclass
class Fast:
    settings: Settings
    db: Database


@pytest.fixture(scope="module")
async def fast(fast_database_url: str) -> AsyncIterator[Fast]:
    from alembic import command

    settings = Settings(
        database_url=fast_database_url,
        day_seconds=DAY_SECONDS,
        task_queue=f"fast-missions-{uuid.uuid4().hex[:8]}",
    )
    await asyncio.to_thread(command.upgrade, alembic_config(settings.sync_database_url), "heads")
    db = Database(make_engine(settings))
    async with db.session() as session:
        # Workflow ids are mission ids and the dev server is shared with the main database's
        # tests (tests/ops): start this database's missions far from theirs.
        await session.execute(text("ALTER SEQUENCE missions_id_seq RESTART WITH 1000001"))
        row = await session.scalar(select(Parameter).where(Parameter.key == "policy.lifecycle"))
        assert row is not None
        await session.execute(
            update(Parameter)
            .where(Parameter.id == row.id)
            .values(value={**row.value, **FAST_POLICY})
        )
        # The guarantee fund advances only above its floor: endow it, as ops would.
        await top_up(
            session,
            amount=Decimal("1000000.00"),
            reference="TEST-ENDOWMENT",
            reason="test opening balance",
            business_date=date(2026, 1, 1),
            recorded_by_user_id=None,
        )
    yield Fast(settings, db)
    await db.dispose()


@pytest.fixture
async def fast_stack(dev_env: WorkflowEnvironment, fast: Fast) -> AsyncIterator[Stack]:
    """The API on the fast database and the dev server; the test runs the workers itself."""
    async with api_client(create_app(fast.settings, fast.db, dev_env.client)) as http:
        stack = Stack(dev_env, http, fast.db, fast.settings)
        yield stack
        for mission_id in stack.mission_ids:  # a failed test leaves nothing running
            handle = stack.handle(mission_id)
            try:
                if (await handle.describe()).status == WorkflowExecutionStatus.RUNNING:
                    await handle.terminate("test finished")
            except Exception:
                pass


def worker(stack: Stack) -> Worker:
    return build_worker(stack.env.client, stack.db, stack.settings)


async def counts(stack: Stack, mission_id: int) -> tuple[int, int, int]:
    """(invoices, payouts, invoice emails) of a mission, straight from the tables."""
    async with stack.db.session() as session:
        invoices = await session.scalar(
            select(func.count()).select_from(Invoice).where(Invoice.mission_id == mission_id)
        )
        payouts = await session.scalar(
            select(func.count()).select_from(Payout).where(Payout.mission_id == mission_id)
        )
        emails = await session.scalar(
            select(func.count())
            .select_from(OutboxEmail)
            .where(OutboxEmail.mission_id == mission_id, OutboxEmail.step == "invoice")
        )
    return int(invoices or 0), int(payouts or 0), int(emails or 0)


async def to_invoice(run: Run) -> dict:
    await run.sign()
    await run.confirm()
    await run.wait(lambda m: m["stage"] == "work_report", WAIT)
    await run.report(2)
    return await run.wait(lambda m: m["invoice"] is not None, WAIT)


async def test_worker_restart_mid_lifecycle(fast_stack: Stack) -> None:
    stack = fast_stack
    async with worker(stack):
        run = await new_run(stack, start_in=1, length=2)
        m = await to_invoice(run)
    # Worker #1 is gone right after the invoice (its email may or may not have been sent yet):
    # salary day passes with nobody to act on it.
    pay_date = date.fromisoformat(m["pay_date"])
    await wait_for(stack.today, lambda today: today > pay_date, WAIT)
    m = await run.get()
    assert m["advance"] is None
    invoices, payouts, emails = await counts(stack, run.mission_id)
    assert (invoices, payouts) == (1, 0) and emails <= 1

    async with worker(stack):
        m = await run.wait(lambda m: m["advance"] is not None, WAIT)
        assert m["advance"]["source"] == "fund"
        assert date.fromisoformat(m["advance"]["paid_on"]) >= pay_date
        await run.pay(m["invoice"]["total_incl_vat"])
        assert await asyncio.wait_for(run.result(), WAIT) == "paid"
    m = await run.get()
    assert m["stage"] == "paid" and m["invoice"]["status"] == "paid"
    assert steps(m).count("invoiced") == 1 and steps(m).count("salary_paid") == 1
    assert steps(m).count("paid") == 1
    assert await counts(stack, run.mission_id) == (1, 1, 1)
    await assert_books(stack, run.mission_id)


async def test_worker_down_while_the_ladder_comes_due(fast_stack: Stack) -> None:
    """Issue 13 #2 (INV-8): no worker from salary day until the whole ladder, write-off
    included, has come due. Back, the rungs do not catch up within a second: each is dated the
    day it really runs and waits its period after the day the letter before it left."""
    stack = fast_stack
    async with worker(stack):
        run = await new_run(stack, start_in=1, length=2)
        await to_invoice(run)
        m = await run.wait(lambda m: m["advance"] is not None, WAIT)
    due = date.fromisoformat(m["invoice"]["due_date"])
    write_off_on = due + timedelta(days=11)  # FAST_POLICY's write-off rung
    await wait_for(stack.today, lambda today: today > write_off_on + timedelta(days=1), WAIT)
    assert (await run.get())["dunning_level"] == 0

    async with worker(stack):
        assert await asyncio.wait_for(run.result(), WAIT) == "written_off"
    m = await run.get()
    rungs = [r for r in m["dunning_steps"] if r["level"] < 100]
    assert [r["step"] for r in rungs] == ["reminder_1", "reminder_2", "formal_notice"]
    assert date.fromisoformat(rungs[0]["business_date"]) > write_off_on, "dated when it ran"
    written_off = next(t for t in m["timeline"] if t["step"] == "written_off")
    dates = [*(r["business_date"] for r in rungs[1:]), written_off["business_date"]]
    # The fast ladder's rungs are a day apart: each step comes a day after the letter before it
    # really left (its rung's own date, at the earliest), never the same day.
    left = [r.get("sent_on") or r["business_date"] for r in rungs]
    caught_up = [
        f"{before['step']} left on {sent}, the next step came on {after}"
        for before, sent, after in zip(rungs, left, dates, strict=True)
        if date.fromisoformat(after) <= date.fromisoformat(sent)
    ]
    assert caught_up == [], "the ladder caught up"
    assert all(r["sent_on"] is not None for r in rungs)
    await assert_books(stack, run.mission_id)


async def test_five_missions_in_parallel(fast_stack: Stack) -> None:
    stack = fast_stack

    async def lifecycle(i: int) -> tuple[int, str]:
        run = await new_run(stack, start_in=1, length=2, amount=f"{1000 + i}.00")
        m = await to_invoice(run)
        if i % 3 == 0:  # paid before day 7
            await run.pay(m["invoice"]["total_incl_vat"])
        elif i % 3 == 1:  # paid after the advance
            await run.wait(lambda m: m["advance"] is not None, WAIT)
            await run.pay(m["invoice"]["total_incl_vat"])
        # else: never paid, written off at the end of the ladder
        return run.mission_id, await asyncio.wait_for(run.result(), WAIT)

    async with worker(stack):
        results = await asyncio.gather(*(lifecycle(i) for i in range(5)))

    assert [r for _, r in results] == ["paid", "paid", "written_off", "paid", "paid"]
    # Missions 0 and 3 pay right after the invoice: on a loaded machine the 1-second business
    # days may still bring salary day first, so the source must agree with what came first.
    sources = [None, "fund", "fund", None, "fund"]
    for (mission_id, outcome), source in zip(results, sources, strict=True):
        m = await stack.mission(mission_id)
        assert m["stage"] == outcome
        if source is None:
            first = {t["step"]: t["occurred_at"] for t in reversed(m["timeline"])}
            source = "client" if first["client_payment"] < first["salary_paid"] else "fund"
        assert m["advance"]["source"] == source
        assert await counts(stack, mission_id) == (1, 1, 1)
        await assert_books(stack, mission_id)
    async with stack.db.session() as session:
        rows = (
            await session.execute(
                select(
                    Invoice.year,
                    func.count(),
                    func.count(func.distinct(Invoice.sequence)),
                    func.max(Invoice.sequence),
                ).group_by(Invoice.year)
            )
        ).all()
    assert sum(n for _, n, _, _ in rows) >= 5
    for year, n, distinct, highest in rows:
        assert n == distinct == highest, f"invoice numbers of {year} have a gap or a duplicate"
    assert sum((await ledger_balances(stack)).values(), Decimal("0")) == 0


# ---------------------------------------------------------------- a workflow behind the calendar
# Issue 13, defect 9. While a worker catches up, the workflow's own stage lags behind the business
# date. An action arriving then is judged by the calendar and the contract, not by the stale stage:
# a confirmation after the contract's deadline is refused (it used to be accepted, recorded, and
# then the mission was cancelled anyway; the work report's side is in test_exception_paths). The
# worker is stopped, the date passes, the action is sent, and only then a worker comes back: its
# first activation carries the due timer and the action together.


async def update_when_worker_back(stack: Stack, run: Run, name: str, arg: object) -> str:
    handle = stack.handle(run.mission_id)
    pending = asyncio.create_task(handle.execute_update(name, arg, result_type=str))
    await asyncio.sleep(1.0)  # the update waits at the server for a worker
    async with worker(stack):
        return await asyncio.wait_for(pending, WAIT)


async def test_confirmation_after_the_deadline_is_refused(fast_stack: Stack) -> None:
    stack = fast_stack
    async with worker(stack):
        run = await new_run(stack, start_in=30, length=2)
        await run.sign()
    m = await run.get()
    deadline = date.fromisoformat(m["created_on"]) + timedelta(days=14)
    await wait_for(stack.today, lambda today: today >= deadline, WAIT)

    with pytest.raises(WorkflowUpdateFailedError) as refused:
        await update_when_worker_back(
            stack, run, "confirm_client", ConfirmClient(method="order form", actor="ops")
        )
    assert "deadline" in str(refused.value.cause), refused.value.cause
    async with worker(stack):
        assert await asyncio.wait_for(run.result(), WAIT) == "cancelled"
    m = await run.get()
    assert m["client_confirmed_at"] is None, "a refused confirmation is not recorded"
    assert "client_confirmed" not in steps(m) and m["stage"] == "cancelled"
