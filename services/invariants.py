"""The invariants of ../shared/reliability.md, checked in one place on a whole database.

`check_invariants(session, temporal)` reads the book (and, when given a Temporal client, every
mission's workflow) and says, per invariant, whether it held and if not where it broke. The chaos
campaign (`bench/chaos.py`, `make chaos`) runs it after the faults; each check is also seen failing
on a deliberately corrupted database (tests/chaos/test_invariants.py).

What is checked (the INV numbers are reliability.md's):
- INV-1 nothing lost: every mission has a workflow; a closed workflow completed and left its mission
  in a terminal stage; a running one waits somewhere it should (a human step, a business date,
  a client payment) and ops can see it (the open missions, or the stuck cases when it needs them).
- INV-2 no double effect: one invoice per (mission, kind), one payout per (mission, period), one
  email per (mission, template, step), one document per (mission, key), one payment per bank
  transaction, one ledger transaction per event key, one write-off per invoice.
- INV-3 books balance: every ledger transaction has lines and sums to 0; the running balances kept
  by `ledger.post` (migration 0014) equal what the ledger's lines sum to.
- INV-4 invoice numbers: per series and year (invoices and credit notes), numbers 1..count, no gap,
  no duplicate.
- stage agreement: the database's `missions.stage` equals the workflow's own (`status` query, or
  its result once closed). A transition in flight may disagree for a moment: a mismatch is read
  again after `settle_seconds` and only one that stays is broken.
- INV-6 wages are always paid: every mission with an issued invoice whose pay date has passed has
  its salary payout (late ones are listed, not broken: a compressed business clock makes a
  few seconds of outage several business days).
- INV-7 no bank line refused: every payment's bank lines (applied, suspense, recovery) sum to the
  payment's amount, and all of them to the bank movement the ledger shows for payments.

Read-only: it never writes, so it may run against a live book.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date, timedelta
from decimal import Decimal
from typing import Any

from sqlalchemy import select, text
from sqlalchemy.ext.asyncio import AsyncSession
from temporalio.client import Client, WorkflowExecutionStatus

from contracts.mission import MissionStatus
from models import Mission
from services.access import Viewer, scope_missions
from services.mission_filters import anchored_today
from services.stuck import stuck_cases

log = logging.getLogger(__name__)

TERMINAL_STAGES = frozenset({"paid", "written_off", "cancelled"})
# Where a running mission may legitimately wait (the workflow's `waiting_for`, its prefix).
WAITING_POINTS = (
    "start",
    "signature and client confirmation",
    "employment declaration",
    "start of the work",
    "end of the work",
    "work report",
    "client payment",
    "salary",
    "pay day",
)
MAX_DETAILS = 20  # per check: enough to find the cause, not a dump of the book
STATUS_TIMEOUT = 5.0


@dataclass
class Check:
    """One invariant: held or broken, and where."""

    code: str
    title: str
    details: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    skipped: str | None = None

    @property
    def held(self) -> bool:
        return not self.details

    def broken(self, detail: str) -> None:
        self.details.append(detail)

    def line(self) -> str:
        if self.skipped:
            verdict = f"not checked ({self.skipped})"
        else:
            verdict = "held" if self.held else f"BROKEN ({len(self.details)})"
        return f"{self.code:<6} {self.title:<52} {verdict}"


@dataclass
class InvariantReport:
    checks: list[Check]
    missions: int = 0
    by_stage: dict[str, int] = field(default_factory=dict)
    mission_ids: list[int] = field(default_factory=list)

    @property
    def held(self) -> bool:
        return all(c.held for c in self.checks)

    def check(self, code: str) -> Check:
        return next(c for c in self.checks if c.code == code)

    def broken_codes(self) -> list[str]:
        return [c.code for c in self.checks if not c.held]

    def lines(self) -> list[str]:
        out = []
        for c in self.checks:
            out.append(c.line())
            for d in c.details[:MAX_DETAILS]:
                out.append(f"         - {d}")
            if len(c.details) > MAX_DETAILS:
                out.append(f"         - ... and {len(c.details) - MAX_DETAILS} more")
            for n in c.notes[:MAX_DETAILS]:
                out.append(f"         note: {n}")
        return out


def eur(cents: Any) -> Decimal:
    """Money read with raw SQL is integer cents (models.base.Money)."""
    return (Decimal(int(cents or 0)) / 100).quantize(Decimal("0.01"))


async def _rows(session: AsyncSession, sql: str, **params: Any) -> Sequence[Any]:
    return (await session.execute(text(sql), params)).all()


# ---------------------------------------------------------------- INV-2


DUPLICATES = (
    ("invoice per (mission, kind)", "invoices", "mission_id, kind"),
    ("payout per (mission, period)", "payouts", "mission_id, period"),
    ("email per (mission, template, step)", "outbox_emails", "mission_id, template, step"),
    ("document per (mission, key)", "documents", "mission_id, key"),
    ("payment per bank transaction", "payments", "bank_account, bank_transaction_id"),
    ("ledger transaction per event", "ledger_transactions", "event_key"),
    ("write-off per invoice", "write_offs", "invoice_id"),
    ("payout per end-to-end id", "payouts", "end_to_end_id"),
)


async def check_no_double_effect(session: AsyncSession) -> Check:
    check = Check("INV-2", "no double effect (invoice, payout, email, document)")
    for what, table, columns in DUPLICATES:
        # Not a constraint lookup: the rows themselves (a dropped constraint must not hide one).
        first = columns.split(",")[0]  # emails without a mission are not per-mission effects
        rows = await _rows(
            session,
            f"SELECT {columns}, count(*) FROM {table} WHERE {first} IS NOT NULL"
            f" GROUP BY {columns} HAVING count(*) > 1",
        )
        for row in rows:
            key = ", ".join(str(v) for v in row[:-1])
            check.broken(f"{row[-1]} rows where one {what} is allowed: ({key})")
    return check


# ---------------------------------------------------------------- INV-3


RUNNING_BALANCES = (
    (
        "ledger_balances",
        "SELECT account, sum(amount) FROM ledger_entries GROUP BY account",
        "SELECT account, balance FROM ledger_balances",
    ),
    (
        "fund_advance_balances",
        """SELECT t.mission_id || '/' || e.client_id, sum(e.amount)
           FROM ledger_entries e JOIN ledger_transactions t ON t.id = e.transaction_id
           WHERE e.account = 'fund_advances' GROUP BY t.mission_id, e.client_id""",
        "SELECT mission_id || '/' || client_id, amount FROM fund_advance_balances",
    ),
    (
        "fund_client_exposures",
        """SELECT e.client_id::text, sum(e.amount) FROM ledger_entries e
           WHERE e.account = 'fund_advances' GROUP BY e.client_id""",
        "SELECT client_id::text, amount FROM fund_client_exposures",
    ),
    (
        "fund_member_exposures",
        """SELECT m.member_id::text, sum(e.amount)
           FROM ledger_entries e JOIN ledger_transactions t ON t.id = e.transaction_id
           JOIN missions m ON m.id = t.mission_id
           WHERE e.account = 'fund_advances' GROUP BY m.member_id""",
        "SELECT member_id::text, amount FROM fund_member_exposures",
    ),
)


async def check_books_balance(session: AsyncSession) -> Check:
    check = Check("INV-3", "books balance; running balances = ledger sums")
    for tx_id, key, total in await _rows(
        session,
        """SELECT t.id, t.event_key, sum(e.amount) FROM ledger_transactions t
           JOIN ledger_entries e ON e.transaction_id = t.id
           GROUP BY t.id, t.event_key HAVING sum(e.amount) <> 0""",
    ):
        check.broken(f"ledger transaction {tx_id} ({key}) sums to {eur(total)}, not 0")
    for tx_id, key in await _rows(
        session,
        """SELECT t.id, t.event_key FROM ledger_transactions t WHERE NOT EXISTS
           (SELECT 1 FROM ledger_entries e WHERE e.transaction_id = t.id)""",
    ):
        check.broken(f"ledger transaction {tx_id} ({key}) has no lines")
    for name, summed_sql, kept_sql in RUNNING_BALANCES:
        summed = {k: eur(v) for k, v in await _rows(session, summed_sql)}
        kept = {k: eur(v) for k, v in await _rows(session, kept_sql)}
        for k in sorted(set(summed) | set(kept)):
            want, got = summed.get(k, Decimal("0")), kept.get(k, Decimal("0"))
            if want != got:
                check.broken(f"{name} {k}: kept {got}, the ledger's lines sum to {want}")
    return check


# ---------------------------------------------------------------- INV-4


async def check_invoice_numbers(session: AsyncSession) -> Check:
    check = Check("INV-4", "invoice numbers gap-free per series and year")
    for table in ("invoices", "credit_notes"):
        for series, year, n, distinct, lowest, highest in await _rows(
            session,
            f"""SELECT series, year, count(*), count(DISTINCT sequence), min(sequence),
                       max(sequence) FROM {table} GROUP BY series, year ORDER BY series, year""",
        ):
            if not (n == distinct == highest and lowest == 1):
                check.broken(
                    f"{table} {series}/{year}: {n} numbers, {distinct} distinct, "
                    f"from {lowest} to {highest}"
                )
    return check


# ---------------------------------------------------------------- INV-6


async def check_wages_paid(session: AsyncSession, today: date) -> Check:
    check = Check("INV-6", "every salary due is paid")
    for mission_id, pay_date in await _rows(
        session,
        """SELECT m.id, m.pay_date FROM missions m
           WHERE m.pay_date < :today
             AND EXISTS (SELECT 1 FROM invoices i WHERE i.mission_id = m.id AND i.kind = 'invoice')
             AND NOT EXISTS (SELECT 1 FROM payouts p
                             WHERE p.mission_id = m.id AND p.period = 'salary')
           ORDER BY m.id""",
        today=today,
    ):
        check.broken(f"mission {mission_id}: salary due on {pay_date}, not paid")
    late = await _rows(
        session,
        """SELECT m.id, m.pay_due_date, p.paid_on FROM missions m
           JOIN payouts p ON p.mission_id = m.id AND p.period = 'salary'
           WHERE m.pay_due_date IS NOT NULL AND p.paid_on > m.pay_due_date ORDER BY m.id""",
    )
    if late:
        worst = max(late, key=lambda r: (r[2] - r[1]).days)
        days = (worst[2] - worst[1]).days
        check.notes.append(
            f"{len(late)} salaries paid after their legal date, the latest {days} days late"
            f" (mission {worst[0]}: due by {worst[1]}, paid on {worst[2]})"
        )
    return check


# ---------------------------------------------------------------- INV-7


async def check_bank_lines_booked(session: AsyncSession) -> Check:
    check = Check("INV-7", "every bank line booked once (applied or suspense)")
    rows = await _rows(
        session,
        """SELECT p.id, p.bank_transaction_id, p.amount,
                  coalesce((SELECT sum(e.amount) FROM ledger_transactions t
                            JOIN ledger_entries e ON e.transaction_id = t.id
                            WHERE e.account = 'bank'
                              AND t.kind IN ('client_payment', 'payment_suspense', 'recovery')
                              AND split_part(t.event_key, ':', 2) = p.id::text), 0)
           FROM payments p ORDER BY p.id""",
    )
    for payment_id, bank_tx, amount, booked in rows:
        if eur(booked) != eur(amount):
            check.broken(f"payment {payment_id} ({bank_tx}) of {eur(amount)}: {eur(booked)} booked")
    movement = await session.scalar(
        text(
            """SELECT coalesce(sum(e.amount), 0) FROM ledger_transactions t
               JOIN ledger_entries e ON e.transaction_id = t.id
               WHERE e.account = 'bank'
                 AND t.kind IN ('client_payment', 'payment_suspense', 'recovery')"""
        )
    )
    received = sum((eur(r[2]) for r in rows), Decimal("0.00"))
    if eur(movement) != received:
        check.broken(f"payments received {received}, bank movement booked for them {eur(movement)}")
    return check


# ---------------------------------------------------------------- INV-1 and stage agreement


@dataclass
class WorkflowView:
    """What Temporal says of one mission's workflow."""

    status: str  # RUNNING, COMPLETED, FAILED, ... or MISSING / UNREACHABLE
    stage: str | None = None  # the workflow's stage (its query) or its result once completed
    waiting_for: str | None = None
    attention: str | None = None


