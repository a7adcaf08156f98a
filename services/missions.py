"""Missions: creation, the read model the workflow keeps in step, and what pages and lists show."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from decimal import Decimal
from typing import Any, TypeVar

from sqlalchemy import Select, exc, select
from sqlalchemy.ext.asyncio import AsyncSession

from contracts.mission import (
    CURRENT_REVISION,
    ClockSpec,
    MissionInput,
    MissionPlan,
    mission_workflow_id,
)
from core.errors import DomainError, NotFound
from domain.calendar import legal_pay_date, transfer_execution_date
from domain.errors import FieldError
from domain.identifiers import clean_text
from domain.money import parse_money, parse_vat_rate
from domain.payroll import parse_contract_type
from models import (
    STAGES,
    Client,
    Declaration,
    DunningStep,
    Expense,
    Invoice,
    Member,
    Mission,
    Payout,
    TimelineEvent,
    User,
    utcnow,
)
from services import estimates, fund, parameters, vat_grounds

S = TypeVar("S", bound=Select[Any])
_ISO_DATE = re.compile(r"^\d{4}-\d{2}-\d{2}$")
MAX_MISSION_DAYS = 366
MAX_YEARS_AHEAD = 2


def parse_date(value: object, field: str) -> date:
    """A calendar date written YYYY-MM-DD (nothing else), that exists."""
    if not isinstance(value, str) or not _ISO_DATE.match(value):
        raise FieldError(field, "a date written YYYY-MM-DD")
    try:
        return date.fromisoformat(value)
    except ValueError:
        raise FieldError(field, f"{value} is not a day of the calendar") from None


def parse_id(value: object, field: str) -> int:
    if isinstance(value, bool) or not isinstance(value, int):
        raise FieldError(field, "an integer id")
    if not 1 <= value <= 2**31 - 1:
        raise FieldError(field, "an id between 1 and 2147483647")
    return value


@dataclass(frozen=True)
class Viewer:
    """Who is asking: members are confined to their own missions, advisors to the members
    assigned to them (members.advisor_user_id), ops see everyone."""

    user_id: int
    role: str
    member_id: int | None

    @property
    def is_staff(self) -> bool:
        return self.role in ("advisor", "ops")

    @property
    def sees_everyone(self) -> bool:
        return self.role == "ops"

    @property
    def label(self) -> str:
        return f"{self.role}:{self.user_id}"


def viewer_of(user: User) -> Viewer:
    return Viewer(user_id=user.id, role=user.role, member_id=user.member_id)


async def sees_member(session: AsyncSession, viewer: Viewer, member_id: int | None) -> bool:
    """May the viewer see this member's missions, clients and details?"""
    if viewer.sees_everyone:
        return True
    if member_id is None:
        return False
    if viewer.role == "advisor":
        advisor = await session.scalar(select(Member.advisor_user_id).where(Member.id == member_id))
        return advisor is not None and advisor == viewer.user_id
    return viewer.member_id is not None and member_id == viewer.member_id


def scope_missions(query: S, viewer: Viewer) -> S:
    """Restrict a query over missions to those the viewer may see."""
    if viewer.sees_everyone:
        return query
    if viewer.role == "advisor":
        assigned = select(Member.id).where(Member.advisor_user_id == viewer.user_id)
        return query.where(Mission.member_id.in_(assigned))
    return query.where(Mission.member_id == viewer.member_id)


def scope_clients(query: S, viewer: Viewer) -> S:
    """Clients the viewer may see: an advisor also sees clients owned by no member."""
    if viewer.sees_everyone:
        return query
    if viewer.role == "advisor":
        assigned = select(Member.id).where(Member.advisor_user_id == viewer.user_id)
        return query.where(Client.owner_member_id.in_(assigned) | Client.owner_member_id.is_(None))
    return query.where(Client.owner_member_id == viewer.member_id)


async def visible_client(session: AsyncSession, viewer: Viewer, client_id: int) -> Client:
    client = await session.get(Client, client_id)
    if client is None:
        raise NotFound("client", "client_id")
    if viewer.role == "advisor" and client.owner_member_id is None:
        return client
    if not await sees_member(session, viewer, client.owner_member_id):
        raise NotFound("client", "client_id")
    return client


