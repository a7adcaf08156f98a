"""Bank in (issue 15 §2): camt.053 statements, .001.02 and .001.08, validated against their
official XSD, each line booked once (INV-7): applied by structured communication, by one
written in the free text, else to suspense with suggestions; debits recorded."""

from __future__ import annotations

from datetime import date, timedelta
from decimal import Decimal

import pytest
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from core.db import Database
from domain.errors import FieldError
from models import BankEntry, BankStatement, Client, Invoice, Mission, Payment
from services import bank, collection
from services.invoicing import issue_invoice
from tests.bank.camt import Line, statement
from tests.conftest import unique
from tests.money.conftest import new_client, new_member, new_mission, unbalanced_transactions

DAY = date(2026, 3, 2)
TODAY = DAY + timedelta(days=3)


async def _invoice(session: AsyncSession) -> Invoice:
    member = await new_member(session)
    client = await new_client(session)
    mission = await new_mission(session, member, client, on=DAY)
    await session.flush()
    return await issue_invoice(session, mission.id, DAY, 30)


def _iban() -> str:
    """An account of its own per test (the suite shares one database)."""
    digits = unique("")[-10:].rjust(10, "0")
    digits = "".join(ch for ch in digits if ch.isdigit()).rjust(10, "0")[-10:]
    bban = f"{digits}00"
    check = 98 - int(f"{bban}111400") % 97
    return f"BE{check:02d}{bban}"


async def _count(session: AsyncSession, model: object, *where: object) -> int:
    return int(await session.scalar(select(func.count()).select_from(model).where(*where)))  # type: ignore[arg-type]


@pytest.mark.parametrize("version", ["02", "08"])
async def test_sample_statement_is_valid_against_its_xsd(version: str) -> None:
    data = statement(
        [
            Line("R1", Decimal("12.50"), DAY, structured="+++010/8068/17183+++"),
            Line("R2", Decimal("7.00"), DAY, free_text="invoice +++010/8068/17183+++"),
            Line("R3", Decimal("5.00"), DAY, debit=True),
        ],
        version=version,
    )
    found, root = bank.validate(data)
    assert found == f"camt.053.001.{version}"
    assert bank._schema(found).validate(root)
    (parsed,) = bank.parse(data, TODAY)
    assert [e.direction for e in parsed.entries] == ["CRDT", "CRDT", "DBIT"]
    assert parsed.closing_balance - parsed.opening_balance == Decimal("14.50")  # type: ignore[operator]


@pytest.mark.parametrize("version", ["02", "08"])
async def test_ogm_lines_pay_the_right_invoices(db: Database, version: str) -> None:
    account = _iban()
    async with db.session() as session:
        first = await _invoice(session)
        second = await _invoice(session)
        data = statement(
            [
                Line(
                    unique("A"),
                    first.total_incl_vat,
                    DAY,
                    structured=first.structured_communication,
                ),
                Line(
                    unique("B"), Decimal("100.00"), DAY, structured=second.structured_communication
                ),
            ],
            version=version,
            account=account,
            statement_id=unique("S"),
        )
        result = await bank.import_file(session, data, "day.xml", today=TODAY, user_id=None)
        (row,) = result.statements
        assert (row.entries, row.created, row.applied, row.suspense, row.ignored) == (2, 2, 2, 0, 0)
        assert first.status == "paid" and first.balance == 0
        assert second.balance == second.total_incl_vat - Decimal("100.00")
        assert second.status != "paid"
        mission = await session.get(Mission, first.mission_id)
        assert mission is not None and mission.stage == "paid"
        # The workflows to tell: both missions, with their invoice's balance after the file.
        told = {n.mission_id: n.balance for n in result.notices}
        assert told == {first.mission_id: Decimal("0.00"), second.mission_id: second.balance}
        payments = (
            await session.scalars(select(Payment).where(Payment.bank_account == account))
        ).all()
        assert {p.invoice_id for p in payments} == {first.id, second.id}
        assert all(p.matched for p in payments)
        assert await unbalanced_transactions(session) == []


async def test_ogm_in_free_text_is_matched(db: Database) -> None:
    account = _iban()
    async with db.session() as session:
        invoice = await _invoice(session)
        written = invoice.structured_communication.replace("+++", "***")  # another usual spelling
        data = statement(
            [
                Line(
                    unique("F"),
                    invoice.total_incl_vat,
                    DAY,
                    free_text=f"Facture {invoice.number} {written} merci",
                )
            ],
            account=account,
            statement_id=unique("S"),
        )
        result = await bank.import_file(session, data, "f.xml", today=TODAY, user_id=None)
        assert result.statements[0].applied == 1
        assert invoice.status == "paid"
        entry = await session.scalar(select(BankEntry).where(BankEntry.account == account))
        assert entry is not None and entry.outcome == "applied"
        assert entry.communication and written in entry.communication


