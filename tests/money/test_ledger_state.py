"""The ledger against an independent model: random sequences of business events driven through
the real services on the PostgreSQL test database (hypothesis `RuleBasedStateMachine`).

Events: a mission made directly (no workflow), its invoice issued, its salary paid (advanced by
the fund, or paid from the client's money: never withheld), client payments (full, partial,
unmatched, too large: the rest to suspense, on an invoice already paid: all to suspense),
write-offs (certain loss or end of the ladder), recoveries after write-off, fund top-ups (new,
replayed, conflicting). After every step (INV-3, INV-5, INV-6):

- every ledger transaction sums to zero, has entries, and is of a known kind; the balances of
  all accounts sum to zero;
- exactly the transactions the model expects were posted (no account moves without an event);
- the fund's available balance, its advances outstanding (per mission, per client) and the
  receivables (per invoice, per client) equal the model's;
- every salary asked is paid (INV-6); the fund is never below its floor, unless a write-off (a
  loss, which cannot be refused) took it there: an advance that would take it below is covered
  by the treasury (a `treasury_cover` transaction).

The async services run on an event loop of their own, in a thread: each rule hands it one
coroutine and waits for the result.
"""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Coroutine
from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from typing import Any, TypeVar

import pytest
from hypothesis import HealthCheck
from hypothesis import settings as hypothesis_settings
from hypothesis import strategies as st
from hypothesis.stateful import (
    RuleBasedStateMachine,
    initialize,
    invariant,
    precondition,
    rule,
    run_state_machine_as_test,
)
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from core.db import Database, make_engine
from core.errors import DomainError
from core.settings import Settings
from domain.money import to_cents
from domain.payroll import gross_up_expenses
from models import (
    Client,
    FundAdvanceBalance,
    FundClientExposure,
    FundMemberExposure,
    Invoice,
    LedgerBalance,
    LedgerEntry,
    LedgerTransaction,
    Member,
    Mission,
    Payout,
)
from services import collection, fund, ledger, parameters, payroll
from services.invoicing import issue_invoice
from tests.conftest import unique
from tests.money.conftest import new_client, new_member, new_mission, own_day, set_fund_rules

T = TypeVar("T")
ZERO = Decimal("0.00")
CENT = Decimal("0.01")


class LoopThread:
    """An event loop running in its own thread: the state machine's rules are synchronous."""

    def __init__(self) -> None:
        self.loop = asyncio.new_event_loop()
        self.thread = threading.Thread(target=self.loop.run_forever, daemon=True)
        self.thread.start()

    def run(self, coro: Coroutine[Any, Any, T]) -> T:
        return asyncio.run_coroutine_threadsafe(coro, self.loop).result(timeout=120)

    def close(self) -> None:
        self.loop.call_soon_threadsafe(self.loop.stop)
        self.thread.join(timeout=10)
        self.loop.close()


@dataclass
class ModelMission:
    id: int
    client_id: int
    eu: bool
    confirmed: bool
    excl: Decimal  # price + expenses, excl. VAT
    fee: Decimal = ZERO
    fund_share: Decimal = ZERO
    cost: Decimal = ZERO  # the salary's whole cost: excl. VAT less the fee
    total: Decimal = ZERO
    vat: Decimal = ZERO
    issued: bool = False
    communication: str = ""
    balance: Decimal = ZERO
    received: Decimal = ZERO
    salary: str | None = None  # "fund" | "client"
    advanced: Decimal = ZERO  # the fund's advance outstanding
    status: str = "open"  # open | paid | written_off
    written_off: Decimal = ZERO
    vat_recovered: Decimal = ZERO
    vat_owed_again: Decimal = ZERO