async def create_mission(
    session: AsyncSession, viewer: Viewer, data: dict[str, Any], clock: ClockSpec
) -> tuple[Mission, MissionInput]:
    """Validate and insert a mission in the contract stage; returns the workflow's input."""
    member_id = parse_id(data.get("member_id"), "member_id")
    if not await sees_member(session, viewer, member_id):
        raise NotFound("member", "member_id")
    if await session.get(Member, member_id) is None:
        raise NotFound("member", "member_id")
    client_id = parse_id(data.get("client_id"), "client_id")
    client = await visible_client(session, viewer, client_id)
    if client.owner_member_id not in (None, member_id):
        raise FieldError("client_id", "this client belongs to another member")
    title = clean_text(data.get("title"), field="title", max_length=200)
    today = clock.to_clock().date_at(utcnow())
    start = parse_date(data.get("start_date"), "start_date")
    end = parse_date(data.get("end_date"), "end_date")
    if start < today:
        raise FieldError(
            "start_date",
            f"the work cannot start before today ({today.isoformat()}): "
            "the employment must be declared before it starts",
        )
    if start > today + timedelta(days=365 * MAX_YEARS_AHEAD):
        raise FieldError("start_date", f"at most {MAX_YEARS_AHEAD} years ahead")
    if end < start:
        raise FieldError("end_date", "the end date is before the start date")
    if (end - start).days + 1 > MAX_MISSION_DAYS:
        raise FieldError("end_date", f"a mission lasts at most {MAX_MISSION_DAYS} days")
    amount = parse_money(data.get("amount_excl_vat"), field="amount_excl_vat")
    rates = await parameters.vat_rates(session, today)
    vat_rate = parse_vat_rate(data.get("vat_rate"), field="vat_rate", allowed=rates)
    vat_exemption = await vat_grounds.mission_exemption(
        session, data.get("vat_exemption"), vat_rate, client, today
    )
    contract_type = parse_contract_type(data.get("contract_type"))
    policy = await parameters.lifecycle_policy(session, today)
    # Wages: credited at the latest on the 7th wage working day (Saturdays count); the transfer
    # executes on the last TARGET2 day on or before it, and the workflow pays on that day.
    pay_due_date = legal_pay_date(end, policy.advance_working_days)
    pay_date = transfer_execution_date(pay_due_date)
    # Before anything is signed: does the guarantee fund stand behind this mission by itself?
    reasons = await fund.gate_reasons(
        session, client, await fund.expected_salary_cost(session, amount, today), today
    )
    mission = Mission(
        member_id=member_id,
        client_id=client_id,
        title=title,
        start_date=start,
        end_date=end,
        amount_excl_vat=amount,
        vat_rate=vat_rate,
        vat_exemption=vat_exemption,
        contract_type=contract_type,
        stage="contract",
        created_on=today,
        pay_date=pay_date,
        pay_due_date=pay_due_date,
        guarantee_status=NEEDS_APPROVAL if reasons else GUARANTEED,
        guarantee_reasons=[r.as_dict() for r in reasons] or None,
        created_by_user_id=viewer.user_id,
    )
    session.add(mission)
    await session.flush()
    mission.workflow_id = mission_workflow_id(mission.id)
    await add_timeline(
        session,
        mission.id,
        "created",
        "created",
        today,
        viewer.label,
        {
            "pay_date": pay_date.isoformat(),
            "pay_due_date": pay_due_date.isoformat(),
            "guarantee_status": mission.guarantee_status,
        },
    )
    if reasons:
        await _needs_approval(session, mission, reasons, today, viewer.label)
    plan = MissionPlan(
        mission_id=mission.id,
        start_date=start,
        end_date=end,
        pay_date=pay_date,
        created_on=today,
        policy=policy,
    )
    return mission, MissionInput(
        mission_id=mission.id, clock=clock, plan=plan, revision=CURRENT_REVISION
    )


async def workflow_input(session: AsyncSession, mission: Mission, clock: ClockSpec) -> MissionInput:
    """Rebuild a mission's workflow input from the table (to start one that never started)."""
    policy = await parameters.lifecycle_policy(session, mission.created_on)
    plan = MissionPlan(
        mission_id=mission.id,
        start_date=mission.start_date,
        end_date=mission.end_date,
        pay_date=mission.pay_date,
        created_on=mission.created_on,
        policy=policy,
    )
    return MissionInput(mission_id=mission.id, clock=clock, plan=plan, revision=CURRENT_REVISION)


