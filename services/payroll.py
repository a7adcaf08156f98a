"""The member's salary on day 7: from the client's money, or advanced by the guarantee fund."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from core.errors import DomainError
from domain.errors import FieldError
from domain.identifiers import EU_COUNTRIES, clean_text
from domain.money import parse_money
from domain.payroll import estimate_payroll
from models import Client, Member, Mission, Payment, Payout, PayrollTrueUp, TimelineEvent
from services import fund, ledger, parameters, people
from services.invoicing import expense_lines, mission_invoice, salary_base
from services.ledger import Line
from services.missions import add_timeline, get_mission

ZERO = Decimal("0.00")


@dataclass(frozen=True)
class Withheld:
    """The fund may not advance this salary now; it waits for the client's payment.

    `retry_days` > 0: the fund itself may allow it later (a top-up, or a payment that brings it
    back above its floor or the client under its cap), so the workflow asks again then.
    `rule` names the rule that refused it; `facts` are the figures shown on the timeline.
    """

    reason: str
    retry_days: int = 0
    rule: str = ""
    facts: dict[str, str] = field(default_factory=dict)


async def advance_refusal(
    session: AsyncSession, mission: Mission, client: Client, amount: Decimal, on: date
) -> Withheld | None:
    """Why the guarantee fund may not advance `amount` for this mission, or None if it may.

    The guarantee rests on a confirmed order from a client based in the EU (domain.md §1.6),
    and on the fund's rules in force on `on` (`fund.rules`): the advance may not take the fund's
    available balance below its floor, nor the client's exposure above its cap.

    From the fund checks on, the caller's transaction holds the fund's lock (services/fund.py)
    until it commits: concurrent advances are decided one after the other, each seeing the
    others' payouts, so together they cannot push the fund below its floor.
    """
    if mission.client_confirmed_at is None:
        return Withheld(
            "the client never confirmed the order: no guarantee without it", rule="confirmed"
        )
    if client.country not in EU_COUNTRIES:
        return Withheld(
            f"the client is based outside the EU ({client.country}): the guarantee fund does not "
            "advance salaries for such clients",
            rule="eu_client",
        )
    rules = await fund.fund_rules(session, on)
    await fund.lock(session)
    available = await fund.available(session)
    if available - amount < rules.floor:
        return Withheld(
            f"the guarantee fund may not go below its floor of {rules.floor:.2f} EUR to advance "
            f"{amount:.2f} EUR: the salary waits for a top-up of the fund or the client's payment",
            retry_days=rules.retry_days,
            rule="fund_floor",
            facts={
                "available": f"{available:.2f}",
                "floor": f"{rules.floor:.2f}",
                "advance": f"{amount:.2f}",
            },
        )
    exposure = await fund.client_exposure(session, client.id)
    if exposure + amount > rules.client_exposure_cap:
        return Withheld(
            f"the guarantee fund has advanced {exposure:.2f} EUR on this client's unpaid "
            f"invoices; {amount:.2f} EUR more would pass its cap of "
            f"{rules.client_exposure_cap:.2f} EUR per client: the salary waits for the client's "
            "payments",
            retry_days=rules.retry_days,
            rule="client_cap",
            facts={
                "exposure": f"{exposure:.2f}",
                "cap": f"{rules.client_exposure_cap:.2f}",
                "advance": f"{amount:.2f}",
            },
        )
    return None


async def _last_withheld_reason(session: AsyncSession, mission_id: int) -> str | None:
    detail = await session.scalar(
        select(TimelineEvent.detail)
        .where(TimelineEvent.mission_id == mission_id, TimelineEvent.step == "advance_withheld")
        .order_by(TimelineEvent.id.desc())
        .limit(1)
    )
    return None if detail is None else str(detail.get("reason"))


async def pay_salary(
    session: AsyncSession, mission_id: int, paid_on: date, attempt: int = 0
) -> Payout | Withheld:
    """Pay the member on day 7: from the client's money if it came in full, else from the fund.

    When the fund may not advance it, nothing is paid and the timeline says why.
    """
    existing = await session.scalar(
        select(Payout).where(Payout.mission_id == mission_id, Payout.period == "salary")
    )
    if existing is not None:
        return existing
    mission = await get_mission(session, mission_id, lock=True)
    invoice = await mission_invoice(session, mission_id, lock=True)
    member = await session.get(Member, mission.member_id)
    client = await session.get(Client, mission.client_id)
    assert member is not None and client is not None
    expenses = sum((e.amount for e in await expense_lines(session, mission_id)), Decimal("0.00"))
    params = await parameters.payroll_parameters(session, paid_on)
    # Credit notes issued before payday took the member's share back from this budget.
    billed = await salary_base(session, invoice)
    payroll = estimate_payroll(billed, expenses, params)
    cost = billed - payroll.fee  # net + expenses + contributions + tax
    # The client's money pays the salary as far as it came in; the fund advances the rest.
    received = await session.scalar(
        select(func.sum(Payment.amount)).where(Payment.invoice_id == invoice.id)
    )
    advance = ZERO if invoice.balance <= 0 else max(cost - (received or ZERO), ZERO)
    source = "fund" if advance > 0 else "client"
    if source == "fund":
        refusal = await advance_refusal(session, mission, client, advance, paid_on)
        if refusal is not None:
            # Asked again every few days: the timeline says it once per reason.
            if await _last_withheld_reason(session, mission_id) != refusal.reason:
                await add_timeline(
                    session,
                    mission_id,
                    f"advance_withheld:{attempt}",
                    "advance_withheld",
                    paid_on,
                    None,
                    {"reason": refusal.reason, "rule": refusal.rule, **refusal.facts},
                )
            return refusal
    payout = Payout(
        mission_id=mission_id,
        period="salary",
        source=source,
        paid_on=paid_on,
        # A new IBAN counts only once its notice went to the old address (services/people.py).
        iban=await people.payout_iban(session, member),
        end_to_end_id=f"SAL-{mission_id}-salary",
        gross_salary=payroll.gross_salary,
        net_amount=payroll.net_salary,
        expenses=payroll.expenses,
        payroll={
            "basis": "simplified estimate",
            **{k: str(v) for k, v in payroll.__dict__.items()},
        },
    )
    session.add(payout)
    await session.flush()
    await ledger.post(
        session,
        event_key=f"salary_paid:{payout.id}",
        kind="salary_paid",
        mission_id=mission_id,
        business_date=paid_on,
        description=f"Salary of mission {mission_id} ({source} money)",
        lines=[
            Line("member_salary_payable", cost),
            Line("bank", -(payroll.net_salary + payroll.expenses)),
            Line(
                "social_contributions_payable",
                -(payroll.employer_contributions + payroll.employee_contributions),
            ),
            Line("withholding_tax_payable", -payroll.withholding_tax),
            *fund.advance_lines(client.id, advance),
        ],
    )
    await add_timeline(
        session,
        mission_id,
        "salary_paid",
        "salary_paid",
        paid_on,
        None,
        {
            "net_amount": str(payroll.net_salary),
            "expenses": str(payroll.expenses),
            "source": source,
            "fund_advance": str(advance),
            "note": "paid by the guarantee fund; the client has not paid in full yet"
            if source == "fund"
            else "paid from the client's payment",
        },
    )
    return payout


TRUE_UP_FIELDS = ("employer_contributions", "employee_contributions", "withholding_tax")


def _figure(payroll: dict[str, Any], key: str) -> Decimal:
    return Decimal(str(payroll.get(key, "0")))


async def true_ups(session: AsyncSession, payout_id: int) -> list[PayrollTrueUp]:
    return list(
        (
            await session.scalars(
                select(PayrollTrueUp)
                .where(PayrollTrueUp.payout_id == payout_id)
                .order_by(PayrollTrueUp.sequence)
            )
        ).all()
    )


def current_payroll(payout: Payout, corrections: list[PayrollTrueUp]) -> dict[str, Decimal]:
    """The salary as it stands: the final payroll plus every true-up after it."""
    figures = {
        key: _figure(payout.payroll, key) for key in ("gross_salary", *TRUE_UP_FIELDS, "net_salary")
    }
    for t in corrections:
        figures["employer_contributions"] += t.employer_contributions_delta
        figures["employee_contributions"] += t.employee_contributions_delta
        figures["withholding_tax"] += t.withholding_tax_delta
        figures["net_salary"] += t.net_salary_delta
        figures["gross_salary"] -= t.employer_contributions_delta
    return figures


async def record_true_up(
    session: AsyncSession,
    *,
    mission_id: int,
    corrected: dict[str, object],
    reason: object,
    today: date,
    recorded_by_user_id: int | None,
) -> PayrollTrueUp:
    """Correct a paid salary's contributions and tax (e.g. after the quarterly DmfA).

    The employment budget is fixed by the invoice, so the salary's parts move together: more
    employer contributions mean less gross; the net follows. A higher net is paid to the member;
    a lower one is borne by the guarantee fund: the member never pays back.
    """
    text = clean_text(reason, field="reason", max_length=500)
    new = {
        key: parse_money(corrected.get(key), field=key, allow_zero=True) for key in TRUE_UP_FIELDS
    }
    mission = await get_mission(session, mission_id, lock=True)
    payout = await session.scalar(
        select(Payout).where(Payout.mission_id == mission_id, Payout.period == "salary")
    )
    if payout is None or payout.source not in ("fund", "client"):
        raise DomainError("no salary has been paid on this mission yet", 409, "mission")
    earlier = await true_ups(session, payout.id)
    now = current_payroll(payout, earlier)
    budget = now["gross_salary"] + now["employer_contributions"]
    gross = budget - new["employer_contributions"]
    if gross <= 0:
        raise FieldError(
            "employer_contributions", f"leaves no gross salary in a budget of {budget}"
        )
    net = gross - new["employee_contributions"] - new["withholding_tax"]
    if net < 0:
        raise FieldError(
            "withholding_tax", f"contributions and tax exceed the gross salary {gross}"
        )
    deltas = {key: new[key] - now[key] for key in TRUE_UP_FIELDS}
    net_delta = net - now["net_salary"]
    if not any(deltas.values()):
        raise DomainError(
            "these are the figures already on record: nothing to correct",
            409,
            "employer_contributions",
        )
    row = PayrollTrueUp(
        mission_id=mission_id,
        payout_id=payout.id,
        sequence=len(earlier) + 1,
        business_date=today,
        reason=text,
        employer_contributions_delta=deltas["employer_contributions"],
        employee_contributions_delta=deltas["employee_contributions"],
        withholding_tax_delta=deltas["withholding_tax"],
        net_salary_delta=net_delta,
        corrected={
            **{k: str(v) for k, v in new.items()},
            "gross_salary": str(gross),
            "net_salary": str(net),
        },
        recorded_by_user_id=recorded_by_user_id,
    )
    session.add(row)
    await session.flush()
    await ledger.post(
        session,
        event_key=f"payroll_true_up:{row.id}",
        kind="payroll_true_up",
        mission_id=mission_id,
        business_date=today,
        description=f"Payroll true-up {row.sequence} of mission {mission.id}: {text}"[:2000],
        lines=[
            Line(
                "social_contributions_payable",
                -(deltas["employer_contributions"] + deltas["employee_contributions"]),
            ),
            Line("withholding_tax_payable", -deltas["withholding_tax"]),
            # More net: paid to the member; less: the fund bears the overpayment.
            Line("bank" if net_delta >= 0 else "guarantee_fund", -net_delta),
        ],
    )
    await add_timeline(
        session,
        mission_id,
        f"payroll_true_up:{row.sequence}",
        "payroll_true_up",
        today,
        f"user:{recorded_by_user_id}",
        {"reason": text, "net_salary_delta": str(net_delta), **row.corrected},
    )
    return row