async def test_unknown_line_goes_to_suspense_with_suggestions(db: Database) -> None:
    account = _iban()
    async with db.session() as session:
        invoice = await _invoice(session)
        client = await session.get(Client, invoice.client_id)
        assert client is not None
        client_name = client.name.upper()  # as a bank writes it
        wrong = "+++000/0000/00097+++"  # a valid OGM of no invoice
        data = statement(
            [
                Line(
                    unique("U"), invoice.total_incl_vat, DAY, free_text="thanks", payer=client_name
                ),
                Line(unique("W"), Decimal("3.00"), DAY, structured=wrong),
            ],
            account=account,
            statement_id=unique("S"),
        )
        result = await bank.import_file(session, data, "u.xml", today=TODAY, user_id=None)
        row = result.statements[0]
        assert (row.created, row.applied, row.suspense) == (2, 0, 2)
        assert invoice.balance == invoice.total_incl_vat  # a suggestion is never applied
        entries = (
            await session.scalars(
                select(BankEntry).where(BankEntry.account == account).order_by(BankEntry.id)
            )
        ).all()
        assert [e.outcome for e in entries] == ["suspense", "suspense"]
        assert "no structured communication" in (entries[0].reason or "") or "not recognised" in (
            entries[0].reason or ""
        )
        assert {"invoice": invoice.number, "why": "amount and payer name"} in entries[0].suggestions
        assert "no invoice with this structured communication" in (entries[1].reason or "")
        payment = await session.get(Payment, entries[0].payment_id)
        assert payment is not None
        position = (await collection.suspense_positions(session, [payment]))[payment.id]
        assert position.open == invoice.total_incl_vat
        assert await unbalanced_transactions(session) == []


async def test_a_payer_iban_that_paid_the_client_before_is_suggested(db: Database) -> None:
    account, payer_iban = _iban(), _iban()
    async with db.session() as session:
        member, client = await new_member(session), await new_client(session)
        invoices = []
        for _ in range(2):
            mission = await new_mission(session, member, client, on=DAY)
            await session.flush()
            invoices.append(await issue_invoice(session, mission.id, DAY, 30))
        first, second = invoices
        paid = Line(
            unique("I"),
            first.total_incl_vat,
            DAY,
            structured=first.structured_communication,
            payer="Someone Else",
            payer_iban=payer_iban,
        )
        await bank.import_file(
            session,
            statement([paid], account=account, statement_id=unique("S")),
            "1.xml",
            today=TODAY,
            user_id=None,
        )
        bare = Line(unique("I"), second.balance, DAY, payer="Someone Else", payer_iban=payer_iban)
        await bank.import_file(
            session,
            statement([bare], account=account, statement_id=unique("S")),
            "2.xml",
            today=TODAY,
            user_id=None,
        )
        entry = await session.scalar(
            select(BankEntry).where(
                BankEntry.account == account, BankEntry.reference == bare.reference
            )
        )
        assert entry is not None and entry.outcome == "suspense"
        assert entry.suggestions[0] == {"invoice": second.number, "why": bank.WHY_IBAN}
        assert second.balance == second.total_incl_vat  # suggested, not applied


@pytest.mark.parametrize("version", ["02", "08"])
async def test_a_pending_entry_is_not_booked(db: Database, version: str) -> None:
    account = _iban()
    async with db.session() as session:
        invoice = await _invoice(session)
        ogm = invoice.structured_communication
        lines = [
            Line(unique("P"), Decimal("11.00"), DAY, structured=ogm, status="PDNG"),
            Line(unique("P"), Decimal("12.00"), DAY, structured=ogm),
        ]
        data = statement(lines, version=version, account=account, statement_id=unique("S"))
        result = await bank.import_file(session, data, "p.xml", today=TODAY, user_id=None)
        row = result.statements[0]
        assert (row.entries, row.created, row.ignored, row.applied) == (2, 1, 1, 1)
        assert invoice.balance == invoice.total_incl_vat - Decimal("12.00")
        assert await _count(session, BankEntry, BankEntry.account == account) == 1


