"""Late-payment interest by the law review (issue 12 §5), through services.collection on
PostgreSQL: interest day by day on the principal actually open, still running after the last
rung until write-off, the consumer's rate and penalty decided by the order form's clause, and
the Book XIX period's printed end moved off weekends and holidays (Civil Code art. 1.7)."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from core.db import Database
from models import Client, DunningStep, Invoice, Mission, TimelineEvent
from services import collection
from services.document_data import document_data
from services.invoicing import issue_invoice
from services.views import invoice_out
from tests.conftest import unique
from tests.money.conftest import new_client, new_member, new_mission, unbalanced_transactions

D = Decimal


async def _invoice(
    session: AsyncSession, kind: str, created_on: date, issued: date
) -> tuple[Mission, Invoice]:
    member = await new_member(session)
    client: Client = await new_client(session, kind=kind)
    mission = await new_mission(session, member, client, on=issued)
    mission.created_on = created_on
    await session.flush()
    invoice = await issue_invoice(session, mission.id, issued, 30)
    return mission, invoice


async def _rung(session: AsyncSession, mission: Mission, level: int, step: str, on: date) -> None:
    _, acted = await collection.record_dunning_step(session, mission.id, level, step, on)
    assert acted


async def _steps(session: AsyncSession, invoice: Invoice) -> list[DunningStep]:
    rows = await session.scalars(
        select(DunningStep).where(DunningStep.invoice_id == invoice.id).order_by(DunningStep.level)
    )
    return list(rows.all())


async def test_partial_payment_then_interest_runs_until_write_off(db: Database) -> None:
    async with db.session() as session:
        mission, invoice = await _invoice(session, "business", date(2026, 2, 1), date(2026, 3, 1))
        assert invoice.due_date == date(2026, 3, 31) and invoice.total_incl_vat == D("1210.00")
        # Reminder 1 on 7 Apr: 1..7 Apr = 7 days on 1210.00 at 10.5 %: 2.4366 -> 2.44, and 40.
        await _rung(session, mission, 1, "reminder_1", date(2026, 4, 7))
        # 500.00 on 11 Apr pays the 40.00 and 2.44 first, then 457.56 of principal: 752.44 open.
        await collection.record_payment(
            session,
            amount=D("500.00"),
            received_on=date(2026, 4, 11),
            structured_communication=invoice.structured_communication,
            bank_transaction_id=unique("tx"),
            today=date(2026, 4, 11),
            recorded_by_user_id=None,
        )
        assert invoice.principal_open == D("752.44")
        # Reminder 2 on 21 Apr: 1..10 Apr on 1210.00 + 11..21 Apr (11 days) on 752.44:
        # (127050 + 86906.82) / 36500 = 5.8618 -> 5.86, less the 2.44 charged = 3.42.
        # (Applying 752.44 to all 21 days, as before, would have charged 4.55 - 2.44 = 2.11.)
        await _rung(session, mission, 2, "reminder_2", date(2026, 4, 21))
        # Formal notice on 5 May: + 11 Apr..5 May (25 days) on 752.44: 8.8922 -> 8.89; 3.03 more.
        await _rung(session, mission, 3, "formal_notice", date(2026, 5, 5))
        steps = await _steps(session, invoice)
        assert [s.interest for s in steps] == [D("2.44"), D("3.42"), D("3.03")]
        assert "on 752.44 EUR (2026-04-11 to 2026-04-21)" in steps[1].rule

        # 60 days after the formal notice, still unpaid: interest kept running (11 Apr..4 Jul =
        # 85 days on 752.44): (127050 + 671552.70) / 36500 = 21.8795 -> 21.88 accrued.
        shown = await collection.interest_json(session, invoice, date(2026, 7, 4))
        assert (shown["accrued"], shown["charged"], shown["not_yet_charged"]) == (
            "21.88",
            "8.89",
            "12.99",
        )
        assert shown["amount_due"] == f"{invoice.balance + D('12.99'):.2f}"
        assert shown["law"] == "law of 2 Aug 2002"

        # Write-off that day: the interest up to the write-off date is claimed, then reversed.
        balance_before = invoice.balance
        principal, acted = await collection.write_off_invoice(session, mission.id, date(2026, 7, 4))
        assert acted and principal == D("752.44")
        assert invoice.interest_open == D("21.88") - D("2.44")  # what the payment did not pay
        assert invoice.balance == balance_before + D("12.99")
        last = (await _steps(session, invoice))[-1]
        assert (last.step, last.level, last.interest) == ("write_off", 101, D("12.99"))
        event = await session.scalar(
            select(TimelineEvent).where(
                TimelineEvent.mission_id == mission.id, TimelineEvent.key == "written_off"
            )
        )
        assert event is not None and event.detail is not None
        assert event.detail["interest_to_write_off"] == "21.88"
        assert event.detail["charges_reversed"] == f"{invoice.interest_open:.2f}"
        # Written off: the interest stops at the write-off date, whatever day it is asked.
        after = await collection.interest_json(session, invoice, date(2026, 9, 1))
        assert (after["as_of"], after["accrued"], after["not_yet_charged"]) == (
            "2026-07-04",
            "21.88",
            "0.00",
        )
        # The invoice JSON (and so the mission JSON) carries it.
        out = await invoice_out(session, invoice)
        assert out["late_interest"]["accrued"] == "21.88"
        assert await unbalanced_transactions(session) == []
        await session.commit()


async def _consumer_ladder(session: AsyncSession, created_on: date) -> tuple[Mission, Invoice]:
    # Issued 11 Dec 2026, due 10 Jan 2027. Reminder 1 by e-mail on Sunday 17 Jan: the period
    # starts 18 Jan; its 14th day is Sunday 31 Jan, so it ends Monday 1 Feb (Civil Code
    # art. 1.7) and costs are allowed from Tuesday 2 Feb only.
    mission, invoice = await _invoice(session, "consumer", created_on, date(2026, 12, 11))
    assert invoice.due_date == date(2027, 1, 10)
    await _rung(session, mission, 1, "reminder_1", date(2027, 1, 17))
    await _rung(session, mission, 2, "reminder_2", date(2027, 2, 1))  # the printed end: free
    await _rung(session, mission, 3, "formal_notice", date(2027, 2, 14))
    return mission, invoice


async def test_consumer_with_the_reciprocal_clause(db: Database) -> None:
    async with db.session() as session:
        # Created on 10 Dec 2026: its order form carries clause OF-2026-12 (0021, from 8 Dec).
        mission, invoice = await _consumer_ladder(session, date(2026, 12, 10))
        r1, r2, fn = await _steps(session, invoice)
        assert (r1.interest, r1.penalty, r1.reminder_fee) == (D("0"), D("0"), D("0"))
        assert (r2.interest, r2.penalty, r2.reminder_fee) == (D("0"), D("0"), D("0"))
        # 2..14 Feb = 13 days on 1210.00 at the 2002-law rate (10.5 %, estimate for H1 2027):
        # 4.5251 -> 4.53; penalty 65 + 5 % above 500 = 100.50; reminder fee 7.50.
        assert (fn.interest, fn.penalty, fn.reminder_fee) == (D("4.53"), D("100.50"), D("7.50"))
        assert "law of 2 Aug 2002" in fn.rule and "OF-2026-12" in fn.rule
        order = (await document_data(session, mission.id, "order_form")).data
        assert order.late_payment.reciprocal_clause == "OF-2026-12"
        letter = (await document_data(session, mission.id, "reminder_1")).data
        assert letter.waiting_start == date(2027, 1, 18)
        assert letter.waiting_end == letter.pay_by == date(2027, 2, 1)  # not Sunday 31 Jan
        assert letter.costs_from == date(2027, 2, 2)
        assert letter.b2c_penalty == D("100.50") and letter.annual_rate == D("10.50")
        shown = await collection.interest_json(session, invoice, date(2027, 2, 14))
        assert shown["consumer_terms"] == {
            "version": "OF-2026-12",
            "law_2002_rate": True,
            "reciprocal_penalty": True,
        }
        await session.commit()


async def test_consumer_without_the_clause_owes_the_legal_rate_and_no_penalty(
    db: Database,
) -> None:
    async with db.session() as session:
        # Created on 1 Dec 2026: its order form predates the clause.
        mission, invoice = await _consumer_ladder(session, date(2026, 12, 1))
        _, r2, fn = await _steps(session, invoice)
        assert r2.interest + r2.penalty + r2.reminder_fee == 0
        # 13 days on 1210.00 at the legal rate (law of 5 May 1865, 4.50 %, 2027 estimate):
        # 1.9393 -> 1.94; no penalty (not reciprocal); the reminder fee stays.
        assert (fn.interest, fn.penalty, fn.reminder_fee) == (D("1.94"), D("0.00"), D("7.50"))
        assert "law of 5 May 1865" in fn.rule and "void unless reciprocal" in fn.rule
        order = (await document_data(session, mission.id, "order_form")).data
        assert order.late_payment.reciprocal_clause is None
        assert order.late_payment.legal_rate == D("4.50")
        letter = (await document_data(session, mission.id, "formal_notice")).data
        assert letter.penalty == letter.b2c_penalty == D("0.00")
        assert letter.annual_rate == D("4.50")
        await session.commit()


async def test_the_amount_due_shown_with_running_interest_can_be_paid(db: Database) -> None:
    async with db.session() as session:
        mission, invoice = await _invoice(session, "business", date(2026, 2, 1), date(2026, 3, 1))
        await _rung(session, mission, 1, "reminder_1", date(2026, 4, 7))  # 2.44 + 40.00
        # Ten days later: 1..17 Apr = 17 days on 1210.00 at 10.5 %: 5.9175 -> 5.92 accrued,
        # 3.48 of it since the rung.
        shown = await collection.interest_json(session, invoice, date(2026, 4, 17))
        assert (shown["accrued"], shown["not_yet_charged"]) == ("5.92", "3.48")
        due = D(shown["amount_due"])
        assert due == D("1210.00") + D("42.44") + D("3.48")

        async def pay(amount: Decimal) -> None:
            await collection.record_payment(
                session,
                amount=amount,
                received_on=date(2026, 4, 17),
                structured_communication=invoice.structured_communication,
                bank_transaction_id=unique("tx"),
                today=date(2026, 4, 17),
                recorded_by_user_id=None,
            )

        assert invoice.balance == D("1252.44")
        # Exactly what was shown: the running interest is charged to the payment date, then paid.
        await pay(due)
        assert invoice.status == "paid" and invoice.balance == D("0.00")
        last = (await _steps(session, invoice))[-1]
        assert (last.step, last.interest, last.business_date) == (
            "payment_interest",
            D("3.48"),
            date(2026, 4, 17),
        )
        assert last.level > 100  # outside the ladder's levels: rung 2 can still be recorded
        assert await unbalanced_transactions(session) == []
        await session.commit()


async def test_more_than_the_amount_due_pays_it_and_the_rest_goes_to_suspense(
    db: Database,
) -> None:
    """A bank line is never refused (INV-7): above the balance plus the interest to the
    payment's date, the interest is charged, all is paid, and the rest waits in suspense."""
    async with db.session() as session:
        mission, invoice = await _invoice(session, "business", date(2026, 2, 1), date(2026, 3, 1))
        await _rung(session, mission, 1, "reminder_1", date(2026, 4, 7))  # 2.44 + 40.00
        due = D((await collection.interest_json(session, invoice, date(2026, 4, 17)))["amount_due"])
        payment, _ = await collection.record_payment(
            session,
            amount=due + D("0.01"),
            received_on=date(2026, 4, 17),
            structured_communication=invoice.structured_communication,
            bank_transaction_id=unique("tx"),
            today=date(2026, 4, 17),
            recorded_by_user_id=None,
        )
        assert invoice.status == "paid" and invoice.balance == D("0.00")
        last = (await _steps(session, invoice))[-1]
        assert (last.step, last.interest) == ("payment_interest", D("3.48"))
        held = (await collection.suspense_positions(session, [payment]))[payment.id]
        assert (held.applied, held.open) == (due, D("0.01"))
        assert "overpayment" in held.reason
        assert await unbalanced_transactions(session) == []


