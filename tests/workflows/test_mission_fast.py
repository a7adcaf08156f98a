"""The mission workflow alone, with stand-in activities (samples-python style): no database, no
API, only the time-skipping server. These pin the workflow's own decisions (what it calls, in
which order, what it waits for) in a second or two each; the real-stack tests beside them prove
the activities and the API do what the stand-ins pretend.
"""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from datetime import date, timedelta
from decimal import Decimal
from typing import Any

import pytest
from temporalio import activity
from temporalio.client import WorkflowHandle, WorkflowUpdateFailedError
from temporalio.service import RPCError
from temporalio.testing import WorkflowEnvironment
from temporalio.worker import Worker

from contracts.mission import (
    CURRENT_REVISION,
    AttentionFlag,
    CancelRecord,
    ClockSpec,
    CollectionResult,
    ConfirmationRecord,
    ConfirmClient,
    DeclarationRequest,
    DocumentsRequest,
    DunningRequest,
    DunningRung,
    EmailRequest,
    InvoiceInfo,
    InvoiceRequest,
    LifecyclePolicy,
    MissionInput,
    MissionPlan,
    PaymentNotice,
    RetryStep,
    SalaryInfo,
    SalaryRequest,
    SignatureRecord,
    SignContract,
    SkippedStep,
    StepRecord,
    WorkReport,
    WorkReportRecord,
)
from workflows.mission import MissionWorkflow

DAY = 86400.0
TOTAL = Decimal("1210.00")
POLICY = LifecyclePolicy(
    confirmation_days=14,
    invoice_due_days=30,
    advance_working_days=7,
    report_reminder_days=3,
    report_reminder_repeat_days=7,
    report_reminders_max=3,
    dunning_ladder=[
        DunningRung(step="reminder_1", days_after_due=7),
        DunningRung(step="reminder_2", days_after_due=21),
        DunningRung(step="formal_notice", days_after_due=35),
        DunningRung(step="write_off", days_after_due=65),
    ],
    step_max_attempts=2,
    step_retry_initial_seconds=0.05,
    step_retry_max_seconds=0.1,
    step_timeout_seconds=10.0,
    update_step_attempts=2,
    update_wait_seconds=5.0,
)


@dataclass
class StandIns:
    """Every activity of the mission workflow, answering at once and noting the call."""

    calls: list[str] = field(default_factory=list)
    declaration_failures: int = 0
    signature_failures: int = 0
    balance: Decimal = TOTAL
    issue_date: date | None = None

    def note(self, name: str) -> None:
        self.calls.append(name)

    @activity.defn(name="record_step")
    async def record_step(self, rec: StepRecord) -> None:
        self.note(f"record_step:{rec.step}")

    @activity.defn(name="flag_attention")
    async def flag_attention(self, flag: AttentionFlag) -> None:
        self.note(f"flag_attention:{flag.step}")

    @activity.defn(name="record_signature")
    async def record_signature(self, rec: SignatureRecord) -> None:
        self.note("record_signature")
        if self.signature_failures > 0:
            self.signature_failures -= 1
            raise RuntimeError("database unavailable (stand-in)")

    @activity.defn(name="record_client_confirmation")
    async def record_client_confirmation(self, rec: ConfirmationRecord) -> None:
        self.note("record_client_confirmation")

    @activity.defn(name="record_work_report")
    async def record_work_report(self, rec: WorkReportRecord) -> None:
        self.note("record_work_report")

    @activity.defn(name="file_declaration")
    async def file_declaration(self, req: DeclarationRequest) -> str:
        self.note(f"file_declaration:{req.kind}")
        if self.declaration_failures > 0:
            self.declaration_failures -= 1
            raise RuntimeError("declaration gateway unavailable (stand-in)")
        return "DIMONA-STANDIN"

    @activity.defn(name="record_skipped_step")
    async def record_skipped_step(self, rec: SkippedStep) -> str:
        self.note(f"record_skipped_step:{rec.step}")
        return rec.reference

    @activity.defn(name="issue_invoice")
    async def issue_invoice(self, req: InvoiceRequest) -> InvoiceInfo:
        self.note("issue_invoice")
        self.issue_date = req.issue_date
        return InvoiceInfo(
            invoice_id=1,
            number="2026/000001",
            issue_date=req.issue_date,
            due_date=req.issue_date + timedelta(days=req.due_days),
            total_incl_vat=TOTAL,
            balance=self.balance,
            structured_communication="+++000/0000/00097+++",
        )

    @activity.defn(name="pay_salary")
    async def pay_salary(self, req: SalaryRequest) -> SalaryInfo:
        self.note("pay_salary")
        return SalaryInfo(source="fund", net_amount=Decimal("665.59"), paid_on=req.paid_on)

    @activity.defn(name="record_dunning_step")
    async def record_dunning_step(self, req: DunningRequest) -> CollectionResult:
        self.note(f"dunning:{req.step}")
        return CollectionResult(balance=self.balance, acted=self.balance > 0)

    @activity.defn(name="write_off_invoice")
    async def write_off_invoice(self, req: DunningRequest) -> CollectionResult:
        self.note("write_off")
        return CollectionResult(balance=self.balance, acted=self.balance > 0)

    @activity.defn(name="cancel_mission")
    async def cancel_mission(self, rec: CancelRecord) -> None:
        self.note("cancel_mission")

    @activity.defn(name="send_email")
    async def send_email(self, req: EmailRequest) -> None:
        self.note(f"email:{req.step}")

    @activity.defn(name="prepare_documents")
    async def prepare_documents(self, req: DocumentsRequest) -> None:
        self.note("prepare_documents")

    def all(self) -> list[Any]:
        return [
            self.record_step,
            self.flag_attention,
            self.record_signature,
            self.record_client_confirmation,
            self.record_work_report,
            self.file_declaration,
            self.record_skipped_step,
            self.issue_invoice,
            self.pay_salary,
            self.record_dunning_step,
            self.write_off_invoice,
            self.cancel_mission,
            self.send_email,
            self.prepare_documents,
        ]