async def test_debit_is_recorded_not_applied(db: Database) -> None:
    account = _iban()
    async with db.session() as session:
        data = statement(
            [Line(unique("D"), Decimal("850.00"), DAY, debit=True, payer="A member")],
            account=account,
            statement_id=unique("S"),
        )
        result = await bank.import_file(session, data, "d.xml", today=TODAY, user_id=None)
        assert result.statements[0].debits == 1
        entry = await session.scalar(select(BankEntry).where(BankEntry.account == account))
        assert entry is not None and entry.outcome == "debit" and entry.payment_id is None
        assert await _count(session, Payment, Payment.bank_account == account) == 0


async def test_same_file_twice_books_nothing_new(db: Database) -> None:
    account = _iban()
    async with db.session() as session:
        invoice = await _invoice(session)
        data = statement(
            [
                Line(
                    unique("T"), Decimal("40.00"), DAY, structured=invoice.structured_communication
                ),
                Line(unique("T"), Decimal("9.00"), DAY, free_text="who knows"),
            ],
            account=account,
            statement_id=unique("S"),
        )
        first = await bank.import_file(session, data, "t.xml", today=TODAY, user_id=None)
        balance = invoice.balance
        again = await bank.import_file(session, data, "t.xml", today=TODAY, user_id=None)
        assert again.repeated == [True]
        assert again.statements[0].id == first.statements[0].id  # the earlier result
        assert again.notices == []
        assert invoice.balance == balance
        assert await _count(session, Payment, Payment.bank_account == account) == 2
        assert await _count(session, BankStatement, BankStatement.account == account) == 1


async def test_overlapping_statements_book_each_line_once(db: Database) -> None:
    account = _iban()
    async with db.session() as session:
        invoice = await _invoice(session)
        a, b, c = unique("O"), unique("O"), unique("O")
        ogm = invoice.structured_communication
        monday = [Line(a, Decimal("10.00"), DAY, structured=ogm), Line(b, Decimal("20.00"), DAY)]
        tuesday = [
            Line(b, Decimal("20.00"), DAY),
            Line(c, Decimal("30.00"), DAY + timedelta(days=1), structured=ogm),
        ]
        await bank.import_file(
            session,
            statement(monday, account=account, statement_id=unique("S")),
            "m.xml",
            today=TODAY,
            user_id=None,
        )
        result = await bank.import_file(
            session,
            statement(tuesday, account=account, statement_id=unique("S"), version="02"),
            "t.xml",
            today=TODAY,
            user_id=None,
        )
        row = result.statements[0]
        assert (row.entries, row.created, row.ignored) == (2, 1, 1)
        assert await _count(session, BankEntry, BankEntry.account == account) == 3
        assert await _count(session, Payment, Payment.bank_account == account) == 3
        assert invoice.balance == invoice.total_incl_vat - Decimal("40.00")


def _spoil(data: bytes, old: str, new: str) -> bytes:
    assert old.encode() in data
    return data.replace(old.encode(), new.encode(), 1)


GOOD = statement([Line("G1", Decimal("12.50"), DAY, structured="+++010/8068/17183+++")])


@pytest.mark.parametrize(
    ("data", "words"),
    [
        (b"", ["empty"]),
        (b"%PDF-1.7\n%\xe2\xe3\xcf\xd3\n1 0 obj", ["not an XML file", "line 1"]),
        (b"x" * (bank.MAX_BYTES + 1), ["larger than"]),
        (_spoil(GOOD, "camt.053.001.08", "pain.001.001.09"), ["not a camt.053", "pain.001"]),
        (_spoil(GOOD, ">12.50<", ">12.5x<"), ["line 7", "element Amt", "camt.053.001.08"]),
        (
            _spoil(GOOD, "<CdtDbtInd>CRDT</CdtDbtInd><Sts>", "<Sts>"),
            ["line 7", "element Sts", "Expected is ( CdtDbtInd )"],
        ),
        (_spoil(GOOD, '<Amt Ccy="EUR">12.50', '<Amt Ccy="USD">12.50'), ["USD", "element Amt"]),
        (
            _spoil(GOOD, "<Dt>2026-03-02</Dt></BookgDt>", "<Dt>2027-03-02</Dt></BookgDt>"),
            ["after today"],
        ),
    ],
    ids=["empty", "pdf", "too-large", "pain", "bad-amount", "missing-element", "usd", "future"],
)
async def test_invalid_file_is_refused_naming_the_element(data: bytes, words: list[str]) -> None:
    with pytest.raises(FieldError) as caught:
        bank.parse(data, TODAY)
    assert caught.value.field == "file"
    for word in words:
        assert word in caught.value.message, caught.value.message
