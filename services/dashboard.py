"""The advisor dashboard's numbers and the console's mission lists, aggregated in SQL.

Every figure is scoped by the viewer: ops see the whole book, an advisor the missions of the
members assigned to them (`members.advisor_user_id`), a member nothing (403). The scope is a
`member_id IN (SELECT id FROM members WHERE advisor_user_id = ?)` on indexed columns, so that
the queries stay index-friendly on a large book (bench: 100,000 missions).

Stage durations come from the timeline: a mission enters each stage at a known step and leaves it
when it enters the next stage it reached. `mission_stage_dates` holds those entry dates per
mission and `stage_stay_counts` the resulting stays counted per end date, stage and length over
the whole book, both kept by triggers (migration 0016, which lists the steps). The database
counts the stays of each length per stage (an advisor's from their missions' dates, the whole
book's from the counts); medians and 90th percentiles are interpolated from those counts in
Python as PostgreSQL's `percentile_cont` does (same figures on SQLite).
"""

from __future__ import annotations

import csv
import io
import math
from collections.abc import AsyncIterator, Iterable, Sequence
from dataclasses import dataclass, field, replace
from datetime import date, timedelta
from decimal import Decimal
from typing import Any

from sqlalchemy import (
    Float,
    Integer,
    Select,
    and_,
    case,
    cast,
    func,
    literal,
    select,
    union_all,
)
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import aliased
from sqlalchemy.sql.elements import ColumnElement

from contracts.stages import FLOW_STAGES, STAGES, Stage
from core.errors import DomainError, NotFound
from domain.errors import FieldError
from models import (
    Client,
    FundAdvanceBalance,
    FundClientExposure,
    Invoice,
    LedgerEntry,
    LedgerTransaction,
    Member,
    Mission,
    WriteOff,
)
from models.missions import MissionStageDates, StageStayCount
from services import fund, mission_filters
from services.access import Viewer, scope_missions
from services.mission_filters import MissionFilter

ZERO = Decimal("0.00")
AnySelect = Select[*tuple[Any, ...]]
AGEING_BUCKETS = ("not_due", "1_30", "31_60", "61_90", "90_plus")
# The stages a mission passes through, in order (the last one ends at a terminal step).
MAX_PAGE = 200
EXPOSURE_TOP = 10
MONTHS_SHOWN = 12  # the write-off chart shows at least the last year, months without any too


def _dialect(session: AsyncSession) -> str:
    return session.get_bind().dialect.name


# ---------------------------------------------------------------- scope


def ensure_staff(viewer: Viewer) -> None:
    """The dashboard is for advisors and ops: a member is refused (403)."""
    if not viewer.is_staff:
        raise DomainError("advisors and ops only", 403)


def visible_members(viewer: Viewer) -> Select[int] | None:
    """The member ids an advisor follows (None: ops see everyone)."""
    ensure_staff(viewer)
    if viewer.role == "ops":
        return None
    return select(Member.id).where(Member.advisor_user_id == viewer.user_id)


def scoped(query: AnySelect, viewer: Viewer) -> AnySelect:
    """Confine a query over `missions` to what the viewer may see."""
    ensure_staff(viewer)
    return scope_missions(query, viewer)


def visible_missions(viewer: Viewer) -> Select[int] | None:
    """The mission ids the viewer may see (None: all of them)."""
    members = visible_members(viewer)
    if members is None:
        return None
    return select(Mission.id).where(Mission.member_id.in_(members))


# ---------------------------------------------------------------- pipeline, ageing, dunning


@dataclass(frozen=True)
class StageFigure:
    stage: str
    count: int
    amount: Decimal


async def pipeline(session: AsyncSession, viewer: Viewer) -> list[StageFigure]:
    """Number and amount (excl. VAT) of the viewer's missions in each stage, in lifecycle order."""
    rows = await session.execute(
        scoped(
            select(Mission.stage, func.count(Mission.id), func.sum(Mission.amount_excl_vat)),
            viewer,
        ).group_by(Mission.stage)
    )
    found = {stage: (int(n), amount or ZERO) for stage, n, amount in rows}
    return [StageFigure(s, *found.get(s, (0, ZERO))) for s in STAGES]