# ---------------------------------------------------------------- the guarantee gate

GUARANTEED = "guaranteed"  # the fund's rules let the mission go ahead by themselves
NEEDS_APPROVAL = "needs_approval"  # the member may not sign until an advisor or a deposit clears it
APPROVED = "approved"  # an advisor of the member, or ops, approved it with a reason
DEPOSIT = "deposit"  # the client paid the deposit the rules require
GUARANTEE_STATUSES = (GUARANTEED, NEEDS_APPROVAL, APPROVED, DEPOSIT)


async def _needs_approval(
    session: AsyncSession,
    mission: Mission,
    reasons: list[fund.GateReason],
    today: date,
    actor: str | None,
) -> None:
    required = await fund.required_deposit(
        session, await fund.expected_salary_cost(session, mission.amount_excl_vat, today), today
    )
    await add_timeline(
        session,
        mission.id,
        "guarantee_needs_approval",
        "guarantee_needs_approval",
        today,
        actor,
        {
            "reasons": [r.as_dict() for r in reasons],
            "rules": [r.rule for r in reasons],
            "required_deposit": f"{required:.2f}",
            "next": "an advisor approves the mission, or the client pays the deposit; "
            "then the member can sign",
        },
    )


async def recheck_guarantee(session: AsyncSession, mission: Mission, today: date) -> str:
    """Before the member signs: the fund's rules again, on today's figures (the fund may have
    moved since the mission was created). A mission guaranteed until now that no longer is
    becomes `needs_approval` (the caller commits that before refusing the signature); one an
    advisor approved or a deposit cleared stays cleared: a person decided it."""
    if mission.guarantee_status != GUARANTEED or mission.signed_at is not None:
        return mission.guarantee_status
    client = await session.get(Client, mission.client_id)
    assert client is not None
    reasons = await fund.gate_reasons(
        session,
        client,
        await fund.expected_salary_cost(session, mission.amount_excl_vat, today),
        today,
    )
    if reasons:
        mission.guarantee_status = NEEDS_APPROVAL
        mission.guarantee_reasons = [r.as_dict() for r in reasons]
        await _needs_approval(session, mission, reasons, today, "system")
    return mission.guarantee_status


def require_guarantee(mission: Mission) -> None:
    """Refuse the signature (409, field `guarantee`) while the gate is not cleared."""
    if mission.guarantee_status != NEEDS_APPROVAL:
        return
    why = "; ".join(str(r.get("message")) for r in mission.guarantee_reasons or [])
    raise DomainError(
        "the guarantee fund does not cover this mission by itself"
        + (f" ({why})" if why else "")
        + ": an advisor must approve it, or the client must pay a deposit, before the "
        "contract can be signed",
        409,
        "guarantee",
    )


async def add_timeline(
    session: AsyncSession,
    mission_id: int,
    key: str,
    step: str,
    business_date: date,
    actor: str | None = None,
    detail: dict[str, Any] | None = None,
) -> bool:
    """Write a timeline step once; False if that step was already recorded (a retried activity)."""
    exists = await session.scalar(
        select(TimelineEvent.id).where(
            TimelineEvent.mission_id == mission_id, TimelineEvent.key == key
        )
    )
    if exists is not None:
        return False
    try:
        async with session.begin_nested():
            session.add(
                TimelineEvent(
                    mission_id=mission_id,
                    key=key,
                    step=step,
                    business_date=business_date,
                    actor=actor,
                    detail=detail or {},
                )
            )
    except exc.IntegrityError:
        return False
    return True


async def get_mission(session: AsyncSession, mission_id: int, *, lock: bool = False) -> Mission:
    query = select(Mission).where(Mission.id == mission_id)
    if lock:
        query = query.with_for_update()
    mission = await session.scalar(query)
    if mission is None:
        raise NotFound("mission")
    return mission


