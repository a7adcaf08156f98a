"""services.document_data on PostgreSQL: each document's data read back from what the business
operations wrote (invoice, credit note, payment, dunning rungs, salary, write-off), in the
recipient's language, then rendered; documents that cannot exist yet are refused."""

from __future__ import annotations

import re
import subprocess
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from typing import Any

import pytest
from babel.numbers import format_currency
from sqlalchemy import select

from core.db import Database
from core.errors import DomainError, NotFound
from domain.late_payment import B2CParameters, b2c_penalty_cap
from models import Client, CreditNote, Expense, Invoice, Member, Mission, Payout, WriteOff
from services import collection, parameters, payroll, people
from services.document_data import DocumentData, document_data
from services.invoicing import issue_credit_note, issue_invoice
from services.timeline import add_timeline
from tests.conftest import BELGIAN_VAT, member_payload, unique

D = Decimal
ISSUED = date(2026, 9, 1)  # due 1 Oct 2026 (30 days); rungs on the seeded ladder's days
RUNGS = {"reminder_1": 7, "reminder_2": 21, "formal_notice": 35}
HOSTILE_CLIENT = "<script>alert(1)</script>"
HOSTILE_MEMBER = "{{7*7}}"


@dataclass
class Case:
    mission_id: int
    client_id: int
    member_id: int
    credit_note_id: int | None = None
    balances: dict[str, Decimal] = field(default_factory=dict)
    data: dict[str, DocumentData] = field(default_factory=dict)


async def _case(
    db: Database,
    *,
    kind: str,
    client_language: str,
    member_language: str,
    client_name: str,
    member_name: str,
    pay: Decimal | None = None,
    credit: Decimal | None = None,
) -> Case:
    """A mission invoiced on ISSUED, salary paid on day 7, the whole ladder, then written off."""
    async with db.session() as session:
        payload = member_payload()
        member = await people.create_member(
            session,
            name=member_name,
            email=payload["email"],
            password=payload["password"],
            iban=payload["iban"],
            national_number=payload["national_number"],
            language=member_language,
        )
        client = await people.create_client(
            session,
            name=client_name,
            email=f"{unique('doc')}@example.be",
            kind=kind,
            country="BE",
            address="Rue de la Loi 16, 1000 Bruxelles",
            vat_number=BELGIAN_VAT if kind == "business" else None,
            language=client_language,
            owner_member_id=member.id,
        )
        mission = Mission(
            member_id=member.id,
            client_id=client.id,
            title="Illustrations du catalogue",
            start_date=date(2026, 8, 24),
            end_date=date(2026, 8, 28),
            amount_excl_vat=D("1000.00"),
            vat_rate=D("21.00"),
            stage="work_report",
            created_on=date(2026, 8, 10),
            pay_date=date(2026, 9, 8),
            days_worked=5,
            signed_at=datetime.now(UTC),
            client_confirmed_at=datetime.now(UTC),
            client_confirmation_method="signed order form",
        )
        session.add(mission)
        await session.flush()
        # 93.50 at face value, invoiced grossed up for the fee: 93.50 / 0.935 = 100.00.
        session.add(Expense(mission_id=mission.id, position=0, label="train", amount=D("93.50")))
        await add_timeline(session, mission.id, "signed", "signed", date(2026, 8, 11), "member")
        await add_timeline(
            session, mission.id, "client_confirmed", "client_confirmed", date(2026, 8, 12), "ops"
        )
        await session.flush()
        invoice = await issue_invoice(session, mission.id, ISSUED, 30)
        case = Case(mission.id, client.id, member.id)
        paid = await payroll.pay_salary(session, mission.id, mission.pay_date)
        assert isinstance(paid, Payout), paid
        if credit is not None:
            note, _ = await issue_credit_note(
                session,
                invoice.id,
                amount_incl_vat=credit,
                full=False,
                reason="Une illustration en moins",
                issue_date=date(2026, 9, 15),
                actor="ops:test",
            )
            case.credit_note_id = note.id
        if pay is not None:
            await collection.record_payment(
                session,
                amount=pay,
                received_on=date(2026, 10, 5),
                structured_communication=invoice.structured_communication,
                bank_transaction_id=unique("tx"),
                today=date(2026, 10, 5),
                recorded_by_user_id=None,
            )
        for level, (step, days) in enumerate(RUNGS.items(), start=1):
            balance, acted = await collection.record_dunning_step(
                session, mission.id, level, step, invoice.due_date + timedelta(days=days)
            )
            assert acted
            case.balances[step] = balance
        await collection.write_off_invoice(session, mission.id, invoice.due_date + timedelta(65))
    async with db.session() as session:
        for kind_ in (
            "order_form",
            "contract",
            "invoice",
            "reminder_1",
            "reminder_2",
            "formal_notice",
            "payslip_estimate",
            "write_off_notice",
        ):
            case.data[kind_] = await document_data(session, mission.id, kind_)
        if case.credit_note_id is not None:
            case.data["credit_note"] = await document_data(
                session, mission.id, "credit_note", credit_note_id=case.credit_note_id
            )
    return case


