"""The member's salary on payday: from the client's money, or advanced by the guarantee fund."""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from core.errors import DomainError
from domain.errors import FieldError
from domain.identifiers import clean_text
from domain.money import parse_money
from domain.payroll import estimate_payroll
from models import Client, Member, Payment, Payout, PayrollTrueUp
from services import fund, ledger, parameters, people
from services.invoicing import expense_lines, mission_invoice, salary_base
from services.ledger import Line
from services.missions import add_timeline, get_mission

ZERO = Decimal("0.00")


async def pay_salary(
    session: AsyncSession, mission_id: int, paid_on: date, attempt: int = 0
) -> Payout:
    """Pay the member on payday: from the client's money if it came in full, else from the fund.

    Always (INV-6): earned wages never wait for the client or the fund. The fund's rules were
    applied before the contract was signed (services/missions.py); below its floor, the treasury
    covers the advance and ops get an alert (services/fund.py). `attempt` is kept for the
    workflow's recorded calls.
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
        # The fund advances; its lock serialises advances (the fund's floor check after posting).
        await fund.lock(session)
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
    cover = await fund.cover_shortfall(
        session, mission_id=mission_id, advance=advance, business_date=paid_on
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
            "treasury_cover": "0.00" if cover is None else str(cover.covered_by_treasury),
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