@dataclass(frozen=True)
class AgeingBucket:
    bucket: str
    count: int
    balance: Decimal


def _ageing_case(today: date) -> ColumnElement[str]:
    # Compared with constant dates, not computed per row: the due_date index stays usable.
    due = Invoice.due_date
    return case(
        (due >= today, "not_due"),
        (due >= today - timedelta(days=30), "1_30"),
        (due >= today - timedelta(days=60), "31_60"),
        (due >= today - timedelta(days=90), "61_90"),
        else_="90_plus",
    )


def _open_invoices(query: AnySelect) -> AnySelect:
    return query.where(Invoice.kind == "invoice", Invoice.status == "open", Invoice.balance > 0)


async def receivables_ageing(
    session: AsyncSession, viewer: Viewer, today: date
) -> list[AgeingBucket]:
    """Open client balances by days overdue at the business date `today`."""
    bucket = _ageing_case(today).label("bucket")
    # count(*), not count(id): an index-only scan of the open invoices' partial index (0016)
    query = _open_invoices(select(bucket, func.count(), func.sum(Invoice.balance)))
    if visible_members(viewer) is not None:
        # only to scope an advisor: every invoice has its mission (NOT NULL foreign key)
        query = scoped(query.join(Mission, Mission.id == Invoice.mission_id), viewer)
    rows = await session.execute(query.group_by(bucket))
    found = {name: (int(n), amount or ZERO) for name, n, amount in rows}
    return [AgeingBucket(b, *found.get(b, (0, ZERO))) for b in AGEING_BUCKETS]


@dataclass(frozen=True)
class DunningRung:
    level: int
    count: int
    balance: Decimal


async def dunning_ladder(session: AsyncSession, viewer: Viewer) -> list[DunningRung]:
    """How many missions sit on each rung of the dunning ladder, and what they still owe."""
    query = (
        select(Mission.dunning_level, func.count(Mission.id), func.sum(Invoice.balance))
        .outerjoin(Invoice, and_(Invoice.mission_id == Mission.id, Invoice.kind == "invoice"))
        .where(Mission.stage == Stage.DUNNING)
    )
    rows = await session.execute(
        scoped(query, viewer).group_by(Mission.dunning_level).order_by(Mission.dunning_level)
    )
    return [DunningRung(int(level), int(n), amount or ZERO) for level, n, amount in rows]


# ---------------------------------------------------------------- the guarantee fund


@dataclass(frozen=True)
class Exposure:
    client_id: int
    name: str
    amount: Decimal


@dataclass(frozen=True)
class MonthFigure:
    month: str  # YYYY-MM
    write_offs: Decimal
    write_off_count: int
    recoveries: Decimal
    recovery_count: int


@dataclass(frozen=True)
class FundView:
    balance: Decimal
    available: Decimal
    floor: Decimal
    advances_outstanding: Decimal
    advances_count: int
    exposure: list[Exposure]
    months: list[MonthFigure]


def _month(session: AsyncSession, column: Any) -> ColumnElement[str]:
    if _dialect(session) == "postgresql":
        return func.to_char(column, "YYYY-MM")
    return func.strftime("%Y-%m", column)


