"""Helpers for the lifecycle paths: drive one mission through the API over the time-skipping server.

Each test gets its own time-skipping server (`ts_env` in tests/conftest.py): its clock only moves
forward, and a fresh one starts at the real now, where the API's business clock is anchored.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from datetime import date, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

from sqlalchemy import func, select

from domain.clock import BusinessClock
from models import Declaration, Invoice, LedgerEntry, LedgerTransaction, Payout
from services.clock import current_clock
from tests.conftest import Stack, unique, wait_for

HISTORIES = Path(__file__).resolve().parent / "histories"
RECORD = os.environ.get("COOPFLOW_RECORD_HISTORIES") == "1"


# ---------------------------------------------------------------- business time


async def business_clock(stack: Stack) -> BusinessClock:
    async with stack.db.session() as session:
        spec = await current_clock(session, stack.settings.day_seconds, stack.settings.timezone)
    return spec.to_clock()


async def workflow_today(stack: Stack) -> date:
    """The business date the workflows see (the test server's clock)."""
    return (await business_clock(stack)).date_at(await stack.env.get_current_time())


async def skip_to(stack: Stack, day: date, into_day: timedelta = timedelta(hours=1)) -> None:
    """Skip the test server's clock to `into_day` after business day `day` begins; timers fire."""
    clock = await business_clock(stack)
    target = clock.start_of(day) + into_day
    now = await stack.env.get_current_time()
    if target > now:
        await stack.env.sleep(target - now)


# ---------------------------------------------------------------- one mission, step by step


@dataclass
class Run:
    """A mission under test with its member's login."""

    stack: Stack
    mission_id: int
    member: dict[str, Any]
    member_headers: dict[str, str]
    client: dict[str, Any]

    async def get(self) -> dict[str, Any]:
        return await self.stack.mission(self.mission_id)

    async def wait(self, done: Any, within: float = 30.0) -> dict[str, Any]:
        return await self.stack.wait_mission(self.mission_id, done, within)

    async def sign(self) -> dict[str, Any]:
        r = await self.stack.http.post(
            f"/api/missions/{self.mission_id}/sign", headers=self.member_headers
        )
        assert r.status_code == 200, r.text
        return r.json()

    async def confirm(self, method: str = "signed order form") -> dict[str, Any]:
        r = await self.stack.http.post(
            f"/api/missions/{self.mission_id}/client-confirmation",
            json={"method": method},
            headers=await self.stack.ops(),
        )
        assert r.status_code == 200, r.text
        return r.json()

    async def report(
        self, days_worked: int, expenses: list[dict[str, str]] | None = None
    ) -> dict[str, Any]:
        r = await self.stack.http.post(
            f"/api/missions/{self.mission_id}/work-report",
            json={"days_worked": days_worked, "expenses": expenses or []},
            headers=self.member_headers,
        )
        assert r.status_code == 200, r.text
        return r.json()

    async def pay(self, amount: str | Decimal) -> dict[str, Any]:
        m = await self.get()
        assert m["invoice"] is not None, "no invoice to pay"
        r = await self.stack.http.post(
            "/api/payments",
            json={
                "amount": f"{Decimal(amount):.2f}",
                "received_on": (await self.stack.today()).isoformat(),
                "structured_communication": m["invoice"]["structured_communication"],
                "bank_transaction_id": unique("BANK-"),
            },
            headers=await self.stack.ops(),
        )
        assert r.status_code == 201, r.text
        return r.json()

    async def outbox(self) -> list[dict[str, Any]]:
        r = await self.stack.http.get(
            "/api/outbox", params={"mission_id": self.mission_id}, headers=await self.stack.ops()
        )
        assert r.status_code == 200, r.text
        return list(r.json())

    async def result(self) -> str:
        value: str = await self.stack.handle(self.mission_id).result()
        return value

    async def to_work_report(self) -> dict[str, Any]:
        """Sign, confirm, skip to the end date: the mission waits for the work report."""
        await self.sign()
        await self.confirm()
        m = await self.wait(lambda m: m["stage"] == "in_progress")
        await skip_to(self.stack, date.fromisoformat(m["end_date"]))
        return await self.wait(lambda m: m["stage"] == "work_report")

    async def to_invoiced(
        self, days_worked: int = 3, expenses: list[dict[str, str]] | None = None
    ) -> dict[str, Any]:
        """Drive the mission up to its issued invoice (and the invoice email)."""
        await self.to_work_report()
        await self.report(days_worked, expenses)
        m = await self.wait(lambda m: m["invoice"] is not None and m["stage"] == "invoiced")
        await wait_emails(self, ["invoice"])
        return m


async def new_run(
    stack: Stack,
    start_in: int = 2,
    length: int = 3,
    amount: str = "1000.00",
    contract_type: str = "ordinary",
) -> Run:
    member, headers = await stack.new_member()
    client = await stack.new_client(member["id"])
    mission = await stack.new_mission(
        headers,
        member["id"],
        client["id"],
        start_in=start_in,
        length=length,
        amount=amount,
        contract_type=contract_type,
    )
    assert mission["stage"] == "contract"
    return Run(stack, mission["id"], member, headers, client)


async def wait_emails(run: Run, steps: list[str], within: float = 30.0) -> list[dict[str, Any]]:
    """Wait until the mission's outbox holds exactly these steps (one email each)."""
    return await wait_for(
        run.outbox, lambda es: sorted(e["step"] for e in es) == sorted(steps), within
    )


def steps(mission: dict[str, Any]) -> list[str]:
    return [t["step"] for t in mission["timeline"]]


def assert_timeline(mission: dict[str, Any], *expected: str | set[str]) -> None:
    """The timeline is exactly these steps in this order; a set stands for steps written in one
    transaction, whose relative order is not a business fact (e.g. a payment and `paid`)."""
    got = steps(mission)
    want: list[str] = []
    normalised: list[str] = []
    at = 0
    for item in expected:
        group = sorted(item) if isinstance(item, set) else [item]
        want.extend(group)
        normalised.extend(sorted(got[at : at + len(group)]))
        at += len(group)
    normalised.extend(got[at:])
    assert normalised == want, f"timeline {got}"


def event(mission: dict[str, Any], step: str) -> dict[str, Any]:
    found = [t for t in mission["timeline"] if t["step"] == step]
    assert len(found) == 1, f"expected one {step} on the timeline, got {steps(mission)}"
    return found[0]


# ---------------------------------------------------------------- invariants


async def ledger_balances(stack: Stack) -> dict[str, Decimal]:
    r = await stack.http.get("/api/ledger/balances", headers=await stack.ops())
    assert r.status_code == 200, r.text
    return {row["account"]: Decimal(row["balance"]) for row in r.json()}


async def fund(stack: Stack) -> dict[str, Any]:
    r = await stack.http.get("/api/guarantee-fund", headers=await stack.ops())
    assert r.status_code == 200, r.text
    return dict(r.json())


async def assert_books(
    stack: Stack,
    mission_id: int,
    *,
    invoices: int = 1,
    payouts: int = 1,
    kinds: list[str] | None = None,
) -> None:
    """INV-2 and INV-3: one invoice, at most one payout, every transaction balanced."""
    async with stack.db.session() as session:
        n_invoices = await session.scalar(
            select(func.count()).select_from(Invoice).where(Invoice.mission_id == mission_id)
        )
        n_payouts = await session.scalar(
            select(func.count()).select_from(Payout).where(Payout.mission_id == mission_id)
        )
        unbalanced = (
            await session.execute(
                select(LedgerEntry.transaction_id, func.sum(LedgerEntry.amount))
                .group_by(LedgerEntry.transaction_id)
                .having(func.sum(LedgerEntry.amount) != 0)
            )
        ).all()
        empty = (
            await session.scalars(
                select(LedgerTransaction.event_key).where(
                    ~select(LedgerEntry.id)
                    .where(LedgerEntry.transaction_id == LedgerTransaction.id)
                    .exists()
                )
            )
        ).all()
        mission_kinds = (
            await session.scalars(
                select(LedgerTransaction.kind)
                .where(LedgerTransaction.mission_id == mission_id)
                .order_by(LedgerTransaction.id)
            )
        ).all()
    assert n_invoices == invoices, f"{n_invoices} invoices for mission {mission_id}"
    assert n_payouts == payouts, f"{n_payouts} payouts for mission {mission_id}"
    assert unbalanced == [], f"unbalanced ledger transactions: {unbalanced}"
    assert empty == [], f"ledger transactions without entries: {empty}"
    if kinds is not None:
        assert list(mission_kinds) == kinds
    total = sum((await ledger_balances(stack)).values(), Decimal("0"))
    assert total == 0, f"ledger balances sum to {total}"


async def declarations(stack: Stack, mission_id: int) -> list[str]:
    async with stack.db.session() as session:
        rows = await session.scalars(
            select(Declaration.kind)
            .where(Declaration.mission_id == mission_id)
            .order_by(Declaration.id)
        )
        return list(rows.all())


# ---------------------------------------------------------------- recorded histories


async def record_history(run: Run, name: str) -> None:
    """Keep the finished workflow's history for the replay test (only when asked to)."""
    if not RECORD:
        return
    history = await run.stack.handle(run.mission_id).fetch_history()
    HISTORIES.mkdir(exist_ok=True)
    (HISTORIES / f"{name}.json").write_text(history.to_json() + "\n")