@pytest.fixture(scope="module")
async def b2b(db: Database) -> Case:
    return await _case(
        db,
        kind="business",
        client_language="nl",
        member_language="fr",
        client_name="Atelier Lumière SRL",
        member_name="Alice Dubois",
        pay=D("100.00"),
        credit=D("121.00"),
    )


@pytest.fixture(scope="module")
async def b2c(db: Database) -> Case:
    return await _case(
        db,
        kind="consumer",
        client_language="fr",
        member_language="en",
        client_name=HOSTILE_CLIENT,
        member_name=HOSTILE_MEMBER,
    )


async def test_audience_and_language_follow_the_recipient(b2b: Case, b2c: Case) -> None:
    for case, client_lang, member_lang in ((b2b, "nl", "fr"), (b2c, "fr", "en")):
        for kind, doc in case.data.items():
            assert doc.kind == kind
            member_doc = kind in ("contract", "payslip_estimate", "write_off_notice")
            assert doc.audience == ("member" if member_doc else "client")
            assert doc.language == (member_lang if member_doc else client_lang)
            assert doc.data.language == doc.language


async def test_invoice_and_credit_note_are_the_stored_rows(db: Database, b2b: Case) -> None:
    async with db.session() as session:
        invoice = await session.scalar(select(Invoice).where(Invoice.mission_id == b2b.mission_id))
        note = await session.get(CreditNote, b2b.credit_note_id)
    assert note is not None
    inv = b2b.data["invoice"].data
    assert inv.total_excl_vat == D("1100.00")  # the mission and its expense
    assert inv.total_incl_vat == D("1331.00")
    assert inv.vat_category == "S" and inv.vat_rate == D("21.00")
    assert [line.amount_excl_vat for line in inv.lines] == [D("1000.00"), D("100.00")]
    assert inv.buyer.vat_number == BELGIAN_VAT
    assert inv.seller.iban and inv.structured_communication.startswith("+++")
    cn = b2b.data["credit_note"].data
    assert cn.number == note.number and cn.invoice_number == inv.number
    assert cn.invoice_issue_date == ISSUED and cn.issue_date == date(2026, 9, 15)
    assert (cn.amount_excl_vat, cn.vat_amount, cn.amount_incl_vat) == (
        note.amount_excl_vat,
        note.vat_amount,
        note.amount_incl_vat,
    )
    assert cn.amount_incl_vat == D("121.00")
    assert cn.vat_to_repay()  # a Belgian business deducted that VAT
    assert invoice is not None


async def test_business_letters_state_what_was_charged(db: Database, b2b: Case) -> None:
    letters = {k: b2b.data[k].data for k in RUNGS}
    due = date(2026, 10, 1)
    async with db.session() as session:
        rate_row = await parameters.dated_parameter(
            session, parameters.B2B_RATES, due + timedelta(days=7)
        )
        compensation = D(
            (await parameters.parameter(session, parameters.B2B, due))["fixed_compensation"]
        )
    for step, letter in letters.items():
        assert letter.regime == "b2b"
        assert letter.letter_date == due + timedelta(days=RUNGS[step])
        assert letter.due_date == due and letter.invoice_total == D("1331.00")
        assert letter.credited == D("121.00") and letter.paid == D("100.00")
        assert letter.principal_open == D("1110.00")
        # What the client owed the day the rung was climbed, to the cent.
        assert letter.amount_due == b2b.balances[step], step
        assert letter.annual_rate == D(str(rate_row.value["annual_rate"]))
        assert letter.b2b_fixed_compensation == compensation
    r1, r2, fn = letters["reminder_1"], letters["reminder_2"], letters["formal_notice"]
    assert r1.fixed_compensation == compensation  # claimed once, at the first late rung
    assert r2.fixed_compensation == fn.fixed_compensation == compensation
    assert D("0") < r1.interest < r2.interest < fn.interest
    assert r1.pay_by < r2.pay_by < fn.pay_by
    assert fn.pay_by > fn.letter_date


async def test_a_later_letter_date_can_be_asked_for(db: Database, b2b: Case) -> None:
    async with db.session() as session:
        later = await document_data(
            session, b2b.mission_id, "reminder_1", business_date=date(2026, 10, 9)
        )
    assert later.data.letter_date == date(2026, 10, 9)
    # Interest keeps running after the rung (issue 12 §5): a letter dated a day later states
    # one more day of it, on the principal still open (1110.00 at 10.5 %: 0.3193 a day).
    r1 = b2b.data["reminder_1"].data
    extra = later.data.interest - r1.interest
    assert extra in (D("0.31"), D("0.32"))
    assert later.data.amount_due == r1.amount_due + extra