async def workflow_view(temporal: Client, workflow_id: str) -> WorkflowView:
    from temporalio.service import RPCError, RPCStatusCode

    handle = temporal.get_workflow_handle(workflow_id)
    try:
        desc = await handle.describe(rpc_timeout=timedelta(seconds=STATUS_TIMEOUT))
    except RPCError as err:
        if err.status == RPCStatusCode.NOT_FOUND:
            return WorkflowView("MISSING")
        return WorkflowView("UNREACHABLE", waiting_for=str(err))
    status = desc.status
    if status == WorkflowExecutionStatus.COMPLETED:
        result = await handle.result(rpc_timeout=timedelta(seconds=STATUS_TIMEOUT))
        return WorkflowView("COMPLETED", stage=str(result))
    if status != WorkflowExecutionStatus.RUNNING:
        return WorkflowView(status.name if status else "UNKNOWN")
    try:
        live: MissionStatus = await asyncio.wait_for(
            handle.query(
                "status",
                result_type=MissionStatus,
                rpc_timeout=timedelta(seconds=STATUS_TIMEOUT),
            ),
            STATUS_TIMEOUT + 1,
        )
    except Exception as err:  # no worker to answer: running, but its stage unknown
        return WorkflowView("RUNNING", waiting_for=f"(status query failed: {err})")
    return WorkflowView("RUNNING", live.stage, live.waiting_for, live.attention)


