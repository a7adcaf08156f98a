"""INV-4 (reliability.md): 8 concurrent issuers with injected rollbacks leave, per series and
year, count == max number, no gap and no duplicate, for invoices and credit notes alike."""

from __future__ import annotations

import asyncio
import itertools
from datetime import date
from decimal import Decimal

from sqlalchemy import func, select

from core.db import Database
from core.settings import Settings
from models import CreditNote, Invoice, InvoiceCounter
from services.invoicing import (
    CREDIT_NOTE_SERIES,
    INVOICE_SERIES,
    issue_credit_note,
    issue_invoice,
)
from tests.invoicing.conftest import new_party, reported_mission

ISSUERS = 8
INVOICES_EACH = 6
CREDIT_NOTES_EACH = 3  # per invoice
ROLLBACK_EVERY = 3
# A year of its own, so that the counts are this test's alone.
YEAR = 2091
ISSUE_DATE = date(YEAR, 3, 2)


class InjectedRollback(Exception):
    """Raised after the number was allocated, inside the issuing transaction."""


async def _numbers(db: Database, model: type[Invoice] | type[CreditNote], series: str, year: int):
    async with db.session() as session:
        rows = (
            await session.scalars(
                select(model.sequence).where(model.series == series, model.year == year)
            )
        ).all()
        counter = await session.scalar(
            select(InvoiceCounter.last_number).where(
                InvoiceCounter.series == series, InvoiceCounter.year == year
            )
        )
    return list(rows), counter


def _assert_gap_free(sequences: list[int], counter: int | None, expected: int | None) -> None:
    assert len(sequences) == len(set(sequences)), "duplicate numbers"
    assert sorted(sequences) == list(range(1, len(sequences) + 1)), "gap in the numbers"
    assert (counter or 0) == len(sequences) == max(sequences, default=0)
    if expected is not None:
        assert len(sequences) == expected


async def _issuer(db: Database, mission_ids: list[int], attempts: itertools.count[int]) -> int:
    """Issue each mission's invoice in its own transaction; every 3rd transaction rolls back."""
    rolled_back = 0
    pending = list(mission_ids)
    while pending:
        mission_id = pending[0]
        try:
            async with db.session() as session:
                invoice = await issue_invoice(session, mission_id, ISSUE_DATE, 30)
                assert invoice.year == YEAR
                if next(attempts) % ROLLBACK_EVERY == 0:
                    raise InjectedRollback(invoice.number)
        except InjectedRollback:
            rolled_back += 1
            continue
        pending.pop(0)
        await asyncio.sleep(0)
    return rolled_back


async def _crediter(db: Database, invoice_ids: list[int], attempts: itertools.count[int]) -> int:
    rolled_back = 0
    pending = [i for i in invoice_ids for _ in range(CREDIT_NOTES_EACH)]
    while pending:
        invoice_id = pending[0]
        try:
            async with db.session() as session:
                note, _ = await issue_credit_note(
                    session,
                    invoice_id,
                    amount_incl_vat=Decimal("1.00"),
                    full=False,
                    reason="goodwill discount",
                    issue_date=ISSUE_DATE,
                    actor="ops:inv4",
                )
                if next(attempts) % ROLLBACK_EVERY == 0:
                    raise InjectedRollback(note.number)
        except InjectedRollback:
            rolled_back += 1
            continue
        pending.pop(0)
        await asyncio.sleep(0)
    return rolled_back


async def test_concurrent_issuers_leave_no_gap(db: Database, settings: Settings) -> None:
    async with db.session() as session:
        party = await new_party(session)
        missions = [
            (await reported_mission(session, settings, party, amount=f"{100 + i}.00")).id
            for i in range(ISSUERS * INVOICES_EACH)
        ]
    shares = [missions[i::ISSUERS] for i in range(ISSUERS)]

    rollbacks = await asyncio.gather(*(_issuer(db, share, itertools.count(1)) for share in shares))
    assert all(n > 0 for n in rollbacks), rollbacks
    invoices, counter = await _numbers(db, Invoice, INVOICE_SERIES, YEAR)
    _assert_gap_free(invoices, counter, ISSUERS * INVOICES_EACH)

    async with db.session() as session:
        invoice_ids = list(
            (
                await session.scalars(
                    select(Invoice.id).where(Invoice.mission_id.in_(missions)).order_by(Invoice.id)
                )
            ).all()
        )
    assert len(invoice_ids) == len(missions)
    credit_rollbacks = await asyncio.gather(
        *(_crediter(db, invoice_ids[i::ISSUERS], itertools.count(1)) for i in range(ISSUERS))
    )
    assert all(n > 0 for n in credit_rollbacks), credit_rollbacks
    notes, counter = await _numbers(db, CreditNote, CREDIT_NOTE_SERIES, YEAR)
    _assert_gap_free(notes, counter, len(invoice_ids) * CREDIT_NOTES_EACH)

    # Every credited invoice went down by exactly its committed notes, nothing more.
    async with db.session() as session:
        credited = await session.scalars(select(Invoice).where(Invoice.id.in_(invoice_ids)))
        balances = {i.total_incl_vat - i.balance for i in credited}
    assert balances == {Decimal("3.00")}


async def test_every_series_and_year_is_gap_free(db: Database) -> None:
    """INV-4 over the whole database (whatever the other tests issued)."""
    async with db.session() as session:
        years = (await session.execute(select(InvoiceCounter.series, InvoiceCounter.year))).all()
        counts = {
            (series, year): await session.scalar(
                select(func.count())
                .select_from(CreditNote if series == CREDIT_NOTE_SERIES else Invoice)
                .where(
                    (CreditNote.series if series == CREDIT_NOTE_SERIES else Invoice.series)
                    == series,
                    (CreditNote.year if series == CREDIT_NOTE_SERIES else Invoice.year) == year,
                )
            )
            for series, year in years
        }
    for series, year in years:
        model = CreditNote if series == CREDIT_NOTE_SERIES else Invoice
        sequences, counter = await _numbers(db, model, series, year)
        assert counts[(series, year)] == len(sequences)
        _assert_gap_free(sequences, counter, None)
