"""The dashboard's figures against the seeded book (advisor scope, known exactly) and against
direct SQL over the whole database (ops scope); the lists, their filters and the CSV export."""

from __future__ import annotations

import csv
import io
from datetime import date, timedelta
from decimal import Decimal
from typing import Any

import pytest
from sqlalchemy import text

from core.db import Database
from core.errors import DomainError
from core.settings import Settings
from domain.errors import FieldError
from services import dashboard, fund
from services.access import Viewer, viewer_of
from services.clock import business_today, current_clock
from services.dashboard import ListRequest
from services.mission_filters import MissionFilter
from tests.console.conftest import Book, seed_book

D = Decimal


def _cents(value: Any) -> Decimal:
    return (D(int(value or 0)) / 100).quantize(D("0.01"))


async def _sql(db: Database, sql: str, **params: Any) -> list[Any]:
    async with db.session() as session:
        return list((await session.execute(text(sql), params)).all())


@pytest.fixture(scope="module")
async def book(db: Database, settings: Settings) -> Book:
    """This module's own book (its timed stays in 2028): the exact figures below hold whatever
    other modules sharing the database (the session's book, forms that add missions) wrote."""
    async with db.session() as session:
        today = business_today(
            await current_clock(session, settings.day_seconds, settings.timezone)
        )
        return await seed_book(session, today, duration_year=2028)


# ---------------------------------------------------------------- advisor: known figures


async def test_pipeline_of_an_advisor(db: Database, book: Book) -> None:
    async with db.session() as session:
        figures = await dashboard.pipeline(session, book.advisor_viewer)
    got = {f.stage: (f.count, f.amount) for f in figures}
    assert got == {
        "contract": (2, D("350.00")),
        "declaration": (1, D("300.00")),
        "in_progress": (0, D("0.00")),
        "work_report": (0, D("0.00")),
        "invoiced": (2, D("3000.00")),
        "dunning": (2, D("900.00")),
        "paid": (6, D("650.00")),
        "written_off": (1, D("800.00")),
        "cancelled": (0, D("0.00")),
    }


async def test_ageing_and_dunning_ladder_of_an_advisor(db: Database, book: Book) -> None:
    async with db.session() as session:
        ageing = await dashboard.receivables_ageing(session, book.advisor_viewer, book.today)
        ladder = await dashboard.dunning_ladder(session, book.advisor_viewer)
    assert [(a.bucket, a.count, a.balance) for a in ageing] == [
        ("not_due", 1, D("1210.00")),
        ("1_30", 1, D("2420.00")),
        ("31_60", 1, D("605.00")),
        ("61_90", 0, D("0.00")),
        ("90_plus", 1, D("484.00")),
    ]
    assert [(r.level, r.count, r.balance) for r in ladder] == [
        (1, 1, D("605.00")),
        (2, 1, D("484.00")),
    ]


async def test_fund_of_an_advisor(db: Database, book: Book) -> None:
    async with db.session() as session:
        view = await dashboard.guarantee_fund(session, book.advisor_viewer, book.today)
        advance = await fund.mission_advance(session, book.missions["late45"].id)
        whole = await fund.guarantee_fund(session, book.today)
    assert advance > 0
    assert view.advances_count == 1
    assert view.advances_outstanding == advance
    assert [(e.client_id, e.amount) for e in view.exposure] == [(book.clients[0].id, advance)]
    # The fund's own figures are the cooperative's, whoever looks.
    assert f"{view.balance:.2f}" == whole["balance"]
    assert f"{view.floor:.2f}" == whole["floor"]
    write_off_month = (book.today - timedelta(days=40)).strftime("%Y-%m")
    months = {m.month: m for m in view.months}
    assert months[write_off_month].write_offs == D("968.00")  # 800.00 + 21 % VAT
    assert months[write_off_month].write_off_count == 1
    assert months[book.today.strftime("%Y-%m")].recoveries == D("100.00")
    assert sum(m.recovery_count for m in view.months) == 1
    # A chart over time: every month of the last year at least, none skipped.
    labels = [m.month for m in view.months]
    assert len(labels) >= 12 and labels[-1] == book.today.strftime("%Y-%m")
    steps = {
        (int(b[:4]) * 12 + int(b[5:])) - (int(a[:4]) * 12 + int(a[5:]))
        for a, b in zip(labels, labels[1:], strict=False)
    }
    assert steps == {1}