async def test_consumer_letters_follow_book_xix(db: Database, b2c: Case) -> None:
    r1, r2, fn = (b2c.data[k].data for k in RUNGS)
    async with db.session() as session:
        params = B2CParameters.from_value(
            await parameters.parameter(session, parameters.B2C, r1.letter_date)
        )
    assert r1.regime == "b2c"
    # The first reminder is free and announces what will be claimed after the period. This
    # mission's order form (August 2026) had no reciprocal clause (migration 0021): no
    # penalty may be claimed from the consumer, and interest runs at the legal rate (4.50 %).
    assert r1.charges == 0 and r1.amount_due == D("1331.00") == b2c.balances["reminder_1"]
    assert r1.b2c_penalty == D("0.00") < b2c_penalty_cap(D("1331.00"), params)
    assert r1.annual_rate == D("4.50")
    assert r1.waiting_days == params.waiting_days
    assert r1.waiting_start == r1.letter_date + timedelta(days=1)  # sent by email
    assert r1.costs_from == r1.waiting_start + timedelta(days=params.waiting_days)
    assert r1.pay_by == r1.costs_from - timedelta(days=1)
    assert r1.b2c_reminder_fee_max == params.reminder_fee_max
    # Reminder 2 falls inside the period: still nothing charged.
    assert r2.letter_date < r2.costs_from and r2.charges == 0
    # The formal notice comes after it: penalty, reminder fee and interest, as recorded.
    assert fn.penalty == r1.b2c_penalty == D("0.00")
    assert fn.reminder_fee == params.reminder_fee_max
    assert fn.interest > 0
    assert fn.fixed_compensation == 0
    assert fn.amount_due == b2c.balances["formal_notice"]


async def test_member_documents(db: Database, b2b: Case) -> None:
    async with db.session() as session:
        payout = await session.scalar(select(Payout).where(Payout.mission_id == b2b.mission_id))
        write_off = await session.scalar(
            select(WriteOff).join(Invoice).where(Invoice.mission_id == b2b.mission_id)
        )
        policy = await parameters.lifecycle_policy(session, date(2026, 8, 10))
        member = await session.get(Member, b2b.member_id)
    assert payout is not None and write_off is not None and member is not None
    slip = b2b.data["payslip_estimate"].data
    assert slip.paid and slip.source == "fund" and slip.pay_date == date(2026, 9, 8)
    # The estimate is the estimate (the mission's price, no expenses): the payslip is the payout.
    assert slip.contract_type == "ordinary"
    assert slip.amount("price_excl_vat") == D("1000.00")
    assert slip.amount("net_salary") is not None and slip.amount("gross_salary") is not None
    assert slip.advance_working_days == policy.advance_working_days
    contract = b2b.data["contract"].data
    assert contract.signed_on == date(2026, 8, 11)
    assert contract.worker.national_number == member.national_number
    assert contract.contract_type == "ordinary"
    assert contract.gross_salary == slip.amount("gross_salary")
    assert "Rue de la Loi 16" in contract.place_of_work
    async with db.session() as session:
        final = (await document_data(session, b2b.mission_id, "payslip", payout_id=payout.id)).data
    assert final.amount("net_salary") == payout.net_amount
    assert final.amount("expenses") == D("93.50") and final.paid_on == payout.paid_on
    assert final.estimate_date is None  # this mission kept no signed estimate
    notice = b2b.data["write_off_notice"].data
    assert notice.invoice_number == b2b.data["invoice"].data.number
    assert notice.net_salary == payout.net_amount and notice.salary_paid_on == payout.paid_on
    assert notice.write_off_date == date(2026, 12, 5)
    assert notice.cause == "dunning_exhausted"
    assert notice.amount_written_off == write_off.amount > 0
    order = b2b.data["order_form"].data
    assert order.confirmed_on == date(2026, 8, 12)
    assert order.total_incl_vat == D("1210.00") and order.payment_days == 30
    assert order.late_payment.regime == "b2b"


