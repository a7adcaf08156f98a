"""The member's salary on day 7: from the client's money, or advanced by the guarantee fund."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from decimal import Decimal

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from domain.identifiers import EU_COUNTRIES
from domain.payroll import estimate_payroll
from models import Client, Member, Mission, Payout
from services import ledger, parameters
from services.invoicing import expense_lines, mission_invoice
from services.ledger import Line
from services.missions import add_timeline, get_mission


@dataclass(frozen=True)
class Withheld:
    """The fund may not advance this salary now; it waits for the client's payment."""

    reason: str
    retry_days: int = 0


async def advance_refusal(
    session: AsyncSession, mission: Mission, client: Client, amount: Decimal, on: date
) -> Withheld | None:
    """Why the guarantee fund may not advance `amount` for this mission, or None if it may.

    The guarantee rests on a confirmed order from a client based in the EU (domain.md §1.6).
    """
    if mission.client_confirmed_at is None:
        return Withheld("the client never confirmed the order: no guarantee without it")
    if client.country not in EU_COUNTRIES:
        return Withheld(
            f"the client is based outside the EU ({client.country}): the guarantee fund does not "
            "advance salaries for such clients"
        )
    return None


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
    payroll = estimate_payroll(invoice.total_excl_vat, expenses, params)
    source = "client" if invoice.balance <= 0 else "fund"
    if source == "fund":
        refusal = await advance_refusal(
            session, mission, client, invoice.total_excl_vat - payroll.fee, paid_on
        )
        if refusal is not None:
            await add_timeline(
                session,
                mission_id,
                f"advance_withheld:{attempt}",
                "advance_withheld",
                paid_on,
                None,
                {"reason": refusal.reason},
            )
            return refusal
    payout = Payout(
        mission_id=mission_id,
        period="salary",
        source=source,
        paid_on=paid_on,
        iban=member.iban,
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
            Line("member_salary_payable", invoice.total_excl_vat - payroll.fee),
            Line("bank", -(payroll.net_salary + payroll.expenses)),
            Line(
                "social_contributions_payable",
                -(payroll.employer_contributions + payroll.employee_contributions),
            ),
            Line("withholding_tax_payable", -payroll.withholding_tax),
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
            "note": "paid by the guarantee fund; the client has not paid in full yet"
            if source == "fund"
            else "paid from the client's payment",
        },
    )
    return payout