async def test_interest_charged_with_a_payment_leaves_the_ladder_alone(db: Database) -> None:
    async with db.session() as session:
        mission, invoice = await _invoice(session, "business", date(2026, 2, 1), date(2026, 3, 1))
        # 5 Apr, before any reminder: 1..5 Apr on 1210.00 = 1.7404 -> 1.74 accrued. The client
        # pays 1211.00: 1.74 is charged to that date, 1211.00 pays it and 1209.26 of principal.
        await collection.record_payment(
            session,
            amount=D("1211.00"),
            received_on=date(2026, 4, 5),
            structured_communication=invoice.structured_communication,
            bank_transaction_id=unique("tx"),
            today=date(2026, 4, 5),
            recorded_by_user_id=None,
        )
        assert (invoice.principal_open, invoice.interest_open) == (D("0.74"), D("0.00"))
        # Reminder 1 is still the first rung: the 40.00 is claimed there (once), and interest
        # from 6 Apr runs on 0.74 only: 1.74 + 0.74 x 10.5 % x 2 / 365 = 1.7447 -> 1.74, so
        # nothing more than the 1.74 already charged.
        await _rung(session, mission, 1, "reminder_1", date(2026, 4, 7))
        steps = await _steps(session, invoice)
        rung1 = next(s for s in steps if s.level == 1)
        assert (rung1.fixed_compensation, rung1.interest) == (D("40.00"), D("0.00"))
        assert [s.step for s in steps] == ["reminder_1", "payment_interest"]
        assert invoice.balance == D("0.74") + D("40.00")
        await session.commit()