async def _views(temporal: Client, workflow_ids: list[str]) -> dict[str, WorkflowView]:
    sem = asyncio.Semaphore(8)

    async def one(wid: str) -> tuple[str, WorkflowView]:
        async with sem:
            try:
                return wid, await workflow_view(temporal, wid)
            except Exception as err:
                return wid, WorkflowView("UNREACHABLE", waiting_for=str(err))

    return dict(await asyncio.gather(*(one(w) for w in workflow_ids)))


async def _db_stages(session: AsyncSession) -> dict[int, tuple[str, str | None, bool]]:
    rows = await _rows(
        session,
        """SELECT id, stage, CASE WHEN workflow_started_at IS NULL THEN NULL
                  ELSE workflow_id END, needs_attention FROM missions ORDER BY id""",
    )
    return {r[0]: (r[1], r[2], bool(r[3])) for r in rows}


async def check_lifecycles(
    session: AsyncSession,
    temporal: Client | None,
    settle_seconds: float,
    rechecks: int,
) -> tuple[Check, Check]:
    """INV-1 (nothing lost, the unfinished visible to ops) and database stage = workflow stage."""
    lost = Check("INV-1", "nothing lost; every unfinished mission visible to ops")
    agree = Check("STAGE", "database stage = workflow stage")
    missions = await _db_stages(session)
    for mission_id, (stage, workflow_id, _) in missions.items():
        if workflow_id is None:
            lost.broken(f"mission {mission_id} ({stage}) has no workflow")
    if temporal is None:
        agree.skipped = "no Temporal client"
        lost.notes.append("workflows not read (no Temporal client)")
        return lost, agree

    started = {m: w for m, (_, w, _) in missions.items() if w is not None}
    views = await _views(temporal, list(started.values()))
    mismatched = [m for m, w in started.items() if _disagrees(missions[m][0], views[w])]
    for _ in range(rechecks):  # a transition in flight: read both sides again once quiet
        if not mismatched:
            break
        await asyncio.sleep(settle_seconds)
        await session.rollback()  # a fresh snapshot of the table
        missions = await _db_stages(session)
        views.update(await _views(temporal, [started[m] for m in mismatched]))
        mismatched = [m for m in mismatched if _disagrees(missions[m][0], views[started[m]])]
    for m in mismatched:
        view = views[started[m]]
        agree.broken(
            f"mission {m}: database says {missions[m][0]}, workflow ({view.status}) says "
            f"{view.stage or view.waiting_for}"
        )

    open_ids, stuck_ids = await _visible_to_ops(session, temporal)
    for mission_id, workflow_id in started.items():
        stage, _, attention = missions[mission_id]
        view = views[workflow_id]
        if view.status == "COMPLETED":
            if stage not in TERMINAL_STAGES:
                lost.broken(f"mission {mission_id}: workflow completed, stage left at {stage}")
            continue
        if view.status != "RUNNING":
            lost.broken(f"mission {mission_id} ({stage}): workflow {view.status}")
            continue
        where = view.waiting_for or ""
        if view.attention or attention:
            if mission_id not in stuck_ids:
                lost.broken(f"mission {mission_id} needs ops ({view.attention}), not a stuck case")
            else:
                lost.notes.append(f"mission {mission_id} waits for ops: {view.attention}")
            continue
        if not where.startswith(WAITING_POINTS):
            lost.broken(f"mission {mission_id} ({stage}) waits on {where!r}")
        if stage not in TERMINAL_STAGES and mission_id not in open_ids:
            lost.broken(f"mission {mission_id} ({stage}) is unfinished and ops cannot see it")
    return lost, agree