@dataclass
class Fast:
    env: WorkflowEnvironment
    acts: StandIns
    handle: WorkflowHandle[Any, Any]
    clock: ClockSpec
    plan: MissionPlan

    async def skip_to(self, day: date) -> None:
        target = self.clock.to_clock().start_of(day) + timedelta(hours=1)
        now = await self.env.get_current_time()
        if target > now:
            await self.env.sleep(target - now)

    async def status(self) -> Any:
        return await self.handle.query(MissionWorkflow.status)

    async def until(self, done: Any) -> Any:
        """The workflow's status once `done(status)` holds (it runs on between our calls)."""
        status = await self.status()
        for _ in range(200):
            if done(status):
                return status
            await asyncio.sleep(0.05)
            status = await self.status()
        raise AssertionError(f"not reached; status {status}")

    async def sign_and_confirm(self) -> None:
        await self.handle.execute_update(MissionWorkflow.sign_contract, SignContract(actor="m"))
        await self.handle.execute_update(
            MissionWorkflow.confirm_client, ConfirmClient(method="order form", actor="ops")
        )

    async def to_invoice(self) -> None:
        await self.sign_and_confirm()
        await self.skip_to(self.plan.end_date)
        await self.handle.execute_update(
            MissionWorkflow.submit_work_report, WorkReport(days_worked=2, actor="m")
        )
        await self.until(lambda s: s.invoice_number is not None)


@pytest.fixture
async def fast(ts_env: WorkflowEnvironment) -> AsyncIterator[Fast]:
    now = await ts_env.get_current_time()
    today = date(2026, 3, 2)  # a Monday
    clock = ClockSpec(anchor_real=now, anchor_date=today, day_seconds=DAY)
    plan = MissionPlan(
        mission_id=1,
        start_date=today + timedelta(days=3),
        end_date=today + timedelta(days=4),
        pay_date=today + timedelta(days=15),
        created_on=today,
        policy=POLICY,
    )
    acts = StandIns()
    queue = f"fast-{uuid.uuid4().hex[:8]}"
    async with Worker(
        ts_env.client, task_queue=queue, workflows=[MissionWorkflow], activities=acts.all()
    ):
        handle = await ts_env.client.start_workflow(
            MissionWorkflow.run,
            MissionInput(mission_id=1, clock=clock, plan=plan, revision=CURRENT_REVISION),
            id=f"fast-mission-{uuid.uuid4().hex[:8]}",
            task_queue=queue,
        )
        yield Fast(ts_env, acts, handle, clock, plan)
        try:
            await handle.terminate("test finished")
        except Exception:
            pass


def before(calls: list[str], first: str, second: str) -> bool:
    return calls.index(first) < calls.index(second)