EXPECTED_DURATIONS = {
    # stage: (stays, median, p90) from tests/console/conftest.py DURATIONS
    "contract": (5, 3.0, 7.6),
    "declaration": (5, 2.0, 3.6),
    "in_progress": (5, 7.0, 8.6),
    "work_report": (5, 5.0, 6.6),
    "invoiced": (5, 30.0, 46.0),
    "dunning": (0, None, None),
}


async def test_stage_durations_of_an_advisor(db: Database, book: Book) -> None:
    async with db.session() as session:
        got = await dashboard.stage_durations(session, book.advisor_viewer, *book.duration_period)
        empty = await dashboard.stage_durations(
            session, book.advisor_viewer, date(2030, 1, 1), date(2030, 1, 31)
        )
    assert {d.stage: (d.count, d.median_days, d.p90_days) for d in got} == EXPECTED_DURATIONS
    assert all(d.count == 0 for d in empty)
    # The portable (SQLite) path interpolates like percentile_cont.
    assert dashboard.percentile([1, 2, 3, 4, 10], 0.9) == pytest.approx(7.6)
    assert dashboard.percentile([], 0.5) is None


async def test_durations_period_must_be_ordered(db: Database, book: Book) -> None:
    async with db.session() as session:
        with pytest.raises(FieldError):
            await dashboard.stage_durations(
                session, book.advisor_viewer, date(2027, 2, 1), date(2027, 1, 1)
            )


async def test_other_advisor_sees_none_of_it_and_members_nothing(db: Database, book: Book) -> None:
    other = viewer_of(book.other_advisor)
    async with db.session() as session:
        figures = await dashboard.pipeline(session, other)
        page = await dashboard.mission_list(session, other, ListRequest(limit=200), book.today)
        member = Viewer(user_id=1, role="member", member_id=book.members[0].id)
        with pytest.raises(DomainError) as refused:
            await dashboard.pipeline(session, member)
    assert refused.value.status_code == 403
    assert {f.stage: f.count for f in figures if f.count} == {"invoiced": 1}
    assert [r.id for r in page.rows] == [book.missions["foreign"].id]


# ---------------------------------------------------------------- ops: against direct SQL


async def test_ops_pipeline_and_ageing_match_sql(db: Database, book: Book) -> None:
    async with db.session() as session:
        figures = await dashboard.pipeline(session, book.ops_viewer)
        ageing = await dashboard.receivables_ageing(session, book.ops_viewer, book.today)
        ladder = await dashboard.dunning_ladder(session, book.ops_viewer)
    rows = await _sql(
        db, "SELECT stage, count(*), sum(amount_excl_vat) FROM missions GROUP BY stage"
    )
    expected = {stage: (n, _cents(total)) for stage, n, total in rows}
    assert {f.stage: (f.count, f.amount) for f in figures if f.count} == expected
    rows = await _sql(
        db,
        """
        SELECT CASE WHEN :today - due_date <= 0 THEN 'not_due'
                    WHEN :today - due_date <= 30 THEN '1_30'
                    WHEN :today - due_date <= 60 THEN '31_60'
                    WHEN :today - due_date <= 90 THEN '61_90'
                    ELSE '90_plus' END AS bucket, count(*), sum(balance)
        FROM invoices WHERE kind = 'invoice' AND status = 'open' AND balance > 0
        GROUP BY 1
        """,
        today=book.today,
    )
    expected = {b: (n, _cents(total)) for b, n, total in rows}
    assert {a.bucket: (a.count, a.balance) for a in ageing if a.count} == expected
    rows = await _sql(
        db,
        """
        SELECT m.dunning_level, count(*), sum(i.balance) FROM missions m
        LEFT JOIN invoices i ON i.mission_id = m.id AND i.kind = 'invoice'
        WHERE m.stage = 'dunning' GROUP BY 1 ORDER BY 1
        """,
    )
    assert [(r.level, r.count, r.balance) for r in ladder] == [
        (level, n, _cents(total)) for level, n, total in rows
    ]


