"""The invariant checker (services/invariants.py) on a book it must accept, then on the same book
corrupted one way at a time: each check is seen failing on exactly the corruption it is for.

A throwaway database of its own (the checker reads the whole book: the shared test database's
half-finished missions are not its business). Every corruption is made in a transaction that is
rolled back, so the next test starts from the clean book again.
"""

from __future__ import annotations

import os
import secrets
import subprocess
from collections.abc import AsyncIterator, Iterator
from datetime import date, timedelta
from decimal import Decimal

import pytest
from sqlalchemy import text
from sqlalchemy.engine import make_url
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession

from core.db import make_engine
from models import Client, Member, Mission, utcnow
from services.fund import top_up
from services.invariants import InvariantReport, check_invariants
from tests.conftest import alembic_config, make_niss

TODAY = date.today()


@pytest.fixture(scope="module")
def book_url() -> Iterator[str]:
    from alembic import command

    base = make_url(os.environ["COOPFLOW_DATABASE_URL"])
    name = f"coopflow_inv_{secrets.token_hex(4)}"
    pg = ["-h", base.host or "127.0.0.1", "-p", str(base.port or 5432), "-U", "postgres"]
    subprocess.run(["createdb", *pg, name], check=True)
    url = base.set(database=name).render_as_string(hide_password=False)
    try:
        sync = make_url(url).set(drivername="postgresql+psycopg").render_as_string(False)
        command.upgrade(alembic_config(sync), "heads")
        yield url
    finally:
        subprocess.run(["dropdb", *pg, "--if-exists", "--force", name], check=False)


@pytest.fixture(scope="module")
async def engine(book_url: str) -> AsyncIterator[AsyncEngine]:
    engine = make_engine(url=book_url)
    async with AsyncSession(engine) as session:
        await top_up(
            session,
            amount=Decimal("5000.00"),
            reference="INV-TEST",
            reason="opening balance",
            business_date=TODAY,
            recorded_by_user_id=None,
        )
        member = Member(
            name="M", email="m@inv.example", iban="BE71096123456769", national_number=make_niss(1)
        )
        session.add(member)
        await session.flush()
        client = Client(
            name="C", email="c@inv.example", kind="business", country="BE", address="Rue 1"
        )
        session.add(client)
        await session.flush()
        for i in (1, 2):
            session.add(
                Mission(
                    member_id=member.id,
                    client_id=client.id,
                    title=f"Mission {i}",
                    start_date=TODAY,
                    end_date=TODAY,
                    amount_excl_vat=Decimal("1000.00"),
                    vat_rate=Decimal("21"),
                    stage="contract",
                    created_on=TODAY,
                    pay_date=TODAY - timedelta(days=3),
                    workflow_id=f"inv-mission-{i}",
                    workflow_started_at=utcnow(),
                )
            )
        await session.commit()
    yield engine
    await engine.dispose()


async def corrupted(engine: AsyncEngine, *statements: str) -> InvariantReport:
    """The checker's report on the book with `statements` applied (then rolled back)."""
    async with AsyncSession(engine) as session:
        for statement in statements:
            await session.execute(text(statement))
        report = await check_invariants(session, None)
        await session.rollback()
    print("\n".join(report.lines()))
    return report


def invoice_sql(mission: int, sequence: int, kind: str = "invoice") -> str:
    return f"""INSERT INTO invoices (mission_id, client_id, kind, series, year, sequence, number,
        issue_date, due_date, structured_communication, vat_rate, vat_category, total_excl_vat,
        vat_amount, total_incl_vat, balance, principal_open, interest_open, costs_open, status,
        lines, created_at)
        SELECT m.id, m.client_id, '{kind}', 'F', 2026, {sequence}, 'F2026-{sequence}-{kind}',
        CURRENT_DATE, CURRENT_DATE, '+++000/0000/{sequence:03d}{len(kind):02d}+++', 21, 'S',
        100000, 21000, 121000, 121000, 121000, 0, 0, 'open', '[]', now()
        FROM missions m WHERE m.title = 'Mission {mission}'"""