async def test_paid_before_payday(fast: Fast) -> None:
    await fast.to_invoice()
    assert (await fast.status()).stage == "invoiced"
    fast.acts.balance = Decimal("0")
    await fast.handle.signal(
        MissionWorkflow.payment_recorded, PaymentNotice(payment_id=1, balance=Decimal("0"))
    )
    await fast.skip_to(fast.plan.pay_date)
    assert await fast.handle.result() == "paid"
    calls = fast.acts.calls
    for once in ("issue_invoice", "pay_salary", "file_declaration:in", "email:invoice"):
        assert calls.count(once) == 1, calls
    assert before(calls, "record_signature", "file_declaration:in")
    assert before(calls, "record_work_report", "issue_invoice")
    assert not [c for c in calls if c.startswith("dunning:")], "a paid invoice is not dunned"


async def test_never_paid_climbs_the_ladder_then_writes_off(fast: Fast) -> None:
    await fast.to_invoice()
    assert fast.acts.issue_date is not None
    due = fast.acts.issue_date + timedelta(days=POLICY.invoice_due_days)
    await fast.skip_to(due + timedelta(days=66))
    assert await fast.handle.result() == "written_off"
    rungs = [c for c in fast.acts.calls if c.startswith(("dunning:", "write_off"))]
    assert rungs == [
        "dunning:reminder_1",
        "dunning:reminder_2",
        "dunning:formal_notice",
        "write_off",
    ]
    assert fast.acts.calls.count("pay_salary") == 1, "the wage is paid whatever the client does"
    assert (await fast.status()).stage == "written_off"


async def test_unconfirmed_contract_is_cancelled_at_its_deadline(fast: Fast) -> None:
    await fast.handle.execute_update(MissionWorkflow.sign_contract, SignContract(actor="m"))
    await fast.skip_to(fast.plan.created_on + timedelta(days=13))
    assert (await fast.status()).stage == "contract"
    await fast.skip_to(fast.plan.created_on + timedelta(days=14))
    assert await fast.handle.result() == "cancelled"
    assert "cancel_mission" in fast.acts.calls
    assert "file_declaration:in" not in fast.acts.calls
    with pytest.raises((WorkflowUpdateFailedError, RPCError)):  # refused, or the run is over
        await fast.handle.execute_update(
            MissionWorkflow.confirm_client, ConfirmClient(method="too late", actor="ops")
        )


async def test_a_failing_step_is_flagged_then_retried_by_ops(fast: Fast) -> None:
    fast.acts.declaration_failures = POLICY.step_max_attempts  # the first round fails
    await fast.sign_and_confirm()
    status = await fast.until(lambda s: s.attention == "declaration")
    assert status.attention == "declaration" and status.stage == "declaration"
    # The status says so as the workflow schedules the flag; the flag's write follows.
    await fast.until(lambda _: "flag_attention:declaration" in fast.acts.calls)
    await fast.handle.execute_update(MissionWorkflow.retry, RetryStep(actor="ops", reason="back"))
    status = await fast.until(lambda s: s.declaration_filed)
    assert status.declaration_filed and status.attention is None
    assert fast.acts.calls.count("file_declaration:in") == POLICY.step_max_attempts + 1


async def test_a_work_report_before_the_work_ends_is_refused(fast: Fast) -> None:
    await fast.sign_and_confirm()
    with pytest.raises(WorkflowUpdateFailedError) as refused:
        await fast.handle.execute_update(
            MissionWorkflow.submit_work_report, WorkReport(days_worked=1, actor="m")
        )
    assert "report it from that day on" in str(refused.value.cause)
    assert "record_work_report" not in fast.acts.calls


async def test_an_accepted_signature_survives_a_database_outage(fast: Fast) -> None:
    """Issue 13 (the chaos campaign): the API answered 202 "accepted", then the signature's write
    failed a few times (PostgreSQL cut for seconds) and the update gave up: the signature was
    lost and the mission cancelled weeks later. Now the write is retried until it lands."""
    fast.acts.signature_failures = POLICY.update_step_attempts + 3
    result = await fast.handle.execute_update(
        MissionWorkflow.sign_contract, SignContract(actor="m")
    )
    assert result == "signed"
    assert (await fast.status()).signed
    assert fast.acts.calls.count("record_signature") == POLICY.update_step_attempts + 4