async def guarantee_fund(session: AsyncSession, viewer: Viewer, today: date) -> FundView:
    """The fund's balance and floor (the cooperative's), and the viewer's part of its risk:
    advances outstanding, exposure per client (top 10), write-offs and recoveries per month."""
    rules = await fund.fund_rules(session, today)
    free = await fund.available(session)
    advanced_all = await fund.advances_outstanding(session)
    missions = visible_missions(viewer)

    # The fund's advances, summed as ledger.post posts them (services/ledger.py).
    count, outstanding = await fund.advances_per_mission(session, missions)
    outstanding_amount = advanced_all if missions is None else -outstanding

    if missions is None:
        exposure_query = (
            select(Client.id, Client.name, FundClientExposure.amount)
            .join(Client, Client.id == FundClientExposure.client_id)
            .where(FundClientExposure.amount != 0)
            .order_by(FundClientExposure.amount, FundClientExposure.client_id)
            .limit(EXPOSURE_TOP)
        )
    else:
        advance_sum = func.sum(FundAdvanceBalance.amount)
        exposure_query = (
            select(Client.id, Client.name, advance_sum)
            .join(Client, Client.id == FundAdvanceBalance.client_id)
            .where(FundAdvanceBalance.amount != 0, FundAdvanceBalance.mission_id.in_(missions))
            .group_by(Client.id, Client.name)
            .having(advance_sum != 0)
            .order_by(advance_sum, Client.id)
            .limit(EXPOSURE_TOP)
        )
    exposure = [
        Exposure(int(cid), name, -(amount or ZERO))
        for cid, name, amount in await session.execute(exposure_query)
    ]

    wo_month = _month(session, WriteOff.business_date).label("month")
    wo_query = (
        select(wo_month, func.count(WriteOff.id), func.sum(WriteOff.amount))
        .join(Invoice, Invoice.id == WriteOff.invoice_id)
        .group_by(wo_month)
    )
    if missions is not None:
        wo_query = wo_query.where(Invoice.mission_id.in_(missions))
    rec_month = _month(session, LedgerTransaction.business_date).label("month")
    rec_query = (
        select(rec_month, func.count(LedgerEntry.id), func.sum(LedgerEntry.amount))
        .join(LedgerTransaction, LedgerTransaction.id == LedgerEntry.transaction_id)
        .where(LedgerTransaction.kind == "recovery", LedgerEntry.account == "bank")
        .group_by(rec_month)
    )
    if missions is not None:
        rec_query = rec_query.where(LedgerTransaction.mission_id.in_(missions))
    months: dict[str, list[Any]] = {}
    for month, n, amount in await session.execute(wo_query):
        months.setdefault(month, [ZERO, 0, ZERO, 0])[0:2] = [amount or ZERO, int(n)]
    for month, n, amount in await session.execute(rec_query):
        months.setdefault(month, [ZERO, 0, ZERO, 0])[2:4] = [amount or ZERO, int(n)]
    return FundView(
        balance=free + advanced_all,
        available=free,
        floor=rules.floor,
        advances_outstanding=outstanding_amount,
        advances_count=int(count),
        exposure=exposure,
        months=[
            MonthFigure(m, *months.get(m, [ZERO, 0, ZERO, 0]))
            for m in _month_range(
                min([*months, _month_of(today, -(MONTHS_SHOWN - 1))]),
                max([*months, _month_of(today)]),  # business dates may run ahead (tests, demo)
            )
        ],
    )


def _month_of(day: date, shift: int = 0) -> str:
    index = day.year * 12 + day.month - 1 + shift
    return f"{index // 12:04d}-{index % 12 + 1:02d}"


def _month_range(first: str, last: str) -> list[str]:
    """Every month (YYYY-MM) from `first` to `last`, both included."""
    out, month = [], first
    while month <= last:
        out.append(month)
        month = _month_of(date(int(month[:4]), int(month[5:]), 1), 1)
    return out


# ---------------------------------------------------------------- stage durations


@dataclass(frozen=True)
class StageDuration:
    stage: str
    count: int
    median_days: float | None
    p90_days: float | None


def _entries(viewer: Viewer, date_from: date) -> Any:
    """Per mission, the business date it entered each stage (NULL: never entered), as the
    `mission_stage_dates` trigger keeps them from the timeline (migration 0016): one row per
    mission instead of grouping every timeline event on each request. Only missions with a stage
    entry on or after `date_from` can have a stay ending in the period (`last_at`, indexed)."""
    d = MissionStageDates
    query = select(
        d.mission_id,
        d.contract,
        d.declaration_at,
        d.contract_parts,
        d.in_progress,
        d.work_report,
        d.invoiced,
        d.dunning,
        d.ended,
    ).where(d.last_at >= date_from)
    missions = visible_missions(viewer)
    if missions is not None:
        query = query.where(d.mission_id.in_(missions))
    # A CTE: read once for the six stages below, not once per stage.
    return query.cte("entries")