async def test_the_clean_book_holds(engine: AsyncEngine) -> None:
    report = await corrupted(engine)
    assert report.held, report.lines()
    assert report.missions == 2


async def test_a_mission_without_workflow_is_lost(engine: AsyncEngine) -> None:
    report = await corrupted(
        engine, "UPDATE missions SET workflow_started_at = NULL WHERE title = 'Mission 1'"
    )
    assert report.broken_codes() == ["INV-1"]
    assert "has no workflow" in report.check("INV-1").details[0]


async def test_a_duplicate_email_is_a_double_effect(engine: AsyncEngine) -> None:
    email = """INSERT INTO outbox_emails (mission_id, template, step, language, recipient, subject,
        body, status, provider, created_at)
        SELECT id, 'invoice', 'invoice', 'en', 'c@inv.example', 'Invoice', 'x', 'queued',
        'outbox', now() FROM missions WHERE title = 'Mission 1'"""
    report = await corrupted(
        engine,
        # the unique constraint would refuse it: a book where it was lost must still be caught
        """DO $$ DECLARE c text; BEGIN
             SELECT conname INTO c FROM pg_constraint
             WHERE conrelid = 'outbox_emails'::regclass AND contype = 'u';
             EXECUTE 'ALTER TABLE outbox_emails DROP CONSTRAINT ' || c; END $$""",
        email,
        email,
    )
    assert report.broken_codes() == ["INV-2"]
    assert "email per (mission, template, step)" in report.check("INV-2").details[0]


async def test_an_unbalanced_transaction_breaks_the_books(engine: AsyncEngine) -> None:
    report = await corrupted(
        engine,
        """INSERT INTO ledger_transactions (event_key, kind, business_date, description, created_at)
           VALUES ('corrupt:1', 'fund_top_up', CURRENT_DATE, 'one leg only', now())""",
        """INSERT INTO ledger_entries (transaction_id, account, amount)
           SELECT id, 'bank', 5 FROM ledger_transactions WHERE event_key = 'corrupt:1'""",
    )
    assert report.broken_codes() == ["INV-3"]
    details = report.check("INV-3").details
    assert any("corrupt:1" in d and "sums to 0.05" in d for d in details), details


async def test_a_running_balance_off_the_ledger_breaks_the_books(engine: AsyncEngine) -> None:
    report = await corrupted(
        engine, "UPDATE ledger_balances SET balance = balance + 1 WHERE account = 'bank'"
    )
    assert report.broken_codes() == ["INV-3"]
    assert report.check("INV-3").details == [
        "ledger_balances bank: kept 5000.01, the ledger's lines sum to 5000.00"
    ]


async def test_a_gap_in_the_invoice_numbers(engine: AsyncEngine) -> None:
    report = await corrupted(engine, invoice_sql(2, 1), invoice_sql(2, 3, kind="deposit"))
    assert "INV-4" in report.broken_codes()
    assert report.check("INV-4").details == ["invoices F/2026: 2 numbers, 2 distinct, from 1 to 3"]


async def test_an_unpaid_salary_after_its_pay_date(engine: AsyncEngine) -> None:
    report = await corrupted(engine, invoice_sql(1, 1))
    assert report.broken_codes() == ["INV-6"]
    assert "mission" in report.check("INV-6").details[0]
    assert "not paid" in report.check("INV-6").details[0]


async def test_a_bank_line_booked_nowhere(engine: AsyncEngine) -> None:
    report = await corrupted(
        engine,
        """INSERT INTO payments (bank_account, bank_transaction_id, amount, received_on, matched,
           created_at) VALUES ('main', 'LOST-1', 4200, CURRENT_DATE, false, now())""",
    )
    assert report.broken_codes() == ["INV-7"]
    assert report.check("INV-7").details == [
        "payment 1 (LOST-1) of 42.00: 0.00 booked",
        "payments received 42.00, bank movement booked for them 0.00",
    ]