async def test_ops_fund_matches_sql(db: Database, book: Book) -> None:
    async with db.session() as session:
        view = await dashboard.guarantee_fund(session, book.ops_viewer, book.today)
    (outstanding,) = await _sql(
        db, "SELECT -sum(amount) FROM ledger_entries WHERE account = 'fund_advances'"
    )
    assert view.advances_outstanding == _cents(outstanding[0])
    top = await _sql(
        db,
        """
        SELECT client_id, -sum(amount) AS exposure FROM ledger_entries
        WHERE account = 'fund_advances' GROUP BY client_id HAVING sum(amount) <> 0
        ORDER BY sum(amount), client_id LIMIT 10
        """,
    )
    assert [(e.client_id, e.amount) for e in view.exposure] == [(c, _cents(a)) for c, a in top]
    rows = await _sql(
        db,
        "SELECT to_char(business_date, 'YYYY-MM'), sum(amount) FROM write_offs GROUP BY 1",
    )
    assert {m.month: m.write_offs for m in view.months if m.write_off_count} == {
        month: _cents(total) for month, total in rows
    }


async def test_ops_durations_match_percentile_cont(db: Database, book: Book) -> None:
    async with db.session() as session:
        got = await dashboard.stage_durations(session, book.ops_viewer, *book.duration_period)
    # Only the seeded book has timelines in that year: ops see what the advisor sees.
    assert {d.stage: (d.count, d.median_days, d.p90_days) for d in got} == EXPECTED_DURATIONS
    # And the contract stage straight from the timeline, as a person would query it.
    rows = await _sql(
        db,
        """
        WITH c AS (
          SELECT mission_id,
                 min(business_date) FILTER (WHERE key = 'created') AS created,
                 max(business_date) FILTER (WHERE key IN ('signed', 'client_confirmed')) AS done,
                 count(*) FILTER (WHERE key IN ('signed', 'client_confirmed')) AS parts
          FROM timeline_events GROUP BY mission_id)
        SELECT percentile_cont(0.5) WITHIN GROUP (ORDER BY done - created)
        FROM c WHERE parts = 2 AND done BETWEEN :a AND :b
        """,
        a=book.duration_period[0],
        b=book.duration_period[1],
    )
    assert rows[0][0] == EXPECTED_DURATIONS["contract"][1]


# ---------------------------------------------------------------- lists


async def _ids(db: Database, viewer: Viewer, today: date, **over: Any) -> list[int]:
    async with db.session() as session:
        page = await dashboard.mission_list(session, viewer, ListRequest(**over), today)
    return [r.id for r in page.rows]


