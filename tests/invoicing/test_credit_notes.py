"""Credit notes on PostgreSQL: own gap-free series, exact reverse postings, immutable invoices."""

from __future__ import annotations

from decimal import Decimal

import pytest
from sqlalchemy import select

from core.db import Database
from core.errors import DomainError
from core.settings import Settings
from domain.errors import FieldError
from models import CreditNote, Invoice, Mission, Payout
from services import collection, payroll
from services.invoicing import issue_credit_note, issue_invoice
from tests.invoicing.conftest import (
    invoice_snapshot,
    mission_postings,
    new_party,
    reported_mission,
    today,
    transaction_lines,
)

D = Decimal


async def _invoiced(
    db: Database,
    settings: Settings,
    *,
    amount: str = "1000.00",
    expenses: list[tuple[str, Decimal]] | None = None,
) -> Invoice:
    issued_on = await today(db, settings)
    async with db.session() as session:
        party = await new_party(session)
        mission = await reported_mission(session, settings, party, amount=amount, expenses=expenses)
        return await issue_invoice(session, mission.id, issued_on, 30)


async def _credit(
    db: Database,
    settings: Settings,
    invoice_id: int,
    amount: str | None = None,
    *,
    full: bool = False,
) -> tuple[CreditNote, Invoice]:
    issued_on = await today(db, settings)
    async with db.session() as session:
        return await issue_credit_note(
            session,
            invoice_id,
            amount_incl_vat=None if amount is None else D(amount),
            full=full,
            reason="client disputes the number of days",
            issue_date=issued_on,
            actor="ops:test",
        )


async def _reload(db: Database, invoice_id: int) -> Invoice:
    async with db.session() as session:
        invoice = await session.get(Invoice, invoice_id)
        assert invoice is not None
        return invoice


def _negated(lines: dict[str, Decimal]) -> dict[str, Decimal]:
    return {account: -amount for account, amount in lines.items()}


async def test_full_credit_note_reverses_the_invoice_exactly(
    db: Database, settings: Settings
) -> None:
    invoice = await _invoiced(db, settings)
    before = invoice_snapshot(invoice)
    note, after = await _credit(db, settings, invoice.id, full=True)

    assert note.number == f"C{note.year}-{note.sequence:06d}"
    assert (note.amount_excl_vat, note.vat_amount, note.amount_incl_vat) == (
        D("1000.00"),
        D("210.00"),
        D("1210.00"),
    )
    assert note.full and note.invoice_id == invoice.id
    reloaded = await _reload(db, invoice.id)
    assert invoice_snapshot(reloaded) == before
    assert (reloaded.balance, reloaded.principal_open, reloaded.status) == (
        D("0.00"),
        D("0.00"),
        "credited",
    )
    async with db.session() as session:
        issued = await transaction_lines(session, f"invoice_issued:{invoice.id}")
        credited = await transaction_lines(session, f"credit_note:{note.id}")
        mission = await session.get(Mission, invoice.mission_id)
        placeholder = await session.scalar(
            select(Payout).where(Payout.mission_id == invoice.mission_id)
        )
        totals = await mission_postings(session, invoice.mission_id)
    # Salary not paid yet: the exact reverse of the issue, the member's budget included.
    assert credited == _negated(issued)
    assert sum(credited.values()) == 0
    assert all(amount == 0 for amount in totals.values()), totals
    assert mission is not None and mission.stage == "paid"
    # Nothing left for a salary: day 7 finds it settled at zero instead of paying one.
    assert placeholder is not None
    assert (placeholder.source, placeholder.net_amount) == ("credited", D("0.00"))


async def test_partial_credit_notes_add_up_to_the_invoice(db: Database, settings: Settings) -> None:
    # 333.33 excl. VAT: shares that do not divide evenly, to catch a stray cent.
    invoice = await _invoiced(db, settings, amount="333.33")
    assert invoice.total_incl_vat == D("403.33")
    before = invoice_snapshot(invoice)
    notes = []
    for amount in ("100.01", "0.01", "203.30"):
        note, _ = await _credit(db, settings, invoice.id, amount)
        notes.append(note)
        async with db.session() as session:
            lines = await transaction_lines(session, f"credit_note:{note.id}")
        assert sum(lines.values()) == 0
        assert lines["client_receivables"] == -note.amount_incl_vat
        assert lines.get("vat_payable", D("0")) == note.vat_amount
        assert note.amount_excl_vat + note.vat_amount == note.amount_incl_vat
    partial = await _reload(db, invoice.id)
    assert (partial.balance, partial.principal_open, partial.status) == (
        D("100.01"),
        D("100.01"),
        "open",
    )
    last, _ = await _credit(db, settings, invoice.id, full=True)
    notes.append(last)
    assert last.amount_incl_vat == D("100.01")
    assert [n.sequence for n in notes] == list(range(notes[0].sequence, notes[0].sequence + 4))
    assert sum((n.vat_amount for n in notes), D("0")) == invoice.vat_amount
    assert sum((n.amount_excl_vat for n in notes), D("0")) == invoice.total_excl_vat
    reloaded = await _reload(db, invoice.id)
    assert invoice_snapshot(reloaded) == before
    assert reloaded.status == "credited"
    async with db.session() as session:
        totals = await mission_postings(session, invoice.mission_id)
    assert all(amount == 0 for amount in totals.values()), totals


