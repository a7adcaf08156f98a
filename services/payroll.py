"""The member's salary on payday: from the client's money, or advanced by the guarantee fund.

The figures come from the payroll engine (domain/payroll.py) with the dated rows in force on
payday: the gross of the signed contract, the mission's contract type, its paid days, the
member's earlier payouts of the same calendar month and, for artists, their chosen rate.
"""

from __future__ import annotations

from datetime import date, timedelta
from decimal import Decimal
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from core.errors import DomainError
from domain.errors import FieldError
from domain.identifiers import clean_text
from domain.money import parse_money
from domain.payroll import (
    MonthToDate,
    Payroll,
    WorkPeriod,
    estimate_payroll,
    parse_contract_type,
    weekdays_between,
)
from models import (
    Client,
    ContractAmendment,
    CreditNote,
    Member,
    Mission,
    Payment,
    Payout,
    PayrollTrueUp,
)
from services import estimates, fund, ledger, parameters, people
from services.access import get_mission
from services.invoicing import expense_lines, mission_invoice, salary_base
from services.ledger import Line
from services.timeline import add_timeline

ZERO = Decimal("0.00")


async def _month_to_date(
    session: AsyncSession, member_id: int, paid_on: date, exclude_mission: int
) -> MonthToDate:
    """What the member's earlier salary payouts of `paid_on`'s calendar month counted (each
    payout keeps its own share under payroll["month"]["share"]). The caller holds the member's
    row lock, so no payout of the same member is being computed at the same time."""
    first = paid_on.replace(day=1)
    following = (first + timedelta(days=32)).replace(day=1)
    shares = (
        await session.scalars(
            select(Payout.payroll)
            .join(Mission, Mission.id == Payout.mission_id)
            .where(
                Mission.member_id == member_id,
                Payout.mission_id != exclude_mission,
                Payout.period == "salary",
                Payout.source.in_(("fund", "client")),
                Payout.paid_on >= first,
                Payout.paid_on < following,
            )
            .order_by(Payout.id)
        )
    ).all()
    total = MonthToDate()
    for payroll in shares:
        share = (payroll or {}).get("month", {}).get("share")
        if share:  # payouts of the simplified era kept no share: nothing to cumulate
            total = total.plus(MonthToDate.from_json(share))
    return total


def paid_days(mission: Mission) -> int:
    """The days the contract pays: the reported days worked, else the working days (Monday to
    Friday) between its start and end."""
    if mission.days_worked:
        return int(mission.days_worked)
    return max(1, weekdays_between(mission.start_date, mission.end_date))


def signed_gross(mission: Mission) -> Decimal | None:
    """The gross of the signed contract, as amended since (None: signed before estimates)."""
    estimate = mission.estimate or {}
    amendments = estimate.get("amendments") or []
    if amendments:
        return Decimal(str(amendments[-1]["new_gross"]))
    if "gross_salary" in estimate:
        return Decimal(str(estimate["gross_salary"]))
    return None


async def record_contract_amendment(
    session: AsyncSession,
    mission: Mission,
    *,
    old_gross: Decimal,
    new_gross: Decimal,
    reason: str,
    on: date,
) -> dict[str, str]:
    """A written amendment of the contract's gross: kept with the signed estimate (the signed
    figures stay as they were) and on the timeline as `contract_amended`. The payslips code
    produces the amended contract document from `contract_amendments(mission)`."""
    estimate = dict(mission.estimate or {})
    amendments = list(estimate.get("amendments") or [])
    amendment = {
        "sequence": str(len(amendments) + 1),
        "date": on.isoformat(),
        "old_gross": f"{old_gross:.2f}",
        "new_gross": f"{new_gross:.2f}",
        "reason": reason,
    }
    estimate["amendments"] = [*amendments, amendment]
    mission.estimate = estimate
    # The written amendment itself: numbered with the contract's other amendments, its PDF made
    # once the payout is committed (services.documents.ensure_amendments).
    session.add(
        ContractAmendment(
            mission_id=mission.id,
            sequence=len(amendments) + 1,
            business_date=on,
            old_gross=old_gross,
            new_gross=new_gross,
            reason=reason[:500],
        )
    )
    await session.flush()
    await add_timeline(
        session,
        mission.id,
        f"contract_amended:{amendment['sequence']}",
        "contract_amended",
        on,
        None,
        amendment,
    )
    return amendment


def contract_amendments(mission: Mission) -> list[dict[str, str]]:
    """The amendments of a mission's contract, oldest first: {sequence, date, old_gross,
    new_gross, reason}. Each one is a new contract document (documents, payslips helper)."""
    return list((mission.estimate or {}).get("amendments") or [])