async def test_list_filters_sort_and_pages(db: Database, book: Book) -> None:
    ms, v, today = book.missions, book.advisor_viewer, book.today
    assert await _ids(db, v, today, filter=MissionFilter(stage="dunning")) == [
        ms["late100"].id,
        ms["late45"].id,
    ]
    overdue = MissionFilter(overdue_min_days=30)
    assert set(await _ids(db, v, today, filter=overdue)) == {ms["late45"].id, ms["late100"].id}
    assert await _ids(db, v, today, filter=MissionFilter(needs_attention=True)) == [
        ms["declaration"].id
    ]
    amounts = MissionFilter(amount_min=D("400.00"), amount_max=D("1000.00"))
    assert await _ids(db, v, today, filter=amounts, sort="amount", descending=False) == [
        ms["late100"].id,
        ms["late45"].id,
        ms["paid"].id,
        ms["written"].id,
        ms["not_due"].id,
    ]
    assert await _ids(db, v, today, filter=MissionFilter(q="LOGO")) == [ms["contract2"].id]
    assert await _ids(db, v, today, filter=MissionFilter(q="lumière", stage="contract")) == [
        ms["contract1"].id
    ]
    assert await _ids(db, v, today, filter=MissionFilter(q="%")) == []
    by_member = MissionFilter(member_id=book.members[1].id)
    async with db.session() as session:
        first = await dashboard.mission_list(
            session, v, ListRequest(filter=by_member, limit=2, sort="id"), today
        )
        second = await dashboard.mission_list(
            session, v, ListRequest(filter=by_member, limit=2, offset=2, sort="id"), today
        )
    assert first.total == second.total == 4  # contract2, late15, late100, paid
    assert len(first.rows) == 2 and len(second.rows) == 2
    assert not {r.id for r in first.rows} & {r.id for r in second.rows}
    row = next(r for r in second.rows + first.rows if r.id == ms["late100"].id)
    assert (row.days_overdue, row.balance, row.dunning_level) == (100, D("484.00"), 2)


@pytest.mark.parametrize(
    ("over", "field"),
    [({"sort": "password"}, "sort"), ({"limit": 0}, "limit"), ({"limit": 10_000}, "limit"),
     ({"offset": -1}, "offset"), ({"filter": MissionFilter(stage="nope")}, "stage")],
)  # fmt: skip
async def test_list_refuses_bad_requests(
    db: Database, book: Book, over: dict[str, Any], field: str
) -> None:
    async with db.session() as session:
        with pytest.raises(FieldError) as refused:
            await dashboard.mission_list(session, book.ops_viewer, ListRequest(**over), book.today)
    assert refused.value.field == field


# ---------------------------------------------------------------- CSV


async def _export(db: Database, viewer: Viewer, request: ListRequest, today: date) -> str:
    async with db.session() as session:
        return "".join(
            [line async for line in dashboard.export_csv(session, viewer, request, today)]
        )


async def test_csv_is_exactly_the_filtered_rows(db: Database, book: Book) -> None:
    request = ListRequest(filter=MissionFilter(amount_min=D("100.00")), limit=3)
    body = await _export(db, book.advisor_viewer, request, book.today)
    rows = list(csv.reader(io.StringIO(body)))
    assert rows[0] == list(dashboard.CSV_COLUMNS)
    ids = [int(r[0]) for r in rows[1:]]
    sql = await _sql(
        db,
        """
        SELECT m.id FROM missions m JOIN members p ON p.id = m.member_id
        WHERE p.advisor_user_id = :advisor AND m.amount_excl_vat >= 10000 ORDER BY m.id DESC
        """,
        advisor=book.advisor.id,
    )
    assert ids == [i for (i,) in sql]  # every matching row, not one page of them
    assert len(ids) == 9


async def test_csv_neutralises_formulas(db: Database, book: Book) -> None:
    request = ListRequest(filter=MissionFilter(member_id=book.members[1].id, stage="contract"))
    body = await _export(db, book.advisor_viewer, request, book.today)
    (header, row) = list(csv.reader(io.StringIO(body)))
    cells = dict(zip(header, row, strict=True))
    assert cells["title"] == "'-2+3 logo"
    assert cells["client"] == '\'=HYPERLINK("http://evil.example","x")'
    assert cells["amount_excl_vat"] == "250.00"
    for value in ("=1+1", "+1", "-1", "@SUM(A1)", "\tx", "\rx"):
        assert dashboard.csv_cell(value) == "'" + value
    assert dashboard.csv_cell("plain") == "plain"
    assert dashboard.csv_cell(D("-12.50")) == "-12.50"  # our own numbers are data, not text
