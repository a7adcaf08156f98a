"""MissionWorkflow: one member mission from contract to final settlement.

Deterministic orchestration only: time comes from workflow.now() through the business clock,
every duration from the plan the first activity reads out of the dated policy table, every side
effect from an activity. Member and ops actions are Updates whose validators refuse out-of-order or
repeated steps before anything enters the history.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from datetime import date, timedelta
from decimal import Decimal
from typing import Any, TypeVar, cast

from temporalio import workflow
from temporalio.common import RetryPolicy
from temporalio.exceptions import ActivityError, ApplicationError

from contracts.stages import COLLECTING, Stage

with workflow.unsafe.imports_passed_through():
    from activities.mission import MissionActivities
    from contracts.mission import (
        MAX_HOLD_DAYS,
        REVISION_PATCHES,
        AttentionFlag,
        CancelMission,
        CancelRecord,
        ClockSpec,
        CollectionResult,
        ConfirmationRecord,
        ConfirmClient,
        DeclarationRequest,
        DocumentsRequest,
        DunningControl,
        DunningRequest,
        EmailRequest,
        HoldMission,
        InvoiceInfo,
        InvoiceRequest,
        MissionInput,
        MissionPlan,
        MissionStatus,
        PaymentNotice,
        ResumeMission,
        RetryStep,
        SalaryInfo,
        SalaryRequest,
        SignatureRecord,
        SignContract,
        SkippedStep,
        SkipStep,
        StepRecord,
        WorkReport,
        WorkReportRecord,
    )
    from domain.clock import BusinessClock

T = TypeVar("T")

# What the member signs and the client confirms, made as soon as the mission starts.
START_DOCUMENTS = ["order_form", "contract", "payslip_estimate"]


def skippable(step: str) -> bool:
    """Steps ops may record as done by hand: their result is a reference or nothing at all."""
    return step in ("declaration", "declaration_cancel", "documents") or step.startswith("email:")


def rejected(message: str, field: str | None = None, status: int = 409) -> ApplicationError:
    """A refused step: the API turns it into an HTTP error naming the field and the reason."""
    return ApplicationError(
        message, {"field": field, "status": status}, type="StepRejected", non_retryable=True
    )


class Cancelled(Exception):
    """Raised inside run() when a cancellation was accepted; unwinds to the cancel path."""


@workflow.defn(name="MissionWorkflow")
class MissionWorkflow:
    @workflow.init
    def __init__(self, inp: MissionInput) -> None:
        # From the input, before anything else runs: an Update delivered with the start (a member
        # signing right after creating the mission) is handled before run() begins, and needs the
        # clock and the plan already.
        self.mission_id = inp.mission_id
        self.clock: BusinessClock | None = inp.clock.to_clock()
        self.clock_spec: ClockSpec = inp.clock
        self.plan: MissionPlan | None = inp.plan
        self.revision = inp.revision
        self.stage = Stage.CONTRACT
        self.signed = False
        self.signed_recorded = False
        self.confirmed = False
        self.confirmed_recorded = False
        self.declaration_filed = False
        self.started = False
        self.report: WorkReport | None = None
        self.report_recorded = False
        self.invoice: InvoiceInfo | None = None
        self.balance: Decimal | None = None
        self.salary_paid = False
        self.salary_withheld: str | None = None
        self.collection_done = False
        self.settled = False
        self.dunning_level = 0
        self.cancel_request: CancelMission | None = None
        self.retry_requested = False
        self.attention: str | None = None
        self.waiting_for = "start"
        self.declaration_ref: str | None = None
        self.retries = 0
        self.attention_retryable = True
        # Ops repairs (issue 6): a step done by hand, a hold, a paused dunning ladder.
        self.skip_request: SkipStep | None = None
        self.hold: HoldMission | None = None
        self.holds = 0
        self.dunning_paused_on: date | None = None
        self.dunning_shift_days = 0

    # ------------------------------------------------------------------ main line
    @workflow.run
    async def run(self, inp: MissionInput) -> str:
        self.mission_id = inp.mission_id
        self.clock = inp.clock.to_clock()
        self.clock_spec = inp.clock
        self.plan = inp.plan
        try:
            # Released histories have no documents step: replaying them must not add one.
            if self._patched("documents-at-start"):
                await self._step(
                    "documents",
                    MissionActivities.prepare_documents,
                    DocumentsRequest(
                        mission_id=self.mission_id,
                        kinds=START_DOCUMENTS,
                        business_date=self.today(),
                    ),
                )
            await self._contract_phase()
            await self._declaration_phase()
            await self._work_phase()
            await self._invoice_phase()
            return await self._money_phase()
        except Cancelled:
            return await self._cancel_path()

    async def _contract_phase(self) -> None:
        plan = self._plan()
        deadline = self._contract_deadline()
        self.waiting_for = "signature and client confirmation"
        both = await self._wait_until(
            deadline,
            lambda: (
                (self.signed_recorded and self.confirmed_recorded)
                or self.cancel_request is not None
            ),
        )
        self._raise_if_cancelled()
        if not both:
            missing = []
            if not self.signed_recorded:
                missing.append("the member's signature")
            if not self.confirmed_recorded:
                missing.append("the client's confirmation of the order")
            self.cancel_request = CancelMission(
                reason=(
                    f"No {' and no '.join(missing)} within {plan.policy.confirmation_days} days "
                    f"(deadline {deadline.isoformat()})"
                ),
                actor="system",
            )
            raise Cancelled()

    async def _declaration_phase(self) -> None:
        self.stage = Stage.DECLARATION
        self.waiting_for = "employment declaration"
        ref: str = await self._step(
            "declaration",
            MissionActivities.file_declaration,
            DeclarationRequest(mission_id=self.mission_id, business_date=self.today()),
        )
        self.declaration_filed = True
        self.stage = Stage.IN_PROGRESS
        self.declaration_ref = ref

    async def _work_phase(self) -> None:
        plan = self._plan()
        self.waiting_for = "start of the work"
        await self._wait_until(plan.start_date, lambda: self.cancel_request is not None)
        self._raise_if_cancelled()
        self.started = True
        self.waiting_for = "end of the work"
        await self._wait_until(plan.end_date)
        self.stage = Stage.WORK_REPORT
        await self._record("work_report_due", "work_report_due", stage=Stage.WORK_REPORT)
        self.waiting_for = "work report"
        reminder_on = plan.end_date + timedelta(days=plan.policy.report_reminder_days)
        reminders = 0
        while not self.report_recorded:
            if reminders >= plan.policy.report_reminders_max:
                await self._flag(
                    "work_report",
                    f"work report overdue: {reminders} reminders sent, none answered",
                    reminders,
                    retryable=False,
                )
                await workflow.wait_condition(lambda: self.report_recorded)
                self.attention = None  # record_work_report cleared the flag in the table
                break
            if await self._wait_until(reminder_on, lambda: self.report_recorded):
                break
            reminders += 1
            await self._email("work_report_reminder", f"reminder_{reminders}", "member")
            reminder_on = reminder_on + timedelta(days=plan.policy.report_reminder_repeat_days)

    async def _invoice_phase(self) -> None:
        plan = self._plan()
        self.invoice = await self._step(
            "invoice",
            MissionActivities.issue_invoice,
            InvoiceRequest(
                mission_id=self.mission_id,
                issue_date=self.today(),
                due_days=plan.policy.invoice_due_days,
            ),
        )
        if self.balance is None:
            self.balance = self.invoice.balance
        self.stage = Stage.INVOICED
        await self._email("invoice", "invoice", "client")

    async def _advance_phase(self) -> None:
        """Payday: the salary is paid whether or not the client has paid (INV-6).

        Since issue 12 pay_salary never answers "withheld": the loop below only runs for
        workflows that recorded a withheld result before; they ask again (retry timer, or once
        the collection ended) and are paid then, never left unpaid ("wages-always-paid")."""
        plan = self._plan()
        await self._wait_until(plan.pay_date)
        attempt = 0
        while True:
            salary: SalaryInfo = await self._step(
                "salary",
                MissionActivities.pay_salary,
                SalaryRequest(
                    mission_id=self.mission_id,
                    paid_on=max(self.today(), plan.pay_date),
                    attempt=attempt,
                ),
            )
            if salary.source != "withheld":
                self.salary_paid = True
                return
            # Not advanced: the salary waits for the client's money (or for the fund, if it may).
            attempt += 1
            self.salary_withheld = salary.reason
            if salary.retry_days > 0:
                retry_on = self.today() + timedelta(days=salary.retry_days)
                await self._wait_until(retry_on, self._collection_over)
            else:
                await workflow.wait_condition(self._collection_over)
            if not self.settled and self.collection_done:
                if self._patched("wages-always-paid"):
                    continue  # earned wages are paid, client or no client
                await self._record(
                    "salary_not_paid",
                    "salary_not_paid",
                    detail={"reason": f"{salary.reason}; the client never paid"},
                )
                return

    async def _money_phase(self) -> str:
        """Salary and collection run side by side: neither waits for the other."""
        salary = asyncio.ensure_future(self._advance_phase())
        try:
            outcome = await self._collection_phase()
        finally:
            self.collection_done = True
        await salary
        return outcome

    async def _collection_phase(self) -> str:
        plan = self._plan()
        invoice = self._invoice()
        if self.settled:
            return "paid"
        self.waiting_for = "client payment"
        # Decided when the first rung comes due (a mission paid in time records no marker).
        dated: bool | None = None
        for level, rung in enumerate(plan.policy.dunning_ladder, start=1):
            while True:
                # A paused ladder pushes every rung not yet climbed back by the days it was paused
                # (and, "dunning-dated-when-sent", by the days a letter left late).
                days = rung.days_after_due + self.dunning_shift_days
                on = invoice.due_date + timedelta(days=days)
                if await self._wait_until(on, self._paid_unsettled):
                    self._settle()
                    return "paid"
                if self.dunning_paused_on is None:
                    break
                if await self._dunning_gate():
                    self._settle()
                    return "paid"
            if dated is None:
                # INV-8: each rung and its letter are dated by the day they really run, and a
                # letter that left late pushes the rest of the ladder back by its lateness.
                dated = self._patched("dunning-dated-when-sent")
            clock = self.clock_spec if dated else None
            if rung.step == "write_off":
                result: CollectionResult = await self._step(
                    "write_off",
                    MissionActivities.write_off_invoice,
                    DunningRequest(
                        mission_id=self.mission_id,
                        level=level,
                        step=rung.step,
                        business_date=self.today(),
                        clock=clock,
                    ),
                )
                if result.acted:
                    self.stage = Stage.WRITTEN_OFF
                    await self._email("write_off_notice", "write_off", "member", clock)
                    return "written_off"
            else:
                result = await self._step(
                    rung.step,
                    MissionActivities.record_dunning_step,
                    DunningRequest(
                        mission_id=self.mission_id,
                        level=level,
                        step=rung.step,
                        business_date=self.today(),
                        clock=clock,
                    ),
                )
                if result.acted:
                    self.dunning_level = level
                    self.stage = Stage.DUNNING
                    self.waiting_for = f"client payment after {rung.step}"
                    await self._email(f"dunning_{rung.step}", rung.step, "client", clock)
                    if dated:
                        # The letter left today: the period it gives the client (Book XIX's 14
                        # days, the formal notice's) counts from today, so every rung behind it
                        # moves back by the days it left late (an email outage, a worker or
                        # database outage that made the timer fire late).
                        self.dunning_shift_days += max((self.today() - on).days, 0)
            self.balance = result.balance
            if result.balance <= 0:
                self._settle()
                return "paid"
        # A ladder without a write-off rung leaves the case to ops, visibly.
        await self._flag("collection", "dunning ladder exhausted without write-off", 0)
        await workflow.wait_condition(self._paid_unsettled)
        self._settle()
        return "paid"

    async def _cancel_path(self) -> str:
        request = self.cancel_request
        assert request is not None
        if self.declaration_filed:
            await self._step(
                "declaration_cancel",
                MissionActivities.file_declaration,
                DeclarationRequest(
                    mission_id=self.mission_id, business_date=self.today(), kind="cancel"
                ),
            )
        await self._step(
            "cancel",
            MissionActivities.cancel_mission,
            CancelRecord(
                mission_id=self.mission_id,
                reason=request.reason,
                actor=request.actor,
                business_date=self.today(),
            ),
        )
        self.stage = Stage.CANCELLED
        self.waiting_for = "nothing"
        return "cancelled"

    # ------------------------------------------------------------------ updates
    @workflow.update
    async def sign_contract(self, arg: SignContract) -> str:
        if self.signed:
            raise rejected("the contract is already signed", "signature")
        self.signed = True
        try:
            await self._quick(
                MissionActivities.record_signature,
                SignatureRecord(
                    mission_id=self.mission_id, business_date=self.today(), actor=arg.actor
                ),
            )
        except BaseException:
            self.signed = False
            raise
        self.signed_recorded = True
        return "signed"

    @sign_contract.validator
    def _validate_sign(self, arg: SignContract) -> None:
        self._refuse_if_closed_or_cancelling()
        if self.signed:
            raise rejected("the contract is already signed", "signature")
        if self.stage != Stage.CONTRACT:
            raise rejected(f"the mission is past the contract stage ({self.stage})", "signature")
        self._refuse_after_contract_deadline("signature")

    @workflow.update
    async def confirm_client(self, arg: ConfirmClient) -> str:
        if self.confirmed:
            raise rejected("the client's confirmation is already recorded", "method")
        self.confirmed = True
        try:
            await self._quick(
                MissionActivities.record_client_confirmation,
                ConfirmationRecord(
                    mission_id=self.mission_id,
                    business_date=self.today(),
                    method=arg.method,
                    actor=arg.actor,
                ),
            )
        except BaseException:
            self.confirmed = False
            raise
        self.confirmed_recorded = True
        return "confirmed"

    @confirm_client.validator
    def _validate_confirm(self, arg: ConfirmClient) -> None:
        self._refuse_if_closed_or_cancelling()
        if self.confirmed:
            raise rejected("the client's confirmation is already recorded", "method")
        if self.stage != Stage.CONTRACT:
            raise rejected(f"the mission is past the contract stage ({self.stage})", "method")
        self._refuse_after_contract_deadline("method")
        if not arg.method.strip():
            raise rejected("say how the client confirmed the order", "method", 422)

    @workflow.update
    async def submit_work_report(self, arg: WorkReport) -> str:
        if self.report is not None:
            raise rejected("the work report is already submitted", "days_worked")
        self.report = arg
        try:
            await self._quick(
                MissionActivities.record_work_report,
                WorkReportRecord(
                    mission_id=self.mission_id, business_date=self.today(), report=arg
                ),
            )
        except BaseException:
            self.report = None
            raise
        self.report_recorded = True
        return "reported"

    @submit_work_report.validator
    def _validate_report(self, arg: WorkReport) -> None:
        self._refuse_if_closed_or_cancelling()
        plan = self._plan()
        if self.report is not None:
            raise rejected("the work report is already submitted", "days_worked")
        if self.today() < plan.end_date:
            raise rejected(
                f"the work ends on {plan.end_date.isoformat()}: report it from that day on",
                "days_worked",
            )
        # The stage may lag behind the calendar while the workflow catches up (a worker back
        # after an outage): a signed and confirmed contract whose work has ended takes its report.
        catching_up = self.stage in (Stage.CONTRACT, Stage.DECLARATION) and (
            self.signed_recorded and self.confirmed_recorded
        )
        if self.stage not in (Stage.IN_PROGRESS, Stage.WORK_REPORT) and not catching_up:
            raise rejected(f"no work report is expected at stage {self.stage}", "days_worked")
        period = (plan.end_date - plan.start_date).days + 1
        if not 1 <= arg.days_worked <= period:
            raise rejected(
                f"days worked must be between 1 and {period} (the mission's period)",
                "days_worked",
                422,
            )
        for i, line in enumerate(arg.expenses):
            if line.amount <= 0:
                raise rejected("an expense amount must be positive", f"expenses.{i}.amount", 422)
            if not line.label.strip():
                raise rejected("an expense needs a label", f"expenses.{i}.label", 422)

    @workflow.update
    async def cancel(self, arg: CancelMission) -> str:
        if self.cancel_request is not None:
            raise rejected("the mission is already being cancelled", "reason")
        self.cancel_request = arg
        try:
            await workflow.wait_condition(
                lambda: self.stage == Stage.CANCELLED,
                timeout=timedelta(seconds=self._plan().policy.update_wait_seconds),
            )
        except TimeoutError:
            return "cancelling"
        return "cancelled"

    @cancel.validator
    def _validate_cancel(self, arg: CancelMission) -> None:
        self._refuse_if_closed_or_cancelling()
        if not arg.reason.strip():
            raise rejected("give a reason for the cancellation", "reason", 422)
        if self.started or self.today() >= self._plan().start_date:
            raise rejected("the work has started: the mission can no longer be cancelled", "reason")

    @workflow.update
    async def retry(self, arg: RetryStep) -> str:
        if self.attention is None:
            raise rejected("nothing is waiting for a retry", "mission")
        self.retry_requested = True
        return f"retrying {self.attention}"

    @retry.validator
    def _validate_retry(self, arg: RetryStep) -> None:
        if self.attention is None:
            raise rejected("the mission does not need attention: nothing to retry", "mission")
        if not self.attention_retryable:
            raise rejected(f"{self.attention} waits for the member, not for a retry", "mission")
        self._refuse_if_held()

    @workflow.update
    async def skip_step(self, arg: SkipStep) -> str:
        if self.attention is None:
            raise rejected("nothing is waiting for a repair", "mission")
        step = self.attention
        self.skip_request = arg
        return f"skipping {step}"

    @skip_step.validator
    def _validate_skip(self, arg: SkipStep) -> None:
        self._refuse_if_closed_or_cancelling()
        if self.attention is None or self.skip_request is not None:
            raise rejected("the mission does not need attention: nothing to skip", "mission")
        if not self.attention_retryable:
            raise rejected(f"{self.attention} waits for the member: nothing to skip", "mission")
        if not skippable(self.attention):
            raise rejected(f"{self.attention} cannot be done by hand: retry it", "mission")
        self._refuse_if_held()
        if not arg.reference.strip() or len(arg.reference) > 64:
            raise rejected("give the manual reference (at most 64 characters)", "reference", 422)
        if not arg.reason.strip():
            raise rejected("give a reason", "reason", 422)

    @workflow.update
    async def hold_mission(self, arg: HoldMission) -> str:
        self.hold = arg
        self.holds += 1
        return f"held until {arg.until.isoformat()}"

    @hold_mission.validator
    def _validate_hold(self, arg: HoldMission) -> None:
        self._refuse_if_finished()
        if self._held():
            raise rejected("the mission is already held: resume it first", "mission")
        if not arg.reason.strip():
            raise rejected("give a reason for the hold", "reason", 422)
        today = self.today()
        if arg.until <= today:
            raise rejected(
                f"the hold must end after today ({today.isoformat()})", "params.until", 422
            )
        if arg.until > today + timedelta(days=MAX_HOLD_DAYS):
            raise rejected(f"a hold lasts at most {MAX_HOLD_DAYS} days", "params.until", 422)

    @workflow.update
    async def resume_mission(self, arg: ResumeMission) -> str:
        self.hold = None
        return "resumed"

    @resume_mission.validator
    def _validate_resume(self, arg: ResumeMission) -> None:
        if not self._held():
            raise rejected("the mission is not held: nothing to resume", "mission")
        if not arg.reason.strip():
            raise rejected("give a reason", "reason", 422)

    @workflow.update
    async def pause_dunning(self, arg: DunningControl) -> str:
        self.dunning_paused_on = self.today()
        return "dunning paused"

    @pause_dunning.validator
    def _validate_pause_dunning(self, arg: DunningControl) -> None:
        self._refuse_if_finished()
        if self.invoice is None or self.settled or self.stage not in COLLECTING:
            raise rejected(f"no dunning ladder runs at stage {self.stage}", "mission")
        if self.dunning_paused_on is not None:
            raise rejected("the dunning ladder is already paused", "mission")
        if not arg.reason.strip():
            raise rejected("give a reason", "reason", 422)

    @workflow.update
    async def restart_dunning(self, arg: DunningControl) -> str:
        paused_on = self.dunning_paused_on
        assert paused_on is not None
        self.dunning_shift_days += max((self.today() - paused_on).days, 0)
        self.dunning_paused_on = None
        return f"dunning restarted, rungs pushed back {self.dunning_shift_days} days"

    @restart_dunning.validator
    def _validate_restart_dunning(self, arg: DunningControl) -> None:
        self._refuse_if_finished()
        if self.dunning_paused_on is None:
            raise rejected("the dunning ladder is not paused", "mission")
        if not arg.reason.strip():
            raise rejected("give a reason", "reason", 422)

    @workflow.signal
    def payment_recorded(self, notice: PaymentNotice) -> None:
        # Balances only go down; two signals racing must not restore a stale, higher balance.
        if self.balance is None or notice.balance < self.balance:
            self.balance = notice.balance

    @workflow.query
    def status(self) -> MissionStatus:
        return MissionStatus(
            stage=self.stage,
            signed=self.signed_recorded,
            client_confirmed=self.confirmed_recorded,
            declaration_filed=self.declaration_filed,
            report_submitted=self.report_recorded,
            invoice_number=self.invoice.number if self.invoice else None,
            balance=self.balance,
            salary_paid=self.salary_paid,
            dunning_level=self.dunning_level,
            waiting_for=self.waiting_for,
            attention=self.attention,
            held_until=self.hold.until if self._held() and self.hold else None,
            hold_reason=self.hold.reason if self._held() and self.hold else None,
            dunning_paused=self.dunning_paused_on is not None,
            attention_retryable=self.attention_retryable,
        )

    # ------------------------------------------------------------------ helpers
    def today(self) -> date:
        assert self.clock is not None
        return self.clock.date_at(workflow.now())

    def _plan(self) -> MissionPlan:
        assert self.plan is not None
        return self.plan

    def _invoice(self) -> InvoiceInfo:
        assert self.invoice is not None
        return self.invoice

    def _collection_over(self) -> bool:
        return self.settled or self.collection_done

    def _paid_unsettled(self) -> bool:
        return self.balance is not None and self.balance <= 0 and not self.settled

    def _raise_if_cancelled(self) -> None:
        if self.cancel_request is not None:
            raise Cancelled()

    def _refuse_if_closed_or_cancelling(self) -> None:
        if self.stage == Stage.CANCELLED or self.cancel_request is not None:
            raise rejected("the mission is cancelled", "mission")

    def _refuse_if_finished(self) -> None:
        self._refuse_if_closed_or_cancelling()
        if self.stage in (Stage.PAID, Stage.WRITTEN_OFF) and self.salary_paid:
            raise rejected(f"the mission is closed ({self.stage})", "mission")

    def _held(self) -> bool:
        """Held by ops, and the hold has not expired (expiry resumes the mission by itself)."""
        return self.hold is not None and self.today() < self.hold.until

    def _contract_deadline(self) -> date:
        """The first business day on which an unsigned or unconfirmed contract is cancelled."""
        plan = self._plan()
        return plan.created_on + timedelta(days=plan.policy.confirmation_days)

    def _refuse_after_contract_deadline(self, field: str) -> None:
        """Judged by the calendar, not by whether the deadline's timer has run yet: a worker
        catching up after an outage sees the action before the timer that cancels the mission."""
        if self.today() >= self._contract_deadline():
            raise rejected(
                "too late: the deadline to sign and confirm the contract has passed; "
                "the mission is being cancelled",
                field,
            )

    def _refuse_if_held(self) -> None:
        if self.hold is not None and self._held():
            raise rejected(
                f"the mission is held until {self.hold.until.isoformat()}: resume it first",
                "mission",
            )

    async def _hold_gate(self, condition: Callable[[], bool] | None = None) -> bool:
        """While ops hold the mission nothing comes due: wait for the resume, the hold's expiry or
        a cancellation; True if `condition` came true meanwhile (a payment still counts)."""
        if self.hold is None or not self._patched("ops-hold"):
            return False
        assert self.clock is not None
        while self.hold is not None:
            hold = self.hold
            if condition is not None and condition():
                return True
            if self.cancel_request is not None:
                return False
            seconds = self.clock.seconds_until(hold.until, workflow.now())
            if seconds > 0:
                try:
                    await workflow.wait_condition(
                        lambda hold=hold: (  # type: ignore[misc]
                            self.hold is not hold
                            or self.cancel_request is not None
                            or (condition is not None and condition())
                        ),
                        timeout=seconds,
                    )
                    continue
                except TimeoutError:
                    pass
            if self.hold is hold:
                self.hold = None
                await self._record(
                    f"hold_expired:{self.holds}",
                    "hold_expired",
                    detail={"until": hold.until.isoformat(), "reason": hold.reason},
                )
        return condition is not None and condition()

    async def _dunning_gate(self) -> bool:
        """The ladder is paused: wait for the restart; True if the invoice got paid meanwhile."""
        self._patched("ops-dunning-pause")
        await workflow.wait_condition(
            lambda: self.dunning_paused_on is None or self._paid_unsettled()
        )
        return self._paid_unsettled()

    def _patched(self, patch_id: str) -> bool:
        """A released change: on from the revision that folded it in, else `workflow.patched()`."""
        if any(
            patch_id in patches
            for revision, patches in REVISION_PATCHES.items()
            if revision <= self.revision
        ):
            return True
        return workflow.patched(patch_id)

    async def _wait_until(self, day: date, condition: Callable[[], bool] | None = None) -> bool:
        """Sleep until business day `day` begins; True if `condition` came true first."""
        assert self.clock is not None
        seconds = self.clock.seconds_until(day, workflow.now())
        if condition is not None and condition():
            return True
        if seconds > 0:
            if condition is None:
                await workflow.sleep(seconds)
            else:
                try:
                    await workflow.wait_condition(condition, timeout=seconds)
                    return True
                except TimeoutError:
                    pass
        # Come due while ops hold the mission: it waits for the resume (or the hold's expiry).
        if self.hold is not None:
            return await self._hold_gate(condition)
        return False

    def _settle(self) -> None:
        """The invoice is paid: the payment's own transaction already marked the mission paid."""
        self.settled = True
        self.stage = Stage.PAID

    async def _record(
        self, key: str, step: str, *, stage: str | None = None, detail: dict[str, Any] | None = None
    ) -> None:
        await workflow.execute_activity_method(
            MissionActivities.record_step,
            StepRecord(
                mission_id=self.mission_id,
                key=key,
                step=step,
                business_date=self.today(),
                stage=stage,
                detail=detail or {},
            ),
            **self._bookkeeping(),
        )

    async def _email(
        self, template: str, step: str, to: str, clock: ClockSpec | None = None
    ) -> None:
        await self._step(
            f"email:{step}",
            MissionActivities.send_email,
            EmailRequest(
                mission_id=self.mission_id,
                template=template,
                step=step,
                to=to,
                business_date=self.today(),
                clock=clock,
            ),
        )

    async def _flag(self, step: str, reason: str, attempts: int, retryable: bool = True) -> None:
        self.attention = step
        self.attention_retryable = retryable
        await workflow.execute_activity_method(
            MissionActivities.flag_attention,
            AttentionFlag(
                mission_id=self.mission_id,
                step=step,
                reason=reason,
                attempts=attempts,
                occurrence=self.retries,
                business_date=self.today(),
            ),
            **self._bookkeeping(),
        )

    def _bookkeeping(self) -> dict[str, Any]:
        """Activity options for writes to our own database: retried until the database is back."""
        policy = self._plan().policy
        return {
            "start_to_close_timeout": timedelta(seconds=policy.step_timeout_seconds),
            "retry_policy": RetryPolicy(
                initial_interval=timedelta(seconds=policy.step_retry_initial_seconds),
                maximum_interval=timedelta(seconds=policy.step_retry_max_seconds),
            ),
        }

    async def _quick(self, activity: Callable[[Any, Any], Awaitable[Any]], arg: Any) -> Any:
        """An update's own write (the signature, the confirmation, the work report).

        The person's wait is bounded by the API (503, or 202 "accepted, it completes on its
        own"). Once accepted the write must land: it is retried like the bookkeeping, until the
        database is back; only a refusal (StepRejected) ends it. Before "update-writes-retried"
        it gave up after a few quick attempts, and an accepted signature could be lost to a
        few seconds of database outage (issue 13, found by the chaos campaign)."""
        policy = self._plan().policy
        if self._patched("update-writes-retried"):
            return await workflow.execute_activity_method(
                activity,
                arg,
                start_to_close_timeout=timedelta(seconds=policy.step_timeout_seconds),
                retry_policy=RetryPolicy(
                    initial_interval=timedelta(seconds=policy.step_retry_initial_seconds),
                    maximum_interval=timedelta(seconds=policy.step_retry_max_seconds),
                    non_retryable_error_types=["StepRejected"],
                ),
            )
        return await workflow.execute_activity_method(
            activity,
            arg,
            start_to_close_timeout=timedelta(seconds=policy.step_timeout_seconds),
            retry_policy=RetryPolicy(
                initial_interval=timedelta(seconds=policy.step_retry_initial_seconds),
                maximum_attempts=policy.update_step_attempts,
            ),
        )

    async def _step(self, step: str, activity: Callable[[Any, Any], Awaitable[T]], arg: Any) -> T:
        """Run a business step; when it keeps failing, show it to ops and wait for their retry.

        Nothing fails silently and nothing retries forever out of sight: after the policy's number
        of attempts the mission is flagged needs-attention with the last error, and the same step
        runs again when ops ask for it (POST /api/missions/{id}/retry).
        """
        policy = self._plan().policy
        attempts = policy.step_max_attempts
        retry = RetryPolicy(
            initial_interval=timedelta(seconds=policy.step_retry_initial_seconds),
            maximum_interval=timedelta(seconds=policy.step_retry_max_seconds),
            maximum_attempts=attempts,
            non_retryable_error_types=["StepRejected"],
        )
        timeout = timedelta(seconds=policy.step_timeout_seconds)
        while True:
            if self.hold is not None:
                await self._hold_gate()
            try:
                result: T = await workflow.execute_activity_method(
                    activity, arg, start_to_close_timeout=timeout, retry_policy=retry
                )
            except ActivityError as err:
                cause = err.cause
                reason = str(cause) if cause is not None else str(err)
                await self._flag(step, reason, attempts)
                self.retry_requested = False
                await workflow.wait_condition(
                    lambda: (
                        self.retry_requested
                        or self.skip_request is not None
                        or self.cancel_request is not None
                    )
                )
                self.retries += 1
                skip = self.skip_request
                if skip is not None and self._patched("ops-skip-step"):
                    # Done by hand: recorded with its reference, and the workflow moves on.
                    self.skip_request = None
                    self.retry_requested = False
                    self.attention = None
                    reference: str = await workflow.execute_activity_method(
                        MissionActivities.record_skipped_step,
                        SkippedStep(
                            mission_id=self.mission_id,
                            step=step,
                            reference=skip.reference,
                            reason=skip.reason,
                            actor=skip.actor,
                            occurrence=self.retries,
                            business_date=self.today(),
                        ),
                        **self._bookkeeping(),
                    )
                    return cast(T, reference)
                cancelling = self.cancel_request is not None and not self.retry_requested
                self.retry_requested = False
                self.attention = None
                await workflow.execute_activity_method(
                    MissionActivities.record_step,
                    StepRecord(
                        mission_id=self.mission_id,
                        key=f"attention_cleared:{self.retries}",
                        step="cancel_requested" if cancelling else "retry",
                        business_date=self.today(),
                        detail={"step": step},
                        clear_attention=True,
                    ),
                    **self._bookkeeping(),
                )
                if cancelling:
                    raise Cancelled() from None
                continue
            if self.attention == step:
                self.attention = None
            return result