async def _amendment_reason(
    session: AsyncSession, invoice_id: int, billed: Decimal, invoiced: Decimal
) -> str:
    if billed < invoiced:
        number = await session.scalar(
            select(CreditNote.number)
            .where(CreditNote.invoice_id == invoice_id)
            .order_by(CreditNote.id.desc())
            .limit(1)
        )
        return (
            f"credit note {number} lowered the salary base from {invoiced:.2f} to "
            f"{billed:.2f} EUR excl. VAT before payday"
        )
    return (
        "the employment budget no longer covers the signed gross with the payroll rules in "
        "force on payday"
    )


def payroll_record(payroll: Payroll, rows: dict[str, Any], month: str) -> dict[str, Any]:
    """payouts.payroll: the flat figures, the lines and the month's cumulation."""
    return {
        "basis": estimates.basis(payroll, only_pay_of_month=False),
        **estimates.payroll_json(payroll, rows),
        "month": {
            "month": month,
            "taxable_before": f"{payroll.month_before.taxable:.2f}",
            "withheld_before": f"{payroll.month_before.withheld:.2f}",
            "share": payroll.month_share.to_json(),
        },
    }


async def pay_salary(
    session: AsyncSession, mission_id: int, paid_on: date, attempt: int = 0
) -> Payout:
    """Pay the member on payday: from the client's money if it came in full, else from the fund.

    The gross paid is the one of the signed contract (mission.estimate, as amended). If the
    employment budget no longer covers it (a credit note lowered the salary base before payday),
    the contract is amended first (`record_contract_amendment`), never silently recalculated.
    The employee side cumulates the member's payouts of the same calendar month (by paid_on):
    the member's row is locked so that two payouts of one member are computed one at a time.

    When the fund may not advance it, nothing is paid and the timeline says why.
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
    # Lock order: the mission, its invoice, the member (month cumulation), then the fund.
    member = await session.scalar(
        select(Member).where(Member.id == mission.member_id).with_for_update()
    )
    client = await session.get(Client, mission.client_id)
    assert member is not None and client is not None
    expenses = sum((e.amount for e in await expense_lines(session, mission_id)), Decimal("0.00"))
    rows = await parameters.payroll_rows(session, paid_on)
    params = parameters.payroll_parameters_from(rows)
    contract_type = parse_contract_type(mission.contract_type)
    # Credit notes issued before payday took the member's share back from this budget.
    billed = await salary_base(session, invoice)
    options: dict[str, Any] = {
        "period": WorkPeriod.of(paid_days(mission), paid_on),
        "month": await _month_to_date(session, member.id, paid_on, mission_id),
        # The member's choice (percent), never below the legal flat rate in force.
        "withholding_rate": max(
            member.artistic_withholding_rate / 100, params.artistic_withholding_rate
        ),
    }
    most = estimate_payroll(billed, expenses, params, contract_type, **options)
    signed = signed_gross(mission)
    if signed is None or signed == most.gross_salary:
        payroll = most
    elif signed < most.gross_salary:
        # The budget covers more than signed (roundings, rates): the contract's gross is paid
        # and the rest of the budget is employer contributions (domain.payroll).
        payroll = estimate_payroll(billed, expenses, params, contract_type, gross=signed, **options)
    else:
        await record_contract_amendment(
            session,
            mission,
            old_gross=signed,
            new_gross=most.gross_salary,
            reason=await _amendment_reason(session, invoice.id, billed, invoice.total_excl_vat),
            on=paid_on,
        )
        payroll = most
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
        payroll=payroll_record(payroll, rows, paid_on.strftime("%Y-%m")),
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
            # The net includes the exit holiday pay: both go to the member, with the expenses.
            Line("bank", -payroll.net_paid),
            Line(
                "social_contributions_payable",
                -(
                    payroll.employer_contributions
                    + payroll.other_employer_charges
                    + payroll.net_employee_contributions
                ),
            ),
            Line("holiday_contributions_payable", -payroll.holiday_contribution),
            Line("special_contribution_payable", -payroll.special_contribution),
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
            "gross_salary": str(payroll.gross_salary),
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
    # Relative to the net on record: it also holds the exit holiday pay, the work bonus and the
    # CSSS of the payroll, which a true-up of these three figures leaves as they were.
    net = (
        now["net_salary"]
        + (gross - now["gross_salary"])
        - (new["employee_contributions"] - now["employee_contributions"])
        - (new["withholding_tax"] - now["withholding_tax"])
    )
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
