"""Inputs and results of MissionWorkflow, its updates and its activities.

Every field added after release gets a default so that recorded histories still decode.
Money travels as Decimal (the pydantic data converter writes it as a string).
"""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal
from typing import Any

from pydantic import BaseModel, ConfigDict

from domain.clock import BusinessClock


def mission_workflow_id(mission_id: int) -> str:
    """The workflow id is the business id: one workflow per mission, duplicates rejected."""
    return f"mission-{mission_id}"


class Contract(BaseModel):
    model_config = ConfigDict(frozen=True, extra="ignore")


class ClockSpec(Contract):
    anchor_real: datetime
    anchor_date: date
    day_seconds: float

    def to_clock(self) -> BusinessClock:
        return BusinessClock(self.anchor_real, self.anchor_date, self.day_seconds)


class DunningRung(Contract):
    step: str  # reminder_1 | reminder_2 | formal_notice | write_off
    days_after_due: int


class LifecyclePolicy(Contract):
    """Durations in business days and retry limits, read from the dated parameter table."""

    confirmation_days: int
    invoice_due_days: int
    advance_working_days: int
    report_reminder_days: int
    report_reminder_repeat_days: int
    report_reminders_max: int
    dunning_ladder: list[DunningRung]
    step_max_attempts: int
    step_retry_initial_seconds: float
    step_retry_max_seconds: float
    step_timeout_seconds: float
    update_step_attempts: int
    update_wait_seconds: float


class MissionPlan(Contract):
    mission_id: int
    start_date: date
    end_date: date
    pay_date: date
    created_on: date
    policy: LifecyclePolicy


class MissionInput(Contract):
    """Everything the workflow needs to run without reading the database itself."""

    mission_id: int
    clock: ClockSpec
    plan: MissionPlan
    # The workflow code revision the mission starts on (`CURRENT_REVISION` for every new start).
    # Inputs recorded before revisions existed have none: 0, and replay through `patched()`.
    revision: int = 0


# Revision 1 runs every change released as a `workflow.patched()` patch up to 2026-11-29 without
# calling `patched()`: each call records a marker and upserts TemporalChangeVersion in a new
# workflow, two billed actions per mission for a branch every new mission takes anyway. Workflows
# started before (revision 0) still decide by `patched()`, so their histories replay unchanged.
# A later change is a new `patched()` id; once released, fold it into the next revision.
REVISION_PATCHES: dict[int, frozenset[str]] = {
    1: frozenset({"documents-at-start", "ops-hold", "ops-dunning-pause", "ops-skip-step"}),
    # 2026-12-08 (issue 13): late dunning letters re-dated and the ladder shifted behind them;
    # an accepted update's write retried until the database is back.
    2: frozenset({"dunning-dated-when-sent", "update-writes-retried"}),
}
CURRENT_REVISION = max(REVISION_PATCHES)


class StepRecord(Contract):
    """A step of the lifecycle to write on the mission's timeline (and its stage, if it changes)."""

    mission_id: int
    key: str
    step: str
    business_date: date
    stage: str | None = None
    actor: str | None = None
    detail: dict[str, Any] = {}
    clear_attention: bool = False


class AttentionFlag(Contract):
    mission_id: int
    step: str
    reason: str
    attempts: int = 0
    occurrence: int = 0
    business_date: date


class SignContract(Contract):
    actor: str


class ConfirmClient(Contract):
    method: str
    actor: str


class ExpenseLine(Contract):
    label: str
    amount: Decimal


class WorkReport(Contract):
    days_worked: int
    expenses: list[ExpenseLine] = []
    actor: str


class CancelMission(Contract):
    reason: str
    actor: str


class RetryStep(Contract):
    actor: str
    reason: str = ""


class SkipStep(Contract):
    """Ops: the failing step was done by hand (e.g. the declaration filed on the portal)."""

    actor: str
    reason: str
    reference: str


# Longest hold ops may put on a mission, in business days.
MAX_HOLD_DAYS = 366


class HoldMission(Contract):
    """Ops: nothing comes due on the mission until `until` (business date) or a resume."""

    actor: str
    reason: str
    until: date


class ResumeMission(Contract):
    actor: str
    reason: str


class DunningControl(Contract):
    """Ops: pause the dunning ladder, or restart it (the remaining rungs pushed back)."""

    actor: str
    reason: str


class SkippedStep(Contract):
    """A step recorded done by hand, with its manual reference, on the mission's timeline."""

    mission_id: int
    step: str
    reference: str
    reason: str
    actor: str
    occurrence: int
    business_date: date


class PaymentNotice(Contract):
    """Sent by the API after a payment is committed: the invoice's balance as it now stands."""

    payment_id: int
    balance: Decimal


class SignatureRecord(Contract):
    mission_id: int
    business_date: date
    actor: str


class ConfirmationRecord(Contract):
    mission_id: int
    business_date: date
    method: str
    actor: str


class WorkReportRecord(Contract):
    mission_id: int
    business_date: date
    report: WorkReport


class DeclarationRequest(Contract):
    mission_id: int
    business_date: date
    kind: str = "in"


class InvoiceRequest(Contract):
    mission_id: int
    issue_date: date
    due_days: int


class InvoiceInfo(Contract):
    invoice_id: int
    number: str
    issue_date: date
    due_date: date
    total_incl_vat: Decimal
    balance: Decimal
    structured_communication: str


class EmailRequest(Contract):
    mission_id: int
    template: str
    step: str
    to: str  # "client" | "member"
    business_date: date
    # The workflow's clock: the email is dated by the day its attempt really runs, which may be
    # weeks after `business_date` after an outage (None in histories from before: that date).
    clock: ClockSpec | None = None


class DocumentsRequest(Contract):
    """Render and store the mission's documents of these kinds (once each)."""

    mission_id: int
    kinds: list[str]
    business_date: date


class SalaryRequest(Contract):
    mission_id: int
    paid_on: date
    attempt: int = 0


class SalaryInfo(Contract):
    """The salary paid ("fund" or "client" money).

    "withheld" (with `reason` and `retry_days`) is only in histories recorded before issue 12:
    wages are always paid now, and these fields stay so that those histories still decode.
    """

    source: str  # "fund" | "client" | "withheld"
    net_amount: Decimal
    paid_on: date | None
    reason: str = ""
    retry_days: int = 0


class SalaryUnpaid(Contract):
    mission_id: int
    reason: str
    business_date: date


class DunningRequest(Contract):
    mission_id: int
    level: int
    step: str
    business_date: date
    # As EmailRequest.clock: the rung is dated by the day it really runs (INV-8).
    clock: ClockSpec | None = None


class CollectionResult(Contract):
    """What a collection step found and did: the balance as read in the database."""

    balance: Decimal
    acted: bool


class CancelRecord(Contract):
    mission_id: int
    reason: str
    actor: str
    business_date: date


class MissionStatus(Contract):
    """The workflow's own view, for the `status` query (consoles compare it with the table)."""

    stage: str
    signed: bool
    client_confirmed: bool
    declaration_filed: bool
    report_submitted: bool
    invoice_number: str | None
    balance: Decimal | None
    salary_paid: bool
    dunning_level: int
    waiting_for: str
    attention: str | None
    held_until: date | None = None
    hold_reason: str | None = None
    dunning_paused: bool = False
    attention_retryable: bool = True