class LedgerMachine(RuleBasedStateMachine):
    # Set by the test before the machine runs.
    runner: LoopThread
    db: Database
    members: list[int]

    def __init__(self) -> None:
        super().__init__()
        self.day: date = own_day()
        self.missions: list[ModelMission] = []
        self.clients: dict[int, bool] = {}  # client id -> in the EU
        self.top_ups: dict[str, Decimal] = {}
        self.expected_events = 0
        self.breached_by_loss = False

    def run(self, coro: Coroutine[Any, Any, T]) -> T:
        return self.runner.run(coro)

    # ------------------------------------------------------------ setup
    @initialize(
        headroom=st.sampled_from([Decimal("900.00"), Decimal("2500.00"), Decimal("10000.00")]),
        cap=st.sampled_from([Decimal("4000.00"), Decimal("1000000.00")]),
    )
    def setup(self, headroom: Decimal, cap: Decimal) -> None:
        async def go() -> None:
            async with self.db.session() as session:
                self.available = await fund.available(session)
                self.outstanding = await fund.advances_outstanding(session)
                self.floor = self.available - headroom
                self.cap = cap
                await set_fund_rules(session, self.day, floor=self.floor, cap=cap)
                params = await parameters.payroll_parameters(session, self.day)
                self.fee_rate = params.fee_rate
                self.fund_rate = params.fund_share_of_fee
                for country, kind in (("BE", "business"), ("FR", "consumer"), ("US", "business")):
                    client = await new_client(session, country, kind)
                    self.clients[client.id] = country != "US"
                self.first_txn = int(
                    await session.scalar(select(func.coalesce(func.max(LedgerTransaction.id), 0)))
                    or 0
                )

        self.run(go())
        # Three issued missions of EU clients, confirmed: something to advance from step one.
        for index, amount in enumerate(("1000.00", "2500.00", "1234.56")):
            self.add_mission(index % 2, amount, "21", True, "0.00")
            self._issue(self.missions[-1])

    # ------------------------------------------------------------ helpers
    def _pick(self, data: st.DataObject, condition: Any) -> ModelMission:
        return data.draw(st.sampled_from([m for m in self.missions if condition(m)]))

    def _exposure(self, client_id: int) -> Decimal:
        return sum((m.advanced for m in self.missions if m.client_id == client_id), ZERO)

    def _salary_due(self, m: ModelMission) -> bool:
        """Invoiced and not paid yet (a salary is paid the first time it is asked)."""
        return m.issued and m.salary is None and m.status != "written_off"

    def _after_loss_or_gain(self) -> None:
        if self.available >= self.floor:
            self.breached_by_loss = False

    # ------------------------------------------------------------ rules
    @rule(
        client_index=st.sampled_from([0, 0, 1, 1, 2]),  # mostly EU clients
        amount=st.sampled_from(["300.00", "1000.00", "1234.56", "2500.00"]),
        vat_rate=st.sampled_from(["0", "6", "21"]),
        confirmed=st.sampled_from([True, True, True, False]),
        expenses=st.sampled_from(["0.00", "45.50"]),
    )
    def add_mission(
        self, client_index: int, amount: str, vat_rate: str, confirmed: bool, expenses: str
    ) -> None:
        client_id = list(self.clients)[client_index]

        async def go() -> int:
            async with self.db.session() as session:
                member = await session.get(Member, self.members[client_index % 2])
                client = await session.get(Client, client_id)
                assert member is not None and client is not None
                mission = await new_mission(
                    session,
                    member,
                    client,
                    amount=Decimal(amount),
                    vat_rate=Decimal(vat_rate),
                    confirmed=confirmed,
                    expenses=Decimal(expenses),
                    on=self.day,
                )
                return mission.id

        # Expenses are invoiced grossed up for the fee (issue 12: they never lower the gross).
        invoiced = gross_up_expenses(Decimal(amount), [Decimal(expenses)], self.fee_rate)
        excl = Decimal(amount) + (invoiced[0] if Decimal(expenses) else Decimal("0.00"))
        self.missions.append(
            ModelMission(
                id=self.run(go()),
                client_id=client_id,
                eu=self.clients[client_id],
                confirmed=confirmed,
                excl=excl,
            )
        )

    @precondition(lambda self: any(not m.issued for m in self.missions))
    @rule(data=st.data())
    def issue(self, data: st.DataObject) -> None:
        self._issue(self._pick(data, lambda m: not m.issued))

    def _issue(self, m: ModelMission) -> None:
        async def go() -> Invoice:
            async with self.db.session() as session:
                return await issue_invoice(session, m.id, self.day, 30)

        invoice = self.run(go())
        m.issued = True
        m.communication = invoice.structured_communication
        m.fee = to_cents(m.excl * self.fee_rate)
        m.fund_share = to_cents(m.fee * self.fund_rate)
        m.cost = m.excl - m.fee
        # The VAT regime is the invoicing's business; its rate applied to the total is ours.
        m.vat = to_cents(m.excl * invoice.vat_rate / 100)
        m.total = m.balance = m.excl + m.vat
        assert (invoice.total_excl_vat, invoice.total_incl_vat) == (m.excl, m.total)
        self.available += m.fund_share
        self.expected_events += 1

    @precondition(lambda self: any(self._salary_due(m) for m in self.missions))
    @rule(data=st.data())
    def pay_salary(self, data: st.DataObject) -> None:
        m = self._pick(data, self._salary_due)
        advance = ZERO if m.balance <= 0 else max(m.cost - m.received, ZERO)
        # INV-6: always paid, whatever the client (EU or not, confirmed or not) and the fund.
        expected = "fund" if advance > 0 else "client"

        async def go() -> Payout:
            async with self.db.session() as session:
                return await payroll.pay_salary(session, m.id, self.day)

        result = self.run(go())
        assert isinstance(result, Payout) and result.source == expected, (result, expected)
        m.salary = expected
        self.expected_events += 1
        if expected == "fund":
            m.advanced = advance
            self.available -= advance
            self.outstanding += advance
            if self.available < self.floor:
                # The treasury covers what this advance took below the floor (its own event).
                self.available += min(advance, self.floor - self.available)
                self.expected_events += 1
            assert self.available >= self.floor or self.breached_by_loss, (
                "an advance left the fund below its floor"
            )

    @precondition(lambda self: any(m.issued and m.balance > 0 for m in self.missions))
    @rule(data=st.data(), kind=st.sampled_from(["full", "partial", "too_much", "unmatched"]))
    def client_pays(self, data: st.DataObject, kind: str) -> None:
        m = self._pick(data, lambda m: m.issued and m.balance > 0)
        if kind == "unmatched":
            self._unmatched_payment(m.balance)
            return
        if kind == "full" or m.balance == CENT:
            amount = m.balance
        elif kind == "partial":
            cents = data.draw(st.integers(1, int(m.balance * 100) - 1))
            amount = Decimal(cents) / 100
        else:
            amount = m.balance + CENT

        async def go() -> Decimal:
            """Pay; give the interest charged with the payment (run on since the last rung)."""
            async with self.db.session() as session:
                paid = amount
                extra = ZERO
                if kind == "too_much":
                    # Above what is due: the balance plus the interest run on since the last
                    # rung, which a payment may include (services/collection.py).
                    invoice = await session.scalar(
                        select(Invoice).where(Invoice.structured_communication == m.communication)
                    )
                    assert invoice is not None
                    position = await collection.interest_position(session, invoice, self.day)
                    if invoice.status == "open":
                        extra = max(position.not_yet_charged, ZERO)
                    paid = amount + extra
                payment, _ = await collection.record_payment(
                    session,
                    amount=paid,
                    received_on=self.day,
                    structured_communication=m.communication,
                    bank_transaction_id=unique("BANK-"),
                    today=self.day,
                    recorded_by_user_id=None,
                )
                if kind == "too_much":
                    # INV-7: never refused; the invoice takes its balance (and the interest),
                    # the cent above goes to suspense; the bank line is booked whole.
                    held = (await collection.suspense_positions(session, [payment]))[payment.id]
                    assert held.open == CENT and "overpayment" in held.reason, held
                    assert held.applied == paid - CENT
                return extra

        # The machine's day never passes a due date: no interest is charged with a payment.
        assert self.run(go()) == ZERO
        self.expected_events += 1
        if kind == "too_much":
            self.expected_events += 1  # the cent above the balance: payment_suspense
            amount = m.balance
        if m.status == "written_off":
            recovered_before = m.written_off - m.balance
            recovered_after = recovered_before + amount
            owed = ZERO
            if m.vat_recovered:
                owed = to_cents(recovered_after * m.vat_recovered / m.written_off) - to_cents(
                    recovered_before * m.vat_recovered / m.written_off
                )
            m.vat_owed_again += owed
            self.available += amount - owed
        else:
            back = min(amount, m.advanced)
            m.advanced -= back
            self.outstanding -= back
            self.available += back
            m.received += amount
        m.balance -= amount
        if m.balance == 0 and m.status == "open":
            m.status = "paid"
        if m.balance == 0 and m.status == "written_off":
            assert m.vat_owed_again == m.vat_recovered, "a full recovery owes back all the VAT"
        self._after_loss_or_gain()

    @precondition(lambda self: any(m.status == "paid" for m in self.missions))
    @rule(data=st.data(), cents=st.integers(1, 100_000))
    def pays_a_paid_invoice(self, data: st.DataObject, cents: int) -> None:
        """A second payment on a paid invoice (INV-7): not refused, all of it to suspense,
        linked to the invoice; nothing else moves."""
        m = self._pick(data, lambda m: m.status == "paid")
        amount = Decimal(cents) / 100

        async def go() -> None:
            async with self.db.session() as session:
                payment, invoice = await collection.record_payment(
                    session,
                    amount=amount,
                    received_on=self.day,
                    structured_communication=m.communication,
                    bank_transaction_id=unique("BANK-"),
                    today=self.day,
                    recorded_by_user_id=None,
                )
                assert invoice is not None and payment.invoice_id == invoice.id
                assert not payment.matched and invoice.balance == 0
                held = (await collection.suspense_positions(session, [payment]))[payment.id]
                assert (held.open, held.applied) == (amount, ZERO)
                assert "already paid" in held.reason

        self.run(go())
        self.expected_events += 1

    def _unmatched_payment(self, amount: Decimal) -> None:
        """Money that names no invoice (a wrong communication): suspense, never lost."""

        async def go() -> None:
            async with self.db.session() as session:
                _, invoice = await collection.record_payment(
                    session,
                    amount=amount,
                    received_on=self.day,
                    structured_communication=None,
                    bank_transaction_id=unique("BANK-"),
                    today=self.day,
                    recorded_by_user_id=None,
                )
                assert invoice is None

        self.run(go())
        self.expected_events += 1

    @precondition(lambda self: any(m.issued and m.status == "open" for m in self.missions))
    @rule(data=st.data(), cause=st.sampled_from(list(fund.WRITE_OFF_CAUSES)))
    def write_off(self, data: st.DataObject, cause: str) -> None:
        m = self._pick(data, lambda m: m.issued and m.status == "open")

        async def go() -> tuple[Decimal, bool]:
            async with self.db.session() as session:
                return await collection.write_off_invoice(session, m.id, self.day, cause=cause)

        amount, acted = self.run(go())
        assert acted and amount == m.balance
        certain = fund.WRITE_OFF_CAUSES[cause][0]
        vat = to_cents(m.balance * m.vat / m.total) if certain and m.total else ZERO
        self.available -= m.balance - vat - m.advanced
        self.outstanding -= m.advanced
        m.advanced = ZERO
        m.status = "written_off"
        m.written_off = m.balance
        m.vat_recovered = vat
        self.expected_events += 1
        if self.available < self.floor:
            self.breached_by_loss = True
        self._after_loss_or_gain()

    @precondition(lambda self: self.available - self.floor < Decimal("2500.00"))
    @rule(
        amount=st.sampled_from(["500.00", "1500.00", "4000.00"]),
        again=st.sampled_from(["new", "same", "conflict"]),
    )
    def top_up(self, amount: str, again: str) -> None:
        if again != "new" and self.top_ups:
            reference = sorted(self.top_ups)[0]
            value = self.top_ups[reference] + (CENT if again == "conflict" else ZERO)
        else:
            reference, value, again = unique("TOPUP-"), Decimal(amount), "new"

        async def go() -> None:
            async with self.db.session() as session:
                await fund.top_up(
                    session,
                    amount=value,
                    reference=reference,
                    reason="stateful test",
                    business_date=self.day,
                    recorded_by_user_id=None,
                )

        if again == "conflict":
            with pytest.raises(DomainError) as err:
                self.run(go())
            assert err.value.status_code == 409
            return
        self.run(go())
        if again == "new":
            self.top_ups[reference] = value
            self.available += value
            self.expected_events += 1
        self._after_loss_or_gain()

    # ------------------------------------------------------------ invariants
    @invariant()
    def books_agree_with_the_model(self) -> None:
        if not hasattr(self, "first_txn"):
            return
        self.run(self._check())

    async def _check(self) -> None:
        async with self.db.session() as session:
            # INV-3: every transaction balances and has entries; all balances sum to zero.
            unbalanced = (
                await session.execute(
                    select(LedgerEntry.transaction_id)
                    .where(LedgerEntry.transaction_id > self.first_txn)
                    .group_by(LedgerEntry.transaction_id)
                    .having(func.sum(LedgerEntry.amount) != 0)
                )
            ).all()
            assert unbalanced == []
            balances = await ledger.balances(session)
            assert sum(balances.values(), ZERO) == 0
            assert set(balances) == set(ledger.ACCOUNTS)
            # No account moves without an event: exactly the expected transactions, known kinds.
            new = (
                await session.execute(
                    select(
                        LedgerTransaction.kind,
                        select(func.count(LedgerEntry.id))
                        .where(LedgerEntry.transaction_id == LedgerTransaction.id)
                        .scalar_subquery(),
                    ).where(LedgerTransaction.id > self.first_txn)
                )
            ).all()
            assert len(new) == self.expected_events, (len(new), self.expected_events)
            assert all(kind in ledger.EVENT_KINDS and entries >= 2 for kind, entries in new)
            stray = await session.scalar(
                select(func.count(LedgerEntry.id)).where(
                    LedgerEntry.transaction_id.not_in(select(LedgerTransaction.id))
                )
            )
            assert stray == 0
            # INV-5: the fund and the receivables equal the model's.
            assert await fund.available(session) == self.available
            assert await fund.advances_outstanding(session) == self.outstanding
            ids = [m.id for m in self.missions]
            advanced = dict(
                (
                    await session.execute(
                        select(LedgerTransaction.mission_id, func.sum(LedgerEntry.amount))
                        .join(LedgerEntry, LedgerEntry.transaction_id == LedgerTransaction.id)
                        .where(
                            LedgerTransaction.mission_id.in_(ids),
                            LedgerEntry.account == "fund_advances",
                        )
                        .group_by(LedgerTransaction.mission_id)
                    )
                ).all()
            )
            invoices = {
                i.mission_id: i
                for i in await session.scalars(select(Invoice).where(Invoice.mission_id.in_(ids)))
            }
            for m in self.missions:
                assert -advanced.get(m.id, ZERO) == m.advanced, m
                assert m.issued == (m.id in invoices), m
                if m.issued:
                    assert invoices[m.id].balance == m.balance, m
                    assert invoices[m.id].status == m.status, m
            per_client = (
                await session.execute(
                    select(LedgerEntry.account, LedgerEntry.client_id, func.sum(LedgerEntry.amount))
                    .where(
                        LedgerEntry.client_id.in_(list(self.clients)),
                        LedgerEntry.account.in_(["client_receivables", "fund_advances"]),
                    )
                    .group_by(LedgerEntry.account, LedgerEntry.client_id)
                )
            ).all()
            sums = {(account, client): amount for account, client, amount in per_client}
            for client_id in self.clients:
                exposure = -sums.get(("fund_advances", client_id), ZERO)
                assert exposure == self._exposure(client_id), client_id
                open_balances = sum(
                    (
                        m.balance
                        for m in self.missions
                        if m.client_id == client_id and m.issued and m.status != "written_off"
                    ),
                    ZERO,
                )
                assert sums.get(("client_receivables", client_id), ZERO) == open_balances
            # INV-6: the floor holds, unless a loss took the fund below it.
            assert self.available >= self.floor or self.breached_by_loss
            # The running sums ledger.post keeps are exactly what the lines sum to.
            await running_sums_match_the_lines(session)