def _days_between(session: AsyncSession, later: Any, earlier: Any) -> ColumnElement[Any]:
    if _dialect(session) == "postgresql":
        return cast(later - earlier, Integer)
    return cast(func.julianday(later) - func.julianday(earlier), Float)


def _advisor_stays(
    session: AsyncSession, viewer: Viewer, date_from: date, date_to: date
) -> AnySelect:
    """(stage, days, how many) of the viewer's missions' stays that ended in the period, from
    their stage dates (an advisor's missions: a few thousand rows)."""
    e = _entries(viewer, date_from)
    declaration = case((e.c.contract_parts >= 2, e.c.declaration_at))
    entered = {
        "contract": e.c.contract,
        "declaration": declaration,
        "in_progress": e.c.in_progress,
        "work_report": e.c.work_report,
        "invoiced": e.c.invoiced,
        "dunning": e.c.dunning,
    }
    later = [*entered.values(), e.c.ended]
    stays = []
    for i, stage in enumerate(FLOW_STAGES):
        start = entered[stage]
        rest = later[i + 1 :]
        end = rest[0] if len(rest) == 1 else func.coalesce(*rest)  # SQLite wants 2+ arguments
        stays.append(
            select(
                literal(stage).label("stage"),
                _days_between(session, end, start).label("days"),
            ).where(
                start.is_not(None),
                end.is_not(None),
                end >= date_from,
                end <= date_to,
            )
        )
    stay = union_all(*stays).subquery("stays")
    return select(stay.c.stage, stay.c.days, func.count()).group_by(stay.c.stage, stay.c.days)


async def stage_durations(
    session: AsyncSession, viewer: Viewer, date_from: date, date_to: date
) -> list[StageDuration]:
    """Median and 90th percentile of the days spent in each stage, over the stays that ended
    between `date_from` and `date_to` (inclusive)."""
    if date_to < date_from:
        raise FieldError("to", "the end of the period is before its start")
    if visible_missions(viewer) is None:
        # The whole book: the stays are already counted per (end, stage, length).
        c = StageStayCount
        query: AnySelect = (
            select(c.stage, c.days, func.sum(c.stays))
            .where(c.ended_on >= date_from, c.ended_on <= date_to, c.stays > 0)
            .group_by(c.stage, c.days)
        )
    else:
        query = _advisor_stays(session, viewer, date_from, date_to)
    # How many stays of each length, per stage (a few hundred rows, hashed: no sort of every
    # stay); the percentiles are then interpolated here exactly as `percentile_cont` does.
    counts: dict[str, list[tuple[float, int]]] = {}
    for stage, days, n in await session.execute(query):
        counts.setdefault(stage, []).append((float(days), int(n)))
    found: dict[str, tuple[int, float | None, float | None]] = {
        stage: (
            sum(n for _, n in lengths),
            _days(percentile_of_counts(lengths, 0.5)),
            _days(percentile_of_counts(lengths, 0.9)),
        )
        for stage, lengths in counts.items()
    }
    return [StageDuration(s, *found.get(s, (0, None, None))) for s in FLOW_STAGES]


def _days(value: float | None) -> float | None:
    return None if value is None else round(float(value), 2)


def percentile(values: Iterable[float], fraction: float) -> float | None:
    """Continuous percentile with linear interpolation, as PostgreSQL's percentile_cont."""
    ordered = sorted(values)
    if not ordered:
        return None
    position = fraction * (len(ordered) - 1)
    low, high = math.floor(position), math.ceil(position)
    return ordered[low] + (ordered[high] - ordered[low]) * (position - low)