async def _client_pays(db: Database, settings: Settings, invoice: Invoice, amount: str) -> None:
    on = await today(db, settings)
    async with db.session() as session:
        await collection.record_payment(
            session,
            amount=D(amount),
            received_on=on,
            structured_communication=invoice.structured_communication,
            bank_transaction_id=f"CN-{invoice.id}-{amount}",
            today=on,
            recorded_by_user_id=None,
        )


async def _payday(db: Database, settings: Settings, mission_id: int) -> Payout:
    """Pay the salary from the client's money (the fund's rules are not this test's subject)."""
    async with db.session() as session:
        result = await payroll.pay_salary(session, mission_id, await today(db, settings))
    assert isinstance(result, Payout), result
    assert result.source == "client"
    return result


async def test_credit_before_payday_lowers_the_salary(db: Database, settings: Settings) -> None:
    expenses = [("Printing", D("120.00"))]
    invoice = await _invoiced(db, settings, amount="2000.00", expenses=expenses)
    # The expense is invoiced grossed up for the fee: 120.00 / 0.935 = 128.34 (issue 12).
    assert invoice.total_incl_vat == D("2575.29")
    note, _ = await _credit(db, settings, invoice.id, "605.00")
    assert (note.amount_excl_vat, note.vat_amount) == (D("500.00"), D("105.00"))
    assert note.fund_share == 0
    assert note.member_share + note.fee_income + note.fund_contribution == D("500.00")
    assert note.salary_base_after == D("1628.34")  # 2128.34 less 500.00
    await _client_pays(db, settings, invoice, "1900.00")  # more than the salary's cost
    payout = await _payday(db, settings, invoice.mission_id)
    assert payout.payroll["invoiced_excl_vat"] == "1628.34"
    assert payout.expenses == D("120.00")
    async with db.session() as session:
        totals = await mission_postings(session, invoice.mission_id)
    # The member's budget is settled to the cent: what the credit took is not paid out.
    assert totals.get("member_salary_payable", D("0")) == 0


async def test_credit_after_payday_is_borne_by_the_fund(db: Database, settings: Settings) -> None:
    invoice = await _invoiced(db, settings)
    await _client_pays(db, settings, invoice, "1000.00")
    await _payday(db, settings, invoice.mission_id)
    note, after = await _credit(db, settings, invoice.id, full=True)
    assert note.amount_incl_vat == D("210.00")
    assert after.status == "credited"
    async with db.session() as session:
        lines = await transaction_lines(session, f"credit_note:{note.id}")
        totals = await mission_postings(session, invoice.mission_id)
    assert note.member_share == 0 and note.fund_share > 0
    assert "member_salary_payable" not in lines
    assert lines["guarantee_fund"] == note.fund_share + note.fund_contribution
    assert lines["fee_income"] == note.fee_income
    assert lines["vat_payable"] == note.vat_amount == D("36.45")  # 210.00 x 210/1210
    # The member keeps the salary: nothing is owed back on their budget.
    assert totals.get("member_salary_payable", D("0")) == 0
    assert sum(lines.values()) == 0


async def test_credit_with_expenses_keeps_them_reimbursed(db: Database, settings: Settings) -> None:
    invoice = await _invoiced(db, settings, amount="900.00", expenses=[("Hotel", D("100.00"))])
    note, _ = await _credit(db, settings, invoice.id, full=True)
    # The member's budget keeps what reimburses the expenses; the fund bears that part.
    assert note.fund_share > 0
    assert note.salary_base_after == D("106.95")  # 106.95 - 6.5 % fee (6.95) = 100.00
    async with db.session() as session:
        payout = await session.scalar(select(Payout).where(Payout.mission_id == invoice.mission_id))
    assert payout is None


async def test_refusals_change_nothing(db: Database, settings: Settings) -> None:
    invoice = await _invoiced(db, settings)
    with pytest.raises(FieldError) as err:
        await _credit(db, settings, invoice.id, "1210.01")
    assert err.value.field == "amount_incl_vat"
    assert "at most 1210.00" in err.value.message
    with pytest.raises(FieldError) as err:
        await _credit(db, settings, invoice.id)
    assert err.value.field == "amount_incl_vat"
    # A payment lowers what may be credited.
    await _client_pays(db, settings, invoice, "1000.00")
    with pytest.raises(FieldError) as err:
        await _credit(db, settings, invoice.id, "210.01")
    assert "at most 210.00" in err.value.message
    note, after = await _credit(db, settings, invoice.id, full=True)
    assert note.amount_incl_vat == D("210.00") and after.status == "credited"
    with pytest.raises(DomainError) as conflict:
        await _credit(db, settings, invoice.id, full=True)
    assert conflict.value.status_code == 409


async def test_written_off_invoice_is_refused(db: Database, settings: Settings) -> None:
    invoice = await _invoiced(db, settings)
    async with db.session() as session:
        await collection.write_off_invoice(session, invoice.mission_id, await today(db, settings))
    with pytest.raises(DomainError) as err:
        await _credit(db, settings, invoice.id, "10.00")
    assert err.value.status_code == 409
    assert "written off" in err.value.message
    async with db.session() as session:
        count = await session.scalar(
            select(CreditNote.id).where(CreditNote.invoice_id == invoice.id)
        )
    assert count is None