async def _nonzero(session: AsyncSession, query: Any) -> dict[Any, Decimal]:
    rows = (await session.execute(query)).all()
    return {tuple(row[:-1]): row[-1] for row in rows if row[-1]}


async def running_sums_match_the_lines(session: AsyncSession) -> None:
    """ledger_balances, fund_advance_balances and the fund's exposures per client and member
    against the same sums computed from every ledger line of the database."""
    line_sum = func.sum(LedgerEntry.amount)
    advances = (
        select(LedgerTransaction.mission_id, LedgerEntry.client_id, line_sum)
        .join(LedgerTransaction, LedgerTransaction.id == LedgerEntry.transaction_id)
        .where(LedgerEntry.account == "fund_advances")
    )
    pairs = [
        (
            select(LedgerBalance.account, LedgerBalance.balance),
            select(LedgerEntry.account, line_sum).group_by(LedgerEntry.account),
        ),
        (
            select(
                FundAdvanceBalance.mission_id,
                FundAdvanceBalance.client_id,
                FundAdvanceBalance.amount,
            ),
            advances.group_by(LedgerTransaction.mission_id, LedgerEntry.client_id),
        ),
        (
            select(FundClientExposure.client_id, FundClientExposure.amount),
            select(LedgerEntry.client_id, line_sum)
            .where(LedgerEntry.account == "fund_advances")
            .group_by(LedgerEntry.client_id),
        ),
        (
            select(FundMemberExposure.member_id, FundMemberExposure.amount),
            select(Mission.member_id, line_sum)
            .join(LedgerTransaction, LedgerTransaction.id == LedgerEntry.transaction_id)
            .join(Mission, Mission.id == LedgerTransaction.mission_id)
            .where(LedgerEntry.account == "fund_advances")
            .group_by(Mission.member_id),
        ),
    ]
    for running, summed in pairs:
        assert await _nonzero(session, running) == await _nonzero(session, summed)


# Modest on purpose (under a minute): the rules reach every event kind in a few steps.
MACHINE_SETTINGS = hypothesis_settings(
    max_examples=20,
    stateful_step_count=30,
    deadline=None,
    database=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much],
)


def test_ledger_agrees_with_the_model(migrated: str, settings: Settings) -> None:
    runner = LoopThread()
    db = Database(make_engine(settings))

    async def members() -> list[int]:
        async with db.session() as session:
            return [(await new_member(session)).id for _ in range(2)]

    try:
        LedgerMachine.runner = runner
        LedgerMachine.db = db
        LedgerMachine.members = runner.run(members())
        run_state_machine_as_test(LedgerMachine, settings=MACHINE_SETTINGS)
    finally:
        runner.run(db.dispose())
        runner.close()