def percentile_of_counts(counts: Iterable[tuple[float, int]], fraction: float) -> float | None:
    """`percentile` of the values given as (value, how many times): the same interpolation."""
    ordered = sorted((value, n) for value, n in counts if n > 0)
    total = sum(n for _, n in ordered)
    if not total:
        return None
    position = fraction * (total - 1)
    low, high = math.floor(position), math.ceil(position)

    def at(index: int) -> float:
        seen = 0
        for value, n in ordered:
            seen += n
            if index < seen:
                return value
        raise IndexError(index)

    return at(low) + (at(high) - at(low)) * (position - low)


# ---------------------------------------------------------------- mission lists


# The list joins its member, client and invoice under aliases: the shared filter's EXISTS
# subqueries on members, clients and invoices then stay subqueries (no auto-correlation).
ListMember = aliased(Member)
ListClient = aliased(Client)
ListInvoice = aliased(Invoice)

SORTS: dict[str, Any] = {
    "id": Mission.id,
    "title": Mission.title,
    "member": ListMember.name,
    "client": ListClient.name,
    "stage": Mission.stage,
    "amount": Mission.amount_excl_vat,
    "due_date": ListInvoice.due_date,
    "balance": ListInvoice.balance,
    "end_date": Mission.end_date,
}


@dataclass(frozen=True)
class ListRequest:
    filter: MissionFilter = field(default_factory=MissionFilter)
    sort: str = "id"
    descending: bool = True
    limit: int = 50
    offset: int = 0


@dataclass(frozen=True)
class MissionRow:
    id: int
    title: str
    member_id: int
    member: str
    client_id: int
    client: str
    stage: str
    amount_excl_vat: Decimal
    needs_attention: bool
    attention_step: str | None
    dunning_level: int
    end_date: date
    invoice_number: str | None
    due_date: date | None
    balance: Decimal | None
    days_overdue: int | None


@dataclass(frozen=True)
class MissionPage:
    rows: list[MissionRow]
    total: int
    request: ListRequest


def _filtered(viewer: Viewer, flt: MissionFilter, today: date) -> AnySelect:
    query: AnySelect = (
        select(
            Mission.id,
            Mission.title,
            Mission.member_id,
            ListMember.name,
            Mission.client_id,
            ListClient.name,
            Mission.stage,
            Mission.amount_excl_vat,
            Mission.needs_attention,
            Mission.attention_step,
            Mission.dunning_level,
            Mission.end_date,
            ListInvoice.number,
            ListInvoice.due_date,
            ListInvoice.balance,
            ListInvoice.status,
        )
        .join(ListMember, ListMember.id == Mission.member_id)
        .join(ListClient, ListClient.id == Mission.client_id)
        .outerjoin(
            ListInvoice, and_(ListInvoice.mission_id == Mission.id, ListInvoice.kind == "invoice")
        )
    )
    if flt.stage is not None and flt.stage not in STAGES:
        raise FieldError("stage", f"one of {', '.join(STAGES)}")
    ensure_staff(viewer)
    # The one filter of lists, exports and bulk previews: they always target the same missions.
    return mission_filters.apply(query, flt, viewer, today)


def _row(raw: Sequence[Any], today: date) -> MissionRow:
    (mid, title, member_id, member, client_id, client, stage, amount, attention, step, level,
     end, number, due, balance, status) = raw  # fmt: skip
    overdue = None
    if due is not None and status == "open" and balance is not None and balance > 0:
        overdue = max((today - due).days, 0)
    return MissionRow(
        id=mid,
        title=title,
        member_id=member_id,
        member=member,
        client_id=client_id,
        client=client,
        stage=stage,
        amount_excl_vat=amount,
        needs_attention=bool(attention),
        attention_step=step,
        dunning_level=int(level or 0),
        end_date=end,
        invoice_number=number,
        due_date=due,
        balance=balance,
        days_overdue=overdue,
    )


def _ordered(query: AnySelect, request: ListRequest) -> AnySelect:
    if request.sort not in SORTS:
        raise FieldError("sort", f"one of {', '.join(SORTS)}")
    column = SORTS[request.sort]
    if request.descending:
        return query.order_by(column.desc().nulls_last(), Mission.id.desc())
    return query.order_by(column.asc().nulls_last(), Mission.id.asc())


