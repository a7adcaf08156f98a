"""pay_salary with the payroll engine, on PostgreSQL: the signed gross is paid (expenses never
lower it), the ledger balances with the new parts, a member's payouts of one month cumulate,
and a lower budget is a recorded contract amendment, never a silent recalculation."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

from sqlalchemy import select

from core.db import Database
from domain.payroll import MonthToDate, estimate_payroll, key_formula_tax
from models import (
    ContractAmendment,
    Invoice,
    LedgerEntry,
    LedgerTransaction,
    Mission,
    Payout,
    TimelineEvent,
)
from services import documents, parameters, payroll
from services.invoicing import issue_credit_note, issue_invoice
from tests.money.conftest import (
    new_client,
    new_member,
    new_mission,
    own_day,
    unbalanced_transactions,
)

D = Decimal


async def _signed(db: Database, mission_id: int, on: date) -> Decimal:
    """Sign like services.missions.record_signature: the estimate of the labour price."""
    async with db.session() as session:
        mission = await session.get(Mission, mission_id)
        assert mission is not None
        params = await parameters.payroll_parameters(session, on)
        gross = estimate_payroll(
            mission.amount_excl_vat,
            D("0"),
            params,
            mission.contract_type,  # type: ignore[arg-type]
        ).gross_salary
        mission.estimate = {"gross_salary": f"{gross:.2f}"}
        await session.commit()
    return gross


async def _lines(db: Database, event_key: str) -> dict[str, Decimal]:
    async with db.session() as session:
        rows = await session.execute(
            select(LedgerEntry.account, LedgerEntry.amount)
            .join(LedgerTransaction, LedgerTransaction.id == LedgerEntry.transaction_id)
            .where(LedgerTransaction.event_key == event_key)
        )
        return {account: amount for account, amount in rows}


async def _pay(db: Database, mission_id: int, day: date) -> Payout:
    async with db.session() as session:
        await issue_invoice(session, mission_id, day, 30)
        await session.commit()
    async with db.session() as session:
        payout = await payroll.pay_salary(session, mission_id, day)
        await session.commit()
    assert isinstance(payout, Payout)
    return payout


async def test_expenses_do_not_lower_the_signed_gross_and_the_ledger_balances(
    db: Database,
) -> None:
    day = own_day()
    async with db.session() as session:
        member = await new_member(session)
        client = await new_client(session)
        plain = await new_mission(session, member, client, on=day)
        with_expenses = await new_mission(
            session, await new_member(session), client, expenses=D("100.00"), on=day
        )
        await session.commit()
    gross = await _signed(db, plain.id, day)
    assert gross == D("657.26")  # 1 000 excl. VAT, ordinary: not 748
    assert await _signed(db, with_expenses.id, day) == gross
    first = await _pay(db, plain.id, day)
    second = await _pay(db, with_expenses.id, day)
    async with db.session() as session:
        invoice = await session.scalar(
            select(Invoice).where(Invoice.mission_id == with_expenses.id)
        )
        assert invoice is not None
        # The expense is invoiced grossed up for the fee: 100 / 0.935 = 106.95.
        assert invoice.lines[1]["amount_excl_vat"] == "106.95"
        assert invoice.total_excl_vat == D("1106.95")
    assert first.gross_salary == second.gross_salary == gross
    assert second.net_amount == first.net_amount
    assert second.expenses == D("100.00")
    assert D(second.payroll["net_paid"]) == D(first.payroll["net_paid"]) + D("100.00")
    # The ledger: balanced, every new part on its account, the whole budget spent.
    lines = await _lines(db, f"salary_paid:{second.id}")
    p = second.payroll
    assert sum(lines.values(), D("0")) == 0
    assert lines["bank"] == -D(p["net_paid"])
    assert lines["social_contributions_payable"] == -(
        D(p["employer_contributions"]) + D(p["employee_contributions"]) - D(p["work_bonus"])
    )
    assert lines["member_salary_payable"] == D("1106.95") - D(p["fee"])
    assert "holiday_contributions_payable" not in lines  # ordinary: the holiday pay is in bank
    assert D(p["exit_holiday_pay"]) == D("100.82")
    assert p["month"]["month"] == day.strftime("%Y-%m")
    assert [line["code"] for line in p["lines"]][:3] == ["price_excl_vat", "fee", "expenses"]
    async with db.session() as session:
        assert await unbalanced_transactions(session) == []
        # The mission's salary payable is settled: invoiced budget + expenses, all paid out.
        entries = (
            await session.scalars(
                select(LedgerEntry.amount)
                .join(LedgerTransaction, LedgerTransaction.id == LedgerEntry.transaction_id)
                .where(
                    LedgerTransaction.mission_id == with_expenses.id,
                    LedgerEntry.account == "member_salary_payable",
                )
            )
        ).all()
        assert sum(entries, D("0")) == 0


async def test_artistic_payout_posts_the_holiday_contribution_and_the_chosen_rate(
    db: Database,
) -> None:
    day = own_day()
    async with db.session() as session:
        member = await new_member(session)
        member.artistic_withholding_rate = D("18.00")
        mission = await new_mission(session, member, await new_client(session), on=day)
        mission.contract_type = "artistic"
        await session.commit()
    payout = await _pay(db, mission.id, day)
    p = payout.payroll
    assert p["contract_type"] == "artistic"
    assert payout.gross_salary == D("648.82")
    assert D(p["holiday_contribution"]) == D("111.00")
    assert D(p["withholding_tax"]) == (D(p["taxable_pay"]) * D("0.18")).quantize(D("0.01"))
    lines = await _lines(db, f"salary_paid:{payout.id}")
    assert sum(lines.values(), D("0")) == 0
    assert lines["holiday_contributions_payable"] == -D("111.00")
    assert lines["withholding_tax_payable"] == -D(p["withholding_tax"])


async def test_two_payouts_in_one_month_cumulate_the_withholding(db: Database) -> None:
    day = own_day()
    async with db.session() as session:
        member = await new_member(session)
        client = await new_client(session)
        first = await new_mission(session, member, client, amount=D("4500.00"), on=day)
        second = await new_mission(session, member, client, amount=D("3000.00"), on=day)
        await session.commit()
    one = await _pay(db, first.id, day)
    two = await _pay(db, second.id, day)
    assert two.payroll["month"]["taxable_before"] == one.payroll["taxable_pay"]
    assert two.payroll["month"]["withheld_before"] == one.payroll["withholding_tax"]
    month = MonthToDate.from_json(one.payroll["month"]["share"]).plus(
        MonthToDate.from_json(two.payroll["month"]["share"])
    )
    async with db.session() as session:
        params = await parameters.payroll_parameters(session, day)
    formula = key_formula_tax(month.taxable, params.key_formula)
    assert D(two.payroll["withholding_tax_formula"]) == formula
    assert D(two.payroll["withholding_tax"]) == (
        formula - D(two.payroll["fiscal_work_bonus"]) - D(one.payroll["withholding_tax"])
    )
    # Alone, the second would have withheld less: the month's total is taxed progressively.
    alone = estimate_payroll(D("3000.00"), D("0"), params)
    assert D(two.payroll["withholding_tax"]) > alone.withholding_tax
    # Another member's payout in the same month is not counted.
    async with db.session() as session:
        other = await new_mission(
            session, await new_member(session), await new_client(session), on=day
        )
        await session.commit()
    three = await _pay(db, other.id, day)
    assert three.payroll["month"]["taxable_before"] == "0.00"


async def test_credit_note_before_payday_is_a_contract_amendment(db: Database) -> None:
    day = own_day()
    async with db.session() as session:
        mission = await new_mission(
            session, await new_member(session), await new_client(session), on=day
        )
        await session.commit()
    signed = await _signed(db, mission.id, day)
    async with db.session() as session:
        invoice = await issue_invoice(session, mission.id, day, 30)
        await session.commit()
    async with db.session() as session:
        note, _ = await issue_credit_note(
            session,
            invoice.id,
            amount_incl_vat=D("121.00"),
            full=False,
            reason="one song fewer",
            issue_date=day,
            actor="test",
        )
        await session.commit()
    async with db.session() as session:
        payout = await payroll.pay_salary(session, mission.id, day)
        await session.commit()
    assert isinstance(payout, Payout)
    assert payout.gross_salary < signed
    async with db.session() as session:
        event = await session.scalar(
            select(TimelineEvent).where(
                TimelineEvent.mission_id == mission.id, TimelineEvent.step == "contract_amended"
            )
        )
        assert event is not None
        assert event.detail["old_gross"] == f"{signed:.2f}"
        assert event.detail["new_gross"] == f"{payout.gross_salary:.2f}"
        assert note.number in event.detail["reason"]
        row = await session.get(Mission, mission.id)
        assert row is not None
        assert payroll.contract_amendments(row)[0]["new_gross"] == f"{payout.gross_salary:.2f}"
        assert payroll.signed_gross(row) == payout.gross_salary
        assert row.estimate is not None and row.estimate["gross_salary"] == f"{signed:.2f}"
        assert await unbalanced_transactions(session) == []
        [written] = list(
            await session.scalars(
                select(ContractAmendment).where(ContractAmendment.mission_id == mission.id)
            )
        )
        assert (written.sequence, written.old_gross, written.new_gross) == (
            1,
            signed,
            payout.gross_salary,
        )
    # The written amendment: its own PDF, made once (as the salary activity does after paying).
    [document] = await documents.ensure_amendments(db, mission.id)
    assert document.kind == "contract_amendment"
    assert [d.id for d in await documents.ensure_amendments(db, mission.id)] == [document.id]


async def test_a_gross_signed_under_the_old_rules_is_amended_not_silently_paid(
    db: Database,
) -> None:
    """748.00 was signed when the estimate forgot the holiday pay: the budget of 935 cannot pay
    it with 15.34 % holiday pay, so the contract is amended (with its reason) before paying."""
    day = own_day()
    async with db.session() as session:
        mission = await new_mission(
            session, await new_member(session), await new_client(session), on=day
        )
        mission.estimate = {"gross_salary": "748.00"}
        await session.commit()
    payout = await _pay(db, mission.id, day)
    assert payout.gross_salary == D("657.26")
    async with db.session() as session:
        row = await session.get(Mission, mission.id)
        assert row is not None
        [amendment] = payroll.contract_amendments(row)
        assert (amendment["old_gross"], amendment["new_gross"]) == ("748.00", "657.26")
        assert "no longer covers" in amendment["reason"]