async def visible_mission(session: AsyncSession, viewer: Viewer, mission_id: int) -> Mission:
    """The mission if the viewer may see it; 404 for a missing or someone else's mission alike."""
    if not 1 <= mission_id <= 2**31 - 1:
        raise NotFound("mission")
    mission = await session.get(Mission, mission_id)
    if mission is None or not await sees_member(session, viewer, mission.member_id):
        raise NotFound("mission")
    return mission


# ---------------------------------------------------------------- steps written by activities


async def record_step(
    session: AsyncSession,
    mission_id: int,
    key: str,
    step: str,
    business_date: date,
    *,
    stage: str | None = None,
    actor: str | None = None,
    detail: dict[str, Any] | None = None,
    clear_attention: bool = False,
) -> None:
    """Write a step on the timeline and move the mission's stage with it."""
    mission = await get_mission(session, mission_id, lock=True)
    await add_timeline(session, mission_id, key, step, business_date, actor, detail)
    if stage is not None:
        if stage not in STAGES:
            raise ValueError(f"unknown stage {stage}")
        mission.stage = stage
    if clear_attention:
        mission.needs_attention = False
        mission.attention_reason = None
        mission.attention_step = None


async def record_signature(
    session: AsyncSession, mission_id: int, business_date: date, actor: str
) -> None:
    """The member signed: keep the moment and the salary estimate they signed for."""
    mission = await get_mission(session, mission_id, lock=True)
    if mission.signed_at is not None:
        return
    mission.signed_at = utcnow()
    estimate = await estimates.for_mission(session, mission, business_date)
    # The mission's planned pay date (fixed at creation) is the one the member signed for.
    mission.estimate = {**estimate, "pay_date": mission.pay_date.isoformat()}
    await add_timeline(session, mission_id, "signed", "signed", business_date, actor)
    _contract_complete(mission)


async def record_confirmation(
    session: AsyncSession, mission_id: int, business_date: date, method: str, actor: str
) -> None:
    """The client confirmed the order: the legal basis for the guarantee and for dunning."""
    mission = await get_mission(session, mission_id, lock=True)
    if mission.client_confirmed_at is not None:
        return
    mission.client_confirmed_at = utcnow()
    mission.client_confirmation_method = method
    _contract_complete(mission)
    await add_timeline(
        session,
        mission_id,
        "client_confirmed",
        "client_confirmed",
        business_date,
        actor,
        {"method": method},
    )


def _contract_complete(mission: Mission) -> None:
    """Signed by the member and confirmed by the client: the declaration comes next."""
    if mission.signed_at and mission.client_confirmed_at and mission.stage == "contract":
        mission.stage = "declaration"


async def record_work_report(
    session: AsyncSession,
    mission_id: int,
    business_date: date,
    days_worked: int,
    expenses: list[tuple[str, Decimal]],
    actor: str,
) -> None:
    """Keep the member's work report: days worked and expense lines to rebill."""
    mission = await get_mission(session, mission_id, lock=True)
    if mission.days_worked is not None:
        return
    mission.days_worked = days_worked
    for position, (label, amount) in enumerate(expenses, start=1):
        session.add(Expense(mission_id=mission_id, position=position, label=label, amount=amount))
    if mission.attention_step == "work_report":
        mission.needs_attention = False
        mission.attention_reason = None
        mission.attention_step = None
    await add_timeline(
        session,
        mission_id,
        "work_reported",
        "work_reported",
        business_date,
        actor,
        {"days_worked": days_worked, "expenses": [[label, str(a)] for label, a in expenses]},
    )


async def flag_attention(
    session: AsyncSession,
    mission_id: int,
    step: str,
    reason: str,
    attempts: int,
    occurrence: int,
    business_date: date,
) -> None:
    """Show ops a step that keeps failing, with its last error."""
    mission = await get_mission(session, mission_id, lock=True)
    mission.needs_attention = True
    mission.attention_step = step
    mission.attention_reason = reason[:2000]
    await add_timeline(
        session,
        mission_id,
        f"attention:{occurrence}",
        "needs_attention",
        business_date,
        None,
        {"step": step, "reason": reason[:2000], "attempts": attempts},
    )