def _disagrees(db_stage: str, view: WorkflowView) -> bool:
    if view.status == "COMPLETED" or (view.status == "RUNNING" and view.stage is not None):
        return view.stage != db_stage
    return False  # not readable now: INV-1 says so


async def _visible_to_ops(session: AsyncSession, temporal: Client) -> tuple[set[int], set[int]]:
    """What an ops user finds without knowing the ids: the open missions (every stage but the
    terminal ones) and the stuck cases (those waiting for ops must be among them)."""
    ops = Viewer(user_id=0, role="ops", member_id=None)
    query = scope_missions(select(Mission.id), ops).where(Mission.stage.not_in(TERMINAL_STAGES))
    open_ids = set((await session.scalars(query)).all())
    stuck = await stuck_cases(session, temporal, ops)
    return open_ids, {c.mission_id for c in stuck if c.mission_id is not None}


# ---------------------------------------------------------------- all of them


async def check_invariants(
    session: AsyncSession,
    temporal: Client | None,
    *,
    settle_seconds: float = 2.0,
    rechecks: int = 3,
) -> InvariantReport:
    """Every invariant on the whole book, each held or broken with details."""
    today = await anchored_today(session)
    lost, agree = await check_lifecycles(session, temporal, settle_seconds, rechecks)
    if temporal is not None:
        await session.rollback()  # time passed reading workflows: the money from a fresh snapshot
    checks = [
        lost,
        await check_no_double_effect(session),
        await check_books_balance(session),
        await check_invoice_numbers(session),
        agree,
        await check_wages_paid(session, today),
        await check_bank_lines_booked(session),
    ]
    by_stage = {
        str(stage): int(n)
        for stage, n in await _rows(
            session, "SELECT stage, count(*) FROM missions GROUP BY stage ORDER BY stage"
        )
    }
    ids = [int(r[0]) for r in await _rows(session, "SELECT id FROM missions ORDER BY id")]
    return InvariantReport(checks, sum(by_stage.values()), by_stage, ids)