async def mission_list(
    session: AsyncSession, viewer: Viewer, request: ListRequest, today: date
) -> MissionPage:
    """One page of the viewer's missions matching the filter, and how many match in all."""
    if not 1 <= request.limit <= MAX_PAGE:
        raise FieldError("limit", f"between 1 and {MAX_PAGE}")
    if request.offset < 0:
        raise FieldError("offset", "0 or more")
    query = _filtered(viewer, request.filter, today)
    total = await session.scalar(select(func.count()).select_from(query.subquery()))
    rows = await session.execute(
        _ordered(query, request).limit(request.limit).offset(request.offset)
    )
    return MissionPage([_row(r, today) for r in rows], int(total or 0), request)


async def mission_rows(
    session: AsyncSession, viewer: Viewer, request: ListRequest, today: date
) -> AsyncIterator[MissionRow]:
    """Every mission matching the filter, in the list's order (for the CSV export), streamed."""
    query = _ordered(_filtered(viewer, request.filter, today), request)
    result = await session.stream(query.execution_options(yield_per=1000))
    async for raw in result:
        yield _row(raw, today)


# ---------------------------------------------------------------- CSV export

CSV_COLUMNS = (
    "id",
    "title",
    "member_id",
    "member",
    "client_id",
    "client",
    "stage",
    "amount_excl_vat",
    "needs_attention",
    "dunning_level",
    "end_date",
    "invoice_number",
    "due_date",
    "balance",
    "days_overdue",
)
# A spreadsheet runs a cell starting with one of these as a formula (CSV/formula injection).
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


def csv_cell(value: object) -> str:
    """A cell as text, with a leading quote when a spreadsheet would read it as a formula."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, Decimal):
        return f"{value:.2f}"
    if isinstance(value, date):
        return value.isoformat()
    text = str(value)
    if text.startswith(FORMULA_STARTS):
        return "'" + text
    return text


def csv_line(values: Iterable[object]) -> str:
    """One CSV record (RFC 4180 quoting by the csv module), each cell made formula-safe."""
    buffer = io.StringIO()
    csv.writer(buffer, lineterminator="\r\n").writerow([csv_cell(v) for v in values])
    return buffer.getvalue()


async def export_csv(
    session: AsyncSession, viewer: Viewer, request: ListRequest, today: date
) -> AsyncIterator[str]:
    """The filtered list as CSV lines, exactly the rows the list matches (no page limit)."""
    yield csv_line(CSV_COLUMNS)
    request = replace(request, offset=0)
    async for row in mission_rows(session, viewer, request, today):
        yield csv_line(getattr(row, name) for name in CSV_COLUMNS)


# ---------------------------------------------------------------- what the pages need besides


@dataclass(frozen=True)
class Choice:
    id: int
    name: str


async def filter_choices(
    session: AsyncSession, viewer: Viewer, limit: int = 500
) -> tuple[list[Choice], list[Choice]]:
    """The members and clients the viewer may filter on (by name), for the list's pickers."""
    members = select(Member.id, Member.name).order_by(Member.name, Member.id).limit(limit)
    clients = select(Client.id, Client.name).order_by(Client.name, Client.id).limit(limit)
    followed = visible_members(viewer)
    if followed is not None:
        members = members.where(Member.id.in_(followed))
        clients = clients.where(
            Client.id.in_(select(Mission.client_id).where(Mission.member_id.in_(followed)))
        )
    return (
        [Choice(i, n) for i, n in await session.execute(members)],
        [Choice(i, n) for i, n in await session.execute(clients)],
    )


async def staff_mission(session: AsyncSession, viewer: Viewer, mission_id: int) -> Mission:
    """A mission the viewer may open; someone else's answers the same 404 as a missing one."""
    if not 1 <= mission_id <= 2**31 - 1:
        raise NotFound("mission")
    found = await session.scalars(scoped(select(Mission).where(Mission.id == mission_id), viewer))
    mission: Mission | None = found.first()
    if mission is None:
        raise NotFound("mission")
    return mission