async def record_skipped_step(
    session: AsyncSession,
    mission_id: int,
    step: str,
    reference: str,
    reason: str,
    actor: str,
    occurrence: int,
    business_date: date,
) -> str:
    """A failing step ops did by hand: recorded done with its manual reference, attention cleared.

    A declaration filed by hand becomes the mission's declaration (once per kind: if one was
    accepted meanwhile, its reference stands)."""
    mission = await get_mission(session, mission_id, lock=True)
    if step in ("declaration", "declaration_cancel"):
        kind = "in" if step == "declaration" else "cancel"
        done = await session.scalar(
            select(Declaration).where(
                Declaration.mission_id == mission_id, Declaration.kind == kind
            )
        )
        if done is not None:
            reference = done.reference
        else:
            session.add(
                Declaration(
                    mission_id=mission_id,
                    kind=kind,
                    reference=reference,
                    business_date=business_date,
                )
            )
        if kind == "in" and mission.stage == "declaration":
            mission.stage = "in_progress"
    await add_timeline(
        session,
        mission_id,
        f"skipped:{occurrence}",
        "step_skipped",
        business_date,
        actor,
        {"step": step, "reference": reference, "reason": reason},
    )
    mission.needs_attention = False
    mission.attention_reason = None
    mission.attention_step = None
    return reference


async def cancel_mission(
    session: AsyncSession, mission_id: int, reason: str, actor: str, business_date: date
) -> None:
    mission = await get_mission(session, mission_id, lock=True)
    mission.stage = "cancelled"
    mission.cancel_reason = reason
    mission.needs_attention = False
    mission.attention_reason = None
    mission.attention_step = None
    await add_timeline(
        session, mission_id, "cancelled", "cancelled", business_date, actor, {"reason": reason}
    )


# ---------------------------------------------------------------- reads


def _money(value: Decimal | None) -> str | None:
    return None if value is None else f"{value:.2f}"


def _iso(value: date | datetime | None) -> str | None:
    return None if value is None else value.isoformat()


async def mission_detail(session: AsyncSession, mission: Mission) -> dict[str, Any]:
    """The mission as the API shows it: stage, timeline, invoice, advance."""
    from services import invoicing, payroll  # both import this module

    timeline = (
        await session.scalars(
            select(TimelineEvent)
            .where(TimelineEvent.mission_id == mission.id)
            .order_by(TimelineEvent.occurred_at, TimelineEvent.id)
        )
    ).all()
    invoice = await session.scalar(
        select(Invoice).where(Invoice.mission_id == mission.id, Invoice.kind == "invoice")
    )
    payout = await session.scalar(select(Payout).where(Payout.mission_id == mission.id))
    corrections = await payroll.true_ups(session, payout.id) if payout is not None else []
    dunning = (
        await session.scalars(
            select(DunningStep)
            .where(DunningStep.mission_id == mission.id)
            .order_by(DunningStep.level)
        )
    ).all()
    expenses = (
        await session.scalars(
            select(Expense).where(Expense.mission_id == mission.id).order_by(Expense.position)
        )
    ).all()
    return {
        **mission_summary(mission),
        "signed_at": _iso(mission.signed_at),
        "client_confirmed_at": _iso(mission.client_confirmed_at),
        "client_confirmation_method": mission.client_confirmation_method,
        "days_worked": mission.days_worked,
        "expenses": [{"label": e.label, "amount": _money(e.amount)} for e in expenses],
        "cancel_reason": mission.cancel_reason,
        "estimate": mission.estimate,
        "guarantee": {
            "status": mission.guarantee_status,
            "reasons": mission.guarantee_reasons or [],
            "cleared_by": mission.guarantee_cleared_by,
            "cleared_at": _iso(mission.guarantee_cleared_at),
            "note": mission.guarantee_note,
        },
        "workflow_id": mission.workflow_id,
        # False until Temporal confirmed the start (the worker's sweep retries it).
        "workflow_started": mission.workflow_started_at is not None,
        "timeline": [
            {
                "step": t.step,
                "key": t.key,
                "occurred_at": _iso(t.occurred_at),
                "business_date": _iso(t.business_date),
                "actor": t.actor,
                "detail": t.detail or {},
            }
            for t in timeline
        ],
        "invoice": None
        if invoice is None
        else {
            "id": invoice.id,
            "number": invoice.number,
            "issue_date": _iso(invoice.issue_date),
            "due_date": _iso(invoice.due_date),
            "total_excl_vat": _money(invoice.total_excl_vat),
            "vat_amount": _money(invoice.vat_amount),
            "total_incl_vat": _money(invoice.total_incl_vat),
            "structured_communication": invoice.structured_communication,
            "balance": _money(invoice.balance),
            "principal_open": _money(invoice.principal_open),
            "interest_open": _money(invoice.interest_open),
            "costs_open": _money(invoice.costs_open),
            "status": invoice.status,
            "paid_on": _iso(invoice.paid_on),
            **await invoicing.invoice_extras(session, invoice),  # VAT regime, credit notes
        },
        "dunning_steps": [
            {
                "level": d.level,
                "step": d.step,
                "regime": d.regime,
                "business_date": _iso(d.business_date),
                "fixed_compensation": _money(d.fixed_compensation),
                "interest": _money(d.interest),
                "penalty": _money(d.penalty),
                "reminder_fee": _money(d.reminder_fee),
                "rule": d.rule,
            }
            for d in dunning
        ],
        "advance": None
        if payout is None
        else {
            "paid_on": _iso(payout.paid_on),
            "net_amount": _money(payout.net_amount),
            "gross_salary": _money(payout.gross_salary),
            "expenses": _money(payout.expenses),
            "source": payout.source,
            # The final payroll as paid, then each later correction: never an edit.
            "payroll": payout.payroll,
            "true_ups": [
                {
                    "sequence": t.sequence,
                    "business_date": _iso(t.business_date),
                    "reason": t.reason,
                    "net_salary_delta": _money(t.net_salary_delta),
                    "corrected": t.corrected,
                }
                for t in corrections
            ],
            "current": {
                k: _money(v) for k, v in payroll.current_payroll(payout, corrections).items()
            },
        },
    }