async def test_documents_that_cannot_exist_yet(db: Database) -> None:
    async with db.session() as session:
        payload = member_payload()
        member = await people.create_member(
            session,
            name=payload["name"],
            email=payload["email"],
            password=payload["password"],
            iban=payload["iban"],
            national_number=payload["national_number"],
        )
        client = Client(
            name="Fresh client",
            email="fresh@example.be",
            kind="consumer",
            country="BE",
            address="Kerkstraat 3, 2000 Antwerpen",
            language="de",
        )
        session.add(client)
        await session.flush()
        mission = Mission(
            member_id=member.id,
            client_id=client.id,
            title="Fresh",
            start_date=date(2026, 8, 24),
            end_date=date(2026, 8, 28),
            amount_excl_vat=D("500.00"),
            vat_rate=D("21.00"),
            created_on=date(2026, 8, 10),
            pay_date=date(2026, 9, 8),
        )
        session.add(mission)
        await session.flush()
        # What is made at the start exists at once, unsigned and unconfirmed.
        contract = await document_data(session, mission.id, "contract")
        assert contract.data.signed_on is None
        order = await document_data(
            session, mission.id, "order_form", business_date=date(2026, 8, 10)
        )
        assert order.data.confirmed_on is None and order.language == "en"  # no German texts
        assert order.data.late_payment.regime == "b2c"
        slip = await document_data(session, mission.id, "payslip_estimate")
        assert not slip.data.paid and slip.data.amount("price_excl_vat") == D("500.00")
        for kind in ("invoice", "reminder_1", "formal_notice", "write_off_notice"):
            with pytest.raises(DomainError) as refused:
                await document_data(session, mission.id, kind)
            assert refused.value.status_code == 409
            assert "no invoice yet" in refused.value.message
        with pytest.raises(DomainError):
            await document_data(session, mission.id, "credit_note")
        with pytest.raises(NotFound):
            await document_data(session, mission.id, "credit_note", credit_note_id=2**31 - 1)
        with pytest.raises(DomainError) as unknown:
            await document_data(session, mission.id, "quote")
        assert unknown.value.status_code == 422
        with pytest.raises(NotFound):
            await document_data(session, 2**31 - 1, "contract")
        await session.rollback()


async def test_reminder_not_recorded_yet(db: Database) -> None:
    async with db.session() as session:
        payload = member_payload()
        member = await people.create_member(
            session,
            name=payload["name"],
            email=payload["email"],
            password=payload["password"],
            iban=payload["iban"],
            national_number=payload["national_number"],
        )
        client = await people.create_client(
            session,
            name="Late Co",
            email=f"{unique('late')}@example.be",
            kind="business",
            country="BE",
            address="1 Rue",
            vat_number=BELGIAN_VAT,
        )
        mission = Mission(
            member_id=member.id,
            client_id=client.id,
            title="Late",
            start_date=date(2026, 8, 24),
            end_date=date(2026, 8, 28),
            amount_excl_vat=D("500.00"),
            vat_rate=D("21.00"),
            created_on=date(2026, 8, 10),
            pay_date=date(2026, 9, 8),
            days_worked=5,
        )
        session.add(mission)
        await session.flush()
        await issue_invoice(session, mission.id, ISSUED, 30)
        assert (await document_data(session, mission.id, "invoice")).data.total_incl_vat == D(
            "605.00"
        )
        with pytest.raises(DomainError, match="no reminder_2 recorded"):
            await document_data(session, mission.id, "reminder_2")
        with pytest.raises(DomainError, match="not written off"):
            await document_data(session, mission.id, "write_off_notice")
        await session.rollback()


def _text(pdf: bytes) -> str:
    out = subprocess.run(
        ["pdftotext", "-layout", "-", "-"], input=pdf, capture_output=True, check=True
    ).stdout.decode("utf-8")
    return re.sub(r"[\s\u00a0\u202f\u2009]+", " ", out)


async def test_rendered_from_the_database(b2b: Case, b2c: Case) -> None:
    from documents.render import filename, render_pdf

    nl_total = format_currency(D("1331.00"), "EUR", locale="nl_BE")
    text = _text(render_pdf("invoice", b2b.data["invoice"].data))
    assert re.sub(r"[\u00a0\u202f]", " ", nl_total) in text and "Factuur" in text
    assert filename("invoice", b2b.data["invoice"].data).startswith("invoice-F2026-")
    # Hostile names of a consumer client and a member, in every document made for them.
    for kind, doc in b2c.data.items():
        text = _text(render_pdf(kind, doc.data))
        name = HOSTILE_MEMBER if doc.audience == "member" else HOSTILE_CLIENT
        assert name in text, kind
        # A rendered {{7*7}} (not the cents of an amount such as 92,49).
        assert not re.search(r"(?<![\d.,])\b49\b(?![.,]\d)", text), kind
    fn = _text(render_pdf("formal_notice", b2c.data["formal_notice"].data))
    assert "livre XIX du Code de droit économique" in fn and "14 jours" in fn
    r1: Any = b2c.data["reminder_1"].data
    r1_text = _text(render_pdf("reminder_1", r1))
    # No reciprocal clause on this mission's order form: no penalty announced, legal rate.
    assert "indemnité forfaitaire" not in r1_text
    assert "des intérêts de retard au taux de 4,5 % par an" in r1_text
