"""A bare Temporal workflow of exactly the happy-path mission's shape, doing nothing.

Same Temporal work as MissionWorkflow on the happy path (payment right after the invoice):
8 activities (3 of them inside the 3 updates), 6 timers (3 fire, 3 are cancelled by an update or
the signal), 1 signal, and the same business waits; activities and timers the mission has beyond
that base (documents...) are added by `extra_activities` / `extra_timers`. bench/lifecycle.py
checks the shape against a real mission's history in every run and prints both. No database,
no API, no business rules.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from datetime import timedelta

from temporalio import activity, workflow

TIMEOUT = timedelta(seconds=30)


@activity.defn(name="bare_noop")
async def noop() -> None:
    """Does nothing: the cost of an activity to Temporal alone."""


@dataclass
class BareInput:
    # seconds after the workflow starts, as the mission's business dates are
    contract_deadline: float
    start_at: float
    end_at: float
    report_deadline: float
    pay_at: float
    collection_deadline: float
    # what the mission does beyond this base shape (e.g. its document activities), run first
    extra_activities: int = 0
    extra_timers: int = 0
    extra_patches: int = 0  # workflow.patched(): a marker (and a search-attribute upsert) each


@workflow.defn(name="BareMission")
class BareMission:
    def __init__(self) -> None:
        self.contract_steps = 0
        self.reported = False
        self.invoiced = False
        self.paid = False
        self.started_at = 0.0

    @workflow.run
    async def run(self, inp: BareInput) -> str:
        self.started_at = workflow.now().timestamp()
        for n in range(inp.extra_patches):
            workflow.patched(f"bench-{n}")
        for _ in range(inp.extra_activities):
            await self._noop()
        for _ in range(inp.extra_timers):
            await workflow.sleep(0.001)
        try:  # contract: the member signs and the client confirms before the deadline
            await workflow.wait_condition(
                lambda: self.contract_steps >= 2, timeout=self._until(inp.contract_deadline)
            )
        except TimeoutError:
            return "cancelled"
        await self._noop()  # declaration
        await self._sleep_until(inp.start_at)
        await self._sleep_until(inp.end_at)
        await self._noop()  # work report due
        try:
            await workflow.wait_condition(
                lambda: self.reported, timeout=self._until(inp.report_deadline)
            )
        except TimeoutError:
            return "late"
        await self._noop()  # invoice
        self.invoiced = True
        await self._noop()  # invoice email
        salary = asyncio.ensure_future(self._salary(inp))
        try:
            await workflow.wait_condition(
                lambda: self.paid, timeout=self._until(inp.collection_deadline)
            )
        except TimeoutError:
            pass
        await salary
        return "paid" if self.paid else "unpaid"

    async def _salary(self, inp: BareInput) -> None:
        await self._sleep_until(inp.pay_at)
        await self._noop()

    def _until(self, at: float) -> float:
        return max(0.001, at - (workflow.now().timestamp() - self.started_at))

    async def _sleep_until(self, at: float) -> None:
        seconds = at - (workflow.now().timestamp() - self.started_at)
        if seconds > 0:
            await workflow.sleep(seconds)

    async def _noop(self) -> None:
        await workflow.execute_activity(noop, start_to_close_timeout=TIMEOUT)

    @workflow.update
    async def sign_contract(self) -> str:
        await self._noop()
        self.contract_steps += 1
        return "signed"

    @workflow.update
    async def confirm_client(self) -> str:
        await self._noop()
        self.contract_steps += 1
        return "confirmed"

    @workflow.update
    async def submit_work_report(self) -> str:
        await self._noop()
        self.reported = True
        return "reported"

    @workflow.signal
    def payment_recorded(self) -> None:
        self.paid = True

    @workflow.query
    def is_invoiced(self) -> bool:
        return self.invoiced


async def run_worker(address: str, task_queue: str) -> None:
    """The bare worker process: same cache size and defaults as Coopflow's worker."""
    from temporalio.client import Client
    from temporalio.worker import Worker

    client = await Client.connect(address)
    worker = Worker(
        client,
        task_queue=task_queue,
        workflows=[BareMission],
        activities=[noop],
        max_cached_workflows=20000,
    )
    await worker.run()