def mission_summary(mission: Mission) -> dict[str, Any]:
    return {
        "id": mission.id,
        "member_id": mission.member_id,
        "client_id": mission.client_id,
        "title": mission.title,
        "start_date": _iso(mission.start_date),
        "end_date": _iso(mission.end_date),
        "amount_excl_vat": _money(mission.amount_excl_vat),
        "vat_rate": _money(mission.vat_rate),
        "vat_exemption": mission.vat_exemption,
        "contract_type": mission.contract_type,
        "stage": mission.stage,
        "needs_attention": mission.needs_attention,
        "attention_reason": mission.attention_reason,
        "attention_step": mission.attention_step,
        "dunning_level": mission.dunning_level,
        "pay_date": _iso(mission.pay_date),
        "pay_due_date": _iso(mission.pay_due_date),
        "guarantee_status": mission.guarantee_status,
        "created_on": _iso(mission.created_on),
    }


async def list_missions(
    session: AsyncSession,
    viewer: Viewer,
    *,
    stage: str | None = None,
    member_id: int | None = None,
    client_id: int | None = None,
    needs_attention: bool | None = None,
    limit: int = 50,
    offset: int = 0,
) -> list[Mission]:
    query = scope_missions(select(Mission), viewer)
    if stage is not None:
        if stage not in STAGES:
            raise FieldError("stage", f"one of {', '.join(STAGES)}")
        query = query.where(Mission.stage == stage)
    if member_id is not None:
        query = query.where(Mission.member_id == member_id)
    if client_id is not None:
        query = query.where(Mission.client_id == client_id)
    if needs_attention is not None:
        query = query.where(Mission.needs_attention.is_(needs_attention))
    query = query.order_by(Mission.id.desc()).limit(limit).offset(offset)
    return list((await session.scalars(query)).all())


async def missions_without_workflow(
    session: AsyncSession, *, after_id: int = 0, limit: int | None = None
) -> list[Mission]:
    """Missions committed but whose workflow start was never confirmed (crash in between), by id
    from `after_id` on, at most `limit` of them."""
    query = (
        select(Mission)
        .where(Mission.workflow_started_at.is_(None), Mission.id > after_id)
        .order_by(Mission.id)
    )
    if limit is not None:
        query = query.limit(limit)
    return list((await session.scalars(query)).all())


def ensure_stage(mission: Mission, *allowed: str) -> None:
    if mission.stage not in allowed:
        raise DomainError(f"not possible at stage {mission.stage}", 409, "mission")
